import json

import pytest
import torch

from data.experiments import build_experiment
from train.experiment import build_learner
from methods import fisher
from methods.ewc import FisherImportance, fisher_options
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from cli.options import parse


def make_learner(data_dir, *flags):
    args = parse(["--data-dir", data_dir, "--fc-units", "20", "--no-gpus", *flags])
    torch.manual_seed(0)
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed)
    learner = build_learner(args, experiment, torch.device("cpu"))
    return learner, experiment, args


def component(learner, kind):
    return next(c for c in learner.components if isinstance(c, kind))


def perturb(model, scale=0.1):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn_like(p))


def test_convenience_flags_and_defaults():
    a = parse(["--ewc", "--scenario", "class"])
    assert a.weight_penalty and a.offline and a.importance_weighting == "fisher" and a.reg_strength == 1e9
    a = parse(["--ewc", "--experiment", "CIFAR100", "--scenario", "task", "--lambda", "7"])
    assert a.reg_strength == 7
    a = parse(["--ewc", "--experiment", "CIFAR10", "--scenario", "domain", "--reg-strength", "3"])
    assert a.reg_strength == 3
    a = parse(["--ewc-kfac"])
    assert a.kfac_ewc and a.fisher_kfac and a.weight_penalty and not a.precondition and a.reg_strength == 1
    a = parse(["--ncl", "--experiment", "permMNIST"])
    assert a.precondition and a.weight_penalty and a.fisher_kfac and a.fisher_init and a.data_size == 60000
    a = parse(["--si", "--scenario", "domain"])
    assert a.importance_weighting == "si" and a.reg_strength == 5e4 and a.epsilon == 0.1
    a = parse(["--si", "--experiment", "CIFAR10", "--scenario", "class"])
    assert a.reg_strength == 5
    a = parse(["--owm"])
    assert a.precondition and not a.weight_penalty and a.importance_weighting == "owm" and a.alpha == 1e-10


@pytest.mark.parametrize("flags", [["--owm", "--weight-penalty"], ["--si", "--precondition"],
                                   ["--ewc", "--fisher-batch", "2"], ["--ncl", "--fisher-batch", "2",
                                                                      "--fisher-labels", "true"]])
def test_bad_combinations_are_usage_errors(flags):
    with pytest.raises(UsageError):
        parse(flags)


def test_offline_penalty_and_gradient_equal_the_definition(data_dir):
    learner, experiment, args = make_learner(data_dir, "--ewc", "--scenario", "class", "--lambda", "3")
    ewc = component(learner, FisherImportance)
    model = learner.model
    assert ewc.penalty() is None and ewc.losses(None, None, [], 1) == {}
    terms = []
    for context in range(2):
        ewc.after_context(context, experiment.train[context])
        terms.append(({n: p.detach().clone() for n, p in model.named_parameters()},
                      fisher.estimate(learner, experiment.train[context], context, "diag", **fisher_options(args))))
        perturb(model)
    assert len(ewc.terms) == 2
    for (a, f), (a2, f2) in zip(ewc.terms, terms):
        for n in a:
            assert torch.equal(a[n], a2[n]) and torch.allclose(f[n], f2[n], rtol=1e-5, atol=1e-12)
    params = dict(model.named_parameters())
    direct = 0.5 * 3 * sum((f[n] * (params[n] - a[n]) ** 2).sum() for a, f in terms for n in params)
    value = ewc.losses(None, None, [], 1)["ewc"]
    assert torch.allclose(value, direct, rtol=1e-4) and value > 0
    g1 = torch.autograd.grad(value, list(params.values()))
    g2 = torch.autograd.grad(direct, list(params.values()))
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-10)


def test_online_ewc_decays_the_running_fisher(data_dir):
    learner, experiment, args = make_learner(data_dir, "--weight-penalty", "--gamma", "0.5", "--scenario", "task")
    ewc = component(learner, FisherImportance)
    model = learner.model
    f1 = fisher.estimate(learner, experiment.train[0], 0, "diag", **fisher_options(args))
    ewc.after_context(0, experiment.train[0])
    perturb(model)
    f2 = fisher.estimate(learner, experiment.train[1], 1, "diag", **fisher_options(args))
    ewc.after_context(1, experiment.train[1])
    assert len(ewc.terms) == 1
    anchor, running = ewc.terms[0]
    for n, p in model.named_parameters():
        assert torch.allclose(running[n], 0.5 * f1[n] + f2[n], rtol=1e-5, atol=1e-12)
        assert torch.equal(anchor[n], p.detach())
    # task-IL: context 1's Fisher lives only on its own head (output units 2, 3)
    assert f2["classifier.weight"][[0, 1, 4, 5]].abs().max() == 0 < f2["classifier.weight"][2:4].abs().max()
    perturb(model)
    params = dict(model.named_parameters())
    direct = 0.5 * sum((0.5 * running[n] * (params[n] - anchor[n]) ** 2).sum() for n in params)  # gamma * F
    assert torch.allclose(ewc.losses(None, None, [], 1)["ewc"], direct, rtol=1e-5)
    ewc.after_context(4, experiment.train[4])  # the last context: nothing to protect afterwards
    assert torch.equal(ewc.terms[0][1]["fc.layers.0.1.weight"], running["fc.layers.0.1.weight"])


def test_kfac_penalty_equals_the_kronecker_quadratic(data_dir):
    learner, experiment, args = make_learner(data_dir, "--kfac-ewc", "--reg-strength", "2")
    ewc = component(learner, FisherImportance)
    ewc.after_context(0, experiment.train[0])
    perturb(learner.model)
    value = ewc.losses(None, None, [], 1)["ewc"]
    expected = 0.0
    for m, info in zip(fisher.linear_layers(learner.model), ewc.kfac):
        dp = torch.cat([m.weight - info["weight"], (m.bias - info["bias"])[:, None]], 1).flatten()
        expected = expected + dp @ torch.kron(info["G"], info["A"]) @ dp
    assert torch.allclose(value, expected, rtol=1e-4) and value > 0


@pytest.mark.parametrize("flags", [["--ewc"], ["--kfac-ewc", "--scenario", "domain", "--fisher-labels", "sample"],
                                   ["--weight-penalty", "--fisher-labels", "true", "--gamma", "0.9", "--scenario",
                                    "task", "--fisher-n", "50", "--experiment", "CIFAR10", "--depth", "1",
                                    "--channels", "4"]])
@pytest.mark.slow
def test_main_runs_with_fisher_methods(data_dir, tmp_path, flags):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--iters", "10", *flags))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert "FI" in result["stamp"] and len(result["accuracy_matrix"]) == result["options"]["contexts"]
