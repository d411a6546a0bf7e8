"""The memory buffer: stored samples of past classes, kept as tensors on the training device.

Used by experience replay (`--replay=buffer`, e.g. ER and A-GEM) and iCaRL (`--prototypes`), which declare that they
need "memory" (Component.needs: the run then switches the buffer on, methods.enabled_components), and with its own
`--add-buffer`. The buffer is a TensorSet per class (raw uint8 images, global labels and contexts), so replayed
samples are preprocessed exactly like training batches.

- `--budget` samples per class (paper: 100; permuted MNIST 10). A "class" is a global label, so in domain-IL each
  context's classes get their own budget, as in the paper's code.
- The buffer is filled at the end of each context from that context's training data. With `--use-full-capacity`,
  the budget of classes not yet seen is lent to the seen ones: after context c (1-based) each class keeps
  floor(budget * contexts / c) samples, and the sets stored earlier are cut to their first samples.
- `--sample-selection`: random, or herding (Rebuffi et al., "iCaRL", CVPR 2017): greedily add the sample that
  brings the mean of the L2-normalised features of the chosen samples closest to the class mean. Sets are stored
  in selection order, so cutting a set keeps the best-ranked samples. (`fromp` is FROMP's own choice of memorable
  points, methods/fromp.py, which keeps them apart from this buffer.)
- `--add-buffer` adds the buffer to the current context's training data.
In task-free experiments the buffer is methods/reservoir.py's instead: --budget samples in total (default 1000).
The memory options (--budget, --use-full-capacity, --sample-selection) are common options (methods.common
MemoryOptions): FROMP's memorable points (methods/fromp.py) and the reservoir use them too.
"""
import torch
import torch.nn.functional as F

from data.tensorset import TensorSet
from methods.common import BUDGET, BUDGET_FALLBACK, MemoryOptions
from methods.component import Component, option_group, unpublished_note
from utils.errors import UsageError
from utils.nn import eval_mode

FEATURE_CHUNK = 2048


def own_samples(dataset, context):
    """The samples of `dataset` that belong to `context` (the context's training data, without buffer samples)."""
    if dataset.context == context:
        return dataset
    return dataset.subset((dataset.contexts == context).nonzero().squeeze(1))


@torch.no_grad()
def features(learner, dataset, normalize=True):
    """Features (input to the output layer) of every sample of `dataset`, in eval mode, optionally L2-normalised."""
    out = []
    with eval_mode(learner.model) as model:
        for start in range(0, len(dataset), FEATURE_CHUNK):
            index = torch.arange(start, min(start + FEATURE_CHUNK, len(dataset)), device=dataset.device)
            batch = learner.batch(dataset, index)
            out.append(model.features(batch.x, batch.context))
    f = torch.cat(out)
    return F.normalize(f, p=2, dim=1) if normalize else f


def herding_order(feats, n):
    """Indices of `n` rows of `feats` [N, D] chosen greedily so that the running mean of the chosen rows is as close
    as possible (Euclidean) to the normalised mean of all rows; the order is the order of choice."""
    # ||(S + f_i)/(k+1) - mu||^2 (k+1)^2 = ||f_i||^2 + 2 f_i.(S - (k+1) mu) + a constant, so the step's argmin
    # needs one matrix-vector product instead of an [N, D] temporary.
    n = min(n, feats.shape[0])
    target = F.normalize(feats.mean(0), p=2, dim=0)
    sq_norms = feats.pow(2).sum(1)
    chosen = torch.empty(n, dtype=torch.long, device=feats.device)
    taken = torch.zeros(feats.shape[0], dtype=torch.bool, device=feats.device)
    running = torch.zeros_like(target)
    for k in range(n):
        dist = (sq_norms + 2 * (feats @ (running - (k + 1) * target))).masked_fill(taken, float("inf"))
        i = dist.argmin()
        chosen[k] = i
        taken[i] = True
        running += feats[i]
    return chosen


def select_random(learner, dataset, n):
    return torch.randperm(len(dataset), device=dataset.device)[:n]


def select_herding(learner, dataset, n):
    return herding_order(features(learner, dataset), n)


# name -> function(learner, dataset of one class, n) -> indices of the chosen samples, best first
SELECTIONS = {"random": select_random, "herding": select_herding}


def samples_per_class(budget, n_contexts, context, full_capacity):
    """How many samples each stored class keeps after context `context` (0-based) has been added."""
    return budget * n_contexts // (context + 1) if full_capacity else budget


class MemoryBuffer(Component):
    excludes = {"FROMP": "FROMP keeps its own memorable points"}
    provides = ("memory",)
    common_options = ("budget", "use_full_capacity", "sample_selection")  # methods.common.MemoryOptions

    @staticmethod
    def add_args(parser):
        g = option_group(parser, MemoryOptions.title)  # (after the common memory options, as in the paper)
        g.add_argument("--add-buffer", action="store_true", dest="add_buffer",
                       help="add memory buffer to current context's training data")

    @staticmethod
    def unpublished(args):
        return {} if args.task_free else unpublished_note(args, BUDGET, ["budget"], f"{BUDGET_FALLBACK} per class")

    @staticmethod
    def enabled(args):
        return args.add_buffer and not args.task_free  # (its users switch it on by their need of "memory")

    @staticmethod
    def describe(args):
        return "--add-buffer"  # (when a user needs it, usage messages name that user: methods.describe)

    @staticmethod
    def validate(args):
        if args.task_free:
            for flag, on in (("--use-full-capacity", args.use_full_capacity), ("--add-buffer", args.add_buffer),
                             (f"--sample-selection={args.sample_selection}", args.sample_selection != "random")):
                if on:
                    raise UsageError(f"{flag} is not supported in task-free experiments: their buffer is a "
                                     "reservoir sample of the stream")

    @staticmethod
    def validate_enabled(args):
        if args.sample_selection not in SELECTIONS:
            raise UsageError(f"--sample-selection={args.sample_selection} is FROMP's choice of memorable points "
                             f"(--fromp); the memory buffer selects {' or '.join(SELECTIONS)}")

    @staticmethod
    def stamp(args):
        s = f"b{args.budget}" + ("fc" if args.use_full_capacity else "")
        s += "" if args.sample_selection == "random" else f"-{args.sample_selection}"
        return s + ("-add" if args.add_buffer else "")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.sets = {}     # global label -> TensorSet of its stored samples, best first
        self.data = None   # all stored samples as one TensorSet (None while empty)

    def memory(self):
        """All stored samples as one TensorSet (None while empty): what --replay=buffer replays."""
        return self.data

    def memory_sets(self):
        """{global label: TensorSet of its stored samples, best first}: iCaRL's exemplars."""
        return self.sets

    def training_set(self, context, dataset):
        if self.args.add_buffer and self.data is not None:
            return TensorSet.concat([dataset, self.data])
        return dataset

    def after_context(self, context, dataset):
        self.update(context, own_samples(dataset, context))

    def update(self, context, dataset):
        """Cut the stored sets to the new per-class budget, then store samples of each class in `dataset`."""
        m = samples_per_class(self.args.budget, self.args.contexts, context, self.args.use_full_capacity)
        self.sets = {label: s.subset(slice(0, m)) for label, s in self.sets.items()}
        select = SELECTIONS[self.args.sample_selection]
        for label in dataset.labels.unique().tolist():
            members = dataset.subset((dataset.labels == label).nonzero().squeeze(1))
            self.sets[label] = members.subset(select(self.learner, members, m))
        self.data = TensorSet.concat([self.sets[k] for k in sorted(self.sets)])

    def __len__(self):
        return 0 if self.data is None else len(self.data)

