"""PLACEHOLDER: only declares the memory-buffer flags (the real buffer is written under issue 4 and replaces this)."""
from methods.component import Component


class MemoryBuffer(Component):
    name = "buffer"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Memory Buffer Parameters")
        g.add_argument("--budget", type=int, help="how many samples can be stored of each class (default 100; "
                                                  "permMNIST 10)")
        g.add_argument("--use-full-capacity", action="store_true", dest="use_full_capacity",
                       help="use budget of future classes to initially store more")
        g.add_argument("--sample-selection", dest="sample_selection", choices=["random", "herding", "fromp"],
                       help="how to select the samples to store")
        g.add_argument("--add-buffer", action="store_true", dest="add_buffer",
                       help="add the memory buffer to the training set of the current context")

    @staticmethod
    def set_defaults(args):
        if args.budget is None:
            args.budget = 10 if args.experiment == "permMNIST" else 100
        if args.sample_selection is None:
            args.sample_selection = "fromp" if getattr(args, "fromp", False) else (
                "herding" if getattr(args, "icarl", False) else "random")

    @staticmethod
    def enabled(args):
        return False
