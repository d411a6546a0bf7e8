import json

import pytest
import torch
import torch.nn.functional as F

from data.experiments import build_experiment
import main
from train.experiment import build_learner
from methods.xdg import XdG, draw_gates
from tests.conftest import run_script, tiny
from cli.options import parse


def make_learner(data_dir, tmp_path, *extra):
    args = parse(tiny(data_dir, tmp_path, "--scenario", "task", "--xdg", *extra))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    return build_learner(args, experiment, torch.device("cpu")), experiment


def test_masks_differ_have_the_proportion_and_follow_the_seed():
    gates = draw_gates(5, [400, 400], 0.9, seed=3)
    assert len(gates) == 2
    for mask in gates:
        assert mask.shape == (5, 400)
        assert set(mask.unique().tolist()) == {0.0, 1.0}
        assert (mask.sum(1) == 400 - int(0.9 * 400)).all()  # exactly 40 open units per context
        for a in range(5):
            for b in range(a + 1, 5):
                assert not torch.equal(mask[a], mask[b])
    assert not torch.equal(gates[0], gates[1])  # layers get their own draws
    again = draw_gates(5, [400, 400], 0.9, seed=3)
    assert all(torch.equal(g, h) for g, h in zip(gates, again))
    other = draw_gates(5, [400, 400], 0.9, seed=4)
    assert not torch.equal(gates[0], other[0])
    assert (draw_gates(2, [7], 0.6, seed=0)[0].sum(1) == 7 - 4).all()  # int(0.6 * 7) = 4 gated
    assert (draw_gates(2, [10], 0.0, seed=0)[0] == 1).all()


def test_component_installs_gates_without_touching_the_global_random_stream(data_dir, tmp_path):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    args = parse(tiny(data_dir, tmp_path, "--scenario", "task", "--xdg", "--seed", "7"))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    learner = build_learner(args, experiment, torch.device("cpu"))
    # building the model draws from the global stream; the gates must not: replay the same build without --xdg
    after_xdg = torch.get_rng_state()
    torch.set_rng_state(state)
    plain = parse(tiny(data_dir, tmp_path, "--scenario", "task", "--seed", "7"))
    build_learner(plain, experiment, torch.device("cpu"))
    assert torch.equal(after_xdg, torch.get_rng_state())
    gates = learner.model.fc.gates
    assert [g.shape for g in gates] == [(5, 50), (5, 50)]
    expected = draw_gates(5, [50, 50], 0.9, seed=7)
    assert all(torch.equal(g, e) for g, e in zip(gates, expected))


def test_defaults_per_experiment(data_dir, tmp_path):
    for experiment, prop in (("splitMNIST", 0.9), ("permMNIST", 0.6), ("CIFAR100", 0.85), ("CIFAR10", 0.6)):
        args = parse(tiny(data_dir, tmp_path, "--experiment", experiment, "--scenario", "task", "--xdg"))
        assert args.gating_prop == prop
    args = parse(tiny(data_dir, tmp_path, "--scenario", "task", "--xdg", "--gating-prop", "0.5"))
    assert args.gating_prop == 0.5 and "XdG0.5" in XdG.stamp(args)


def test_gated_units_are_silent_and_receive_no_gradient(data_dir, tmp_path):
    learner, experiment = make_learner(data_dir, tmp_path)
    model = learner.model
    gates = model.fc.gates
    lin1, lin2 = model.fc.layers[0][1], model.fc.layers[1][1]
    x = experiment.preprocess(experiment.train[2].images[:16], 2)
    # forward by hand: relu, then the context's mask, at each hidden layer
    h1 = F.relu(lin1(x.flatten(1))) * gates[0][2]
    h2 = F.relu(lin2(h1)) * gates[1][2]
    assert torch.allclose(model(x, 2), model.classifier(h2), atol=1e-6)
    assert (model.features(x, 2)[:, gates[1][2] == 0] == 0).all()

    model.zero_grad(set_to_none=True)
    model(x, 2)[:, 4:6].logsumexp(1).sum().backward()
    closed1, closed2 = gates[0][2] == 0, gates[1][2] == 0
    assert (lin1.weight.grad[closed1] == 0).all() and (lin1.bias.grad[closed1] == 0).all()
    assert (lin2.weight.grad[closed2] == 0).all() and (lin2.bias.grad[closed2] == 0).all()
    assert (lin2.weight.grad[:, closed1] == 0).all()           # a gated unit also sends nothing forward
    assert (model.classifier.weight.grad[:, closed2] == 0).all()
    assert lin1.weight.grad[~closed1].abs().sum() > 0           # ... while the open units do learn
    assert lin2.weight.grad[~closed2].abs().sum() > 0


def test_per_sample_contexts_use_each_samples_own_gate(data_dir, tmp_path):
    learner, experiment = make_learner(data_dir, tmp_path)
    model = learner.model
    x = torch.cat([experiment.preprocess(experiment.train[c].images[:4], c) for c in (0, 3)])
    contexts = torch.tensor([0] * 4 + [3] * 4)
    mixed = model(x, contexts)
    assert torch.allclose(mixed[:4], model(x[:4], 0), atol=1e-6)
    assert torch.allclose(mixed[4:], model(x[4:], 3), atol=1e-6)
    # the gradient of a mixed batch is the sum of the per-context gradients
    model.zero_grad(set_to_none=True)
    mixed.sum().backward()
    g_mixed = model.fc.layers[0][1].weight.grad.clone()
    model.zero_grad(set_to_none=True)
    (model(x[:4], 0).sum() + model(x[4:], 3).sum()).backward()
    assert torch.allclose(g_mixed, model.fc.layers[0][1].weight.grad, atol=1e-5)
    open_in_neither = (model.fc.gates[0][0] == 0) & (model.fc.gates[0][3] == 0)
    assert (g_mixed[open_in_neither] == 0).all()


def test_note_for_trainable_conv_layers(data_dir, tmp_path, capsys):
    make_learner(data_dir, tmp_path, "--experiment", "CIFAR10", "--depth", "1", "--channels", "4")
    out = capsys.readouterr().out
    assert out.count("XdG is only applied to the fully connected layers") == 1
    make_learner(data_dir, tmp_path)
    assert "XdG" not in capsys.readouterr().out


@pytest.mark.slow
def test_main_runs_with_xdg(data_dir, tmp_path):
    """(--test with XdG's gates: tests/test_round_trip.py.)"""
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task", "--xdg", "--no-save"))
    assert r.returncode == 0, r.stderr
    (path,) = (tmp_path / "results").glob("*.json")
    assert "--XdG0.9-" in path.name
    assert json.loads(path.read_text())["average_accuracy"] > 0.6


def test_main_xdg_singlehead_permuted(data_dir, tmp_path):
    assert main.main(tiny(data_dir, tmp_path, "--experiment", "permMNIST", "--contexts", "2", "--iters", "10",
                          "--scenario", "task", "--singlehead", "--xdg", "--no-save")) == 0
    assert "XdG0.6" in next((tmp_path / "results").glob("*.json")).name
