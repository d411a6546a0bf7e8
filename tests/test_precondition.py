import json

import pytest
import torch

from methods import fisher
from methods.ewc import FisherImportance
from methods.precondition import Precondition
from tests.conftest import run_script, tiny
from tests.test_ewc import component, make_learner


def grads_of(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def fill_grads(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g)


def test_owm_projects_gradients_orthogonally_to_stored_inputs(data_dir):
    learner, experiment, args = make_learner(data_dir, "--owm", "--fc-layers", "2", "--alpha", "1e-5")
    pre = component(learner, Precondition)
    model = learner.model
    data = experiment.train[0].subset(torch.arange(20))  # 20 inputs: a 20-dimensional input space
    pre.before_context(0, data)
    fill_grads(model)
    before = grads_of(model)
    pre.before_step(1)
    assert all(torch.equal(before[n], g) for n, g in grads_of(model).items())  # nothing stored yet
    pre.after_context(0, data)
    pre.before_context(1, experiment.train[1])
    fill_grads(model)
    before = grads_of(model)
    pre.before_step(1)
    after = grads_of(model)
    # the new gradient of the first layer, applied to any stored (augmented) input, changes nothing (checked on the
    # first layer, whose stored inputs span a well-conditioned space; float32 rounding leaves eigenvalues ~1e-7)
    batch = learner.batch(data, torch.arange(20))
    for w, b, a in [("fc.layers.0.1.weight", "fc.layers.0.1.bias", batch.x.flatten(1))]:
        abar = torch.cat([a, torch.ones(a.shape[0], 1)], 1)
        g_before = torch.cat([before[w], before[b][:, None]], 1)
        g_after = torch.cat([after[w], after[b][:, None]], 1)
        assert (g_after @ abar.T).abs().max() < 1e-3 * (g_before @ abar.T).abs().max()
        # ... while directions orthogonal to the stored inputs pass unchanged
        q, _ = torch.linalg.qr(abar.T, mode="complete")
        free = q[:, abar.shape[0]:]
        assert (g_after @ free - g_before @ free).norm() < 0.1 * (g_before @ free).norm()
    assert not torch.equal(after["classifier.weight"], before["classifier.weight"])


@pytest.mark.slow
def test_ncl_preconditions_with_inverse_kronecker_factors(data_dir):
    learner, experiment, args = make_learner(data_dir, "--ncl", "--fc-layers", "2", "--alpha", "1e-3")
    fi, pre = component(learner, FisherImportance), component(learner, Precondition)
    model = learner.model
    n = args.data_size
    assert fi.penalty() is not None  # the prior is a penalty from the first context on
    for context in range(2):
        pre.before_context(context, experiment.train[context])
        fill_grads(model, context)
        before = grads_of(model)
        pre.before_step(1)
        after = grads_of(model)
        for m, info, (w, b) in zip(fisher.linear_layers(model), fi.kfac,
                                   [("fc.layers.0.1.weight", "fc.layers.0.1.bias"),
                                    ("classifier.weight", "classifier.bias")]):
            a, g = info["A"].double(), info["G"].double()
            ia, ig = 1e-3 * torch.eye(a.shape[0], dtype=torch.float64), 1e-3 * torch.eye(g.shape[0],
                                                                                        dtype=torch.float64)
            pi = torch.sqrt(torch.trace(g) * torch.trace(ia) / (torch.trace(ig) * torch.trace(a)))
            grad = torch.cat([before[w], before[b][:, None]], 1).double()
            expected = torch.linalg.solve(g + ig * pi, grad) @ torch.linalg.inv(a + ia / pi) / n
            got = torch.cat([after[w], after[b][:, None]], 1).double()
            assert torch.allclose(got, expected, rtol=1e-3, atol=1e-6 * expected.abs().max())
        fi.after_context(context, experiment.train[context])


def test_diagonal_fisher_preconditioning(data_dir):
    learner, experiment, args = make_learner(data_dir, "--precondition", "--weight-penalty", "--alpha", "0.1")
    fi, pre = component(learner, FisherImportance), component(learner, Precondition)
    fi.after_context(0, experiment.train[0])
    pre.before_context(1, experiment.train[1])
    fill_grads(learner.model)
    before = grads_of(learner.model)
    pre.before_step(1)
    for n, g in grads_of(learner.model).items():
        assert torch.allclose(g, before[n] / (fi.precision[n] + 0.01))


@pytest.mark.slow
def test_main_runs_with_owm_and_ncl(data_dir, tmp_path):
    for flags in (["--owm"], ["--ncl", "--scenario", "task"]):
        r = run_script("main.py", *tiny(data_dir, tmp_path, "--iters", "10", *flags))
        assert r.returncode == 0, r.stderr
    stamps = sorted(json.loads(f.read_text())["stamp"] for f in (tmp_path / "results").glob("*.json"))
    assert any("PreC1e-10-OWM" in s for s in stamps) and any("FIkfacI12000" in s for s in stamps)
