"""Frozen conv layers' features computed once (models/features.py) and their use by ./main.py."""
import json
import os

import pytest
import torch

import main
from train import experiment as experiment_module
from train.experiment import build_learner
from data.experiments import build_experiment
from data.preprocess import Preprocess
from data.scenario import Scenario
from data.tensorset import BatchSampler, TensorSet
from methods.component import Component
from models import features, pretrained
from models.classifier import Classifier, build_classifier
from models.conv import ConvLayers
from models.separate import SeparateClassifiers
from tests.conftest import TAG, cifar10_pretrained as cifar10, prepare_dirs
from train.loop import train
from cli.options import parse

def random_conv(channels=4, seed=0):
    """Frozen-to-be conv layers whose batch-norm statistics are far from the initial 0 / 1 (so eval mode shows)."""
    torch.manual_seed(seed)
    conv = ConvLayers(3, depth=5, reducing_layers=4, channels=channels)
    for m in conv.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return conv


def images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)


CIFAR = Preprocess(mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26))


@pytest.mark.parametrize("n", [1, 2, 7, 31])  # 31 = 3 passes of 10 + 1: the last image joins the pass before
def test_features_equal_the_conv_output_of_any_training_batch_bit_for_bit(n):
    conv = random_conv().freeze()
    data = TensorSet.of_context(images(n), torch.arange(n) % 3, 4)
    cached = features.conv_features(conv, data, CIFAR, chunk=10)
    assert cached.images.shape == (n, 64 * 2 * 2) and cached.images.dtype == torch.float32
    assert not cached.images.requires_grad
    assert cached.labels is data.labels and cached.contexts is data.contexts and cached.context == 4
    with torch.no_grad():
        for size in sorted({min(n, 2), min(n, 5), n}):
            index = torch.randperm(n)[:size]
            uncached = conv(CIFAR(data.images[index], 4))
            if size > 1:  # a pass over a single image takes another kernel (see models/features.py)
                assert torch.equal(cached.images[index], uncached)
            assert torch.allclose(cached.images[index], uncached, rtol=0, atol=1e-5)


def test_features_use_the_batchnorm_statistics_even_while_the_model_trains():
    conv = random_conv().freeze()
    model = Classifier(32, 3, 10, fc_units=20, conv=conv).train()
    data = TensorSet.of_context(images(6), torch.zeros(6, dtype=torch.long), 0)
    cached = features.conv_features(conv, data, CIFAR)
    x = CIFAR(data.images, 0)
    with torch.no_grad():
        assert torch.equal(cached.images, conv.eval()(x))
        assert not torch.allclose(cached.images, ConvLayers.train(random_conv(), True)(x), atol=1e-3)


def test_per_sample_contexts_are_preprocessed_per_sample():
    """A mixed set (context None) is preprocessed with each sample's own context (e.g. permutations)."""
    calls = []

    def preprocess(x, context):
        calls.append(context)
        return x.float() / 255

    conv = random_conv().freeze()
    data = TensorSet(images(4), torch.zeros(4, dtype=torch.long), torch.tensor([0, 1, 1, 0]))
    features.conv_features(conv, data, preprocess, chunk=2)
    assert [c.tolist() for c in calls] == [[0, 1], [1, 0]]


def test_the_classifier_on_features_equals_it_on_images_with_dropout_draws_alike():
    conv = random_conv().freeze()
    model = Classifier(32, 3, 10, fc_units=30, fc_drop=0.5, conv=conv).train()
    data = TensorSet.of_context(images(16), torch.zeros(16, dtype=torch.long), 0)
    x = CIFAR(data.images, 0)
    torch.manual_seed(1)
    on_images = model(x)
    cached = features.conv_features(conv, data, CIFAR)
    conv.precomputed = True
    torch.manual_seed(1)
    on_features = model(cached.images)
    assert torch.equal(on_images, on_features)
    torch.manual_seed(2)
    assert not torch.equal(model(cached.images), on_features)  # dropout is on: the draws matter


def test_only_a_fixed_conv_stage_is_precomputed():
    assert features.fixed_conv(Classifier(32, 3, 10, fc_units=20)) is None             # no conv layers
    assert features.fixed_conv(Classifier(32, 3, 10, conv=random_conv())) is None      # trainable
    frozen = random_conv().freeze()
    assert features.fixed_conv(Classifier(32, 3, 10, conv=frozen)) is frozen
    same = SeparateClassifiers(lambda: Classifier(32, 3, 2, conv=random_conv(seed=3).freeze()), 2, 2)
    assert features.fixed_conv(same) is not None                                       # --pre-convE: one function
    differ = iter([random_conv(seed=3), random_conv(seed=4)])
    apart = SeparateClassifiers(lambda: Classifier(32, 3, 2, conv=next(differ).freeze()), 2, 2)
    assert features.fixed_conv(apart) is None                                          # two different functions


# ---- ./main.py (the pre-trained conv layers: conftest.conv_file; --test: tests/test_round_trip.py) ----

def uncached(args, model, experiment, components):
    return experiment


def run_both(data_dir, tmp_path, conv_file, monkeypatch, capsys, extra):
    prepare_dirs(tmp_path / "cached", conv_file)
    prepare_dirs(tmp_path / "uncached", conv_file)
    results = {}
    for name in ("cached", "uncached"):
        with monkeypatch.context() as m:
            if name == "uncached":
                m.setattr(experiment_module, "conv_features", uncached)
            assert main.main(cifar10(data_dir, tmp_path / name, *extra)) == 0
        out = capsys.readouterr().out
        assert ("features computed once: 300 images in" in out) == (name == "cached"), out
        files = list((tmp_path / name / "results").glob("*.json"))
        assert len(files) == 1
        result = json.loads(files[0].read_text())
        saved = torch.load(tmp_path / name / "models" / f"mM-{result['stamp']}.pt", weights_only=False)
        results[name] = result, saved["model"]
    return results


@pytest.mark.parametrize("extra", [
    ("--fc-drop", "0.3"),                                                  # dropout draws
    ("--scenario", "task", "--replay", "buffer", "--budget", "3"),         # replay draws, a buffer of features
    ("--icarl", "--budget", "3"),                                          # herding on features, class means
    ("--scenario", "task", "--separate-networks"),                         # one conv per network, all the same
    ("--ewc", "--lambda", "100"),                                          # the Fisher's passes
    ("--si", "--scenario", "domain"),
])
@pytest.mark.slow
def test_cached_and_uncached_runs_give_bit_identical_results(data_dir, tmp_path, conv_file, monkeypatch, capsys,
                                                             extra):
    results = run_both(data_dir, tmp_path, conv_file, monkeypatch, capsys, extra)
    (cached, cached_model), (plain, plain_model) = results["cached"], results["uncached"]
    assert cached["stamp"] == plain["stamp"]
    assert cached["accuracy_matrix"] == plain["accuracy_matrix"]
    assert len(cached["accuracy_matrix"]) == 5 and cached["average_accuracy"] > 0.2  # it learned something
    assert cached_model.keys() == plain_model.keys()  # the conv layers are saved as ever
    for key in cached_model:
        assert torch.equal(cached_model[key], plain_model[key]), key  # every trained parameter, bit for bit


def test_training_no_longer_runs_the_conv_layers(data_dir, tmp_path, conv_file):
    root = prepare_dirs(tmp_path, conv_file)
    args = parse(cifar10(data_dir, root))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed)
    learner = build_learner(args, experiment, torch.device("cpu"))
    data = learner.experiment.train[0]
    assert data.images.shape == (len(experiment.train[0]), 64 * 2 * 2) and data.images.dtype == torch.float32
    assert torch.equal(data.labels, experiment.train[0].labels)
    conv = pretrained.conv_layers(learner.model)[0]
    conv.layers.register_forward_hook(lambda *a: pytest.fail("the conv layers ran in training"))
    train(learner, list(enumerate(learner.experiment.train[:2])), 3, 8, quiet=True)
    index = next(BatchSampler(data, 8))
    assert learner.batch(data, index).x.shape == (8, 256)


def test_a_component_needing_pixels_keeps_the_images(data_dir, tmp_path, conv_file):
    class Pixels(Component):
        pixel_input = True

    root = prepare_dirs(tmp_path, conv_file)
    args = parse(cifar10(data_dir, root))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed)
    model = build_classifier(args, experiment, Scenario("class", 5, 2))
    pretrained.prepare(model, args)
    assert experiment_module.conv_features(args, model, experiment, [Pixels]) is experiment
    assert experiment_module.conv_features(args, model, experiment, [Component]) is not experiment
    args.freeze_convE = False
    assert experiment_module.conv_features(args, model, experiment, []) is experiment
    assert os.path.exists(root / "models" / f"C3-5x4-bn-{TAG}")
