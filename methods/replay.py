"""What all replay methods share: the replay flags, the weighting, and the targets of replayed samples.

The methods (one file each): ER and replay of all past data (methods/er.py), LwF (methods/lwf.py), A-GEM
(methods/agem.py, a constraint on ER's replay), DGR (methods/generative.py) and BI-R (methods/bir.py, which replays
through its own model). Their common flags (`--replay`, `--distill`, `--temp`) are methods.common.ReplayOptions;
this file holds ReplaySource, the base of ER, LwF and DGR.

Replay sources (`--replay`): current (the current batch: LwF), buffer (stored samples: ER), all (the full training
data of all past contexts), generative (samples of the previous generator: DGR). Targets are the stored labels
(hard), or with `--distill` the temperature-`--temp` softmax of the previous model (soft); for 'current' and
'generative' without --distill, the previous model's predicted labels. Each replayed sample uses the output units
that were active for its own context (task-IL heads; class-IL with --active-classes current), and the previous
model's scores on those units are the distillation targets (zero-padded for classes new since). For 'current' and
'generative' in that per-context case, the batch is replayed once for each past context (scored once by a model
that ignores the context, as the paper's code).

Weighting, as in the paper's code (van de Ven et al. 2022; models/classifier.py `train_a_batch`), at context c
(1-based): total = (1/c) L_current + (1 - 1/c) L_replay. LwF (replay of the current batch with distillation) uses an
unweighted sum instead: L_current + L_replay in class-IL, L_current + (c-1) L_replay in task- and domain-IL (for
task-IL L_replay is the mean over the c-1 past heads, so this is their sum). With A-GEM's `--use-replay=inequality`
the current weight is 1 and the replayed loss is only the constraint; `both` weighs as normal replay.

Task-free (as the paper's code, train/train_stream.py and models/classifier_stream.py): at every consolidation event
(every --update-every iterations) the frozen copy of the model is taken and the buffer's contents as they stand
(a reservoir sample of the stream, methods/reservoir.py) become the replay source; replay starts after the first
event. The current and the replayed loss are weighted 0.5 each (the paper's rnt = 0.5; A-GEM: the current loss
alone).
"""
from typing import NamedTuple, Optional, Union

import torch
import torch.nn.functional as F

from methods.component import Component
from methods.distill import bce_loss, kd_loss, kd_loss_binary
from models.fc import context_gated
from utils.nn import frozen_copy

STREAM_SOURCES = ("none", "current", "buffer")  # the sources a task-free stream supports
STREAM_WEIGHT = 0.5  # task-free: weight of the current loss (the paper's rnt); the replayed loss gets the rest


def replay_weights(context, scenario, lwf, use_replay):
    """(weight of the current loss, weight of the replayed loss) at `context` (0-based), as in the paper's code.
    use_replay: 'normal', or A-GEM's 'inequality' (the replayed loss is only a constraint) or 'both'."""
    c = context + 1
    if lwf:  # LwF: unweighted sum; in task/domain-IL the replayed loss is multiplied by the number of past contexts
        replay = 1.0 if scenario == "class" else float(c - 1)
        if use_replay == "normal":
            return 1.0, replay
    else:
        replay = 1.0
    if use_replay == "inequality":
        return 1.0, replay
    return 1.0 / c, (1.0 - 1.0 / c) * replay


class Rows(NamedTuple):
    """The replayed rows of one iteration, as the targets helper (ReplaySource.replay_loss) needs them."""
    scores: torch.Tensor                   # the current model's scores of the replayed rows
    labels: Optional[torch.Tensor]         # their global labels (stored samples), or None (the previous model labels)
    contexts: Union[torch.Tensor, int, None]  # the context whose output units each row uses
    x: torch.Tensor                        # the inputs the previous model scores
    x_context: Union[torch.Tensor, int, None]  # their context for the previous model
    tiles: int                             # the previous model's scores of `x`, repeated `tiles` times, match the rows


class ReplaySource(Component):
    """The base of ER, LwF and DGR: the frozen previous model, the weighting and the targets of replayed rows.
    A subclass gives `rows` (the replayed rows of an iteration) and says whether its samples are `labelled`."""
    excludes = {"Joint": "", "Cumulative": ""}
    common_options = ("replay", "distill", "temp")  # methods.common.ReplayOptions
    labelled = False  # stored samples keep their labels; others are labelled by the previous model

    @staticmethod
    def stamp(args):
        return f"{args.replay}" + (f"-KD{args.temp:g}" if args.distill else "")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.previous = None   # frozen copy of the model at the end of the last context
        self.weights = (1.0, 0.0)
        self.gated = False     # the model's output depends on the context (replay through each context)
        self.binary = False    # the criterion is binary (iCaRL's --bce): so are the replayed samples' losses

    def replay_weights(self, context):
        """(current, replayed) loss weights at `context` (None: a task-free stream)."""
        if context is None:
            return STREAM_WEIGHT, 1 - STREAM_WEIGHT
        return replay_weights(context, self.learner.scenario.name, False, "normal")

    def before_context(self, context, dataset):
        self.gated = context_gated(self.learner.model)
        self.binary = getattr(self.learner.owner("criterion"), "binary_loss", False)
        self.weights = self.replay_weights(context)

    def after_context(self, context, dataset):
        if not self.labelled or self.args.distill:
            self.previous = frozen_copy(self.learner.model)

    def ready(self):
        """In a task-free stream: whether there is something to replay (after the first consolidation event)."""
        return self.previous is not None

    def replaying(self, context):
        """Whether this iteration replays: after the first context, or in a stream once `ready`."""
        return context > 0 if context is not None else self.ready()

    def current_weight(self, context):
        return self.weights[0] if self.replaying(context) else 1.0

    def rows(self, batch, scores, replayed, context):
        """This iteration's replayed Rows, or None."""
        raise NotImplementedError

    def losses(self, batch, scores, replayed, context):
        if not self.replaying(context):
            return {}
        rows = self.rows(batch, scores, replayed, context)
        if rows is None:
            return {}
        return {"replay": self.weights[1] * self.replay_loss(rows, context)}

    def unlabelled_rows(self, x, x_scores, batch, context):
        """Rows for inputs `x` without labels (the current batch, or generated samples; `x_scores`: their scores
        from the loop's pass, or None): in task-IL heads, once through each past context's units."""
        model = self.learner.model
        if not self.learner.scenario.per_context:
            if x_scores is None:
                x_scores = model(x, batch.context)
            return Rows(x_scores, None, batch.context, x, batch.context, 1)
        n = x.shape[0]
        contexts = torch.arange(context, device=x.device).repeat_interleave(n)
        if self.gated:
            x = x.repeat(context, *([1] * (x.dim() - 1)))
            return Rows(model(x, contexts), None, contexts, x, contexts, 1)
        if x_scores is None:
            x_scores = model(x, batch.context)
        return Rows(x_scores.repeat(context, 1), None, contexts, x, batch.context, context)

    def replay_loss(self, rows, context):
        """The targets helper: the loss of the replayed `rows` against their labels, the previous model's predicted
        labels, or (--distill) its soft targets, on each row's active output units."""
        select = self.learner.scenario.select
        y = rows.labels
        if y is None:
            y = torch.zeros(rows.scores.shape[0], dtype=torch.long, device=rows.scores.device)
        active, targets = select(rows.scores, y, rows.contexts, context)
        if self.args.distill or not self.labelled:
            with torch.no_grad():
                previous = self.previous(rows.x, rows.x_context).repeat(rows.tiles, 1)
                old, _ = select(previous, y, rows.contexts, None if context is None else context - 1)
            if self.args.distill:
                kd = kd_loss_binary if self.binary else kd_loss
                return kd(active, old, self.args.temp)
            targets = old.argmax(1)  # hard targets from the previous model (old units come first among the active)
        return bce_loss(active, targets) if self.binary else F.cross_entropy(active, targets)
