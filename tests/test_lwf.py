"""LwF (methods/lwf.py): replay of the current batch with the previous model's soft targets."""
import json

import pytest
import torch

from cli.options import parse
from data.scenario import Scenario
from methods.distill import kd_loss
from methods.lwf import LwF
from models.classifier import Classifier
from tests.conftest import run_script, tiny
from tests.test_replay import replay_learner
from train.learner import Batch
from utils.errors import UsageError
from utils.nn import frozen_copy


def test_lwf_in_task_il_sums_the_distillation_losses_of_the_past_heads():
    learner, lwf = replay_learner(LwF, Scenario("task", 3, 2), context=2)
    previous = Classifier(4, 1, 6, fc_layers=2, fc_units=8)
    lwf.previous = frozen_copy(previous)
    lwf.before_context(2, None)
    x = torch.rand(5, 1, 4, 4)
    batch = Batch(x, torch.tensor([4, 5, 4, 4, 5]), 2)
    scores = learner.model(x, 2)
    losses = lwf.losses(batch, scores, [], 2)
    old = previous(x)
    expected = sum(kd_loss(scores[:, 2 * j:2 * j + 2], old[:, 2 * j:2 * j + 2], 2.0) for j in range(2))
    assert torch.allclose(losses["replay"], expected)
    assert lwf.current_weight(2) == 1.0


@pytest.mark.parametrize("scenario,weight", [("class", 1.0), ("domain", 2.0)])
def test_lwf_weighs_the_distillation_unweighted_in_class_il_and_by_past_contexts_otherwise(scenario, weight):
    learner, lwf = replay_learner(LwF, Scenario(scenario, 3, 2), context=2)
    previous = Classifier(4, 1, learner.scenario.n_outputs, fc_layers=2, fc_units=8)
    lwf.previous = frozen_copy(previous)
    lwf.before_context(2, None)
    x = torch.rand(5, 1, 4, 4)
    scores = learner.model(x, 2)
    loss = lwf.losses(Batch(x, torch.zeros(5, dtype=torch.long), 2), scores, [], 2)["replay"]
    assert torch.allclose(loss, weight * kd_loss(scores, previous(x), 2.0))
    assert lwf.current_weight(2) == 1.0 and lwf.current_weight(0) == 1.0


def test_replay_of_the_current_batch_in_class_il_all_so_far_pads_targets_and_weights_by_context():
    scenario = Scenario("class", 3, 2, active_classes="all-so-far")
    learner, lwf = replay_learner(LwF, scenario, context=1, distill=True)
    lwf.replay_weights = lambda context: (0.5, 0.5)  # plain replay weighting with soft targets
    previous = Classifier(4, 1, 6, fc_layers=2, fc_units=8)
    lwf.previous = frozen_copy(previous)
    lwf.before_context(1, None)
    x = torch.rand(5, 1, 4, 4)
    scores = learner.model(x, 1)
    losses = lwf.losses(Batch(x, torch.tensor([2, 3, 2, 2, 3]), 1), scores, [], 1)
    # new model: units 0..3 active; previous model: units 0..1 (zero targets for 2, 3)
    expected = 0.5 * kd_loss(scores[:, :4], previous(x)[:, :2], 2.0)
    assert torch.allclose(losses["replay"], expected)
    assert lwf.current_weight(1) == 0.5


def test_replay_of_the_current_batch_without_distillation_uses_the_previous_models_labels():
    learner, lwf = replay_learner(LwF, Scenario("class", 3, 2), context=1, distill=False)
    previous = Classifier(4, 1, 6, fc_layers=2, fc_units=8)
    lwf.previous = frozen_copy(previous)
    lwf.before_context(1, None)
    x = torch.rand(5, 1, 4, 4)
    scores = learner.model(x, 1)
    loss = lwf.losses(Batch(x, torch.zeros(5, dtype=torch.long), 1), scores, [], 1)["replay"]
    expected = 0.5 * torch.nn.functional.cross_entropy(scores, previous(x).argmax(1))
    assert torch.allclose(loss, expected) and lwf.current_weight(1) == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--lwf", "--scenario", "task"],
                                   ["--replay=current", "--active-classes", "current"]])
def test_lwf_flags_run_end_to_end(data_dir, tmp_path, flags):
    r = run_script("main.py", *tiny(data_dir, tmp_path, *flags))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5


def test_lwf_usage():
    assert parse(["--lwf"]).distill and parse(["--lwf"]).replay == "current"
    for flags in (["--lwf", "--temp", "0"], ["--lwf", "--replay=buffer"], ["--lwf", "--joint"]):
        with pytest.raises(UsageError, match="--lwf|--temp"):
            parse(flags)
