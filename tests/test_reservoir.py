"""Reservoir sampling: the batched update is the sequential algorithm, and the buffer is a uniform sample."""
import itertools

import pytest
import torch

from methods.reservoir import Reservoir


class KeepFirst:
    """Wrong on purpose: the first `budget` samples of the stream."""

    def __init__(self, budget):
        self.budget, self.items = budget, torch.empty(0, dtype=torch.long)

    def add(self, items):
        self.items = torch.cat([self.items, items])[:self.budget]

    def contents(self):
        return (self.items,)


class KeepLast(KeepFirst):
    """Wrong on purpose: the last `budget` samples of the stream."""

    def add(self, items):
        self.items = torch.cat([self.items, items])[-self.budget:]


def feed(buffer, n, batch):
    for start in range(0, n, batch):
        buffer.add(torch.arange(start, min(start + batch, n)))
    return buffer.contents()[0]


def sequential(budget, batch_sizes):
    """Algorithm R one sample at a time, reading the same random integers Reservoir.add draws per batch."""
    slots, t, duplicates = [None] * budget, 0, 0
    for n in batch_sizes:
        r = torch.randint(1 << 62, (n,)).tolist()
        chosen = []
        for k in range(n):
            j = t if t < budget else r[k] % (t + 1)
            if j < budget:
                slots[j] = t
                duplicates += j in chosen
                chosen.append(j)
            t += 1
    return torch.tensor(slots[:min(t, budget)], dtype=torch.long), duplicates


@pytest.mark.parametrize("budget,batch_sizes", [(7, [5, 3, 10, 1, 20, 40]), (3, [64, 64]), (50, [16] * 10),
                                                (10, [4, 0, 4])])
def test_batched_update_is_the_sequential_algorithm(budget, batch_sizes):
    torch.manual_seed(0)
    buffer, start = Reservoir(budget), 0
    for n in batch_sizes:
        buffer.add(torch.arange(start, start + n))
        start += n
    torch.manual_seed(0)
    expected, duplicates = sequential(budget, batch_sizes)
    assert torch.equal(buffer.contents()[0], expected)
    assert buffer.seen == sum(batch_sizes) and len(buffer) == min(budget, sum(batch_sizes))
    if budget < 10:
        assert duplicates > 0  # the case where the later sample of a batch must win did occur


def subset_chi2(make, n, budget, batch, runs):
    """Chi-square statistic of how often each `budget`-subset of the first n samples is held, over `runs`."""
    subsets = {s: k for k, s in enumerate(itertools.combinations(range(n), budget))}
    counts = torch.zeros(len(subsets))
    for _ in range(runs):
        counts[subsets[tuple(sorted(feed(make(budget), n, batch).tolist()))]] += 1
    expected = runs / len(subsets)
    return ((counts - expected) ** 2 / expected).sum().item(), len(subsets) - 1


def inclusion_chi2(make, n, budget, batch, runs):
    """Chi-square-like statistic of how often each of the first n samples is held (each should be budget/n)."""
    counts = torch.zeros(n)
    for _ in range(runs):
        counts[feed(make(budget), n, batch)] += 1
    p = budget / n
    return (((counts - runs * p) ** 2) / (runs * p * (1 - p))).sum().item(), n


def rejects(stat, dof):
    """Far in the tail of a chi-square with `dof` degrees of freedom (normal approximation, 6 sd)."""
    return stat > dof + 6 * (2 * dof) ** 0.5


@pytest.mark.parametrize("n", [6, 9])
def test_every_subset_equally_likely(n):
    """Every 2-subset of the stream so far is held equally often (batches of 3, so a batch's samples compete)."""
    torch.manual_seed(0)
    assert not rejects(*subset_chi2(Reservoir, n, 2, 3, 2000))
    assert rejects(*subset_chi2(KeepFirst, n, 2, 3, 200))
    assert rejects(*subset_chi2(KeepLast, n, 2, 3, 200))


def test_each_sample_equally_likely_over_a_long_stream():
    torch.manual_seed(0)
    n, budget, batch = 300, 30, 32
    assert not rejects(*inclusion_chi2(Reservoir, n, budget, batch, 300))
    assert rejects(*inclusion_chi2(KeepFirst, n, budget, batch, 300))
    assert rejects(*inclusion_chi2(KeepLast, n, budget, batch, 300))


def test_budget_zero_holds_nothing():
    buffer = Reservoir(0)
    assert buffer.contents() == () and len(buffer) == 0
    for _ in range(3):
        buffer.add(torch.arange(5), torch.zeros(5, 2, 2, dtype=torch.uint8))
    ids, images = buffer.contents()
    assert len(buffer) == 0 and buffer.seen == 15 and ids.shape == (0,) and images.shape == (0, 2, 2)


def test_rows_stay_together_and_are_distinct():
    """Several tensors are kept row by row: a stored image belongs to the stored index next to it."""
    torch.manual_seed(0)
    buffer = Reservoir(20)
    buffer.add(torch.arange(8), torch.arange(8).float().view(8, 1).expand(8, 3) * 2)  # under budget: kept in order
    assert torch.equal(buffer.contents()[0], torch.arange(8))
    for start in range(8, 500, 37):
        ids = torch.arange(start, min(start + 37, 500))
        buffer.add(ids, ids.float().view(-1, 1).expand(-1, 3) * 2)
    ids, rows = buffer.contents()
    assert len(buffer) == 20 and len(torch.unique(ids)) == 20 and ((ids >= 0) & (ids < 500)).all()
    assert torch.equal(rows, ids.float().view(-1, 1).expand(-1, 3) * 2)


def test_negative_budget_is_refused():
    with pytest.raises(ValueError):
        Reservoir(-1)
