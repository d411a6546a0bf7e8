"""A-GEM (methods/agem.py): the gradient projected against the gradient on stored samples (ER's)."""
import json

import pytest
import torch

from cli.options import parse
from cli.stamp import param_stamp
from data.scenario import Scenario
from data.tensorset import BatchSampler, TensorSet
from methods.agem import AGEM, agem_project
from methods.component import Component
from methods.er import ER
from tests.conftest import run_script, tiny
from tests.test_replay import replay_learner
from utils.errors import UsageError


def test_agem_projection_never_points_against_the_replay_gradient():
    torch.manual_seed(0)
    for _ in range(100):
        g = [torch.randn(3, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]
        r = [torch.randn(3, 4, dtype=torch.float64), torch.randn(5, dtype=torch.float64)]
        dot = sum((a * b).sum() for a, b in zip(g, r)).item()
        before = [a.clone() for a in g]
        agem_project(g, r, eps=0.0)
        new_dot = sum((a * b).sum() for a, b in zip(g, r)).item()
        if dot >= 0:
            assert all(torch.equal(a, b) for a, b in zip(g, before))  # unchanged
        else:
            assert new_dot >= -1e-10 and abs(new_dot) < 1e-9  # projected onto the constraint's boundary
            # by hand: g - (g.r)/(r.r) r
            rr = sum((b * b).sum() for b in r).item()
            for a, a0, b in zip(g, before, r):
                assert torch.allclose(a, a0 - dot / rr * b)


def test_agem_eps_shrinks_the_correction():
    g, r = [torch.tensor([-1.0, 0.0])], [torch.tensor([1.0, 0.0])]
    agem_project(g, r, eps=1.0)
    assert torch.allclose(g[0], torch.tensor([-0.5, 0.0]))  # -1 - (-1)/(1+1) * 1


class _Memory(Component):
    provides = ("memory",)

    def __init__(self, data):
        self.data = data

    def memory(self):
        return self.data


def _agem(use_replay):
    """ER's learner with A-GEM, at context 1, with a buffer of 10 stored samples; the current gradient in p.grad."""
    learner, er = replay_learner(ER, Scenario("class", 3, 2), context=1, replay="buffer", distill=False,
                                 use_replay=use_replay)
    agem = AGEM(learner.args, learner)
    stored = TensorSet(torch.randint(0, 255, (10, 1, 4, 4), dtype=torch.uint8), torch.tensor([0, 1] * 5),
                       torch.zeros(10, dtype=torch.long))
    learner.components = [agem, er, _Memory(stored)]
    er.before_context(1, None)
    x, y = torch.rand(6, 1, 4, 4), torch.tensor([2, 3, 2, 3, 2, 3])
    # a current loss that pulls against the stored samples' labels, so that the projection acts
    scores = learner.model(x, 1)
    (-torch.nn.functional.cross_entropy(scores[:, :2], torch.tensor([0, 1, 0, 1, 0, 1])) +
     torch.nn.functional.cross_entropy(scores, y)).backward()
    return learner, er, agem, stored


@pytest.mark.parametrize("use_replay", ["inequality", "both"])
def test_agem_before_step_projects_against_the_stored_samples_gradient(use_replay):
    learner, er, agem, stored = _agem(use_replay)
    params = [p for p in learner.model.parameters()]
    g = [p.grad.clone() for p in params]
    torch.manual_seed(3)
    agem.before_step(1)  # draws the batch, computes g_ref, projects
    torch.manual_seed(3)
    index = next(BatchSampler(stored, learner.args.batch))  # the same draw
    b = learner.batch(stored, index)
    weight = er.weights[1]
    assert er.weights == ((1.0, 1.0) if use_replay == "inequality" else (0.5, 0.5))
    active, targets = learner.scenario.select(learner.model(b.x, b.context), b.y, b.context, 1)
    ref = torch.autograd.grad(weight * torch.nn.functional.cross_entropy(active, targets), params)
    if use_replay == "both":
        g = [a + r for a, r in zip(g, ref)]
    dot = sum((a * r).sum() for a, r in zip(g, ref))
    norm = sum((r * r).sum() for r in ref)
    assert dot < 0  # the case where A-GEM acts
    expected = [a - dot / (norm + 1e-7) * r for a, r in zip(g, ref)]
    for p, e in zip(params, expected):
        assert torch.allclose(p.grad, e, atol=1e-6)
    assert sum((p.grad * r).sum() for p, r in zip(params, ref)) > -1e-5


def test_agem_in_a_stream_projects_only_after_the_first_consolidation_event():
    learner, er, agem, stored = _agem("inequality")
    memory = learner.components[-1]
    memory.data = None  # a stream before its first event: nothing stored yet
    er.before_context(None, None)
    g = [p.grad.clone() for p in learner.model.parameters()]
    agem.before_step(None)
    assert all(torch.equal(a, p.grad) for a, p in zip(g, learner.model.parameters()))
    memory.data = stored
    er.before_context(None, None)  # the event: the buffer as it stands becomes the constraint's source
    assert er.weights == (1.0, 1.0)
    agem.before_step(None)
    assert any(not torch.equal(a, p.grad) for a, p in zip(g, learner.model.parameters()))


def test_agem_takes_the_place_of_ers_loss_term_and_replay_batch():
    learner, er, agem, _ = _agem("inequality")
    assert er.replay_batch(None, 1) is None and er.losses(None, None, [], 1) == {}
    assert er.current_weight(1) == 1.0


def test_agem_stamp_and_usage():
    args = parse(["--agem"])
    assert args.replay == "buffer" and args.use_replay == "inequality"
    assert "--buffer-aGEM--b100" in param_stamp(args)
    assert "--buffer-KD2-both1e-05--" in param_stamp(parse(["--replay=buffer", "--distill", "--use-replay=both",
                                                            "--eps-agem=1e-5"]))
    for flags, message in ((["--use-replay", "inequality"], "needs a replay source"),
                           (["--lwf", "--agem"], "--agem cannot be combined with --lwf"),
                           (["--agem", "--replay=generative"], "--agem cannot be combined with --replay=generative"),
                           (["--agem", "--eps-agem=-1"], "--eps-agem")):
        with pytest.raises(UsageError, match=message):
            parse(flags)


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--agem"], ["--replay=buffer", "--distill", "--use-replay", "both",
                                               "--scenario", "task"]])
def test_agem_flags_run_end_to_end(data_dir, tmp_path, flags):
    r = run_script("main.py", *tiny(data_dir, tmp_path, *flags))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5
