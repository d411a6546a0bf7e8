import json
from types import SimpleNamespace

import pytest
import torch

from data.preprocess import Preprocess
from data.scenario import Scenario
from methods.distill import kd_loss
from methods.replay import Replay, agem_project, frozen_copy, replay_weights
from models.classifier import Classifier
from train.learner import Batch, Learner
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from utils.options import parse


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


def test_replay_weighting_rules():
    for c in range(4):
        k = c + 1  # 1-based context
        assert replay_weights(c, "class", False, "normal") == pytest.approx((1 / k, 1 - 1 / k))
        assert replay_weights(c, "task", False, "normal") == pytest.approx((1 / k, 1 - 1 / k))
        # LwF: unweighted sum; task/domain-IL multiply the (mean over past contexts) replay loss by c-1
        assert replay_weights(c, "class", True, "normal") == (1.0, 1.0)
        assert replay_weights(c, "task", True, "normal") == (1.0, float(k - 1))
        assert replay_weights(c, "domain", True, "normal") == (1.0, float(k - 1))
        # A-GEM: the current loss is not down-weighted
        assert replay_weights(c, "class", False, "inequality")[0] == 1.0
        assert replay_weights(c, "class", False, "both") == pytest.approx((1 / k, 1 - 1 / k))


def _learner(scenario, context, **flags):
    torch.manual_seed(0)
    model = Classifier(4, 1, scenario.n_outputs, fc_layers=2, fc_units=8)
    experiment = SimpleNamespace(preprocess=Preprocess())
    args = SimpleNamespace(replay="current", distill=True, temp=2.0, use_replay="normal", eps_agem=1e-7, batch=6,
                           bce=False, **flags)
    learner = Learner(model, scenario, experiment, args, "cpu")
    replay = Replay(args, learner)
    learner.components = [replay]
    learner.context = context
    return learner, replay


def test_lwf_in_task_il_sums_the_distillation_losses_of_the_past_heads():
    scenario = Scenario("task", 3, 2)
    learner, replay = _learner(scenario, context=2)
    previous = Classifier(4, 1, 6, fc_layers=2, fc_units=8)
    replay.previous = frozen_copy(previous)
    replay.before_context(2, None)
    x = torch.rand(5, 1, 4, 4)
    batch = Batch(x, torch.tensor([4, 5, 4, 4, 5]), 2)
    scores = learner.model(x, 2)
    losses = replay.losses(batch, scores)
    old = previous(x)
    expected = sum(kd_loss(scores[:, 2 * j:2 * j + 2], old[:, 2 * j:2 * j + 2], 2.0) for j in range(2))
    assert torch.allclose(losses["replay"], expected)
    assert replay.current_weight(2) == 1.0


def test_replay_in_class_il_all_so_far_pads_targets_and_weights_by_context():
    scenario = Scenario("class", 3, 2, active_classes="all-so-far")
    learner, replay = _learner(scenario, context=1)
    learner.args.replay = "current"
    replay.lwf = False  # plain replay weighting with soft targets
    previous = Classifier(4, 1, 6, fc_layers=2, fc_units=8)
    replay.previous = frozen_copy(previous)
    replay.before_context(1, None)
    x = torch.rand(5, 1, 4, 4)
    scores = learner.model(x, 1)
    losses = replay.losses(Batch(x, torch.tensor([2, 3, 2, 2, 3]), 1), scores)
    # new model: units 0..3 active; previous model: units 0..1 (zero targets for 2, 3)
    expected = 0.5 * kd_loss(scores[:, :4], previous(x)[:, :2], 2.0)
    assert torch.allclose(losses["replay"], expected)
    assert replay.current_weight(1) == 0.5


def test_agem_step_in_the_loop_respects_the_constraint():
    scenario = Scenario("class", 3, 2)
    learner, replay = _learner(scenario, context=1)
    learner.args.replay, learner.args.distill, learner.args.use_replay = "current", False, "inequality"
    replay.previous = frozen_copy(Classifier(4, 1, 6, fc_layers=2, fc_units=8))
    replay.before_context(1, None)
    model = learner.model
    x = torch.rand(6, 1, 4, 4)
    y = torch.tensor([2, 3, 2, 3, 2, 3])
    scores = model(x, 1)
    losses = replay.losses(Batch(x, y, 1), scores)
    assert not losses["replay"].requires_grad  # inequality: the replayed loss is only a constraint
    refs = [r.clone() for r in replay.g_ref]
    torch.nn.functional.cross_entropy(scores, y).backward()
    replay.before_step()
    dot = sum((p.grad * r).sum() for p, r in zip(model.parameters(), refs))
    assert dot >= -1e-6


@pytest.mark.parametrize("flags", [
    ["--lwf", "--scenario", "task"],
    ["--agem"],
    ["--replay=all", "--distill", "--scenario", "domain"],
    ["--replay=current", "--active-classes", "current"],
    ["--replay=buffer", "--distill", "--use-replay", "both", "--scenario", "task"],
])
def test_replay_flags_run_end_to_end(data_dir, tmp_path, flags):
    r = run_script("main.py", *tiny(data_dir, tmp_path, *flags))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5


def test_replay_usage_errors():
    for flags in (["--use-replay", "inequality"], ["--lwf", "--agem"], ["--lwf", "--temp", "0"],
                  ["--replay=buffer", "--joint"]):
        with pytest.raises(UsageError):
            parse(flags)
    assert parse(["--agem"]).replay == "buffer" and parse(["--lwf"]).distill
