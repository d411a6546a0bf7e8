"""Pre-training (./main_pretrain.py), the batched augmentation, and --pre-convE / --freeze-convE in ./main.py."""
import os

import numpy as np
import pytest
import torch

import main
import main_pretrain
from data.augment import random_crop_flip
from data.experiments import build_experiment
from models import pretrained
from models.conv import ConvLayers
from train.experiment import build_learner
from tests.conftest import ROOT, tiny
from utils.errors import DataError
from cli.options import parse

SMALL = ["--fc-units", "20", "--channels", "4", "--no-gpus"]


def test_crop_stays_in_padded_frame_and_each_image_draws_its_own():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = random_crop_flip(images, padding=4)
    assert out.shape == images.shape and out.dtype == images.dtype
    padded = np.pad(images.numpy(), ((0, 0), (0, 0), (4, 4), (4, 4)), mode="symmetric")  # torchvision's mode
    drawn = set()
    for b in range(64):
        found = [(dy, dx, flip) for dy in range(9) for dx in range(9) for flip in (False, True)
                 if np.array_equal(out[b].numpy(), (lambda c: c[..., ::-1] if flip else c)(
                     padded[b, :, dy:dy + 8, dx:dx + 8]))]
        assert found, f"image {b} is not a (flipped) crop of its padded frame"
        drawn.add(found[0])
    assert len(drawn) > 30  # offsets and flips are drawn per image, not once per batch
    assert {f for _, _, f in drawn} == {False, True}


def test_flip_alone_is_a_horizontal_flip():
    torch.manual_seed(1)
    images = torch.randn(32, 3, 5, 7)
    out = random_crop_flip(images, padding=0)
    same = (out == images).flatten(1).all(1)
    flipped = (out == images.flip(-1)).flatten(1).all(1)
    assert (same | flipped).all() and same.any() and flipped.any()


@pytest.fixture(scope="module")
def pretrained_dir(data_dir, tmp_path_factory):
    """The conv layers of a seconds-long ./main_pretrain.py run on the synthetic CIFAR-10 (in-process: faster)."""
    model_dir = tmp_path_factory.mktemp("pretrained")
    assert os.access(os.path.join(ROOT, "main_pretrain.py"), os.X_OK)
    assert main_pretrain.main(["--data-dir", data_dir, "--model-dir", str(model_dir), "--epochs", "2", "--batch",
                               "32", "--lr", "0.003", "--augment", "--convE-stag", "t2", "--seed-to-stag", "--seed",
                               "3", "--quiet", *SMALL]) == 0
    return model_dir


def test_pretrain_writes_the_papers_file_name(pretrained_dir):
    assert sorted(os.listdir(pretrained_dir)) == ["C3-5x4-bn-t2-s3", "C3-5x4-bn_F3x20_c10"]  # no temporary left
    saved = torch.load(pretrained_dir / "C3-5x4-bn-t2-s3", weights_only=True)
    assert saved["name"] == "C3-5x4-bn" and saved["iters"] == 2 * (200 // 32)
    assert any(k.endswith("running_mean") for k in saved["state"])


def test_interrupted_save_leaves_no_file(tmp_path, monkeypatch):
    conv = ConvLayers(3, depth=2, reducing_layers=1, channels=2)
    args = parse(["--experiment", "CIFAR10", "--model-dir", str(tmp_path)])
    args.convE_stag, args.seed_to_stag = "x", False

    def broken_save(obj, f):
        f.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        pretrained.save(conv, args)
    assert os.listdir(tmp_path) == []


def cifar100(data_dir, tmp_path, pretrained_dir, *extra):
    """A short CIFAR-100 run whose --model-dir (tmp_path/models) holds the files of `pretrained_dir`."""
    os.makedirs(tmp_path / "models", exist_ok=True)
    for name in os.listdir(pretrained_dir) if os.path.isdir(pretrained_dir) else []:
        os.link(pretrained_dir / name, tmp_path / "models" / name)
    return tiny(data_dir, tmp_path, "--experiment", "CIFAR100", "--contexts", "2", "--iters", "5", "--pre-convE",
                "--convE-ltag", "t2", "--seed-to-ltag", "--seed", "3", *SMALL, *extra)


def conv_states(model):
    return [c.state_dict() for c in pretrained.conv_layers(model)]


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("extra", [(), ("--scenario", "task", "--separate-networks"), ("--scenario", "task", "--xdg")])
def test_pre_convE_loads_exactly_the_pretrained_layers(data_dir, tmp_path, pretrained_dir, extra):
    saved = torch.load(pretrained_dir / "C3-5x4-bn-t2-s3", weights_only=True)["state"]
    args = parse(cifar100(data_dir, tmp_path, pretrained_dir, "--freeze-convE", *extra))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed)
    learner = build_learner(args, experiment, torch.device("cpu"))
    states = conv_states(learner.model)
    assert len(states) == (2 if "--separate-networks" in extra else 1)
    assert all(same(s, saved) for s in states)
    frozen = [p for c in pretrained.conv_layers(learner.model) for p in c.parameters()]
    assert frozen and not any(p.requires_grad for p in frozen)


def trained_conv(tmp_path, argv):
    result = main.run(parse(argv))
    saved = torch.load(os.path.join(tmp_path / "models", f"mM-{result['stamp']}.pt"), weights_only=False)
    return {k[len("conv."):]: v for k, v in saved["model"].items() if k.startswith("conv.")}, result["stamp"]


def test_frozen_layers_and_batchnorm_statistics_stay_unchanged(data_dir, tmp_path, pretrained_dir):
    saved = torch.load(pretrained_dir / "C3-5x4-bn-t2-s3", weights_only=True)["state"]
    argv = cifar100(data_dir, tmp_path, pretrained_dir, "--freeze-convE")
    frozen, stamp = trained_conv(tmp_path, argv)
    assert same(frozen, saved) and "-pCvE-t2-ps-fCvE-" in stamp
    argv.remove("--freeze-convE")
    trained, stamp = trained_conv(tmp_path, argv)
    assert "fCvE" not in stamp and "pCvE" in stamp
    changed = [k for k in saved if not torch.equal(saved[k], trained[k])]
    assert any(k.endswith("weight") for k in changed) and any(k.endswith("running_mean") for k in changed)


def test_stamps_tell_pretrained_and_frozen_apart():
    base = ["--experiment", "CIFAR100"]
    variants = [[], ["--pre-convE"], ["--pre-convE", "--freeze-convE"], ["--freeze-convE"],
                ["--pre-convE", "--seed-to-ltag"], ["--pre-convE", "--convE-ltag", "e10"]]
    stamps = [main.param_stamp(parse(base + v)) for v in variants]
    assert len(set(stamps)) == len(stamps)
    assert "-b256-pCvE-e100-ps-fCvE-adam" in main.param_stamp(parse(base + ["--pre-convE", "--freeze-convE",
                                                                               "--seed-to-ltag"]))
    # without conv layers the flags change nothing, as in the paper's code
    assert main.param_stamp(parse(["--pre-convE", "--freeze-convE"])) == main.param_stamp(parse([]))


PAPER_FILE = os.path.join(os.path.dirname(ROOT), "shared", "reference", "paper_code_models", "C3-5x16-bn-e100")


def paper_keys(state):
    """Our conv layers' state under the paper's module names (its ConvLayers: convLayerN.conv / .bn, ResNet blocks
    blockM.block_layerK / .shortcut), as its code saves them."""
    out = {}
    for key, value in state.items():
        _, layer, rest = key.split(".", 2)
        parts = rest.split(".")
        if parts[0] in ("0", "1") and not parts[1].startswith("conv") and parts[1] != "shortcut":
            rest = {"0": "conv", "1": "bn"}[parts[0]] + "." + ".".join(parts[1:])
        elif parts[0].isdigit():  # a ResNet block: <block>.conv1/conv2/shortcut.<rest>
            part = {"conv1": "block_layer1", "conv2": "block_layer2", "shortcut": "shortcut"}[parts[1]]
            rest = f"block{int(parts[0]) + 1}.{part}." + ".".join(parts[2:])
        else:  # the bare last convolution
            rest = "conv." + rest
        out[f"convLayer{int(layer) + 1}.{rest}"] = value
    return out


def randomized(conv):
    """`conv` with every parameter and batch-norm statistic random (so that a wrong mapping cannot go unseen)."""
    torch.manual_seed(5)
    for value in conv.state_dict().values():
        if value.is_floating_point():
            value.copy_(torch.rand_like(value) + 0.5)
    return conv


def load_as_pre_convE(model_dir, conv_type="standard"):
    args = parse(["--experiment", "CIFAR10", "--model-dir", str(model_dir), "--pre-convE", "--channels", "4",
                  "--conv-type", conv_type])
    fresh = ConvLayers(3, channels=4, conv_type=conv_type)
    return pretrained.prepare(fresh, args)


def test_every_plain_conv_has_a_bias_as_in_the_papers_code():
    conv = ConvLayers(3)
    biases = [m.bias is not None for m in conv.modules() if isinstance(m, torch.nn.Conv2d)]
    assert biases == [True] * 5
    resnet = ConvLayers(3, conv_type="resNet")  # its blocks' convolutions before batch-norm have none, as there
    assert [m.bias is not None for m in resnet.modules() if isinstance(m, torch.nn.Conv2d)][:2] == [True, False]


@pytest.mark.parametrize("conv_type", ["standard", "resNet"])
def test_pre_convE_loads_a_file_in_the_papers_format(tmp_path, conv_type):
    source = randomized(ConvLayers(3, channels=4, conv_type=conv_type))
    paper = paper_keys(source.state_dict())
    assert "convLayer1.conv.bias" in paper and "convLayer5.bn.weight" not in paper
    assert ("convLayer5.conv.bias" if conv_type == "standard" else "convLayer5.block2.shortcut.0.weight") in paper \
        or conv_type == "resNet" and "convLayer2.block1.shortcut.1.running_mean" in paper
    name = f"{source.name}-e100"
    torch.save({"state": paper}, tmp_path / name)
    loaded = load_as_pre_convE(tmp_path, conv_type)
    assert same(loaded.state_dict(), source.state_dict())


@pytest.mark.skipif(not os.path.exists(PAPER_FILE), reason="the paper's shipped conv layers are not here")
def test_the_papers_shipped_conv_layers_load():
    args = parse(["--experiment", "CIFAR10", "--model-dir", os.path.dirname(PAPER_FILE), "--pre-convE"])
    conv = pretrained.prepare(ConvLayers(3), args)
    assert conv.name == "C3-5x16-bn"  # so that the default --convE-ltag=e100 finds C3-5x16-bn-e100
    shipped = torch.load(PAPER_FILE, map_location="cpu", weights_only=True)["state"]
    ours = conv.state_dict()
    assert torch.equal(ours["layers.0.0.bias"], shipped["convLayer1.conv.bias"])
    assert torch.equal(ours["layers.3.1.running_var"], shipped["convLayer4.bn.running_var"])
    assert torch.equal(ours["layers.4.weight"], shipped["convLayer5.conv.weight"])


def test_our_files_from_before_the_biases_load_with_zero_biases(tmp_path, capsys):
    source = randomized(ConvLayers(3, channels=4))
    old = {k: v for k, v in source.state_dict().items() if not (k.endswith("0.bias") and k.count(".") == 3)}
    assert len(old) == len(source.state_dict()) - 4  # the 4 conv layers before batch-norm had no bias
    torch.save({"state": old, "name": "C3-5x4-bn"}, tmp_path / "C3-5x4-bn-e100")
    loaded = load_as_pre_convE(tmp_path)
    state = loaded.state_dict()
    assert all(torch.equal(state[k], old[k]) for k in old)
    assert all(not state[f"layers.{i}.0.bias"].any() for i in range(4))
    assert "loaded with those biases zero" in capsys.readouterr().out


def test_a_file_missing_other_parameters_is_refused(tmp_path):
    source = ConvLayers(3, channels=4).state_dict()
    del source["layers.2.1.weight"]  # a batch-norm weight: not what an older file lacks
    torch.save({"state": source}, tmp_path / "C3-5x4-bn-e100")
    with pytest.raises(DataError, match="another shape"):
        load_as_pre_convE(tmp_path)


def test_models_saved_before_the_biases_load_with_zero_biases():
    """A whole model saved before issue 24 (mM-<stamp>.pt, e.g. for --test) lacks the same biases."""
    model = torch.nn.Sequential(randomized(ConvLayers(3, channels=4)), torch.nn.Linear(2, 2))
    old = {k: v for k, v in model.state_dict().items() if not (k.startswith("0.layers.") and k.endswith(".0.bias"))}
    assert len(old) == len(model.state_dict()) - 4
    fresh = torch.nn.Sequential(ConvLayers(3, channels=4), torch.nn.Linear(2, 2))
    fresh.load_state_dict(old)  # strict: nothing missing
    assert all(torch.equal(fresh.state_dict()[k], old[k]) for k in old)
    assert all(not fresh.state_dict()[f"0.layers.{i}.0.bias"].any() for i in range(4))
    del old["0.layers.2.0.weight"]  # a missing weight is still an error
    with pytest.raises(RuntimeError, match="Missing key"):
        fresh.load_state_dict(old)
