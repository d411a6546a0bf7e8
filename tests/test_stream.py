"""The task-free stream: its context schedule against the paper's definition, and what the draws measure."""
import pytest
import torch

from data.stream import Stream, context_probs
from data.tensorset import TensorSet
from utils.errors import UsageError


def reference_probs(iters, contexts, fuzziness):
    """The fuzzy-boundaries schedule written out iteration by iteration, piece by piece, as the paper's code lays
    it out (ramp values (j + 0.5) / (2 * fuzziness) over [b - fuzziness, b + fuzziness))."""
    total, f = iters * contexts, fuzziness
    probs = torch.zeros(total, contexts)
    if contexts == 1:
        return probs + 1
    b = [iters // 2 + (k - 1) * iters for k in range(1, contexts + 1)]  # b[0] is b_1

    def up(t, start):  # the incoming context's share in a ramp that starts at `start`
        return (t - start + 0.5) / (2 * f)

    for t in range(total):
        for k in range(contexts):
            on, off = (b[k - 1], b[k]) if k >= 1 else (b[-1], b[0])
            if on - f <= t < on + f:
                probs[t, k] = up(t, on - f)
            elif off - f <= t < off + f:
                probs[t, k] = 1 - up(t, off - f)
            elif k >= 1:
                probs[t, k] = float(on + f <= t < off - f)
            else:
                probs[t, k] = float(t < off - f or t >= on + f)
    return probs


def context_sets(sizes):
    """Context c holds len sizes[c] samples; a sample's label is its position in the concatenated stream data."""
    sets, start = [], 0
    for c, n in enumerate(sizes):
        ids = torch.arange(start, start + n)
        sets.append(TensorSet.of_context(ids.to(torch.uint8).view(n, 1, 1, 1), ids, c))
        start += n
    return sets


def draws(stream, repeats=1):
    """Contexts [len, repeats, batch] of every iteration's batch, drawn `repeats` times; checks each index."""
    out = torch.empty(len(stream), repeats, stream.batch_size, dtype=torch.long)
    for i in range(len(stream)):
        for r in range(repeats):
            index, contexts = stream.draw(i)
            assert index.dtype == torch.long and index.shape == contexts.shape == (stream.batch_size,)
            assert torch.equal(stream.data.contexts[index], contexts)  # the index lies in the drawn context
            out[i, r] = contexts
    return out


@pytest.mark.parametrize("iters,contexts,fuzziness", [
    (10, 4, 2), (10, 4, 5), (11, 3, 5), (7, 5, 0), (1, 3, 0), (2, 10, 1), (100, 2, 30), (6, 1, 3)])
def test_fuzzy_schedule_is_the_papers(iters, contexts, fuzziness):
    t = torch.arange(iters * contexts)
    p = context_probs("fuzzy-boundaries", t, iters, contexts, fuzziness)
    assert p.shape == (iters * contexts, contexts)
    assert torch.allclose(p, reference_probs(iters, contexts, fuzziness), atol=1e-6)
    assert (p >= 0).all() and torch.allclose(p.sum(1), torch.ones(len(t)))


def test_schedule_by_hand():
    """iters=10, fuzziness=2: context 1 ramps in over iterations 3..6 (b_1 = 5) and out over 13..16; context 0
    comes back over 33..36, before the stream's end at 40."""
    p = context_probs("fuzzy-boundaries", torch.arange(40), 10, 4, 2)
    ramp = torch.tensor([0.125, 0.375, 0.625, 0.875])
    assert torch.equal(p[3:7, 1], ramp) and torch.equal(p[3:7, 0], 1 - ramp)
    assert torch.equal(p[:3, 0], torch.ones(3)) and torch.equal(p[7:13, 1], torch.ones(6))
    assert torch.equal(p[13:17, 2], ramp) and torch.equal(p[33:37, 0], ramp) and torch.equal(p[37:, 0], torch.ones(3))
    sharp = context_probs("fuzzy-boundaries", torch.arange(40), 10, 4, 0)
    assert torch.equal(sharp.argmax(1), torch.tensor([0] * 5 + [1] * 10 + [2] * 10 + [3] * 10 + [0] * 5))
    assert torch.equal(sharp.max(1).values, torch.ones(40))


def test_bad_fuzziness_is_one_usage_line():
    with pytest.raises(UsageError) as e:
        context_probs("fuzzy-boundaries", torch.arange(5), 10, 2, 6)
    assert "--fuzziness" in str(e.value) and "--iters" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(UsageError, match="--fuzziness"):
        Stream(context_sets([3, 3]), "fuzzy-boundaries", iters=1, batch_size=4, fuzziness=1)
    with pytest.raises(UsageError, match="--fuzziness"):
        Stream(context_sets([3, 3]), "fuzzy-boundaries", iters=10, batch_size=4, fuzziness=-1)
    Stream(context_sets([3, 3]), "fuzzy-boundaries", iters=10, batch_size=4, fuzziness=5)  # 2*5 = iters is fine
    Stream(context_sets([3, 3]), "academic-setting", iters=1, batch_size=4, fuzziness=500)  # only fuzzy uses it
    with pytest.raises(UsageError, match="--stream"):
        Stream(context_sets([3, 3]), "sharp", iters=10, batch_size=4)
    with pytest.raises(UsageError, match="context 1 has no training samples"):
        Stream(context_sets([3, 0, 2]), "random", iters=10, batch_size=4)


def test_academic_gives_sharp_steps_and_total_length():
    torch.manual_seed(0)
    stream = Stream(context_sets([5, 17, 1, 9]), "academic-setting", iters=6, batch_size=8)
    assert len(stream) == 24
    got = draws(stream)[:, 0]
    assert torch.equal(got, (torch.arange(24) // 6)[:, None].expand(24, 8))
    for i in (-1, 24):
        with pytest.raises(IndexError):
            stream.draw(i)


def test_fuzzy_ramps_per_sample():
    """The measured share of the incoming context rises linearly over [b - f, b + f): zero before, one after,
    mean (j + 0.5) / (2f) within; and batches in a ramp mix contexts."""
    torch.manual_seed(0)
    iters, f = 100, 25
    stream = Stream(context_sets([40, 30, 50]), "fuzzy-boundaries", iters=iters, batch_size=200, fuzziness=f)
    got = draws(stream)[:, 0]
    assert len(stream) == 300
    share = torch.stack([(got == k).float().mean(1) for k in range(3)], 1)  # [iterations, contexts]
    for b, old, new in ((50, 0, 1), (150, 1, 2), (250, 2, 0)):
        assert (share[b - f - 10:b - f, new] == 0).all() and (share[b + f:b + f + 10, old] == 0).all()
        ramp = share[b - f:b + f, new]
        expected = (torch.arange(2 * f) + 0.5) / (2 * f)
        sd = (expected * (1 - expected) / 200).sqrt()
        assert ((ramp - expected).abs() < 5 * sd + 1e-6).all()
        slope = ((ramp - ramp.mean()) * (expected - expected.mean())).sum() / ((expected - expected.mean()) ** 2).sum()
        assert abs(slope - 1) < 0.1
        assert torch.allclose(share[b - f:b + f, old] + ramp, torch.ones(2 * f))  # nothing from a third context
        assert ((got[b - 2:b + 2] == old).any(1) & (got[b - 2:b + 2] == new).any(1)).all()


def test_fuzzy_ramps_per_batch():
    """With labels_per_batch each batch is one context, drawn from the same ramp."""
    torch.manual_seed(1)
    iters, f = 40, 10
    stream = Stream(context_sets([7, 5]), "fuzzy-boundaries", iters=iters, batch_size=16, fuzziness=f,
                    labels_per_batch=True)
    repeats = 300
    got = draws(stream, repeats)
    assert (got == got[:, :, :1]).all()  # one context per batch
    share = (got[:, :, 0] == 1).float().mean(1)
    for b, sign in ((20, 1), (60, -1)):  # context 1 comes in at b_1 = 20 and goes at b_2 = 60
        expected = (torch.arange(2 * f) + 0.5) / (2 * f)
        expected = expected if sign > 0 else 1 - expected
        sd = (expected * (1 - expected) / repeats).sqrt()
        assert ((share[b - f:b + f] - expected).abs() < 5 * sd).all()
    assert (share[:10] == 0).all() and (share[30:50] == 1).all() and (share[70:] == 0).all()


def test_fuzziness_zero_is_sharp():
    torch.manual_seed(0)
    stream = Stream(context_sets([3, 4, 5]), "fuzzy-boundaries", iters=4, batch_size=32, fuzziness=0)
    got = draws(stream)[:, 0]
    assert torch.equal(got, torch.tensor([0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0])[:, None].expand(12, 32))


def test_iters_one():
    """One iteration per context: fuzzy visits 1, 2, ..., 0 (context 0's two halves are empty and one iteration
    at the end); academic 0, 1, 2, ..."""
    torch.manual_seed(0)
    fuzzy = Stream(context_sets([2, 2, 2, 2]), "fuzzy-boundaries", iters=1, batch_size=5, fuzziness=0)
    assert len(fuzzy) == 4 and torch.equal(draws(fuzzy)[:, 0, 0], torch.tensor([1, 2, 3, 0]))
    academic = Stream(context_sets([2, 2, 2, 2]), "academic-setting", iters=1, batch_size=5)
    assert torch.equal(draws(academic)[:, 0, 0], torch.arange(4))


@pytest.mark.parametrize("labels_per_batch", [False, True])
def test_random_is_uniform(labels_per_batch):
    torch.manual_seed(0)
    contexts = 5
    stream = Stream(context_sets([3, 8, 1, 6, 4]), "random", iters=40, batch_size=50,
                    labels_per_batch=labels_per_batch)
    got = draws(stream)[:, 0]
    if labels_per_batch:
        assert (got == got[:, :1]).all()
        got = got[:, 0]
    counts = torch.bincount(got.flatten(), minlength=contexts).float()
    expected = got.numel() / contexts
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < (contexts - 1) + 5 * (2 * (contexts - 1)) ** 0.5
    assert (counts > 0).all()


def test_samples_are_uniform_within_their_context():
    torch.manual_seed(0)
    sizes = [13, 7]
    stream = Stream(context_sets(sizes), "academic-setting", iters=100, batch_size=64)
    ids = torch.cat([stream.data.labels[stream.draw(i)[0]] for i in range(100)])  # all from context 0
    counts = torch.bincount(ids, minlength=20).float()
    assert (counts[13:] == 0).all()
    expected = ids.numel() / 13
    chi2 = ((counts[:13] - expected) ** 2 / expected).sum()
    assert chi2 < 12 + 5 * 24 ** 0.5


def test_one_context_and_many_contexts():
    torch.manual_seed(0)
    for kind in ("fuzzy-boundaries", "academic-setting", "random"):
        one = Stream(context_sets([4]), kind, iters=6, batch_size=8, fuzziness=3)
        assert len(one) == 6 and (draws(one) == 0).all()
    many = Stream(context_sets([1] * 12), "fuzzy-boundaries", iters=2, batch_size=64, fuzziness=1)
    got = draws(many)[:, 0]
    # every boundary is a ramp of two iterations with shares 1/4 and 3/4, so each iteration mixes two contexts
    for i in range(len(many)):
        assert len(torch.unique(got[i])) == 2
    assert torch.equal(torch.unique(got), torch.arange(12))


def test_same_seed_same_stream():
    def run():
        torch.manual_seed(3)
        stream = Stream(context_sets([5, 6, 7]), "fuzzy-boundaries", iters=8, batch_size=10, fuzziness=2)
        return torch.stack([torch.stack(stream.draw(i)) for i in range(len(stream))])

    assert torch.equal(run(), run())
