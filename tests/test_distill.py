import math

import torch

from methods.distill import bce_loss, kd_loss, kd_loss_binary


def _softmax(row, t):
    e = [math.exp(v / t) for v in row]
    return [v / sum(e) for v in e]


def test_kd_loss_matches_hand_computation_with_temperature_and_zero_padding():
    torch.manual_seed(0)
    scores = torch.randn(4, 5, dtype=torch.float64)
    old = torch.randn(4, 3, dtype=torch.float64)  # the old model knew only 3 of the 5 units
    for temp in (1.0, 2.0, 5.0):
        expected = 0.0
        for s, o in zip(scores.tolist(), old.tolist()):
            p = _softmax(s, temp)
            q = _softmax(o, temp) + [0.0, 0.0]  # zero probability for the new units
            expected += -sum(qi * math.log(pi) for pi, qi in zip(p, q))
        expected /= 4
        assert abs(kd_loss(scores, old, temp).item() - expected) < 1e-10
    # temperature matters: T=1 and T=2 give different losses
    assert abs(kd_loss(scores, old, 1.0).item() - kd_loss(scores, old, 2.0).item()) > 1e-3


def test_kd_loss_is_minimal_when_scores_match_targets():
    torch.manual_seed(1)
    old = torch.randn(8, 4)
    scores = old.clone().requires_grad_(True)
    kd_loss(scores, old, 2.0).backward()
    assert scores.grad.abs().max() < 1e-6  # cross-entropy against itself: stationary point


def test_kd_loss_binary_matches_hand_computation():
    torch.manual_seed(2)
    scores = torch.randn(3, 4, dtype=torch.float64)
    old = torch.randn(3, 2, dtype=torch.float64)
    temp = 2.0
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    expected = 0.0
    for s, o in zip(scores.tolist(), old.tolist()):
        q = [sig(v / temp) for v in o] + [0.0, 0.0]
        for si, qi in zip(s, q):
            p = sig(si / temp)
            expected += -(qi * math.log(p) + (1 - qi) * math.log(1 - p))
    expected /= 3
    assert abs(kd_loss_binary(scores, old, temp).item() - expected) < 1e-10


def test_bce_loss_with_distilled_old_units():
    scores = torch.tensor([[0.5, -1.0, 2.0, 0.0]], dtype=torch.float64)
    targets = torch.tensor([2])
    old = torch.tensor([[0.3, 0.9]], dtype=torch.float64)
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    t = [0.3, 0.9, 1.0, 0.0]
    expected = -sum(ti * math.log(sig(s)) + (1 - ti) * math.log(1 - sig(s)) for s, ti in zip(scores[0].tolist(), t))
    assert abs(bce_loss(scores, targets, old).item() - expected) < 1e-10
    plain = -sum(ti * math.log(sig(s)) + (1 - ti) * math.log(1 - sig(s))
                 for s, ti in zip(scores[0].tolist(), [0, 0, 1, 0]))
    assert abs(bce_loss(scores, targets).item() - plain) < 1e-10
