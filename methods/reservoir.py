"""Reservoir sampling (Vitter's algorithm R) as a tensor operation, for a memory buffer filled over a stream.

With `budget` slots, sample number t (0-based, counted over the whole stream) goes into slot t while t < budget;
after that it replaces slot j = randint(0, t) (inclusive) if j < budget, else it is dropped. After n samples the
buffer is a uniformly random subset of min(n, budget) of them. A batch is processed at once with exactly these
semantics: each sample draws its own j, and when samples of one batch pick the same slot the later one wins, as it
would in the sequential loop. No per-sample Python, no host sync: the count seen is a host int.
"""
import torch

from methods.component import Component


class Reservoir:
    """`budget` slots of rows of one or more tensors (e.g. stream indices, or images, labels and contexts), fed
    batch after batch with `add`. `contents()` gives the filled slots (views: clone to keep a snapshot)."""

    def __init__(self, budget):
        if budget < 0:
            raise ValueError("the budget cannot be negative")
        self.budget, self.seen, self._store = budget, 0, None

    def __len__(self):
        return min(self.seen, self.budget)

    def slots(self, n, device):
        """[n] target slot of each of the next n samples; `budget` (a scratch row) for those that are dropped or
        overwritten later in the same batch, so that duplicates remain only where nothing is read."""
        position = torch.arange(n, device=device)
        t = self.seen + position
        j = torch.randint(1 << 62, (n,), device=device) % (t + 1)  # exact uniform integer in [0, t]
        j = torch.where(t < self.budget, t, j)
        j = torch.where(j < self.budget, j, self.budget)
        last = torch.full((self.budget + 1,), -1, device=device).scatter_reduce_(0, j, position, "amax")
        return torch.where(last[j] == position, j, self.budget)

    def add(self, *tensors):
        """Offer a batch: rows of `tensors` (all of the same length) are the batch's samples, in stream order."""
        n = tensors[0].shape[0]
        if self._store is None:
            self._store = [torch.zeros((self.budget + 1,) + x.shape[1:], dtype=x.dtype, device=x.device)
                           for x in tensors]
        if self.budget > 0 and n > 0:
            target = self.slots(n, tensors[0].device)
            for store, x in zip(self._store, tensors):
                store.index_copy_(0, target, x)
        self.seen += n

    def contents(self):
        """The filled slots of each stored tensor; empty tensors before anything was added."""
        if self._store is None:
            return ()
        return tuple(store[:len(self)] for store in self._store)


class ReservoirBuffer(Component):
    """The memory buffer of task-free experiments: --budget samples in total (default 1000), a uniform sample of the
    stream so far by reservoir sampling, as the paper's code (models/cl/memory_buffer_stream.py). It stores where in
    the stream's data each kept sample is, so it holds what the learner may know of it: in domain- and class-IL no
    context. What replay draws from (`memory`) is the buffer as it stood at the last consolidation event; iCaRL's
    class means come from the buffer as it stands (`memory_sets`, with `version` telling when it changed).
    It has no switch of its own: it is on when an enabled component needs "memory" in a task-free run (ER's
    --replay=buffer, iCaRL's --prototypes: methods.enabled_components), and usage messages name it as that user."""
    provides = ("memory",)
    supports_stream = True
    supports_academic = False  # (there methods/buffer.py's MemoryBuffer provides "memory")
    common_options = ("budget",)  # methods.common.MemoryOptions (here in total)

    @staticmethod
    def stamp(args):
        return f"b{args.budget}"

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.reservoir = Reservoir(args.budget)
        self.data = None      # the stream's data (data.stream.StreamData)
        self.snapshot = None  # the buffer at the last consolidation event

    @property
    def version(self):
        return self.reservoir.seen

    def __len__(self):
        return len(self.reservoir)

    def before_context(self, context, dataset):
        self.data = dataset

    def after_iteration(self, context, iteration, losses, batch, replayed):
        self.reservoir.add(batch.index)

    def after_context(self, context, dataset):
        self.snapshot = self.current()

    def current(self):
        """The buffer's samples now (None while empty)."""
        if len(self.reservoir) == 0:
            return None
        return self.data.subset(self.reservoir.contents()[0])

    def memory(self):
        return self.snapshot

    def memory_sets(self):
        """{global label: its samples in the buffer now} (one host sync: at prediction time only)."""
        current = self.current()
        if current is None:
            return {}
        return {label: current.subset((current.labels == label).nonzero().squeeze(1))
                for label in current.labels.unique().tolist()}
