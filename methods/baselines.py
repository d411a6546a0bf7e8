"""Baselines: joint training (upper target) and cumulative training (all data so far at each context)."""
from data.tensorset import TensorSet
from methods.component import Component, option_group
from utils.errors import UsageError

BASELINES = "Baseline Options"  # the argument group of both


class Joint(Component):
    """Train once on the data of all contexts: its plan is a single phase. In a task-free experiment: the random
    stream (every context equally likely throughout), as the paper's compare_task_free.py runs it."""
    excludes = {"Cumulative": "they exclude each other"}
    supports_stream = True  # as the random stream (never enabled there: `expand` chooses the stream)
    stream_label = "--joint (a random stream)"

    @staticmethod
    def expand(args):
        if args.joint and args.task_free:
            if args.stream not in (None, "random"):
                raise UsageError(f"--joint is the random stream; it cannot be combined with --stream={args.stream}")
            args.stream = "random"

    @staticmethod
    def add_args(parser):
        g = option_group(parser, BASELINES)
        g.add_argument("--joint", action="store_true", help="train once on data of all contexts")

    @staticmethod
    def enabled(args):
        return args.joint and not args.task_free

    @staticmethod
    def describe(args):
        return "--joint"

    @staticmethod
    def stamp(args):
        return "JOINT"

    @staticmethod
    def plan(train_sets):
        """One phase on all the data; 'seen' is every context (for --active-classes)."""
        return [(len(train_sets) - 1, TensorSet.concat(train_sets))]


class Cumulative(Component):
    """At context c, train on the training data of contexts 0..c (incremental joint training). --grow-batch: with a
    batch of --batch samples per context so far, as the paper's code's stability-gap example
    (StabilityGap/stability_gap_example.py; Hess et al., "Two complementary perspectives to continual learning",
    2023), so that each context keeps its share of every batch."""

    @staticmethod
    def add_args(parser):
        g = option_group(parser, BASELINES)  # (one group for both baselines, as in the paper's code)
        g.add_argument("--cummulative", "--cumulative", action="store_true", dest="cumulative",
                       help="train incrementally on data of all contexts so far")
        g.add_argument("--grow-batch", action="store_true", dest="grow_batch",
                       help="with --cummulative: a batch of --batch samples per context so far")

    @staticmethod
    def validate(args):
        if args.grow_batch and not args.cumulative:
            raise UsageError("--grow-batch only applies to --cummulative")

    @staticmethod
    def enabled(args):
        return args.cumulative

    @staticmethod
    def describe(args):
        return "--cummulative"

    @staticmethod
    def stamp(args):
        return "CUMMULATIVE" + ("-gb" if args.grow_batch else "")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.seen = []

    def training_set(self, context, dataset):
        self.seen.append(dataset)
        return TensorSet.concat(self.seen)

    def context_batch(self, context, batch):
        return batch * len(self.seen) if self.args.grow_batch else batch
