import json
from types import SimpleNamespace

import pytest
import torch

from data.preprocess import Preprocess
from data.scenario import Scenario
from methods.distill import kd_loss
from methods.component import Replayed
from methods.replay import Replay, agem_project, replay_weights
from utils.nn import frozen_copy
from models.classifier import Classifier
from train.learner import Batch, Learner
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from cli.options import parse


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
    args = SimpleNamespace(task_free=False, replay="current", distill=True, temp=2.0, use_replay="normal", eps_agem=1e-7, batch=6,
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
    losses = replay.losses(batch, scores, [], 2)
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
    losses = replay.losses(Batch(x, torch.tensor([2, 3, 2, 2, 3]), 1), scores, [], 1)
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
    losses = replay.losses(Batch(x, y, 1), scores, [], 1)
    assert not losses["replay"].requires_grad  # inequality: the replayed loss is only a constraint
    refs = [r.clone() for r in replay.g_ref]
    torch.nn.functional.cross_entropy(scores, y).backward()
    replay.before_step(1)
    dot = sum((p.grad * r).sum() for p, r in zip(model.parameters(), refs))
    assert dot >= -1e-6


@pytest.mark.parametrize("gated", [False, True])
def test_one_forward_pass_over_current_and_replayed_batches_is_two_passes(gated):
    """Learner.forward scores the replayed batch in the current batch's pass: same scores, same gradients."""
    scenario = Scenario("class", 3, 2)
    learner, _ = _learner(scenario, context=1)
    model = learner.model
    if gated:  # XdG: per-sample contexts must reach the gates
        model.fc.set_gates([(torch.rand(3, 8) > 0.5).float()])
    current = Batch(torch.rand(5, 1, 4, 4), torch.tensor([2, 3, 2, 2, 3]), 1)
    replayed = Batch(torch.rand(4, 1, 4, 4), torch.tensor([0, 1, 1, 0]), torch.tensor([0, 0, 0, 0]))

    def gradients(scores):
        model.zero_grad()
        (scores[0].logsumexp(1).mean() + 2 * scores[1].pow(2).mean()).backward()
        return [p.grad.clone() for p in model.parameters()]

    fused = learner.forward([current, replayed])
    apart = [model(current.x, current.context), model(replayed.x, replayed.context)]
    for a, b in zip(fused, apart):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-6)
    for a, b in zip(gradients(fused), gradients(apart)):
        assert torch.allclose(a, b, atol=1e-6)
    if gated:  # the gates did act: context 1's gates on the replayed samples would give other scores
        assert not torch.allclose(model(replayed.x, 1), apart[1])


def test_batch_norm_keeps_the_replayed_batch_in_its_own_pass():
    scenario = Scenario("class", 3, 2)
    learner, _ = _learner(scenario, context=1)
    learner.model = Classifier(4, 1, 6, fc_layers=2, fc_units=8, fc_bn=True).train()
    current = Batch(torch.rand(5, 1, 4, 4), torch.zeros(5, dtype=torch.long), 1)
    replayed = Batch(torch.rand(4, 1, 4, 4) + 3, torch.zeros(4, dtype=torch.long), 0)
    fused = learner.forward([current, replayed])
    alone = learner.model(current.x, 1)  # batch statistics of the current batch only
    assert torch.allclose(fused[0], alone, atol=1e-6)


def test_replay_batch_is_scored_in_the_loop_pass(monkeypatch):
    """ER draws its replayed batch before the forward pass and uses the scores the loop filled in."""
    scenario = Scenario("class", 3, 2)
    learner, replay = _learner(scenario, context=1)
    replay.args.replay, replay.args.distill = "buffer", False
    from data.tensorset import BatchSampler, TensorSet
    stored = TensorSet(torch.randint(0, 255, (10, 1, 4, 4), dtype=torch.uint8), torch.tensor([0, 1] * 5),
                       torch.zeros(10, dtype=torch.long))
    replay.sampler, replay.weights = BatchSampler(stored, 4), replay_weights(1, "class", False, "normal")
    current = Batch(torch.rand(5, 1, 4, 4), torch.tensor([2, 3, 2, 2, 3]), 1)
    pending = replay.replay_batch(current, 1)
    assert pending is not None and pending.x.shape[0] == 4 and pending.shared
    scores, pending_scores = learner.forward([current, pending])
    calls = []
    monkeypatch.setattr(learner, "model", lambda *a: calls.append(a))  # no further forward pass may happen
    loss = replay.losses(current, scores, [Replayed(replay, pending, pending_scores)], 1)["replay"]
    expected = 0.5 * torch.nn.functional.cross_entropy(pending_scores, pending.y)
    assert not calls and torch.allclose(loss, expected)
    replay.args.use_replay = "inequality"  # A-GEM scores its replayed batch apart
    assert not replay.replay_batch(current, 1).shared


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
