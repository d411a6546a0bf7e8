"""Experience replay (ER; e.g. Chaudhry et al. 2019, "On tiny episodic memories in continual learning"):
`--replay=buffer`, and replay of all past data, `--replay=all`.

Each iteration from the second context on, a batch as large as the training batch is drawn from the stored samples
(the memory buffer, methods/buffer.py, through the learner's "memory" provider; or the full training data of all
past contexts) and replayed with its stored labels (with `--distill`: the previous model's soft targets), weighted
(1 - 1/c) against (1/c) for the current batch (methods/replay.py). The replayed batch is scored in the current
batch's forward pass (one pass over both is cheaper than two: train.learner.Learner.forward).

With A-GEM (methods/agem.py, the "gradient constraint" provider) the stored samples are A-GEM's constraint: this
component then adds no loss term and draws no batch before the forward pass; A-GEM draws it (`draw`) and computes
its loss (`constraint_loss`) where the current gradient is.

Task-free: only `--replay=buffer` (the reservoir buffer as at the last consolidation event).
"""
from data.tensorset import BatchSampler, TensorSet
from methods.agem import AGEM
from methods.buffer import own_samples
from methods.replay import STREAM_WEIGHT, ReplaySource, Rows, replay_weights


class ER(ReplaySource):
    labelled = True
    supports_stream = True
    stream_label = "--replay=buffer (ER)"
    provides = ("stored replay",)  # draw() and constraint_loss() for A-GEM

    @classmethod
    def streams(cls, args):
        return args.replay == "buffer"  # the past data of `all` is not known in a stream

    @staticmethod
    def enabled(args):
        return args.replay in ("buffer", "all")

    @staticmethod
    def describe(args):
        return f"--replay={args.replay}"

    @staticmethod
    def stamp(args):
        return ReplaySource.stamp(args) + AGEM.stamp_suffix(args)  # A-GEM's part of the replay's stamp

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.past = []         # training data of past contexts (--replay=all)
        self.sampler = None    # draws replay batches from the buffer / past data
        self.constraint = None  # A-GEM, when the stored samples are its constraint

    def replay_weights(self, context):
        self.constraint = self.learner.provider("gradient constraint")
        use = "normal" if self.constraint is None else "both" if self.constraint.adds_loss else "inequality"
        if context is None:
            return (1.0, 1.0) if use == "inequality" else (STREAM_WEIGHT, 1 - STREAM_WEIGHT)
        return replay_weights(context, self.learner.scenario.name, False, use)

    def before_context(self, context, dataset):
        super().before_context(context, dataset)
        source = None
        if self.args.replay == "buffer" and (context is None or context > 0):
            source = self.learner.provider("memory").memory()
        elif self.args.replay == "all" and context is not None and context > 0:
            source = TensorSet.concat(self.past)
        self.sampler = None if source is None or len(source) == 0 else BatchSampler(source, self.args.batch)

    def after_context(self, context, dataset):
        super().after_context(context, dataset)
        if self.args.replay == "all":
            self.past.append(own_samples(dataset, context))

    def ready(self):
        return self.sampler is not None

    def draw(self, context):
        """A batch of stored samples, or None (first context; nothing stored yet)."""
        if context == 0 or self.sampler is None:
            return None
        return self.learner.batch(self.sampler.dataset, next(self.sampler))

    def replay_batch(self, batch, context):
        if self.constraint is not None:
            return None  # A-GEM draws it where it needs it
        replayed = self.draw(context)
        if replayed is not None:
            replayed.shared = True
        return replayed

    def rows(self, batch, scores, replayed, context):
        own = next((r for r in replayed if r.source is self), None)
        if own is None:
            return None
        b, b_scores = own.batch, own.scores
        if b_scores is None:
            b_scores = self.learner.model(b.x, b.context)
        return Rows(b_scores, b.y, b.context, b.x, b.context, 1)

    def constraint_loss(self, replayed, context):
        """The weighted replayed loss of the `replayed` Batch (scored apart), for A-GEM's constraint."""
        scores = self.learner.model(replayed.x, replayed.context)
        rows = Rows(scores, replayed.y, replayed.context, replayed.x, replayed.context, 1)
        return self.weights[1] * self.replay_loss(rows, context)

    def losses(self, batch, scores, replayed, context):
        return {} if self.constraint is not None else super().losses(batch, scores, replayed, context)

