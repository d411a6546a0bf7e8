"""Datasets kept as tensors on the training device; a batch is an index into them."""
from dataclasses import dataclass

import torch


class TensorSet:
    """Raw images (uint8), global labels and the context of each sample.

    `context` is the single context every sample belongs to, or None for a mix (joint, cumulative, replay buffer),
    in which case the per-sample `contexts` tensor says which.
    """
    def __init__(self, images, labels, contexts, context=None):
        assert images.shape[0] == labels.shape[0] == contexts.shape[0]
        self.images, self.labels, self.contexts, self.context = images, labels, contexts, context

    @classmethod
    def of_context(cls, images, labels, context):
        return cls(images, labels, torch.full_like(labels, context), context)

    def __len__(self):
        return self.labels.shape[0]

    @property
    def device(self):
        return self.labels.device

    def subset(self, index):
        return TensorSet(self.images[index], self.labels[index], self.contexts[index], self.context)

    def to(self, device):
        return TensorSet(self.images.to(device), self.labels.to(device), self.contexts.to(device), self.context)

    @staticmethod
    def concat(sets):
        sets = [s for s in sets if len(s) > 0]
        single = {s.context for s in sets}
        return TensorSet(torch.cat([s.images for s in sets]), torch.cat([s.labels for s in sets]),
                         torch.cat([s.contexts for s in sets]), single.pop() if len(single) == 1 else None)

    def batch_context(self, index):
        """The context of the samples at `index`: an int when they all share one (the cheap common case)."""
        return self.context if self.context is not None else self.contexts[index]

    def input_context(self, index):
        """The context the data themselves need to make the input (permuted MNIST's permutation): the learner's
        context here; the task-free stream hides the latter but not the former (data.stream.StreamData)."""
        return self.batch_context(index)

    def sampler(self, batch_size):
        """The default batches of a phase on this set: random, without replacement."""
        return BatchSampler(self, batch_size)


class BatchSampler:
    """Endless mini-batches drawn without replacement, reshuffled every pass (like shuffle=True, drop_last=True)."""

    def __init__(self, dataset, batch_size):
        self.dataset = dataset
        self.batch_size = min(batch_size, len(dataset))
        self._order, self._pos = None, len(dataset)

    def __iter__(self):
        return self

    def __next__(self):
        n = len(self.dataset)
        if self._pos + self.batch_size > n:
            self._order, self._pos = torch.randperm(n, device=self.dataset.device), 0
        index = self._order[self._pos: self._pos + self.batch_size]
        self._pos += self.batch_size
        return index


class ClassBalancedSampler:
    """Endless batches of `batch_size` samples of every class of `dataset` (fewer for a class with fewer samples),
    laid out class by class in the order of `blocks`. Each class is drawn as BatchSampler draws a dataset: without
    replacement, reshuffled after every pass over that class.

    blocks: [(label, samples per batch)] with host ints, so the consumer can split a batch without a device sync.
    """

    def __init__(self, dataset, batch_size):
        labels = dataset.labels
        self.blocks, self.samplers, self.members = [], [], []
        for label in torch.unique(labels).tolist():  # one sync per context
            members = (labels == label).nonzero().squeeze(1)
            sampler = BatchSampler(_Indices(members), batch_size)
            self.blocks.append((label, sampler.batch_size))
            self.samplers.append(sampler)
            self.members.append(members)

    def __iter__(self):
        return self

    def __next__(self):
        return torch.cat([members[next(sampler)] for members, sampler in zip(self.members, self.samplers)])


class _Indices:
    """The part of a dataset BatchSampler reads: its length and device."""

    def __init__(self, index):
        self.index = index

    def __len__(self):
        return self.index.shape[0]

    @property
    def device(self):
        return self.index.device


@dataclass
class Batch:
    x: torch.Tensor        # network input (preprocessed)
    y: torch.Tensor        # global labels
    context: object        # int (all samples of one context) or LongTensor (per sample)
    shared: bool = True    # when replayed: score it in the current batch's forward pass (train.loop), or the
    #                        component that replays it scores it itself (e.g. A-GEM needs its gradient alone)
    index: object = None   # where in its dataset the batch came from (a reservoir buffer stores these)
