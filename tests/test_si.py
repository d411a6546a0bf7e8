import json
from types import SimpleNamespace

import torch
from torch import nn

from methods.si import SI
from tests.conftest import run_script, tiny
from cli.options import parse


class OneWeight(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([w], dtype=torch.float64))


def make_si(w0=1.0, c=2.0, epsilon=0.1):
    model = OneWeight(w0)
    args = SimpleNamespace(importance_weighting="si", weight_penalty=True, reg_strength=c, epsilon=epsilon)
    learner = SimpleNamespace(model=model, scenario=SimpleNamespace(n_contexts=3, is_last=lambda c: c >= 2))
    return SI(args, learner), model


def sgd_step(model, si, g, lr=0.1):
    model.w.grad = torch.tensor([g], dtype=torch.float64)
    with torch.no_grad():
        model.w -= lr * model.w.grad
    si.after_step(0)


def test_importance_by_hand():
    si, model = make_si()
    si.before_context(0, None)
    sgd_step(model, si, 2.0)    # w 1.0 -> 0.8: W += -2 * -0.2 = 0.4
    sgd_step(model, si, -1.0)   # w 0.8 -> 0.9: W += 1 * 0.1 = 0.1
    model.w.grad = None
    si.after_step(0)             # a parameter without gradient is left alone
    assert torch.allclose(si.W[0], torch.tensor([0.5], dtype=torch.float64))
    assert si.penalty() is None and si.losses(None, None, [], 0) == {}
    si.after_context(0, None)   # total change -0.1: omega = 0.5 / (0.01 + 0.1)
    omega = 0.5 / 0.11
    assert torch.allclose(si.omega[0], torch.tensor([omega], dtype=torch.float64))
    assert torch.allclose(si.start[0], torch.tensor([0.9], dtype=torch.float64))
    with torch.no_grad():
        model.w.fill_(1.2)
    loss = si.losses(None, None, [], 0)["si"]
    assert torch.allclose(loss, torch.tensor(2.0 * omega * 0.3 ** 2, dtype=torch.float64))
    # second context: omega accumulates, W restarts from zero
    si.before_context(1, None)
    sgd_step(model, si, 1.0)    # 1.2 -> 1.1: W = 0.1; change since 0.9: 0.2
    si.after_context(1, None)
    assert torch.allclose(si.omega[0], torch.tensor([omega + 0.1 / (0.04 + 0.1)], dtype=torch.float64))
    si.after_context(2, None)   # last context: omega no longer needed, unchanged
    assert torch.allclose(si.omega[0], torch.tensor([omega + 0.1 / (0.04 + 0.1)], dtype=torch.float64))


def test_main_runs_with_si(data_dir, tmp_path):
    """End to end on synthetic data; the stamp follows the paper's code."""
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--si", "--scenario", "domain", "--iters", "10"))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert result["stamp"].endswith("--PReg50000-SI0.1-s0")


def test_component_flags():
    args = parse(["--weight-penalty", "--importance-weighting", "si", "--c", "3"])
    assert args.reg_strength == 1  # --c sets SI's strength only with --si (as the paper's code)
    assert parse(["--si", "--c", "3"]).reg_strength == 3
