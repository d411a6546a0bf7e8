"""Experience replay (methods/er.py): stored samples (--replay=buffer) or all past data (--replay=all)."""
import json

import pytest
import torch

from cli.options import parse
from data.scenario import Scenario
from data.tensorset import BatchSampler, TensorSet
from methods.component import Replayed
from methods.er import ER
from tests.conftest import run_script, tiny
from tests.test_replay import replay_learner
from train.learner import Batch
from utils.errors import UsageError


def _stored():
    return TensorSet(torch.randint(0, 255, (10, 1, 4, 4), dtype=torch.uint8), torch.tensor([0, 1] * 5),
                     torch.zeros(10, dtype=torch.long))


def test_replay_batch_is_scored_in_the_loop_pass(monkeypatch):
    """ER draws its replayed batch before the forward pass and uses the scores the loop filled in."""
    learner, er = replay_learner(ER, Scenario("class", 3, 2), context=1, replay="buffer", distill=False)
    er.sampler, er.weights = BatchSampler(_stored(), 4), (0.5, 0.5)
    current = Batch(torch.rand(5, 1, 4, 4), torch.tensor([2, 3, 2, 2, 3]), 1)
    pending = er.replay_batch(current, 1)
    assert pending is not None and pending.x.shape[0] == 4 and pending.shared
    scores, pending_scores = learner.forward([current, pending])
    calls = []
    monkeypatch.setattr(learner, "model", lambda *a: calls.append(a))  # no further forward pass may happen
    loss = er.losses(current, scores, [Replayed(er, pending, pending_scores)], 1)["replay"]
    expected = 0.5 * torch.nn.functional.cross_entropy(pending_scores, pending.y)
    assert not calls and torch.allclose(loss, expected)


def test_er_weighs_replay_by_context_and_replays_nothing_in_the_first():
    learner, er = replay_learner(ER, Scenario("class", 3, 2), context=2, replay="buffer", distill=False)
    er.replay_weights(2)
    assert er.replay_weights(2) == pytest.approx((1 / 3, 2 / 3))
    er.sampler = BatchSampler(_stored(), 4)
    assert er.replay_batch(Batch(torch.rand(2, 1, 4, 4), torch.tensor([0, 1]), 0), 0) is None
    er.weights = er.replay_weights(2)
    assert er.current_weight(2) == pytest.approx(1 / 3) and er.current_weight(0) == 1.0


def test_replay_of_all_past_data_keeps_each_contexts_own_samples():
    learner, er = replay_learner(ER, Scenario("class", 3, 2), context=0, replay="all", distill=False)
    data = [TensorSet(torch.randint(0, 255, (6, 1, 4, 4), dtype=torch.uint8), torch.tensor([2 * c, 2 * c + 1] * 3),
                      torch.full((6,), c, dtype=torch.long)) for c in range(2)]
    for c in range(2):
        er.after_context(c, data[c])
    er.before_context(2, data[1])
    assert len(er.sampler.dataset) == 12 and set(er.sampler.dataset.labels.tolist()) == {0, 1, 2, 3}


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--replay=all", "--distill", "--scenario", "domain"], ["--replay=buffer"]])
def test_er_flags_run_end_to_end(data_dir, tmp_path, flags):
    r = run_script("main.py", *tiny(data_dir, tmp_path, *flags))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5


def test_er_usage_errors():
    with pytest.raises(UsageError, match="--replay=buffer cannot be combined with --joint"):
        parse(["--replay=buffer", "--joint"])
    with pytest.raises(UsageError, match="--replay=all is not supported in task-free"):
        parse(["--replay=all"], prog="main_task_free", task_free=True)
