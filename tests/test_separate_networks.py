import json

import pytest
import torch

import main
from data.experiments import build_experiment
from train.experiment import build_learner
from methods.separate_networks import SeparateNetworks
from models.separate import SeparateClassifiers
from tests.conftest import run_script, tiny
from train.loop import train
from cli.options import parse


def make_learner(data_dir, tmp_path, *extra):
    args = parse(tiny(data_dir, tmp_path, "--scenario", "task", "--separate-networks", *extra))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    return build_learner(args, experiment, torch.device("cpu")), experiment


def linear_count(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def test_hidden_units_default_per_experiment_and_fc_units_overrides():
    base = ["--scenario", "task", "--separate-networks"]
    assert parse(base).fc_units == 100
    assert parse(base + ["--experiment", "permMNIST"]).fc_units == 400
    assert parse(base + ["--experiment", "CIFAR100"]).fc_units == 400
    assert parse(base + ["--fc-units", "37"]).fc_units == 37
    assert parse(["--scenario", "task"]).fc_units == 400  # the shared network keeps its own default
    assert SeparateNetworks.stamp(parse(base)) == "SepNets"


def test_one_network_per_context_with_its_own_outputs(data_dir, tmp_path, capsys):
    learner, experiment = make_learner(data_dir, tmp_path)
    model = learner.model
    assert isinstance(model, SeparateClassifiers) and len(model.networks) == 5
    assert all(net.classifier.out_features == 2 for net in model.networks)
    per_network = linear_count([784, 50, 50, 2])
    assert sum(p.numel() for p in model.parameters()) == 5 * per_network
    line = f"Separate Networks: 5 x {per_network:,} = {5 * per_network:,} parameters " \
           f"(one shared network: {linear_count([784, 400, 400, 10]):,})"
    assert capsys.readouterr().out.strip() == line

    x = experiment.preprocess(experiment.test[3].images[:8], 3)
    y = experiment.test[3].labels[:8]
    scores = model(x, 3)
    assert scores.shape == (8, 10)
    assert torch.equal(scores[:, 6:8], model.networks[3](x))
    assert (scores[:, :6] == 0).all() and (scores[:, 8:] == 0).all()
    active, targets = learner.scenario.select(scores, y, 3, 4)
    assert torch.equal(active, model.networks[3](x)) and ((targets >= 0) & (targets < 2)).all()
    assert torch.equal(model.features(x, 3), model.networks[3].features(x))


def test_per_sample_contexts_are_routed_to_their_networks(data_dir, tmp_path):
    learner, experiment = make_learner(data_dir, tmp_path)
    model = learner.model
    order = torch.tensor([4, 1, 4, 1, 1, 4])  # contexts 0, 2, 3 absent
    x = torch.cat([experiment.preprocess(experiment.train[c].images[i:i + 1], c) for i, c in enumerate(order.tolist())])
    scores = model(x, order)
    for i, c in enumerate(order.tolist()):
        assert torch.allclose(scores[i], model(x[i:i + 1], c)[0], atol=1e-6)
    assert torch.allclose(model.features(x, order)[1], model.networks[1].features(x[1:2])[0], atol=1e-6)
    model.zero_grad(set_to_none=True)
    scores.sum().backward()
    for c, net in enumerate(model.networks):
        grads = [p.grad for p in net.parameters()]
        if c in (1, 4):
            assert all(g is not None for g in grads)
        else:
            assert all(g is None for g in grads)


@pytest.mark.parametrize("extra", [[], ["--fc-bn", "yes", "--optimizer", "sgd", "--momentum", "0.9"]])
def test_training_one_context_never_touches_another_network(data_dir, tmp_path, extra):
    learner, experiment = make_learner(data_dir, tmp_path, *extra)
    model = learner.model
    before = [{k: v.clone() for k, v in net.state_dict().items()} for net in model.networks]
    # first train context 0 (its optimizer state then exists), then context 1 with the same optimizer
    train(learner, [(0, experiment.train[0]), (1, experiment.train[1])], iters=20, batch_size=16, quiet=True)
    trained0 = {k: v.clone() for k, v in model.networks[0].state_dict().items()}
    assert any(not torch.equal(trained0[k], before[0][k]) for k in trained0)
    train(learner, [(1, experiment.train[1])], iters=20, batch_size=16, quiet=True)
    after = [net.state_dict() for net in model.networks]
    assert all(torch.equal(after[0][k], trained0[k]) for k in trained0)  # bit for bit, buffers included
    assert all(p.grad is None for p in model.networks[0].parameters())
    assert any(not torch.equal(after[1][k], before[1][k]) for k in after[1])
    for c in (2, 3, 4):
        assert all(torch.equal(after[c][k], before[c][k]) for k in after[c])
        assert all(p.grad is None for p in model.networks[c].parameters())


@pytest.mark.slow
def test_main_runs_with_separate_networks(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task", "--separate-networks", "--no-save"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Separate Networks: 5 x ") == 1
    (path,) = (tmp_path / "results").glob("*.json")
    assert "F3x50" in path.name and "--SepNets-" in path.name
    result = json.loads(path.read_text())
    assert result["average_accuracy"] > 0.6
    R = result["accuracy_matrix"]
    assert all(R[i][j] == R[j][j] for j in range(5) for i in range(j, 5))  # nothing forgotten, exactly


def test_singlehead_and_cumulative(data_dir, tmp_path):
    assert main.main(tiny(data_dir, tmp_path, "--experiment", "permMNIST", "--contexts", "2", "--iters", "10",
                          "--scenario", "task", "--singlehead", "--separate-networks", "--no-save")) == 0
    assert main.main(tiny(data_dir, tmp_path, "--contexts", "2", "--iters", "10", "--scenario", "task",
                          "--separate-networks", "--cumulative", "--no-save")) == 0
