import copy
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

import main
from data.experiments import build_experiment
from data.preprocess import Preprocess
from data.scenario import Scenario
from train.experiment import build_learner
from methods.distill import kd_loss
from methods.component import Replayed
from methods.generative import GenerativeReplay
from models.classifier import Classifier
from models import pretrained
from models.conv_vae import ConvVAE
from tests.conftest import tiny, tiny_cifar
from train.learner import Batch, Learner
from train.loop import train
from utils.errors import UsageError, run_cli
from cli.options import parse
from cli.stamp import param_stamp


def _learner(name, context, distill=False, active_classes="all", n_contexts=3):
    """A learner at `context` (0-based) with DGR, as if contexts 0..context-1 had been trained."""
    torch.manual_seed(0)
    scenario = Scenario(name, n_contexts, 2, active_classes=active_classes)
    model = Classifier(4, 1, scenario.n_outputs, fc_layers=2, fc_units=8)
    experiment = SimpleNamespace(preprocess=Preprocess(), image_size=4, channels=1)
    args = SimpleNamespace(task_free=False, replay="generative", distill=distill, temp=2.0, batch=6, g_fc_lay=2,
                           g_fc_uni=8, g_z_dim=3, g_iters=100, iters=100, lr_gen=0.01, lr=0.001, optimizer="adam",
                           momentum=0.0, fc_bn="no", fc_nl="relu", depth=0, recon_loss="BCE", normalize=False)
    learner = Learner(model, scenario, experiment, args, "cpu")
    generator = GenerativeReplay(args, learner)
    replay = generator  # DGR: the generator's component also replays its samples to the classifier
    learner.components = [generator]
    for c in range(context):
        for component in learner.components:
            component.after_context(c, None)
    with torch.no_grad():  # the current networks have moved on from the frozen copies
        for p in [*model.parameters(), *generator.generator.parameters()]:
            p.add_(0.3 * torch.randn_like(p))
    learner.context = context
    for component in learner.components:
        component.before_context(context, None)
    return learner, replay, generator


def _iteration(learner, seed=5):
    """One iteration's replay loss as the loop computes it; returns (losses, the replayed batch, current batch)."""
    x = torch.rand(6, 1, 4, 4)
    c = learner.context
    batch = Batch(x, torch.full((6,), 2 * c, dtype=torch.long), c)
    torch.manual_seed(seed)
    asked = [(comp, b) for comp in learner.components if (b := comp.replay_batch(batch, c)) is not None]
    shared = [b for _, b in asked if b.shared]
    scores, *shared_scores = learner.forward([batch] + shared)
    scored = dict(zip(map(id, shared), shared_scores))
    replayed = [Replayed(comp, b, scored.get(id(b))) for comp, b in asked]
    losses = {}
    for comp in learner.components:
        losses.update(comp.losses(batch, scores, replayed, c))
    learner.last_replayed = replayed
    return losses, [r.batch for r in replayed], batch


def test_replayed_inputs_come_from_the_previous_generator_and_hard_targets_from_the_previous_classifier():
    learner, replay, gen = _learner("class", context=2)
    losses, extra, _ = _iteration(learner, seed=5)
    assert len(extra) == 1 and extra[0].x.shape == (6, 1, 4, 4)   # a batch as large as the training batch
    torch.manual_seed(5)
    assert torch.equal(extra[0].x, gen.previous_generator.sample(6))          # drawn from the frozen previous generator
    assert learner.last_replayed[0].source is gen                   # ... a batch of the generator's, given to
    assert learner.last_replayed[0].scores is not None              # the classifier scored in the shared pass
    gx = extra[0].x
    with torch.no_grad():
        targets = replay.previous(gx).argmax(1)
    expected = (1 - 1 / 3) * F.cross_entropy(learner.model(gx), targets)
    assert losses["replay"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert replay.current_weight(2) == pytest.approx(1 / 3)


def test_soft_targets_are_the_previous_classifiers_temperature_softmax():
    learner, replay, _ = _learner("class", context=1, distill=True)
    losses, extra, _ = _iteration(learner)
    gx = extra[0].x
    expected = 0.5 * kd_loss(learner.model(gx), replay.previous(gx).detach(), 2.0)
    assert losses["replay"].item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("name,active", [("task", "all"), ("class", "current")])
def test_task_il_scores_the_generated_batch_through_each_past_head(name, active):
    learner, replay, _ = _learner(name, context=2, active_classes=active)
    losses, extra, _ = _iteration(learner)
    gx = extra[0].x
    scores, old = learner.model(gx), replay.previous(gx).detach()
    per_head = [F.cross_entropy(scores[:, 2 * k:2 * k + 2], old[:, 2 * k:2 * k + 2].argmax(1)) for k in range(2)]
    expected = (1 - 1 / 3) * sum(per_head) / 2
    assert losses["replay"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_generator_step_weighs_current_and_generated_batches():
    learner, _, gen = _learner("domain", context=3, n_contexts=4)
    _, extra, batch = _iteration(learner)
    before = copy.deepcopy(gen.generator)
    torch.manual_seed(9)
    losses = gen.after_iteration(3, 0, {}, batch, learner.last_replayed)
    torch.manual_seed(9)
    expected = 0.25 * before.loss(batch.x) + 0.75 * before.loss(extra[0].x)
    assert losses["generator"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert any(not torch.equal(a, b) for a, b in zip(before.parameters(), gen.generator.parameters()))
    assert not hasattr(gen, "generated") and not hasattr(gen, "current")  # it trains on its hook's arguments


def test_generator_loss_decreases_on_a_tiny_set():
    learner, _, gen = _learner("class", context=0)
    torch.manual_seed(1)
    x = (torch.rand(6, 1, 4, 4) > 0.5).float()
    with torch.no_grad():
        start = torch.stack([gen.generator.loss(x) for _ in range(20)]).mean()
    for it in range(200):
        assert gen.replay_batch(Batch(x, None, 0), 0) is None  # nothing to replay in the first context
        gen.after_iteration(0, it, {}, Batch(x, None, 0), [])
    with torch.no_grad():
        end = torch.stack([gen.generator.loss(x) for _ in range(20)]).mean()
    assert end < 0.8 * start


def test_previous_generator_and_classifier_stay_frozen_in_the_next_context(data_dir, tmp_path):
    args = parse(tiny(data_dir, tmp_path, "--replay=generative", "--iters", "10", "--contexts", "3"))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    learner = build_learner(args, experiment, torch.device("cpu"))
    replay = next(c for c in learner.components if isinstance(c, GenerativeReplay))
    gen = next(c for c in learner.components if isinstance(c, GenerativeReplay))
    snapshots = {}

    def after_context(context):
        snapshots[context] = ([p.clone() for p in gen.previous_generator.parameters()],
                              [p.clone() for p in replay.previous.parameters()])

    plan = list(enumerate(experiment.train))[:2]
    train(learner, plan, args.iters, args.batch, after_context=after_context, quiet=True)
    # the copies taken after context 0 were used, unchanged, during context 1 (new copies replaced them after it)
    assert gen.previous_generator is not None and not any(p.requires_grad for p in gen.previous_generator.parameters())
    first_gen, first_cls = snapshots[0]
    now_gen, now_cls = snapshots[1]
    assert any(not torch.equal(a, b) for a, b in zip(first_gen, now_gen))  # the generator kept learning
    assert any(not torch.equal(a, b) for a, b in zip(first_cls, now_cls))


def test_frozen_copies_are_not_trained_during_a_context(data_dir, tmp_path):
    learner, replay, gen = _learner("class", context=1)
    prev_gen = [p.clone() for p in gen.previous_generator.parameters()]
    prev_cls = [p.clone() for p in replay.previous.parameters()]
    optimizer = torch.optim.Adam(learner.model.parameters(), lr=0.1)
    for it in range(3):
        losses, _, _ = _iteration(learner, seed=it)
        optimizer.zero_grad()
        losses["replay"].backward()
        optimizer.step()
        gen.after_iteration(1, it, losses, Batch(torch.rand(6, 1, 4, 4), None, 1), learner.last_replayed)
    assert all(torch.equal(a, b) for a, b in zip(prev_gen, gen.previous_generator.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(prev_cls, replay.previous.parameters()))


def test_defaults_flags_and_stamp():
    args = parse(["--replay=generative"])
    assert (args.z_dim, args.g_z_dim, args.g_fc_lay, args.g_fc_uni, args.g_iters, args.lr_gen) == \
        (100, 100, 3, 400, 2000, 0.001)
    assert param_stamp(args).endswith("--generative--VAE=F3x400-z100-s0")
    args = parse(["--replay=generative", "--distill", "--g-z-dim", "20", "--g-fc-uni", "50", "--g-iters", "500",
                  "--lr-gen", "0.01"])
    assert param_stamp(args).endswith("--generative-KD2--VAE=F3x50-z20-gi500-lrG0.01-s0")
    assert "VAE" not in param_stamp(parse([]))
    assert parse(["--replay=generative"]).recon_loss == "BCE"
    assert param_stamp(parse(["--replay=generative", "--recon-loss=MSE"])).endswith("--VAE=F3x400-z100-MSE-s0")
    cifar = parse(["--replay=generative", "--experiment=CIFAR10"])
    assert cifar.recon_loss == "MSE" and param_stamp(cifar).endswith("--generative--VAE=C-F3x2000-z100-s0")
    assert param_stamp(parse(["--replay=generative", "--experiment=CIFAR10", "--no-norm", "--recon-loss=BCE"])
                       ).endswith("--VAE=C-F3x2000-z100-BCE-s0")


@pytest.mark.parametrize("flags", [
    ["--scenario", "task"],
    ["--scenario", "domain", "--distill"],
    ["--scenario", "class"],
])
def test_generative_replay_end_to_end(data_dir, tmp_path, flags):
    argv = tiny(data_dir, tmp_path, "--replay=generative", "--iters", "10", "--contexts", "3", *flags)
    assert run_cli(main.main, argv) == 0
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 3 and "generative" in result["stamp"]
    # --test evaluates the saved classifier again, without the generator
    assert run_cli(main.main, argv + ["--test"]) == 0
    again = json.loads(next((tmp_path / "results").glob("*-test.json")).read_text())  # its own record
    assert again["accuracy_matrix"][-1] == result["accuracy_matrix"][-1]


@pytest.mark.parametrize("flags,message", [
    (["--joint"], "--joint"),
    (["--g-iters", "0"], "--g-iters"),
    (["--g-iters", "3000"], "--g-iters"),
    (["--g-fc-uni", "0"], "--g-fc-uni"),
    (["--lr-gen", "0"], "--lr-gen"),
    (["--experiment", "CIFAR10", "--recon-loss", "BCE"], "--recon-loss=BCE needs images in \\[0, 1\\]: add --no-norm"),
    (["--experiment", "CIFAR10", "--conv-type", "resNet"], "--conv-type=standard"),
    (["--scenario", "task", "--separate-networks"], "--separate-networks"),
])
def test_usage_errors(flags, message):
    with pytest.raises(UsageError, match=message):
        parse(["--replay=generative", *flags])


def test_compare_no_longer_leaves_dgr_out(tmp_path):
    from sweep import make_jobs, method
    dgr = method("DGR")
    jobs = make_jobs(("DGR",), dgr.flags.split(), ["--scenario=class"], [2], str(tmp_path))
    assert jobs is not None and "generative--VAE" in jobs[0].stamp
    cifar = ["--experiment=CIFAR100", "--scenario=task", "--pre-convE", "--freeze-convE", "--seed-to-ltag"]
    jobs = make_jobs(("DGR",), dgr.flags.split(), cifar, [2], str(tmp_path))
    assert jobs is not None and "generative--VAE=C-F3x2000-z100-s2" in jobs[0].stamp


def test_on_cifar_the_conv_vae_trains_on_images_and_replays_images_of_the_inputs_shape(data_dir, tmp_path,
                                                                                     monkeypatch, one_thread):
    """DGR on CIFAR: the generator is a conv VAE on the (normalised) images, whose conv encoder is frozen with
    --freeze-convE; it trains (its decoder changes in every context), its samples are images of the input's shape
    (not bounded to [0, 1]: output 'none' on normalised images), and the classifier sees them through its conv
    layers: no features computed once."""
    seen, snapshots = [], []
    replay_batch, after_context = GenerativeReplay.replay_batch, GenerativeReplay.after_context

    def spy_replay(self, batch, context):
        out = replay_batch(self, batch, context)
        if out is not None:
            seen.append((tuple(out.x.shape), bool((out.x < 0).any()), self.learner.model.conv.precomputed))
        return out

    def spy_after(self, context, dataset):
        snapshots.append([p.detach().clone() for p in self.generator.deconv.parameters()])
        return after_context(self, context, dataset)

    monkeypatch.setattr(GenerativeReplay, "replay_batch", spy_replay)
    monkeypatch.setattr(GenerativeReplay, "after_context", spy_after)
    args = parse(tiny_cifar(data_dir, tmp_path, "--replay=generative", "--iters", "3", "--g-z-dim", "8"))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    torch.manual_seed(0)
    learner = build_learner(args, experiment, torch.device("cpu"))
    gen = next(c for c in learner.components if isinstance(c, GenerativeReplay))
    assert isinstance(gen.generator, ConvVAE) and gen.generator.recon_loss == "MSE" and not gen.generator.logits
    conv = pretrained.conv_layers(gen.generator)[0]
    assert conv.frozen and not any(p.requires_grad for p in conv.parameters())
    frozen = [p.clone() for p in conv.parameters()]
    assert learner.experiment is experiment  # pixel input: the images, not features
    train(learner, list(enumerate(experiment.train)), args.iters, args.batch, quiet=True)
    assert len(seen) == 3 * 4 and all(s == ((32, 3, 32, 32), True, False) for s in seen)
    assert all(not torch.equal(a, b) for a, b in zip(snapshots[0], snapshots[-1]))  # the decoder trained
    assert all(torch.equal(a, b) for a, b in zip(frozen, conv.parameters()))
    assert gen.generator.sample(4).shape == (4, 3, 32, 32)


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_on_cifar_end_to_end_and_test_reloads(data_dir, tmp_path, scenario):
    argv = tiny_cifar(data_dir, tmp_path, "--replay=generative", f"--scenario={scenario}", "--iters", "3",
                      "--g-z-dim", "8", "--g-fc-uni", "20")
    assert run_cli(main.main, argv) == 0
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert len(result["accuracy_matrix"]) == 5 and "VAE=C-F3x20-z8" in result["stamp"]
    assert run_cli(main.main, argv + ["--test"]) == 0
    again = json.loads(next((tmp_path / "results").glob("*-test.json")).read_text())
    assert again["accuracy_matrix"][-1] == result["accuracy_matrix"][-1]


@pytest.mark.parametrize("experiment, size, channels, parameters", [
    ("splitMNIST", 28, 1, 1069684),  # fc: 2 hidden layers of 400 units, z 100
    ("CIFAR10", 32, 3, 13795687)])  # conv VAE: 5 conv layers, 2 hidden fc layers of 2000 units, z 100
def test_generator_has_the_papers_parameter_count(experiment, size, channels, parameters):
    """The paper's code's generator for `--replay=generative` has this many parameters (counted from its VAE class
    with the same options): its log-variance head has no bias (fc_layer_split) and its transposed convolutions do
    (deconv_layer), also before batch-norm."""
    args = parse(["--experiment", experiment, "--scenario", "class", "--replay", "generative"])
    scenario = Scenario("class", 5, 2)
    model = Classifier(size, channels, 10, fc_layers=args.fc_layers, fc_units=args.fc_units)
    learner = Learner(model, scenario, SimpleNamespace(preprocess=Preprocess(), image_size=size, channels=channels),
                      args, "cpu")
    generator = GenerativeReplay(args, learner).generator
    assert sum(p.numel() for p in generator.parameters()) == parameters
    assert generator.to_logvar.bias is None and generator.to_mu.bias is not None


def test_records_of_the_earlier_vae_are_not_taken_for_this_ones(data_dir, tmp_path):
    """Runs made before the VAEs lost their log-variance bias (issue 25) are another architecture: a sweep reruns a
    stored record without the mark this code puts in it; a run without a VAE carries no mark."""
    from sweep import stored
    argv = tiny(data_dir, tmp_path, "--scenario", "class", "--replay", "generative", "--iters", "4")
    result = main.run(parse(argv))
    path = tmp_path / "results" / f"{result['stamp']}.json"
    record = json.loads(path.read_text())
    assert record["vae_logvar_bias"] is False
    assert stored.inspect(str(path), result["stamp"], {}, parse(argv))[0] == "done"
    del record["vae_logvar_bias"]
    path.write_text(json.dumps(record))
    state, reason = stored.inspect(str(path), result["stamp"], {}, parse(argv))
    assert state == "rerun" and "another architecture of its method" in reason and "vae_logvar_bias none" in reason
    none = main.run(parse(tiny(data_dir, tmp_path, "--scenario", "class", "--iters", "4")))
    assert "vae_logvar_bias" not in json.loads((tmp_path / "results" / f"{none['stamp']}.json").read_text())
