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
from tests.conftest import ROOT, tiny
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
    learner = main.build_learner(args, experiment, torch.device("cpu"))
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
