import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Independent, Normal

import main
from data.preprocess import Preprocess
from data.scenario import Scenario
from methods.bir import BrainInspired
from models.cond_vae import CondVAE
from models import pretrained
from models.conv import ConvLayers
from tests.conftest import CIFAR_CONV_UNITS, tiny, tiny_cifar
from train.learner import Batch, Learner
from utils.errors import UsageError, run_cli
from cli.options import parse
from methods import enabled_components
from cli.stamp import param_stamp


def _diag_normal(mean, logvar):
    return Independent(Normal(mean, (0.5 * logvar).exp()), 1)


def test_gmm_log_density_by_hand():
    torch.manual_seed(0)
    model = CondVAE(2, 1, 3, fc_layers=2, fc_units=4, z_dim=2).double()
    z = torch.randn(5, 2, dtype=torch.float64)
    means, logvars = model.z_means.detach(), model.z_logvars.detach()
    each = torch.stack([_diag_normal(means[k], logvars[k]).log_prob(z) for k in range(3)], 1)  # [5, 3]
    uniform = torch.log(each.exp().mean(1))
    assert torch.allclose(model.log_prior(z), uniform, rtol=1e-10)
    probs = torch.tensor([[1.0, 0, 0], [0, 0, 1], [0.2, 0.3, 0.5], [0, 0.5, 0.5], [1 / 3] * 3], dtype=torch.float64)
    weighted = torch.log((probs * each.exp()).sum(1))
    assert torch.allclose(model.log_prior(z, probs), weighted, rtol=1e-10)
    assert torch.allclose(model.log_prior(z, probs)[:2], each[[0, 1], [0, 2]], rtol=1e-10)  # one-hot: its own mode


def _tiny_model(prior="GMM", gate_size=0, dg_prop=0.0):
    torch.manual_seed(0)
    return CondVAE(2, 1, 3, fc_layers=2, fc_units=5, z_dim=2, prior=prior, gate_size=gate_size,
                   dg_prop=dg_prop).double()


@pytest.mark.parametrize("prior", ["GMM", "standard"])
def test_vae_loss_by_hand_kl_sampled_for_gmm_analytic_for_standard(prior):
    model = _tiny_model(prior)
    x = torch.rand(4, 1, 2, 2, dtype=torch.float64)
    probs = F.one_hot(torch.tensor([0, 2, 1, 2]), 3).double()
    torch.manual_seed(1)
    recon, kl, scores = model.losses(x, probs)
    torch.manual_seed(1)
    h = torch.relu(model.encoder.layers[0][1](x.view(4, 4)))
    mu, logvar = model.to_mu(h), model.to_logvar(h)
    z = mu + torch.randn(4, 2, dtype=torch.float64) * (0.5 * logvar).exp()
    p = torch.sigmoid(model.to_pixels(torch.relu(model.decoder.layers[0][1](z))))
    bce = -(x.view(4, 4) * p.log() + (1 - x.view(4, 4)) * (1 - p).log())
    if prior == "GMM":  # one sample: log q(z|x) - log p(z | the sample's class mode)
        modes = torch.tensor([0, 2, 1, 2])
        log_p = _diag_normal(model.z_means[modes], model.z_logvars[modes]).log_prob(z)
        kl_hand = (_diag_normal(mu, logvar).log_prob(z) - log_p).mean() / 4
    else:
        kl_hand = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1)).mean() / 4
    assert recon.item() == pytest.approx(bce.mean().item(), rel=1e-10)
    assert kl.item() == pytest.approx(kl_hand.item(), rel=1e-10)
    assert torch.allclose(scores, model.classifier(h)) and torch.allclose(model(x), scores)


def test_conditional_sampling_draws_z_from_the_requested_modes():
    model = CondVAE(2, 1, 4, fc_layers=2, fc_units=5, z_dim=3)
    with torch.no_grad():  # well-separated, narrow modes: mode k at 10 k on every dimension
        model.z_means.copy_(10.0 * torch.arange(4.0).view(4, 1).expand(4, 3))
        model.z_logvars.fill_(-6.0)
    seen = []
    decode = model.decode
    model.decode = lambda z, gate=None: (seen.append(z), decode(z, gate))[1]
    modes = torch.tensor([3, 1, 1, 0, 2, 3])
    images = model.sample(modes)
    assert images.shape == (6, 1, 2, 2) and ((images >= 0) & (images <= 1)).all()
    nearest = (seen[0].unsqueeze(1) - model.z_means.detach().unsqueeze(0)).norm(dim=2).argmin(1)
    assert torch.equal(nearest, modes)
    assert not torch.equal(seen[0][1], seen[0][2])  # drawn around the mean, not the mean itself


def _learner(scenario_name, context, distill=True, dg_prop=0.3, per_class=True, n_contexts=3, active="all"):
    """A learner with BI-R at `context` (0-based), as if contexts 0..context-1 had been trained."""
    torch.manual_seed(0)
    scenario = Scenario(scenario_name, n_contexts, 2, active_classes=active)
    args = SimpleNamespace(task_free=False, replay="generative", distill=distill, temp=2.0, batch=6, fc_layers=2, fc_units=8, depth=0,
                           z_dim=3, fc_bn="no", fc_nl="relu", prior="GMM", per_class=per_class, n_modes=1,
                           dg_gates=True, dg_prop=dg_prop, seed=0,
                           dg_type="context" if scenario_name == "domain" else "class")
    experiment = SimpleNamespace(preprocess=Preprocess(), image_size=4, channels=1)
    model = BrainInspired.build_model(args, experiment, scenario)
    learner = Learner(model, scenario, experiment, args, "cpu")
    bir = BrainInspired(args, learner)
    learner.components = [bir]
    for c in range(context):
        bir.after_context(c, None)
    with torch.no_grad():  # the current model has moved on from the frozen copy
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    learner.context = context
    bir.before_context(context, None)
    return learner, bir


@pytest.mark.parametrize("name,active,context,classes,contexts", [
    ("class", "all", 2, range(4), range(2)),
    ("domain", "all", 2, range(2), range(2)),
    ("task", "all", 3, range(6), range(3)),
    ("class", "current", 2, range(4), range(2)),
])
def test_replay_draws_past_classes_from_their_modes(name, active, context, classes, contexts):
    learner, bir = _learner(name, context, active=active, n_contexts=4)
    with torch.no_grad():
        bir.previous.z_means.copy_(10.0 * torch.arange(bir.previous.n_modes, dtype=torch.float).view(-1, 1))
        bir.previous.z_logvars.fill_(-6.0)
    seen = []
    decode = bir.previous.decode
    bir.previous.decode = lambda z, gate=None: (seen.append((z, gate)), decode(z, gate))[1]
    torch.manual_seed(3)
    x, ctx, cls = bir.draw(context)
    assert set(cls.tolist()) <= set(classes) and set(ctx.tolist()) <= set(contexts)
    nearest = (seen[0][0].unsqueeze(1) - bir.previous.z_means.unsqueeze(0)).norm(dim=2).argmin(1)
    assert torch.equal(nearest, cls)  # z from the mode of the class it stands for
    if bir.learner.scenario.per_context:  # ceil(batch / contexts) samples for each past context, of that context's classes
        m = math.ceil(6 / context)
        assert torch.equal(ctx, torch.arange(context).repeat_interleave(m)) and torch.equal(cls // 2, ctx)
    else:
        assert len(x) == 6
    gate = seen[0][1]  # decoded with the gates of the class (class gates) or of a past context (domain-IL)
    expected = F.one_hot(ctx, 4) if name == "domain" else F.one_hot(cls, learner.scenario.n_outputs)
    assert torch.equal(gate, expected.float())


def test_decoder_gates_switch_off_a_share_of_units_per_class():
    model = CondVAE(2, 1, 10, fc_layers=3, fc_units=2000, z_dim=4, gate_size=10, dg_prop=0.3, seed=1)
    masks = model.gate_masks()
    assert len(masks) == 2 and masks[0].shape == (10, 2000)
    for mask in masks:
        off = 1 - mask.mean(1)
        assert ((off > 0.26) & (off < 0.34)).all()            # Bernoulli(0.3) per unit, as the paper's code
        assert not torch.equal(mask[0], mask[1])              # each class its own gates
    again = CondVAE(2, 1, 10, fc_layers=3, fc_units=2000, z_dim=4, gate_size=10, dg_prop=0.3, seed=1)
    assert all(torch.equal(a, b) for a, b in zip(masks, again.gate_masks()))  # fixed by the seed
    assert CondVAE(2, 1, 10, fc_layers=3, fc_units=20, gate_size=10, dg_prop=0.0).gate_masks() == []
    # the gated units are zero for that class, whatever the input
    hidden = []
    model.decoder.layers[1].register_forward_pre_hook(lambda m, inp: hidden.append(inp[0]))
    model.to_pixels.register_forward_pre_hook(lambda m, inp: hidden.append(inp[0]))
    z = torch.randn(10, 4)
    model.decode(z, F.one_hot(torch.arange(10), 10).float())
    for h, mask in zip(hidden, masks):
        assert (h[mask == 0] == 0).all() and (h[mask == 1] != 0).any()
    # soft class probabilities mix the gates
    probs = torch.full((1, 10), 0.1)
    hidden.clear()
    soft = model.decode(z[:1], probs)
    h0 = model.decoder.layers[0](z[:1])
    assert torch.allclose(hidden[0], h0 * (probs @ masks[0]))
    assert soft.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("name,distill", [("class", True), ("domain", True), ("task", True), ("class", False)])
def test_combined_loss_by_hand(name, distill):
    learner, bir = _learner(name, context=2, distill=distill)
    model, previous, scenario = learner.model, bir.previous, learner.scenario
    x = torch.rand(6, 1, 4, 4)
    y = torch.tensor([4, 5, 5, 4, 4, 5])
    batch = Batch(x, y, 2)

    def vae_terms(net, xs, units_probs, gate):
        """(BCE, KL, scores) by hand with z from the global random stream."""
        h = net.encoder(xs.flatten(1))
        mu, logvar = net.to_mu(h), net.to_logvar(h)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        d = z
        for layer, mask in zip(net.decoder.layers, net.gate_masks()):
            d = layer(d) * (gate @ mask)
        p = torch.sigmoid(net.to_pixels(d)).clamp(1e-7, 1 - 1e-7)
        t = xs.flatten(1)
        bce = -(t * p.log() + (1 - t) * (1 - p).log()).mean()
        comps = torch.stack([_diag_normal(net.z_means[k], net.z_logvars[k]).log_prob(z)
                             for k in range(net.n_modes)], 1)
        log_p = torch.log((units_probs * comps.exp()).sum(1))
        kl = (_diag_normal(mu, logvar).log_prob(z) - log_p).mean() / 16
        return bce, kl, net.classifier(h)

    # current batch: cross-entropy on the active units + VAE loss with the class's mode and its gates
    torch.manual_seed(7)
    current = bir.criterion(None, batch, batch.context)
    units = y % 2 if name == "domain" else y
    onehot = F.one_hot(units, scenario.n_outputs).float()
    gate = F.one_hot(torch.full((6,), 2), 3).float() if name == "domain" else onehot
    torch.manual_seed(7)
    bce, kl, scores = vae_terms(model, x, onehot, gate)
    active, targets = scenario.select(scores, y, 2, 2)
    assert current.item() == pytest.approx((F.cross_entropy(active, targets) + bce + kl).item(), rel=1e-4)
    assert bir.current_weight(2) == pytest.approx(1 / 3)

    # replayed batch: generated by the previous model; distillation (or its argmax) + VAE loss weighted by its
    # class probabilities, all times 1 - 1/c
    torch.manual_seed(8)
    replay = bir.losses(batch, None, [], batch.context)["replay"]
    torch.manual_seed(8)
    xr, ctx, _ = bir.draw(2)
    with torch.no_grad():
        old = previous(xr)
    n = len(xr)
    if name == "task":  # each sample through its own context's head
        idx = torch.stack([2 * ctx, 2 * ctx + 1], 1)
        old_a = old.gather(1, idx)
    else:
        old_a = old
    probs = F.softmax(old_a / 2.0, 1) if distill else F.one_hot(old_a.argmax(1), old_a.shape[1]).float()
    full = torch.zeros(n, scenario.n_outputs)
    if name == "task":
        full.scatter_(1, idx, probs)
    else:
        full[:, :old_a.shape[1]] = probs
    gate = F.one_hot(ctx, 3).float() if name == "domain" else full
    bce, kl, scores = vae_terms(model, xr, full, gate)
    new_a = scores.gather(1, idx) if name == "task" else scores
    if distill:
        cls = -(F.softmax(old_a / 2.0, 1) * F.log_softmax(new_a / 2.0, 1)).sum(1).mean()
    else:
        cls = F.cross_entropy(new_a, old_a.argmax(1))
    assert replay.item() == pytest.approx((2 / 3 * (cls + bce + kl)).item(), rel=1e-4)


def test_previous_model_stays_frozen_and_no_replay_in_the_first_context():
    learner, bir = _learner("class", context=0)
    assert bir.losses(Batch(torch.rand(6, 1, 4, 4), torch.zeros(6, dtype=torch.long), 0), None, [], 0) == {}
    assert bir.current_weight(0) == 1.0
    learner, bir = _learner("class", context=1)
    before = [p.clone() for p in bir.previous.parameters()]
    optimizer = torch.optim.Adam(learner.model.parameters(), lr=0.1)
    for _ in range(3):
        batch = Batch(torch.rand(6, 1, 4, 4), torch.tensor([2, 3, 2, 3, 2, 3]), 1)
        loss = bir.criterion(None, batch, batch.context) + bir.losses(batch, None, [], batch.context)["replay"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(before, bir.previous.parameters()))
    assert learner.model.z_means.grad is not None  # the prior is learned with the rest


def test_brain_inspired_expands_to_its_components_with_the_papers_defaults():
    args = parse(["--brain-inspired"])
    assert (args.replay, args.feedback, args.prior, args.per_class, args.dg_gates, args.hidden, args.distill) == \
        ("generative", True, "GMM", True, True, True, True)
    assert [c.__name__ for c in enabled_components(args)] == ["BrainInspired"]  # no separate generator or Replay
    for scenario, prop, kind in (("task", 0.0, "class"), ("domain", 0.1, "context"), ("class", 0.1, "class")):
        args = parse(["--brain-inspired", f"--scenario={scenario}"])
        assert (args.dg_prop, args.dg_type) == (prop, kind)
    assert parse(["--brain-inspired", "--experiment=permMNIST", "--scenario=class"]).dg_prop == 0.7
    assert param_stamp(parse(["--brain-inspired"])).endswith(
        "--CondVAE=z100-GMMpc_cg0.1--generative-KD2-s0")
    assert param_stamp(parse(["--brain-inspired", "--scenario=task"])).endswith("--CondVAE=z100-GMMpc--generative-KD2-s0")


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_brain_inspired_end_to_end_and_test_reloads(data_dir, tmp_path, scenario):
    argv = tiny(data_dir, tmp_path, "--brain-inspired", f"--scenario={scenario}", "--iters", "5", "--contexts", "3",
                "--z-dim", "8")
    assert run_cli(main.main, argv) == 0
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 3 and "CondVAE" in result["stamp"]
    assert run_cli(main.main, argv + ["--test"]) == 0
    again = json.loads(next((tmp_path / "results").glob("*-test.json")).read_text())  # its own record
    assert again["accuracy_matrix"][-1] == result["accuracy_matrix"][-1]


@pytest.mark.parametrize("flags,message", [
    (["--prior=GMM"], "--feedback"),
    (["--dg-gates"], "--feedback"),
    (["--hidden"], "--hidden"),
    (["--brain-inspired", "--dg-prop=1"], "--dg-prop"),
    (["--brain-inspired", "--experiment=CIFAR100"], "frozen features .* add --pre-convE --freeze-convE$"),
    (["--brain-inspired", "--depth=2"], "--freeze-convE"),
    (["--feedback", "--replay=generative", "--experiment=CIFAR10", "--freeze-convE"], "--freeze-convE --hidden$"),
    (["--brain-inspired", "--experiment=CIFAR10", "--depth=0"], "--no-norm"),
    (["--feedback", "--replay=buffer"], "--replay=generative"),
    (["--brain-inspired", "--use-replay=inequality"], "--use-replay"),
    (["--brain-inspired", "--scenario=task", "--xdg"], "--xdg"),
    (["--brain-inspired", "--scenario=task", "--singlehead"], "--singlehead"),
])
def test_usage_errors(flags, message):
    with pytest.raises(UsageError, match=message):
        parse(flags)


def test_compare_no_longer_leaves_bir_out(tmp_path):
    from sweep import make_jobs, method
    bir = method("BI-R")
    jobs = make_jobs(("BI-R",), bir.flags.split(), ["--scenario=class"], [2], str(tmp_path))
    assert jobs is not None and "CondVAE" in jobs[0].stamp
    cifar = ["--experiment=CIFAR100", "--scenario=class", "--pre-convE", "--freeze-convE", "--seed-to-ltag"]
    jobs = make_jobs(("BI-R",), bir.flags.split(), cifar, [2], str(tmp_path))
    assert jobs is not None and "CondVAE=z100-GMMpc_cg0.7" in jobs[0].stamp  # the paper's CIFAR-100 dg_prop
    from sweep.catalogue import GRIDS
    grid = next(g for g in GRIDS if g.method.name == "BI-R")
    for value in grid.values_for("CIFAR100"):  # the paper's dg_prop grid, 0 ... 0.9, runs on CIFAR-100 too
        flags = grid.method.flags.format(value=value).split()
        assert make_jobs(("BI-R",), flags, cifar, [1], str(tmp_path)) is not None


def test_internal_replay_model_reconstructs_generates_and_replays_conv_features():
    """With conv layers in front (--hidden), the VAE models their output: MSE to the features, samples of the conv
    output's shape, and replayed features (internal=True) that skip the conv layers."""
    torch.manual_seed(0)
    conv = ConvLayers(3, depth=5, reducing_layers=4, channels=4).freeze()
    model = CondVAE(32, 3, 10, fc_layers=3, fc_units=20, z_dim=8, conv=conv, gate_size=10, dg_prop=0.5)
    calls = []
    conv.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    x = torch.rand(6, 3, 32, 32)
    probs = F.one_hot(torch.arange(6), 10).float()
    torch.manual_seed(1)
    recon, kl, scores = model.losses(x, probs, probs)
    assert calls == [x.shape] and scores.shape == (6, 10) and model.shape == (CIFAR_CONV_UNITS,)
    with torch.no_grad():
        target = conv(x)
        torch.manual_seed(1)
        mu, logvar, _ = model.encode(target, internal=True)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        expected = 0.5 * (model.decode(z, probs) - target).pow(2).mean()
    assert torch.allclose(recon, expected)
    calls.clear()
    features = model.sample(torch.arange(6), probs)
    assert features.shape == (6, CIFAR_CONV_UNITS) and (features < 0).any()  # the decoder's output, no sigmoid
    replayed = model.losses(features, probs, probs, internal=True)
    assert calls == [] and replayed[2].shape == (6, 10)
    assert torch.equal(model(features, internal=True), model.classifier(model.encoder(features)))


def test_bir_on_cifar_replays_features_of_the_conv_outputs_shape(data_dir, tmp_path, monkeypatch, capsys):
    """A run: the real data's features are computed once, and from the second context on each iteration replays a
    batch of generated features of the conv output's shape."""
    seen = []
    real = BrainInspired.replay_loss

    def spy(self, x, contexts, context):
        seen.append((tuple(x.shape), pretrained.conv_layers(self.learner.model)[0].precomputed))
        return real(self, x, contexts, context)

    monkeypatch.setattr(BrainInspired, "replay_loss", spy)
    argv = tiny_cifar(data_dir, tmp_path, "--brain-inspired", "--iters", "3", "--z-dim", "8")
    assert run_cli(main.main, [a for a in argv if a != "--quiet"]) == 0
    assert "features computed once" in capsys.readouterr().out
    assert len(seen) == 3 * 4 and set(seen) == {((32, CIFAR_CONV_UNITS), True)}  # contexts 2..5, 3 iterations


@pytest.mark.parametrize("scenario, extra", [("task", ()), ("domain", ()), ("class", ()), ("class", ("--si",))])
def test_bir_on_cifar_end_to_end_and_test_reloads(data_dir, tmp_path, scenario, extra):
    argv = tiny_cifar(data_dir, tmp_path, "--brain-inspired", f"--scenario={scenario}", "--iters", "3",
                      "--z-dim", "8", *extra)
    assert run_cli(main.main, argv) == 0
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5 and "CondVAE" in result["stamp"] and "fCvE" in result["stamp"]
    assert all(0 <= a <= 1 for row in result["accuracy_matrix"] for a in row)
    assert run_cli(main.main, argv + ["--test"]) == 0
    again = json.loads(next((tmp_path / "results").glob("*-test.json")).read_text())
    assert again["accuracy_matrix"][-1] == result["accuracy_matrix"][-1]


def test_model_has_the_papers_parameter_count():
    """The paper's code's CondVAE for `--brain-inspired` on split MNIST class-IL (2 hidden layers of 400 units,
    z 100, a GMM prior with one mode per class, a classifier head) has 1075694 parameters: its log-variance head has
    no bias (fc_layer_split)."""
    args = parse(["--experiment", "splitMNIST", "--scenario", "class", "--brain-inspired"])
    model = BrainInspired.build_model(args, SimpleNamespace(image_size=28, channels=1), Scenario("class", 5, 2))
    assert sum(p.numel() for p in model.parameters()) == 1075694
    assert model.to_logvar.bias is None and model.to_mu.bias is not None
