"""Rotated MNIST: torchvision's fixed-angle rotation (about the centre, nearest neighbour, 0 outside) done once per
context on the whole set, its options, and runs in all three scenarios."""
import math

import pytest
import torch

from cli.options import parse
from cli.stamp import param_stamp
from data.benchmarks.rot_mnist import rotate
from data.experiments import build_experiment
from tests.conftest import tiny
from utils.errors import UsageError, run_cli


@pytest.mark.parametrize("size", [28, 27])
def test_90_degrees_is_exactly_rot90(size):
    images = torch.randint(0, 256, (5, 1, size, size), dtype=torch.uint8)
    assert torch.equal(rotate(images, 90), torch.rot90(images, 1, (-2, -1)))
    assert torch.equal(rotate(images, -90), torch.rot90(images, -1, (-2, -1)))
    assert torch.equal(rotate(images, 180), torch.rot90(images, 2, (-2, -1)))
    assert torch.equal(rotate(images, 0), images)


def reference(image, degrees):
    """One image rotated pixel by pixel in float64: each output pixel's centre, relative to the image centre,
    mapped back by the inverse rotation to the nearest source pixel (the formula torchvision's rotation uses)."""
    h, w = image.shape
    r = math.radians(-degrees)
    out = torch.zeros_like(image)
    for i in range(h):
        for j in range(w):
            x, y = j - (w - 1) / 2, i - (h - 1) / 2
            xs, ys = math.cos(r) * x + math.sin(r) * y, -math.sin(r) * x + math.cos(r) * y
            js, is_ = round(xs + (w - 1) / 2), round(ys + (h - 1) / 2)
            if 0 <= is_ < h and 0 <= js < w:
                out[i, j] = image[is_, js]
    return out


@pytest.mark.parametrize("degrees", [80, 160, 33])
def test_other_angles_follow_the_formula(degrees):
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    rotated = rotate(images, degrees)
    for k in range(3):
        assert torch.equal(rotated[k, 0], reference(images[k, 0], degrees))
    assert rotated[0, 0, 0, 0] == 0  # a corner has no source pixel: filled with 0


def test_each_context_is_rotated_once_for_the_whole_set(data_dir):
    experiment = build_experiment("rotMNIST", 3, data_dir, rotations=[0, 80, 160])
    base = experiment.train[0]
    for c, angle in enumerate([0, 80, 160]):
        data = experiment.train[c]
        assert torch.equal(data.images, rotate(base.images, angle))
        assert torch.equal(data.labels, base.labels + 10 * c) and data.context == c
    assert experiment.preprocess.permutations is None  # nothing is done per batch but scaling
    assert experiment.classes_per_context == 10 and experiment.image_size == 28


def test_rotations_options():
    assert parse(["--experiment=rotMNIST"]).rotations == [0.0, 80.0, 160.0]
    args = parse(["--experiment=rotMNIST", "--contexts=4"])
    assert args.rotations == [0.0, 45.0, 90.0, 135.0]
    args = parse(["--experiment=rotMNIST", "--rotations=0,30"])
    assert args.contexts == 2 and "rotMNIST2-r0_30-" in param_stamp(args)
    with pytest.raises(UsageError, match="lists 2 angles for --contexts=3"):
        parse(["--experiment=rotMNIST", "--rotations=0,30", "--contexts=3"])
    with pytest.raises(UsageError, match="--rotations only applies to --experiment=rotMNIST"):
        parse(["--rotations=0,30"])


@pytest.mark.parametrize("scenario", ["task", "domain", "class"])
def test_runs_in_every_scenario(data_dir, tmp_path, scenario):
    import main
    argv = tiny(data_dir, tmp_path, "--experiment=rotMNIST", f"--scenario={scenario}", "--iters=20", "--no-save")
    assert run_cli(main.main, argv) == 0
    (path,) = (tmp_path / "results").glob("*.json")
    assert path.name.startswith(f"rotMNIST3-r0_80_160-{scenario}--")
