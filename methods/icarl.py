"""iCaRL (Rebuffi et al., "iCaRL: Incremental classifier and representation learning", CVPR 2017) and its parts.

`--icarl` = `--prototypes --add-buffer --bce --bce-distill --sample-selection=herding`, as in the paper's code
(van de Ven et al. 2022; the paper's comparison runs it with --active-classes all-so-far).
- `--prototypes`: nearest-exemplar-mean classification. At the end of each context, the mean of the L2-normalised
  features of each class's stored exemplars is computed (and normalised); a test sample is given the class whose
  mean is nearest to its normalised features (as the paper's code, features are normalised only with herding
  selection, which iCaRL uses) (scores = minus the squared distances; classes without exemplars get
  -inf). Where several contexts share output units (domain-IL, single-headed task-IL) a unit's score is that of its
  nearest stored class.
- `--bce`: binary cross-entropy on the active output units instead of the multi-class cross-entropy (also for
  replayed samples).
- `--bce-distill` (class-IL): for the units of classes from past contexts, the binary targets are the previous
  model's outputs sigmoid(score / T) (T = --temp, as the paper's code does), so old classes are distilled.

Task-free, the paper's "modified iCaRL" (its compare_task_free.py): `--icarl` = `--bce --prototypes --replay=buffer`,
with the reservoir buffer of methods/reservoir.py. The class means are those of the L2-normalised features of the
buffer's samples as it stands, recomputed at prediction time whenever the buffer has changed (as the paper's
models/cl/memory_buffer_stream.py).
"""
import torch
import torch.nn.functional as F

from methods.buffer import features
from methods.component import Component
from methods.distill import bce_loss
from utils.nn import eval_mode, frozen_copy
from utils.errors import UsageError


class ICaRL(Component):
    supports_stream = True
    stream_label = "--icarl (modified iCaRL)"
    binary_loss = True  # as the criterion's owner (--bce): replayed samples get binary losses too (methods/replay.py)
    common_options = ("sample_selection", "temp")  # herding: normalised features; --bce-distill's temperature

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Template-Based Classification")
        g.add_argument("--icarl", action="store_true", help="select defaults for 'iCaRL' (Rebuffi et al, 2017)")
        g.add_argument("--prototypes", action="store_true", help="classify using nearest-exemplar-mean rule")
        g = parser.add_argument_group("Loss Parameters")
        g.add_argument("--bce", action="store_true", help="use binary (instead of multi-class) classification loss")
        g.add_argument("--bce-distill", action="store_true", dest="bce_distill",
                       help="distilled loss on previous classes for new examples (if --bce & --scenario=class)")

    @staticmethod
    def expand(args):
        if args.icarl and args.task_free:
            if args.replay not in ("none", "buffer"):
                raise UsageError(f"--icarl (modified iCaRL: it replays the buffer) cannot be combined with "
                                 f"--replay={args.replay}")
            args.prototypes = args.bce = True
            args.replay = "buffer"
        elif args.icarl:
            args.prototypes = args.add_buffer = args.bce = args.bce_distill = True
            args.sample_selection = args.sample_selection or "herding"

    @staticmethod
    def enabled(args):
        return args.prototypes or args.bce

    @staticmethod
    def needs(args):
        return ("memory",) if args.prototypes else ()  # the exemplars (the memory buffer; task-free the reservoir)

    @staticmethod
    def describe(args):
        if args.icarl:
            return "--icarl"
        return " and ".join(f for f, on in (("--prototypes", args.prototypes), ("--bce", args.bce)) if on)

    @classmethod
    def claims(cls, args):
        return ({"predict"} if args.prototypes else set()) | ({"criterion"} if args.bce else set())

    @staticmethod
    def validate(args):
        if args.icarl and args.scenario != "class":
            raise UsageError("--icarl can only be used with --scenario=class")
        if args.bce_distill and args.scenario != "class":
            raise UsageError("--bce-distill can only be used with --scenario=class")
        if args.bce_distill and not args.bce:
            raise UsageError("--bce-distill needs --bce")
        if args.bce_distill and args.task_free:
            raise UsageError("--bce-distill needs context boundaries (the model at the end of the last context); "
                             "task-free experiments have none")
        if args.bce_distill and args.active_classes == "current":
            raise UsageError("--bce-distill cannot be used with --active-classes=current")

    @staticmethod
    def stamp(args):
        parts = (["proto"] if args.prototypes else []) + \
                (["BCE_dist" if args.bce_distill else "BCE"] if args.bce else [])
        return "-".join(parts)

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.previous = None
        # as the paper's code: normalised features with herding, and always in task-free experiments
        self.stream = args.task_free
        self.normalize = args.sample_selection == "herding" or self.stream
        self.version = None  # task-free: the buffer's version the means were computed from
        self.means = None   # [labels, features] normalised class means of the exemplars
        self.valid = None   # [labels] which classes have exemplars

    def after_context(self, context, dataset):
        if self.args.bce_distill:
            self.previous = frozen_copy(self.learner.model)
        if self.args.prototypes and context is not None:  # (task-free: at prediction time)
            self.compute_means(self.learner.provider("memory").memory_sets())

    def compute_means(self, sets):
        scenario = self.learner.scenario
        n_labels = scenario.cpc * scenario.n_contexts
        means, valid = None, torch.zeros(n_labels, dtype=torch.bool, device=self.learner.device)
        for label, exemplars in sets.items():
            mean = features(self.learner, exemplars, self.normalize).mean(0)
            mean = F.normalize(mean, p=2, dim=0) if self.normalize else mean
            if means is None:
                means = torch.zeros(n_labels, mean.shape[0], device=mean.device)
            means[label] = mean
            valid[label] = True
        self.means, self.valid = means, valid

    def predict(self, x, context):
        model = self.learner.model
        memory = self.learner.provider("memory") if self.stream else None
        if memory is not None and memory.version != self.version:
            self.compute_means(memory.memory_sets())
            self.version = memory.version
        if self.means is None:  # no exemplars yet (accuracy logged during the first context): the network decides
            return model(x, context)
        with eval_mode(model), torch.no_grad():
            f = model.features(x, context)
            f = F.normalize(f, p=2, dim=1) if self.normalize else f
        return nearest_mean_scores(f, self.means, self.valid, self.learner.scenario.n_outputs)

    def criterion(self, scores, batch, context):
        learner = self.learner
        active, targets = learner.scenario.select(scores, batch.y, batch.context, context)
        old = None
        if self.previous is not None:
            with torch.no_grad():
                old = torch.sigmoid(self.previous(batch.x, batch.context)[:, :context * learner.scenario.cpc]
                                    / self.args.temp)
        return bce_loss(active, targets, old)

    def state_dict(self):
        return {"means": self.means, "valid": self.valid}

    def load_state_dict(self, state):
        self.means, self.valid = state.get("means"), state.get("valid")
        memory = self.learner.provider("memory") if self.stream else None
        self.version = None if memory is None else memory.version  # the saved means, not the (empty) buffer's


def nearest_mean_scores(f, means, valid, n_outputs):
    """Minus the squared Euclidean distance of each row of `f` to each class mean (-inf for classes without one),
    folded onto `n_outputs` units (max over the classes sharing a unit) when there are more classes than units."""
    scores = -(f.pow(2).sum(1, keepdim=True) - 2 * f @ means.t() + means.pow(2).sum(1))
    scores = scores.masked_fill(~valid, float("-inf"))
    if scores.shape[1] != n_outputs:
        scores = scores.view(scores.shape[0], -1, n_outputs).amax(1)
    return scores
