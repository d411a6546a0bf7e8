"""Learning without Forgetting (LwF; Li & Hoiem, "Learning without forgetting", TPAMI 2017): `--lwf` =
`--replay=current --distill`.

From the second context on, the current batch is replayed with the soft targets (temperature `--temp`) of a frozen
copy of the model as it was at the end of the last context, through the output units of each past context (task-IL:
once per past head; the targets helper and the weighting are methods/replay.py's). With distillation the losses are
summed unweighted: L_current + L_replay in class-IL, L_current + (c-1) L_replay in task- and domain-IL (c: the
context, 1-based); `--replay=current` without `--distill` (hard targets, the previous model's argmax) weighs as
replay, (1/c) and (1 - 1/c).

Task-free (as the paper's code): the copy is taken at every consolidation event, and the current and replayed
losses weigh 0.5 each. In task-IL each sample of the current batch is replayed through the head of a past context
drawn in proportion to the samples seen of each context up to the last event.
"""
import torch

from methods.replay import ReplaySource, Rows, replay_weights


class LwF(ReplaySource):
    excludes = {**ReplaySource.excludes, "ER": "", "GenerativeReplay": ""}  # (--lwf with another --replay source)
    supports_stream = True
    stream_label = "--lwf"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("LwF")
        g.add_argument("--lwf", action="store_true", help="select defaults for 'LwF' (Li & Hoiem, 2017)")

    @staticmethod
    def expand(args):
        if args.lwf and args.replay not in ("none", "current"):
            return  # another replay source: refused (LwF excludes the other replay methods)
        if args.lwf:
            args.replay, args.distill = "current", True

    @staticmethod
    def enabled(args):
        return args.lwf or args.replay == "current"

    @staticmethod
    def describe(args):
        return "--lwf" if args.lwf else "--replay=current"

    def __init__(self, args, learner):
        super().__init__(args, learner)
        # task-free in task-IL: samples seen per context, counted over the stream and as at the last update
        self.seen = self.seen_at_update = None

    def replay_weights(self, context):
        if context is None:
            return super().replay_weights(context)
        return replay_weights(context, self.learner.scenario.name, self.args.distill, "normal")

    def after_context(self, context, dataset):
        super().after_context(context, dataset)
        if self.seen is not None:
            self.seen_at_update = self.seen.clone()

    def after_iteration(self, context, iteration, losses, batch, replayed):
        if context is None and self.learner.scenario.per_context:  # task-IL in a stream
            if self.seen is None:
                self.seen = torch.zeros(self.learner.scenario.n_contexts, device=batch.y.device)
            self.seen += torch.bincount(batch.context, minlength=self.seen.shape[0])

    def rows(self, batch, scores, replayed, context):
        if context is not None or not self.learner.scenario.per_context:
            return self.unlabelled_rows(batch.x, scores, batch, context)
        # a stream in task-IL: each input through a past context drawn as often as it was seen
        x, n = batch.x, batch.x.shape[0]
        contexts = torch.multinomial(self.seen_at_update, n, replacement=True)
        if self.gated:
            return Rows(self.learner.model(x, contexts), None, contexts, x, contexts, 1)
        if scores is None:
            scores = self.learner.model(x, batch.context)
        return Rows(scores, None, contexts, x, contexts, 1)
