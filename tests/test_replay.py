"""What all replay methods share (methods/replay.py): the weighting, the one forward pass over current and
replayed batches, and the shared flags."""
from types import SimpleNamespace

import pytest
import torch

from cli.options import parse
from data.preprocess import Preprocess
from data.scenario import Scenario
from methods.replay import replay_weights
from models.classifier import Classifier
from train.learner import Batch, Learner
from utils.errors import UsageError


def replay_learner(component, scenario, context, **flags):
    """A Learner on a tiny classifier at `context` with one replay `component` (a class), built from `flags`."""
    torch.manual_seed(0)
    model = Classifier(4, 1, scenario.n_outputs, fc_layers=2, fc_units=8)
    experiment = SimpleNamespace(preprocess=Preprocess())
    options = dict(task_free=False, replay="current", distill=True, temp=2.0, use_replay="normal", eps_agem=1e-7,
                   batch=6, lwf=False, agem=False)
    args = SimpleNamespace(**(options | flags))
    learner = Learner(model, scenario, experiment, args, "cpu")
    replay = component(args, learner)
    learner.components = [replay]
    learner.context = context
    return learner, replay


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


def _learner():
    from methods.lwf import LwF
    return replay_learner(LwF, Scenario("class", 3, 2), context=1)[0]


@pytest.mark.parametrize("gated", [False, True])
def test_one_forward_pass_over_current_and_replayed_batches_is_two_passes(gated):
    """Learner.forward scores the replayed batch in the current batch's pass: same scores, same gradients."""
    learner = _learner()
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
    learner = _learner()
    learner.model = Classifier(4, 1, 6, fc_layers=2, fc_units=8, fc_bn=True).train()
    current = Batch(torch.rand(5, 1, 4, 4), torch.zeros(5, dtype=torch.long), 1)
    replayed = Batch(torch.rand(4, 1, 4, 4) + 3, torch.zeros(4, dtype=torch.long), 0)
    fused = learner.forward([current, replayed])
    alone = learner.model(current.x, 1)  # batch statistics of the current batch only
    assert torch.allclose(fused[0], alone, atol=1e-6)


def test_shared_replay_flags_usage_errors():
    for flags in (["--temp", "0", "--replay=buffer"], ["--distill"]):
        with pytest.raises(UsageError):
            parse(flags)
