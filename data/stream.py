"""The task-free data stream: which context each iteration draws from, and the per-batch draw.

Three kinds, as the paper's code (GMvandeVen/continual-learning, data/labelstream.py) defines them, over a stream
of `iters` x `contexts` iterations:
- academic-setting: context 0 for `iters` iterations, then context 1, and so on (one context per batch).
- fuzzy-boundaries: with b_k = floor(iters/2) + (k-1)*iters for k = 1..contexts, context k >= 1 is on from b_k to
  b_(k+1) and context 0 before b_1 and from b_contexts on (the stream wraps round). Around each b_k the context
  switches over 2*fuzziness iterations: at iteration b_k - fuzziness + j (0 <= j < 2*fuzziness) the incoming
  context has probability (j + 0.5) / (2*fuzziness) and the outgoing one the rest. fuzziness=0 gives sharp steps
  at the b_k (context 0's first and last half-context, not the academic setting's order).
- random: every context equally likely throughout.
"""
import torch

from data.tensorset import BatchSampler, TensorSet
from utils.errors import UsageError

STREAMS = ("fuzzy-boundaries", "academic-setting", "random")


def check_stream(kind, iters, contexts, fuzziness):
    """One line naming the flag for an impossible stream (the ramps of a context would overlap)."""
    if kind not in STREAMS:
        raise UsageError(f"--stream={kind} is not one of {', '.join(STREAMS)}")
    if iters < 1 or contexts < 1:
        raise UsageError("--iters and --contexts must be at least 1")
    if fuzziness < 0:
        raise UsageError("--fuzziness must be at least 0")
    if kind == "fuzzy-boundaries" and 2 * fuzziness > iters:
        raise UsageError(f"--fuzziness={fuzziness} is more than half of --iters={iters}: "
                         "a context's two transitions would overlap")


def _switched_on(t, boundaries, fuzziness):
    """[T, B]: how far the switch at each boundary has gone at iterations t (0 before the ramp, 1 after it)."""
    if fuzziness == 0:
        return (t[:, None] >= boundaries[None, :]).float()
    return ((t[:, None] - boundaries[None, :] + fuzziness + 0.5) / (2 * fuzziness)).clamp_(0, 1)


def context_probs(kind, iterations, iters, contexts, fuzziness=0):
    """[T, contexts] float: each context's probability at each of `iterations` (a 1-D integer tensor).

    Fuzzy boundaries as differences of switches: context k >= 1 is on once b_k has switched and b_(k+1) has not;
    context 0 is on before b_1 and again once b_contexts has switched. The ramps of one context cannot overlap
    (2*fuzziness <= iters), so every entry lies in [0, 1] and each row sums to 1.
    """
    check_stream(kind, iters, contexts, fuzziness)
    t = iterations.long()
    if kind == "random":
        return torch.full((t.shape[0], contexts), 1.0 / contexts, device=t.device)
    if kind == "academic-setting":
        return torch.nn.functional.one_hot((t // iters).clamp(max=contexts - 1), contexts).float()
    if contexts == 1:
        return torch.ones(t.shape[0], 1, device=t.device)
    boundaries = iters // 2 + iters * torch.arange(contexts, device=t.device)
    on = _switched_on(t, boundaries, fuzziness)
    return torch.cat([1 - on[:, :1] + on[:, -1:], on[:, :-1] - on[:, 1:]], dim=1)


class Stream:
    """The training data of all contexts as one TensorSet, and for iteration i a batch drawn from that iteration's
    context distribution: each sample's context (or one per batch) by torch.multinomial, then a uniformly random
    training sample of that context. A few tensor calls on the data's device, no host sync, seeded by torch's
    global RNG. Samples are drawn with replacement (the paper's code cycles through each context's shuffled data;
    over a stream that draws each context a few epochs' worth, the two differ little).

    `data` holds every context's samples, with per-sample contexts. `draw` returns the index into `data` and the
    drawn contexts; whether the learner may see them (task-IL only) is the caller's decision.
    """

    def __init__(self, train_sets, kind, iters, batch_size, fuzziness=0, labels_per_batch=False):
        contexts = len(train_sets)
        check_stream(kind, iters, contexts, fuzziness)
        empty = [c for c, s in enumerate(train_sets) if len(s) == 0]
        if empty:
            raise UsageError(f"context {empty[0]} has no training samples, so the stream cannot draw from it")
        self.kind, self.iters, self.contexts, self.fuzziness = kind, iters, contexts, fuzziness
        self.batch_size = batch_size
        # the academic setting is one context per batch by definition, as in the paper's code
        self.per_batch = labels_per_batch or kind == "academic-setting"
        self.data = TensorSet.concat(train_sets)
        device = self.data.device
        self.sizes = torch.tensor([len(s) for s in train_sets], device=device)
        self.offsets = torch.cumsum(self.sizes, 0) - self.sizes
        self.probs = context_probs(kind, torch.arange(len(self), device=device), iters, contexts, fuzziness)

    def __len__(self):
        return self.iters * self.contexts

    def draw(self, iteration):
        """(index into `data` [batch], context of each sample [batch]) for iteration 0 <= `iteration` < len."""
        if not 0 <= iteration < len(self):
            raise IndexError(f"iteration {iteration} is outside the stream of {len(self)} iterations")
        p = self.probs[iteration]
        if self.per_batch:
            contexts = torch.multinomial(p, 1).expand(self.batch_size)
        else:
            contexts = torch.multinomial(p, self.batch_size, replacement=True)
        # an integer draw modulo the size: exact for any size, bias below size / 2**62
        r = torch.randint(1 << 62, (self.batch_size,), device=p.device)
        return self.offsets[contexts] + r % self.sizes[contexts], contexts


class StreamData:
    """The stream's samples as the learner may see them: the plan entry of a task-free run (train.loop).

    Images and labels as a TensorSet's. The context of each sample is kept for the data's own use (`input_context`:
    permuted MNIST's permutation) but reaches the learner only when `visible` (task-IL, where it picks the head or
    gate): otherwise `batch_context` is None and `contexts` refuses to be read, so that no component can learn where
    one context ends. `sampler` yields the stream's batches in order, one per iteration.
    A subset (e.g. a memory buffer's samples) keeps the same rule and samples like any set (random, no replacement).
    """
    context = None

    def __init__(self, images, labels, contexts, visible, stream=None):
        self.images, self.labels, self._contexts, self.visible = images, labels, contexts, visible
        self.stream = stream

    @classmethod
    def of(cls, stream, visible):
        data = stream.data
        return cls(data.images, data.labels, data.contexts, visible, stream)

    def __len__(self):
        return self.labels.shape[0]

    @property
    def device(self):
        return self.labels.device

    @property
    def contexts(self):
        if not self.visible:
            raise AttributeError("the contexts of the stream's samples are hidden outside task-IL")
        return self._contexts

    def batch_context(self, index):
        return self._contexts[index] if self.visible else None

    def input_context(self, index):
        return self._contexts[index]

    def subset(self, index):
        return StreamData(self.images[index], self.labels[index], self._contexts[index], self.visible)

    def sampler(self, batch_size):
        if self.stream is None:
            return BatchSampler(self, batch_size)
        return (self.stream.draw(t)[0] for t in range(len(self.stream)))
