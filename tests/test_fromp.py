import json

import pytest
import torch
import torch.nn.functional as F

from data.experiments import build_experiment
from train.experiment import build_learner
from methods.fromp import (FROMP, fisher_update, fromp_kernel, inverse_kernel, linear_layers, memorable_lambda,
                           select_memorable)
from models.classifier import Classifier
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from cli.options import parse


def small_model(n_out=6, seed=0):
    torch.manual_seed(seed)
    return Classifier(4, 1, n_out, fc_layers=3, fc_units=7).double()


def linear_params(model):
    return [p for layer in linear_layers(model) for p in (layer.weight, layer.bias)]


def explicit_jacobian(model, x, units, fn):
    """Rows: one per (unit k, sample i), the gradient of fn(model(x_i))[k] wrt all nn.Linear parameters."""
    params = linear_params(model)
    rows = []
    for i in range(x.shape[0]):
        out = fn(model(x[i:i + 1])[:, units])[0]
        rows.append(torch.stack([torch.cat([g.flatten() for g in torch.autograd.grad(out[k], params,
                                                                                       retain_graph=True)])
                                 for k in range(out.shape[0])]))
    return torch.stack(rows, 1)  # [C, n, P]


def test_memorable_points_are_the_highest_lambda_per_class():
    torch.manual_seed(0)
    probs = F.softmax(torch.randn(60, 5) * 3, dim=-1)
    labels = torch.randint(3, 6, (60,))
    chosen = select_memorable(probs, labels, 4)
    assert sorted(chosen) == sorted(set(labels.tolist()))
    for label, index in chosen.items():
        members = [i for i in range(60) if labels[i] == label]
        lam = {i: sum(float(p) * (1 - float(p)) for p in probs[i]) for i in members}
        best = sorted(members, key=lambda i: -lam[i])[:4]
        assert index.tolist() == best  # same points, best first
    assert torch.allclose(memorable_lambda(probs), (probs - probs ** 2).sum(-1))


def test_kernel_equals_jacobian_covariance_jacobian():
    model = small_model()
    x = torch.randn(5, 1, 4, 4, dtype=torch.double)
    units = slice(1, 4)
    torch.manual_seed(1)
    cov = [(torch.rand_like(layer.weight) + 0.1, torch.rand_like(layer.bias) + 0.1) for layer in linear_layers(model)]
    probs, kernel = fromp_kernel(model, x, None, units, cov)
    assert torch.allclose(probs, F.softmax(model(x)[:, units], -1))
    jac = explicit_jacobian(model, x, units, lambda z: F.softmax(z, -1))
    sigma = torch.cat([torch.cat([cw.flatten(), cb]) for cw, cb in cov])
    expected = torch.einsum("kip,p,kjp->kij", jac, sigma, jac)
    assert kernel.shape == (3, 5, 5)
    assert torch.allclose(kernel, expected, rtol=1e-9, atol=1e-12)
    kinv = inverse_kernel(kernel, eps=1e-6)
    eye = torch.eye(5, dtype=torch.double)
    assert torch.allclose(kinv @ (kernel + 1e-6 * eye), eye.expand(3, 5, 5), atol=1e-6)


def test_fisher_is_the_diagonal_gauss_newton():
    model = small_model()
    x = torch.randn(6, 1, 4, 4, dtype=torch.double)
    units = slice(0, 4)
    fisher = [[torch.zeros_like(layer.weight), torch.zeros_like(layer.bias)] for layer in linear_layers(model)]
    fisher_update(model, x, 0, units, fisher)
    jac = explicit_jacobian(model, x, units, lambda z: z)  # [C, n, P], Jacobian of the logits
    s = F.softmax(model(x)[:, units], -1).detach()
    hess = torch.diag_embed(s) - s[:, :, None] * s[:, None, :]
    expected = torch.einsum("dip,ide,eip->p", jac, hess, jac)
    got = torch.cat([torch.cat([fw.flatten(), fb]) for fw, fb in fisher])
    assert torch.allclose(got, expected, rtol=1e-9, atol=1e-12)


@pytest.fixture()
def learner_and_data(data_dir):
    def make(scenario, *extra):
        args = parse(["--fromp", "--scenario", scenario, "--fc-units", "20", "--budget", "6", "--no-gpus",
                      "--data-dir", data_dir, *extra])
        torch.manual_seed(0)
        experiment = build_experiment(args.experiment, args.contexts, data_dir, 0, "cpu", args.normalize)
        learner = build_learner(args, experiment, "cpu")
        fromp = next(c for c in learner.components if isinstance(c, FROMP))
        return learner, fromp, experiment
    return make


@pytest.mark.parametrize("scenario", ["task", "class"])
def test_regulariser_zero_after_context_and_grows_with_change(learner_and_data, scenario):
    learner, fromp, experiment = learner_and_data(scenario)
    model = learner.model
    for c in range(2):
        fromp.after_context(c, experiment.train[c])
    learner.context = 2
    fromp.before_context(2, experiment.train[2])
    assert len(fromp.past) == 2 and all(x.shape[0] == 2 * 6 for _, x, _, _, _ in fromp.past)
    # task-IL regularises each past context through its own head; class-IL through all units
    assert [p[3].shape[1] for p in fromp.past] == ([2, 2] if scenario == "task" else [10, 10])

    def value_and_gradient():
        model.zero_grad()
        reg = fromp.regulariser()
        reg.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        return reg.detach(), grad.norm().item()

    # at the stored parameters the outputs equal f_old: zero up to float rounding (the stored outputs came from
    # passes of another batch shape, and BLAS may round those differently), far below any real change's value
    reg0, grad0 = value_and_gradient()
    reg0 = reg0.item()
    values = []
    grads = []
    for scale in (0.05, 0.1):
        with torch.no_grad():
            saved = [p.clone() for p in model.parameters()]
            torch.manual_seed(3)
            for p in model.parameters():
                p.add_(scale * torch.randn_like(p))
        reg, grad = value_and_gradient()
        grads.append(grad)
        # hand computation: 0.5 tau sum_t sum_k d_k^T K_k^-1 d_k on all memorable points
        expected = 0.0
        for t, x, units, old, kinv in fromp.past:
            d = F.softmax(model(x, t)[:, units], -1) - old
            expected += sum(d[:, k] @ kinv[k] @ d[:, k] for k in range(d.shape[1]))
        assert torch.allclose(reg, 0.5 * learner.args.tau * expected, rtol=1e-4)
        values.append(reg.item())
        with torch.no_grad():
            for p, s in zip(model.parameters(), saved):
                p.copy_(s)
    assert 0 < values[0] < values[1]
    assert abs(reg0) <= 1e-6 * values[0] and grad0 <= 1e-3 * grads[0], (reg0, values, grad0, grads)
    # with a batch at least as large as all memorable points, the per-iteration loss is the full regulariser
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    batch = learner.batch(experiment.train[2], torch.arange(64))
    assert torch.allclose(fromp.losses(batch, None, [], 1)["fromp"], fromp.regulariser())


def test_memory_per_class_and_full_capacity(learner_and_data):
    learner, fromp, experiment = learner_and_data("domain", "--use-full-capacity")
    fromp.after_context(0, experiment.train[0])
    assert [m.shape[0] for m in fromp.memory[0]] == [6 * 5, 6 * 5]  # budget * contexts / 1
    fromp.after_context(1, experiment.train[1])
    assert [[m.shape[0] for m in ms] for ms in fromp.memory] == [[15, 15], [15, 15]]
    # the memorable points of a class are its highest-lambda training samples
    dataset = experiment.train[1]
    x = experiment.preprocess(dataset.images, 1)
    with torch.no_grad():
        lam = memorable_lambda(F.softmax(learner.model(x), -1))
    for k, label in enumerate(sorted(dataset.labels.unique().tolist())):
        index = (dataset.labels == label).nonzero().squeeze(1)
        best = index[lam[index].argsort(descending=True)[:15]]
        assert torch.equal(fromp.memory[1][k], x[best])


def test_gradient_clipped_to_norm_one(learner_and_data):
    learner, fromp, _ = learner_and_data("class")
    params = list(learner.model.parameters())
    for scale, expected in ((10.0, 1.0), (1e-4, None)):
        for p in params:
            p.grad = scale * torch.ones_like(p)
        before = torch.cat([p.grad.flatten() for p in params]).norm()
        fromp.before_step(1)
        after = torch.cat([p.grad.flatten() for p in params]).norm()
        assert torch.isclose(after, torch.tensor(expected if expected else before.item()))


def test_defaults_and_invalid_combinations():
    assert parse(["--fromp", "--scenario", "task"]).tau == 0.01
    assert parse(["--fromp", "--scenario", "domain"]).tau == 10
    assert parse(["--fromp", "--scenario", "class"]).tau == 1000
    args = parse(["--fromp", "--experiment", "permMNIST"])
    assert args.tau == 1 and args.budget == 10 and args.sample_selection == "fromp"
    for bad in (["--optimizer", "sgd"], ["--add-buffer"], ["--tau", "-1"], ["--sample-selection", "herding"],
                ["--joint"]):
        with pytest.raises(UsageError):
            parse(["--fromp", *bad])


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_main_runs_with_fromp(data_dir, tmp_path, scenario):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--fromp", "--scenario", scenario, "--budget", "10",
                                    "--contexts", "3", "--no-save"))
    assert r.returncode == 0, r.stderr
    files = list((tmp_path / "results").glob("*.json"))
    assert len(files) == 1 and "fromp" in files[0].name
    result = json.loads(files[0].read_text())
    assert len(result["accuracy_matrix"]) == 3
    if scenario == "task":
        assert result["average_accuracy"] > 0.6

