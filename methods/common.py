"""The options several methods have in common, declared here once, in no method's file.

A component reads its own flags, the general options of cli.options and the common options declared here, which
it lists in `common_options` (tests/test_flags.py): never another component's flag. An option belongs here only
when several components give it one meaning (the test checks that at least two list it); a method's own flags stay
in its file.
Each declaration below is a CommonOptions in methods.COMPONENTS, at the place of its argument group in --help:
- ReplayOptions: the replay source and its targets (ER, LwF, A-GEM, DGR, BI-R, iCaRL's --bce-distill temperature).
- MemoryOptions: the memory budget and how samples are chosen (the memory buffer, the task-free reservoir, FROMP's
  memorable points, iCaRL's feature normalisation); --add-buffer is the buffer's own, in the same group.
- ParamRegOptions: the convenience flags of the parameter regularisation methods and the switches they set (EWC,
  KFAC-EWC and NCL's Fisher, methods/ewc.py; SI, methods/si.py; OWM and NCL's preconditioning,
  methods/precondition.py; the penalty's strength and the stamp, methods/param_reg.py). The Fisher's and SI's own
  flags join this group from their files, as in the paper's --help.
"""
from methods.component import CommonOptions, option_group
from utils.errors import UsageError

REPLAY_SOURCES = ["none", "current", "buffer", "all", "generative"]


class ReplayOptions(CommonOptions):
    """`--replay` (what to replay), `--distill` (soft targets) and `--temp` (their temperature)."""
    title = "Replay"

    @classmethod
    def add_args(cls, parser):
        g = option_group(parser, cls.title)
        g.add_argument("--replay", default="none", choices=REPLAY_SOURCES,
                       help="what to replay: none, the current batch, the memory buffer, or all past data")
        g.add_argument("--distill", action="store_true", help="use distillation-loss for the replayed data")
        g.add_argument("--temp", type=float, default=2.0, help="temperature for distillation loss")

    @staticmethod
    def validate(args):
        if args.temp <= 0:
            raise UsageError("--temp must be positive")
        if args.replay == "none" and args.distill:
            raise UsageError("--distill needs a replay source (--replay; or --lwf, --brain-inspired)")


STREAM_BUDGET = 1000  # task-free: samples in total (the paper's code)
BUDGET = {"splitMNIST": 100, "permMNIST": 10, "CIFAR100": 100}  # --budget per class: the paper's
BUDGET_FALLBACK = 100  # any other benchmark: no published value


class MemoryOptions(CommonOptions):
    """`--budget` (per class; task-free in total), `--use-full-capacity` and `--sample-selection`."""
    title = "Memory Buffer Parameters"

    @classmethod
    def add_args(cls, parser):
        g = option_group(parser, cls.title)
        g.add_argument("--budget", type=int, help="how many samples can be stored of each class "
                                                  "(default: 100; permMNIST 10)")
        g.add_argument("--use-full-capacity", action="store_true", dest="use_full_capacity",
                       help="use budget of future classes to initially store more")
        g.add_argument("--sample-selection", choices=["random", "herding", "fromp"], dest="sample_selection",
                       help="how to choose the stored samples (default: random; herding for --icarl, fromp for "
                            "--fromp)")

    @staticmethod
    def set_defaults(args):
        if args.budget is None:
            args.budget = STREAM_BUDGET if args.task_free else BUDGET.get(args.experiment, BUDGET_FALLBACK)
        if args.sample_selection is None:  # (--icarl and --fromp choose theirs when they expand)
            args.sample_selection = "random"

    @staticmethod
    def validate(args):
        if args.budget < 1:
            raise UsageError("--budget must be at least 1")


CONVENIENCE = ("ewc", "si", "kfac_ewc", "ncl", "owm")  # the flags that stand for a method's parameter settings


class ParamRegOptions(CommonOptions):
    """A parameter regularisation method is a choice of (1) a weight penalty and/or gradient preconditioning and
    (2) how parameter importance is estimated (--importance-weighting); the convenience flags choose them:
        --ewc       weight penalty, Fisher (diagonal), offline (one term per context)    Kirkpatrick et al. 2017
        --si        weight penalty, SI importance                                         Zenke et al. 2017
        --kfac-ewc  weight penalty, KFAC Fisher                                           Ritter et al. 2018
        --ncl       weight penalty + preconditioning, KFAC Fisher with a prior           Kao et al. 2021
        --owm       preconditioning, OWM importance                                       Zeng et al. 2019
    (what each means for the Fisher, e.g. --ewc's --offline, methods/ewc.py sets). --print-defaults lists the whole
    group with any of them (`listed_whole`), as it always has."""
    title = "Parameter Regularisation"
    listed_whole = True

    @classmethod
    def add_args(cls, parser):
        g = option_group(parser, cls.title)
        g.add_argument("--ewc", action="store_true", help="EWC (offline: one penalty term per context)")
        g.add_argument("--si", action="store_true", help="Synaptic Intelligence")
        g.add_argument("--kfac-ewc", "--ewc-kfac", action="store_true", dest="kfac_ewc",
                       help="EWC with a KFAC Fisher")
        g.add_argument("--ncl", action="store_true", help="Natural Continual Learning (KFAC Fisher, prior, "
                                                          "preconditioned updates)")
        g.add_argument("--owm", action="store_true", help="Orthogonal Weight Modification")
        g.add_argument("--weight-penalty", action="store_true", dest="weight_penalty",
                       help="penalise changes to important parameters")
        g.add_argument("--reg-strength", type=float, dest="reg_strength",
                       help="strength of the weight penalty (default: --lambda for EWC, --c for SI, else 1)")
        g.add_argument("--precondition", action="store_true",
                       help="parameter regularisation by gradient projection (preconditioning)")
        g.add_argument("--alpha", type=float, default=1e-10,
                       help="small constant stabilising inversion of the importance matrix (default: %(default)s)")
        g.add_argument("--importance-weighting", choices=["fisher", "si", "owm"], dest="importance_weighting")

    @staticmethod
    def expand(args):
        chosen = [f"--{flag.replace('_', '-')}" for flag in CONVENIENCE if getattr(args, flag)]
        if len(chosen) > 1:
            raise UsageError(f"{chosen[0]} and {chosen[1]} cannot be combined: each sets the parameter "
                             f"regularisation (use --weight-penalty / --precondition / --importance-weighting)")
        if args.ewc or args.kfac_ewc:
            args.weight_penalty, args.importance_weighting = True, "fisher"
        if args.si:
            args.weight_penalty, args.importance_weighting = True, "si"
        if args.ncl:
            args.weight_penalty = args.precondition = True
            args.importance_weighting = "fisher"
        if args.owm:
            args.precondition, args.importance_weighting = True, "owm"
        if args.importance_weighting is None:
            args.importance_weighting = "fisher"
