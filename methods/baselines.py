"""Baselines: joint training (upper target) and cumulative training (all data so far at each context)."""
from data.tensorset import TensorSet
from methods.component import Component
from utils.errors import UsageError


class Joint(Component):
    """Train once on the data of all contexts (main.py turns the plan into a single phase)."""
    name = "joint"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Baseline Options")
        g.add_argument("--joint", action="store_true", help="train once on data of all contexts")
        g.add_argument("--cummulative", "--cumulative", action="store_true", dest="cumulative",
                       help="train incrementally on data of all contexts so far")

    @staticmethod
    def enabled(args):
        return args.joint

    @staticmethod
    def validate(args):
        if args.joint and args.cumulative:
            raise UsageError("--joint and --cummulative exclude each other")

    @staticmethod
    def stamp(args):
        return "JOINT" if args.joint else ""

    @staticmethod
    def plan(train_sets):
        """One phase on all the data; 'seen' is every context (for --active-classes)."""
        return [(len(train_sets) - 1, TensorSet.concat(train_sets))]


class Cumulative(Component):
    """At context c, train on the training data of contexts 0..c."""
    name = "cumulative"

    @staticmethod
    def enabled(args):
        return args.cumulative

    @staticmethod
    def stamp(args):
        return "CUMMULATIVE" if args.cumulative else ""

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.seen = []

    def training_set(self, context, dataset):
        self.seen.append(dataset)
        return TensorSet.concat(self.seen)
