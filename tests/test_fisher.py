import pytest
import torch
import torch.nn.functional as F

from methods import fisher
from models.classifier import Classifier


def tiny_model(fc_layers=3, outputs=6, seed=0):
    torch.manual_seed(seed)
    return Classifier(4, 1, outputs, fc_layers=fc_layers, fc_units=5).double().eval()


def data(n=13, outputs=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, 1, 4, 4, generator=g, dtype=torch.float64),
            torch.randint(0, 2, (n,), generator=g), torch.rand(n, generator=g, dtype=torch.float64))


@pytest.mark.parametrize("mode", fisher.LABEL_CHOICES)
@pytest.mark.parametrize("units", [slice(2, 4), slice(0, 6)])
@pytest.mark.parametrize("vmap_only", [False, True])
def test_vectorised_diagonal_fisher_equals_per_sample_loop(mode, units, vmap_only):
    model = tiny_model()
    x, targets, uniforms = data()
    fast = fisher.diagonal_fisher(model, x, 1, units, mode, targets, uniforms, budget=400,  # several chunks
                                  vmap_only=vmap_only)
    slow = fisher.diagonal_fisher_loop(model, x, 1, units, mode, targets, uniforms)
    assert set(fast) == set(slow)
    for name in slow:
        assert torch.allclose(fast[name], slow[name], rtol=1e-9, atol=1e-12), name
    assert sum(v.sum() for v in slow.values()) > 0
    if units == slice(2, 4):  # inactive heads get no Fisher
        assert fast["classifier.weight"][[0, 1, 4, 5]].abs().max() == 0


def test_all_labels_is_the_expectation_over_the_prediction():
    """'all' = sum_y p(y|x) grad^2, checked against 'true' with each label in turn, weighted by p."""
    model = tiny_model()
    x, _, _ = data(n=5)
    units = slice(0, 6)
    probs = F.softmax(model(x)[:, units], 1).detach()
    full = fisher.diagonal_fisher(model, x, 0, units, "all")
    expected = {n: torch.zeros_like(v) for n, v in full.items()}
    for i in range(5):
        for y in range(6):
            part = fisher.diagonal_fisher(model, x[i:i + 1], 0, units, "true", torch.tensor([y]))
            for n in expected:
                expected[n] += probs[i, y] * part[n]
    for n in full:
        assert torch.allclose(full[n], expected[n], rtol=1e-9)


def test_per_sample_contexts_conv_layers_and_fisher_batch():
    model = tiny_model()
    x, targets, _ = data(n=8)
    ctx = torch.tensor([0, 1] * 4)
    a = fisher.diagonal_fisher(model, x, ctx, slice(0, 6), "true", targets)
    b = fisher.diagonal_fisher_loop(model, x, ctx, slice(0, 6), "true", targets)
    for n in a:
        assert torch.allclose(a[n], b[n], rtol=1e-9)
    # convolutional and batch-norm parameters (eval mode) go through torch.func, linear ones by outer products
    from models.conv import ConvLayers
    torch.manual_seed(0)
    conv = ConvLayers(1, depth=2, reducing_layers=1, channels=2, batch_norm=True, nl="relu", conv_type="standard",
                      n_blocks=1, global_pooling=False)
    cnn = Classifier(4, 1, 6, fc_layers=2, fc_units=5, conv=conv).double().eval()
    a = fisher.diagonal_fisher(cnn, x, 0, slice(0, 6), "all")
    b = fisher.diagonal_fisher_loop(cnn, x, 0, slice(0, 6), "all")
    assert any("conv" in n for n in a) and set(a) == set(b)
    for n in a:
        assert torch.allclose(a[n], b[n], rtol=1e-8, atol=1e-14), n
    # --fisher-batch 4: squared gradient of the mean loss of each group of 4 samples
    grouped = fisher.diagonal_fisher(model, x, 0, slice(0, 6), "true", targets, batch=4)
    expected = {n: torch.zeros_like(v) for n, v in grouped.items()}
    for k in range(2):
        model.zero_grad()
        F.cross_entropy(model(x[4 * k:4 * k + 4]), targets[4 * k:4 * k + 4]).backward()
        for n, p in model.named_parameters():
            expected[n] += p.grad ** 2
    for n in grouped:
        assert torch.allclose(grouped[n], expected[n], rtol=1e-9)


@pytest.mark.parametrize("mode", ["all", "true"])
def test_kfac_factors_of_two_layer_net(mode):
    """A = sum abar abar^T, G = sum_y w_y g_y g_y^T, g = d(-log p_y)/d(layer output) = that layer's bias gradient."""
    model = tiny_model(fc_layers=2)
    x, targets, _ = data(n=6)
    units = slice(0, 6)
    factors = fisher.kfac_factors(model, x, 0, units, mode, targets)
    hidden, out_layer = model.fc.layers[0][1], model.classifier
    assert fisher.linear_layers(model) == [hidden, out_layer]
    a_exp = [torch.zeros(17, 17, dtype=torch.float64), torch.zeros(6, 6, dtype=torch.float64)]
    g_exp = [torch.zeros(5, 5, dtype=torch.float64), torch.zeros(6, 6, dtype=torch.float64)]
    for i in range(6):
        xi = x[i].flatten()
        h = torch.relu(hidden.weight @ xi + hidden.bias)
        for k, a in enumerate((xi, h.detach())):
            abar = torch.cat([a, torch.ones(1, dtype=a.dtype)])
            a_exp[k] += torch.outer(abar, abar)
        out = model(x[i:i + 1])
        p = F.softmax(out, 1)[0].detach()
        labels = range(6) if mode == "all" else [int(targets[i])]
        for y in labels:
            model.zero_grad()
            F.cross_entropy(out, torch.tensor([y])).backward(retain_graph=True)
            w = p[y] if mode == "all" else 1.0
            for k, layer in enumerate((hidden, out_layer)):
                g = layer.bias.grad
                g_exp[k] += w * torch.outer(g, g)
    for k in range(2):
        assert torch.allclose(factors[k]["A"], a_exp[k], rtol=1e-9)
        assert torch.allclose(factors[k]["G"], g_exp[k], rtol=1e-9, atol=1e-14)


def test_kfac_is_exact_for_the_output_layer_fisher_block_of_one_sample():
    """For one sample, G (x) A is the exact Fisher of the output layer's [W, b] (row-major vectorisation)."""
    model = tiny_model(fc_layers=2)
    x, _, _ = data(n=1)
    f = fisher.kfac_factors(model, x, 0, slice(0, 6), "all")[1]
    out = model(x)
    p = F.softmax(out, 1)[0].detach()
    exact = torch.zeros(36, 36, dtype=torch.float64)
    for y in range(6):
        model.zero_grad()
        F.cross_entropy(out, torch.tensor([y])).backward(retain_graph=True)
        g = torch.cat([model.classifier.weight.grad, model.classifier.bias.grad[:, None]], 1).flatten()
        exact += p[y] * torch.outer(g, g)
    assert torch.allclose(torch.kron(f["G"], f["A"]), exact, rtol=1e-9, atol=1e-14)


def test_nearest_kf_sum_matches_the_paper_formula():
    g = torch.Generator().manual_seed(0)
    m = [torch.randn(3, 3, generator=g) for _ in range(4)]
    b = {"A": m[0] @ m[0].T, "G": m[1] @ m[1].T}
    c = {"A": m[2] @ m[2].T, "G": m[3] @ m[3].T}
    s = fisher.nearest_kf_sum(b, c)
    pi = torch.sqrt(torch.trace(b["G"]) * torch.trace(c["A"]) / (torch.trace(c["G"]) * torch.trace(b["A"])))
    assert torch.allclose(s["A"], b["A"] + c["A"] / pi) and torch.allclose(s["G"], b["G"] + c["G"] * pi)
    # the traces of the Kronecker product add up like those of the exact sum
    exact = torch.trace(torch.kron(b["G"], b["A"]) + torch.kron(c["G"], c["A"]))
    approx = torch.trace(torch.kron(s["G"], s["A"]))
    assert approx >= exact * (1 - 1e-5)


def test_layers_unused_in_the_forward_get_zero_fisher():
    """E.g. separate networks: another context's sub-network takes no part in this context's forward pass."""
    model = tiny_model(fc_layers=2)
    model.spare = torch.nn.Linear(3, 2).double()
    x, targets, _ = data(n=4)
    diag = fisher.diagonal_fisher(model, x, 0, slice(0, 6), "all")
    assert diag["spare.weight"].abs().max() == 0 and diag["classifier.weight"].abs().max() > 0
    loop = fisher.diagonal_fisher_loop(model, x, 0, slice(0, 6), "all")
    assert all(torch.allclose(diag[n], loop[n], rtol=1e-9) for n in diag)
    factors = fisher.kfac_factors(model, x, 0, slice(0, 6), "all")
    assert factors[-1]["A"].abs().max() == 0 and factors[-1]["G"].abs().max() == 0
    assert fisher.input_covariances(model, x, 0)[-1].shape == (4, 4)
