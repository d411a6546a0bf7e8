import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from data.preprocess import Preprocess
from data.scenario import Scenario
from data.tensorset import TensorSet
from methods.icarl import ICaRL, nearest_mean_scores
from models.classifier import Classifier
from train.learner import Batch, Learner
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from cli.options import parse


def test_nearest_mean_prediction_matches_brute_force():
    torch.manual_seed(0)
    means = F.normalize(torch.randn(6, 5), dim=1)
    valid = torch.tensor([True, True, True, True, False, False])
    f = F.normalize(torch.randn(50, 5), dim=1)
    pred = nearest_mean_scores(f, means, valid, 6).argmax(1)
    for i in range(50):
        dists = [((f[i] - means[k]) ** 2).sum().item() for k in range(4)]  # only classes with exemplars
        assert pred[i].item() == min(range(4), key=dists.__getitem__)
    # the scores are minus the squared distances
    scores = nearest_mean_scores(f, means, valid, 6)
    assert torch.allclose(scores[:, :4], -torch.cdist(f, means[:4]) ** 2, atol=1e-5)
    assert torch.isinf(scores[:, 4:]).all()


def test_nearest_mean_folds_contexts_onto_shared_units():
    # domain-IL: labels 0..5 are (context, class) pairs over 2 output units
    means = torch.eye(6)[:, :6]
    f = torch.eye(6)[[3, 4]]
    scores = nearest_mean_scores(f, means, torch.ones(6, dtype=torch.bool), 2)
    assert scores.shape == (2, 2)
    assert scores.argmax(1).tolist() == [1, 0]  # label 3 -> unit 1, label 4 -> unit 0


def _learner(scenario, **flags):
    torch.manual_seed(0)
    model = Classifier(3, 1, scenario.n_outputs, fc_layers=1)  # features = the flattened input
    args = SimpleNamespace(task_free=False, prototypes=True, bce=True, bce_distill=True, temp=2.0, sample_selection="herding", **flags)
    learner = Learner(model, scenario, SimpleNamespace(preprocess=Preprocess()), args, "cpu")
    icarl = ICaRL(args, learner)
    learner.components = [icarl]
    return learner, icarl


def test_class_means_are_normalised_means_of_normalised_exemplar_features():
    learner, icarl = _learner(Scenario("class", 2, 2))
    sets = {}
    for label in range(3):
        images = torch.randint(0, 256, (7, 1, 3, 3), dtype=torch.uint8)
        sets[label] = TensorSet.of_context(images, torch.full((7,), label), label // 2)
    icarl.compute_means(sets)
    for label, s in sets.items():
        x = F.normalize(s.images.float().div(255).flatten(1), dim=1)
        assert torch.allclose(icarl.means[label], F.normalize(x.mean(0), dim=0), atol=1e-6)
    assert icarl.valid.tolist() == [True, True, True, False]
    # predict: an exemplar's own class mean is usually nearest; check against brute force on all exemplars
    x = torch.cat([s.images for s in sets.values()]).float().div(255)
    pred = learner.predict(x, 0).argmax(1)
    feats = F.normalize(x.flatten(1), dim=1)
    brute = torch.stack([((feats - icarl.means[k]) ** 2).sum(1) for k in range(3)], 1).argmin(1)
    assert torch.equal(pred, brute)


def test_bce_distill_uses_the_previous_models_sigmoid_for_old_units():
    learner, icarl = _learner(Scenario("class", 2, 2, active_classes="all-so-far"))
    learner.context = 1
    previous = Classifier(3, 1, 4, fc_layers=1)
    icarl.previous = previous
    x = torch.rand(5, 1, 3, 3)
    y = torch.tensor([2, 3, 3, 2, 2])
    scores = learner.model(x)
    loss = icarl.criterion(scores, Batch(x, y, 1), 1)
    targets = F.one_hot(y, 4).float()
    targets[:, :2] = torch.sigmoid(previous(x)[:, :2] / 2.0)
    expected = F.binary_cross_entropy_with_logits(scores, targets, reduction="sum") / 5
    assert torch.allclose(loss, expected)


@pytest.mark.slow
def test_icarl_end_to_end_and_reload(data_dir, tmp_path):
    args = tiny(data_dir, tmp_path, "--icarl", "--active-classes", "all-so-far")
    args = [a for a in args if a != "--no-save"]
    r = run_script("main.py", *args)
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert "proto-BCE_dist" in result["stamp"] and "herding-add" in result["stamp"]
    assert result["average_accuracy"] > 0.5  # class-IL, chance is 0.1
    # --test reloads the model and the class means and predicts the same
    r = run_script("main.py", *args, "--test")
    assert r.returncode == 0, r.stderr
    again = json.loads(next((tmp_path / "results").glob("*-test.json")).read_text())  # its own record
    assert again["accuracy_matrix"][-1] == result["accuracy_matrix"][-1]


def test_icarl_flags_and_usage_errors():
    args = parse(["--icarl"])
    assert args.prototypes and args.add_buffer and args.bce and args.bce_distill
    assert args.sample_selection == "herding" and args.budget == 100
    assert parse(["--icarl", "--sample-selection", "random"]).sample_selection == "random"
    for flags in (["--icarl", "--scenario", "task"], ["--bce-distill"], ["--icarl", "--active-classes", "current"]):
        with pytest.raises(UsageError):
            parse(flags)


@pytest.mark.slow
def test_icarl_accuracy_can_be_logged_before_the_first_exemplars(data_dir, tmp_path):
    """--pdf/--visdom log test accuracy mid-context; before any exemplar exists the network's own scores are used."""
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--icarl", "--active-classes=all-so-far", "--pdf",
                                    "--acc-log", "10", "--no-save"))
    assert r.returncode == 0, r.stderr
    assert list((tmp_path / "plots").glob("*.pdf"))
