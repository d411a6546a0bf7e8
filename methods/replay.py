"""Replay: experience replay (ER), Learning without Forgetting (LwF) and A-GEM.

- ER (e.g. Chaudhry et al. 2019, "On tiny episodic memories in continual learning"): `--replay=buffer`; each
  iteration a batch as large as the training batch is drawn from the memory buffer (methods/buffer.py).
- LwF (Li & Hoiem, "Learning without forgetting", TPAMI 2017): `--lwf` = `--replay=current --distill`; the current
  batch is replayed with the soft targets of the model as it was at the end of the last context.
- A-GEM (Chaudhry et al., "Efficient lifelong learning with A-GEM", ICLR 2019): `--agem` = `--replay=buffer
  --use-replay=inequality`; the gradient g of the current loss is projected when it points against the gradient
  g_ref of the replayed loss: if g.g_ref < 0, g <- g - (g.g_ref) / (g_ref.g_ref + eps) g_ref.

Replay sources (`--replay`): current (the current batch), buffer (stored samples), all (the full training data of
all past contexts), generative (samples of the previous generator, methods/generative.py: DGR). Targets are the
stored labels (hard), or with `--distill` the temperature-`--temp` softmax of the previous model (soft); for
'current' and 'generative' without --distill, the previous model's predicted labels. Each replayed
sample uses the output units that were active for its own context (task-IL heads; class-IL with --active-classes
current), and the previous model's scores on those units are the distillation targets (zero-padded for classes new
since). For 'current' and 'generative' in that per-context case, the batch is replayed once for each past context
(scored once by a model that ignores the context, as the paper's code).

Weighting, as in the paper's code (van de Ven et al. 2022; models/classifier.py `train_a_batch`), at context c
(1-based): total = (1/c) L_current + (1 - 1/c) L_replay. LwF (replay of the current batch with distillation) uses an
unweighted sum instead: L_current + L_replay in class-IL, L_current + (c-1) L_replay in task- and domain-IL (for
task-IL L_replay is the mean over the c-1 past heads, so this is their sum). `--use-replay=inequality` uses the
replayed loss only as A-GEM's constraint (current weight 1); `both` adds the weighted replayed loss and also uses it
as the constraint.

Task-free (as the paper's code, train/train_stream.py and models/classifier_stream.py): at every consolidation event
(every --update-every iterations) the frozen copy of the model is taken and the buffer's contents as they stand
(a reservoir sample of the stream, methods/reservoir.py) become the replay source; replay starts after the first
event. The current and the replayed loss are weighted 0.5 each (the paper's rnt = 0.5; A-GEM: the current loss
alone). LwF in task-IL replays each sample of the current batch through the head of a past context drawn in
proportion to the samples seen of each context up to the last event.
"""
import torch
import torch.nn.functional as F

from data.tensorset import BatchSampler, TensorSet
from methods.buffer import own_samples
from methods.component import Component
from methods.distill import bce_loss, kd_loss, kd_loss_binary
from models.fc import context_gated
from utils.errors import UsageError
from utils.nn import frozen_copy

# Replay sources; 'buffer' asks the learner's "memory" provider (methods/buffer.py), 'generative' replays the
# batches of the "generative" provider (methods/generative.py).
REPLAY_SOURCES = ["none", "current", "buffer", "all", "generative"]
PREDICTED_TARGETS = ("current", "generative")  # sources without labels: the previous model labels them


def agem_project(grads, refs, eps=1e-7):
    """A-GEM's projection, in place on the list `grads`: where g.g_ref < 0, g <- g - (g.g_ref)/(g_ref.g_ref + eps)
    g_ref (g and g_ref being the concatenations of the lists). Runs without a device sync."""
    dot = sum((g * r).sum() for g, r in zip(grads, refs))
    norm = sum((r * r).sum() for r in refs)
    coef = dot.clamp(max=0) / (norm + eps)
    for g, r in zip(grads, refs):
        g.sub_(coef * r)
    return grads


def replay_weights(context, scenario, lwf, use_replay):
    """(weight of the current loss, weight of the replayed loss) at `context` (0-based), as in the paper's code."""
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


STREAM_SOURCES = ("none", "current", "buffer")  # the sources a task-free stream supports
STREAM_WEIGHT = 0.5  # task-free: weight of the current loss (the paper's rnt); the replayed loss gets the rest


class Replay(Component):
    excludes = {"Joint": "", "Cumulative": ""}
    supports_stream = True  # with STREAM_SOURCES

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Replay")
        g.add_argument("--replay", default="none", choices=REPLAY_SOURCES,
                       help="what to replay: none, the current batch, the memory buffer, or all past data")
        g.add_argument("--distill", action="store_true", help="use distillation-loss for the replayed data")
        g.add_argument("--temp", type=float, default=2.0, help="temperature for distillation loss")
        g.add_argument("--use-replay", default="normal", choices=["normal", "inequality", "both"], dest="use_replay",
                       help="add the replayed loss (normal), use its gradient as A-GEM's constraint (inequality), "
                            "or both")
        g.add_argument("--eps-agem", type=float, default=1e-7, dest="eps_agem",
                       help="parameter to ensure numerical stability of A-GEM")
        g.add_argument("--lwf", action="store_true", help="select defaults for 'LwF' (Li & Hoiem, 2017)")
        g.add_argument("--agem", action="store_true", help="select defaults for 'A-GEM' (Chaudhry et al, 2019)")

    @staticmethod
    def expand(args):
        if args.lwf and args.agem:
            raise UsageError("--lwf and --agem exclude each other")
        for flag, source in (("lwf", "current"), ("agem", "buffer")):
            if getattr(args, flag) and args.replay not in ("none", source):
                raise UsageError(f"--{flag} (--replay={source}) cannot be combined with --replay={args.replay}")
        if args.lwf:
            args.replay, args.distill = "current", True
        if args.agem:
            args.replay, args.use_replay = "buffer", "inequality"

    @staticmethod
    def enabled(args):
        return args.replay != "none" and not args.feedback  # --feedback (BI-R) replays its own samples: methods/bir.py

    @staticmethod
    def describe(args):
        by = " (set by --lwf)" if args.lwf else " (set by --agem)" if args.agem else ""
        return f"--replay={args.replay}{by}"

    @staticmethod
    def validate(args):
        if args.temp <= 0:
            raise UsageError("--temp must be positive")
        if args.eps_agem < 0:
            raise UsageError("--eps-agem must be at least 0")
        if args.replay == "none" and args.distill:
            raise UsageError("--distill needs a replay source (--replay; or --lwf, --brain-inspired)")
        if args.replay == "none" and args.use_replay != "normal":
            raise UsageError(f"--use-replay={args.use_replay} needs a replay source (--replay)")
        if args.task_free and args.replay not in STREAM_SOURCES:
            raise UsageError(f"--replay={args.replay} is not supported in task-free experiments (they replay "
                             f"{', '.join(STREAM_SOURCES[1:])})")

    @staticmethod
    def stamp(args):
        s = f"{args.replay}" + (f"-KD{args.temp:g}" if args.distill else "")
        if args.use_replay != "normal":
            s += ("-aGEM" if args.use_replay == "inequality" else "-both")
            s += "" if args.eps_agem == 1e-7 else f"{args.eps_agem:g}"
        return s

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.lwf = args.replay == "current" and args.distill
        self.bce = getattr(args, "bce", False)  # binary losses (iCaRL's --bce) also for the replayed samples
        self.previous = None   # frozen copy of the model at the end of the last context
        self.past = []         # training data of past contexts (--replay=all)
        self.sampler = None    # draws replay batches from the buffer / past data
        self.weights = (1.0, 0.0)
        self.params = [p for p in learner.model.parameters() if p.requires_grad]
        self.g_ref = None
        self.gated = False     # the model's output depends on the context (replay 'current' through each context)
        self.stream = args.task_free
        # task-free LwF in task-IL: samples seen per context, counted over the stream and as at the last update
        self.seen = self.seen_at_update = None

    # ---- per context ----
    def before_context(self, context, dataset):
        self.gated = context_gated(self.learner.model)
        if context is None:  # a task-free stream
            self.weights = (1.0, 1.0) if self.args.use_replay == "inequality" else (STREAM_WEIGHT, 1 - STREAM_WEIGHT)
            memory = self.learner.provider("memory") if self.args.replay == "buffer" else None
            source = None if memory is None else memory.memory()
            self.sampler = None if source is None or len(source) == 0 else BatchSampler(source, self.args.batch)
            return
        self.weights = replay_weights(context, self.learner.scenario.name, self.lwf, self.args.use_replay)
        source = None
        if context > 0 and self.args.replay == "buffer":
            source = self.learner.provider("memory").memory()
        elif context > 0 and self.args.replay == "all":
            source = TensorSet.concat(self.past)
        self.sampler = None if source is None or len(source) == 0 else BatchSampler(source, self.args.batch)

    def after_context(self, context, dataset):
        if self.args.replay in PREDICTED_TARGETS or self.args.distill:
            self.previous = frozen_copy(self.learner.model)
        if self.args.replay == "all":
            self.past.append(own_samples(dataset, context))
        if self.seen is not None:
            self.seen_at_update = self.seen.clone()

    def replaying(self, context):
        """Whether this iteration replays: after the first context, or in a stream after the first update."""
        if context is not None:
            return context > 0
        return self.sampler is not None if self.args.replay == "buffer" else self.previous is not None

    def current_weight(self, context):
        return self.weights[0] if self.replaying(context) else 1.0

    def after_iteration(self, context, iteration, losses, batch, replayed):
        if context is None and self.args.replay == "current" and self.learner.scenario.per_context:  # task-IL
            if self.seen is None:
                self.seen = torch.zeros(self.learner.scenario.n_contexts, device=batch.y.device)
            self.seen += torch.bincount(batch.context, minlength=self.seen.shape[0])

    # ---- per iteration ----
    def replay_batch(self, batch, context):
        """A batch of stored samples, scored in the current batch's forward pass; A-GEM needs the replayed loss's
        gradient on its own, which a shared pass would make cost a full second backward pass, so it scores them
        apart."""
        if context == 0 or self.sampler is None:
            return None
        replayed = self.learner.batch(self.sampler.dataset, next(self.sampler))
        replayed.shared = self.args.use_replay == "normal"
        return replayed

    def _replayed(self, batch, scores, replayed, context):
        """(scores of the model, global labels or None, contexts, inputs, their context for the previous model,
        tiles) of the replayed samples: the previous model's scores on the replayed rows are those of `inputs`
        repeated `tiles` times (the same inputs once per past context, through a model that ignores the context)."""
        learner = self.learner
        if self.args.replay in PREDICTED_TARGETS:
            if self.args.replay == "current":
                x, x_scores = batch.x, scores
            else:
                generated = next((r for r in replayed if "generative" in r.source.provides), None)
                if generated is None:
                    return None
                x, x_scores = generated.batch.x, generated.scores
            if not learner.scenario.per_context:
                if x_scores is None:
                    x_scores = learner.model(x, batch.context)
                return x_scores, None, batch.context, x, batch.context, 1
            n = x.shape[0]
            if context is None:  # a stream: each input through a past context drawn as often as it was seen
                contexts = torch.multinomial(self.seen_at_update, n, replacement=True)
                if self.gated:
                    return learner.model(x, contexts), None, contexts, x, contexts, 1
                if x_scores is None:
                    x_scores = learner.model(x, batch.context)
                return x_scores, None, contexts, x, contexts, 1
            # replay the inputs once for each past context, through that context's output units
            contexts = torch.arange(context, device=x.device).repeat_interleave(n)
            if self.gated:
                x = x.repeat(context, *([1] * (x.dim() - 1)))
                return learner.model(x, contexts), None, contexts, x, contexts, 1
            if x_scores is None:
                x_scores = learner.model(x, batch.context)
            return x_scores.repeat(context, 1), None, contexts, x, batch.context, context
        own = next((r for r in replayed if r.source is self), None)
        if own is None:
            return None
        b, b_scores = own.batch, own.scores
        if b_scores is None:
            b_scores = learner.model(b.x, b.context)
        return b_scores, b.y, b.context, b.x, b.context, 1

    def replay_loss(self, batch, scores, replayed, context):
        replayed = self._replayed(batch, scores, replayed, context)
        if replayed is None:
            return None
        y_hat, y, contexts, x, x_context, tiles = replayed
        select = self.learner.scenario.select
        if y is None:
            y = torch.zeros(y_hat.shape[0], dtype=torch.long, device=y_hat.device)
        active, targets = select(y_hat, y, contexts, context)
        if self.args.distill or self.args.replay in PREDICTED_TARGETS:
            with torch.no_grad():
                previous = self.previous(x, x_context).repeat(tiles, 1)
                old, _ = select(previous, y, contexts, None if context is None else context - 1)
            if self.args.distill:
                kd = kd_loss_binary if self.bce else kd_loss
                return kd(active, old, self.args.temp)
            targets = old.argmax(1)  # hard targets from the previous model (old units come first among the active)
        return bce_loss(active, targets) if self.bce else F.cross_entropy(active, targets)

    def losses(self, batch, scores, replayed, context):
        if not self.replaying(context):
            return {}
        loss = self.replay_loss(batch, scores, replayed, context)
        if loss is None:
            return {}
        loss = self.weights[1] * loss
        if self.args.use_replay == "normal":
            return {"replay": loss}
        self.g_ref = torch.autograd.grad(loss, self.params, retain_graph=True, allow_unused=True)
        return {"replay": loss if self.args.use_replay == "both" else loss.detach()}

    def before_step(self, context):
        if self.g_ref is None:
            return
        grads, refs = [], []
        for p, r in zip(self.params, self.g_ref):
            if r is None:
                continue
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            grads.append(p.grad)
            refs.append(r)
        agem_project(grads, refs, self.args.eps_agem)
        self.g_ref = None
