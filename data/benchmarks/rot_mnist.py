"""Rotated MNIST: the ten digits in every context, each context rotating all images by its own angle (the paper's
code's stability-gap example, StabilityGap/stability_gap_example.py: 0, 80 and 160 degrees; De Lange et al., "Continual
evaluation for lifelong learning: identifying the stability gap", ICLR 2023).

`--rotations=0,80,160` lists the angles (degrees, counter-clockwise); without it `--contexts=N` spreads N angles
evenly over [0, 180), and with neither the stability-gap example's three are used. The rotation is the paper's
code's: torchvision's fixed-angle rotation at its defaults (about the centre, nearest neighbour, 0 outside), done
once per context on the whole set as one batched grid sample on the device, never per sample or per batch.
Nobody published a protocol for it: the defaults are split MNIST's network and learning rate (the stability-gap
example's own: 2 x 400 units, Adam at 0.001, batch 128) with 500 iterations per context.
"""
import argparse
import math

import torch
import torch.nn.functional as F

from data.benchmarks.base import Benchmark
from data.mnist import load_mnist
from utils.errors import UsageError

DEFAULT_ROTATIONS = (0.0, 80.0, 160.0)
CHUNK = 10000  # images per grid sample (bounded memory)


def angles(text):
    """--rotations: comma-separated finite numbers of degrees."""
    try:
        values = [float(a) for a in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid list of angles: '{text}' (e.g. 0,80,160)") from None
    if not all(math.isfinite(a) for a in values):
        raise argparse.ArgumentTypeError(f"invalid list of angles: '{text}' (finite numbers of degrees)")
    return values


def rotate(images, degrees):
    """`images` (uint8 [N, C, H, W]) rotated counter-clockwise by `degrees` about the centre, nearest neighbour, 0
    where no pixel maps. Follows torchvision's tensor rotation: the inverse rotation matrix in float32, applied to
    the output pixels' centres (relative to the image centre, scaled to [-1, 1]), then a nearest grid sample."""
    n, c, h, w = images.shape
    r = math.radians(-degrees)
    theta = torch.tensor([[math.cos(r), math.sin(r), 0.0], [-math.sin(r), math.cos(r), 0.0]],
                         dtype=torch.float32, device=images.device)
    base = torch.empty(1, h, w, 3, dtype=torch.float32, device=images.device)
    base[..., 0] = torch.linspace(-w * 0.5 + 0.5, w * 0.5 - 0.5, steps=w, device=images.device)
    base[..., 1] = torch.linspace(-h * 0.5 + 0.5, h * 0.5 - 0.5, steps=h, device=images.device).unsqueeze(-1)
    base[..., 2] = 1.0
    scale = torch.tensor([0.5 * w, 0.5 * h], dtype=torch.float32, device=images.device)
    grid = base.view(1, h * w, 3).bmm(theta.unsqueeze(0).transpose(1, 2) / scale).view(1, h, w, 2)
    out = torch.empty_like(images)
    for start in range(0, n, CHUNK):
        x = images[start:start + CHUNK].float()
        out[start:start + CHUNK] = F.grid_sample(x, grid.expand(x.shape[0], h, w, 2), mode="nearest",
                                                 padding_mode="zeros", align_corners=False).round().to(torch.uint8)
    return out


class RotatedMNIST(Benchmark):
    name = "rotMNIST"
    classes, image_size, channels, contexts = 10, 28, 1, 3
    split = False
    protocol = {"iters": 500, "lr": 0.001, "batch": 128, "fc_units": 400}
    origin = {"contexts": "the stability-gap example", "rotations": "the stability-gap example"}
    pretrain = "MNIST"

    def read(self, data_dir, train):
        return load_mnist(data_dir, train)

    def add_args(self, group):
        group.add_argument("--rotations", type=angles, metavar="A,B,...",
                           help="rotMNIST: each context's angle in degrees (default: 0,80,160; with --contexts=N, "
                                "N angles spread evenly over [0, 180))")

    def set_defaults(self, args):
        if args.rotations is None:
            args.rotations = list(DEFAULT_ROTATIONS) if args.contexts is None else \
                [180.0 * k / args.contexts for k in range(args.contexts)]
        if args.contexts is None:
            args.contexts = len(args.rotations)

    def validate(self, args):
        if len(args.rotations) != args.contexts:
            raise UsageError(f"--rotations lists {len(args.rotations)} angles for --contexts={args.contexts}")

    def stamp(self, args):
        return "-r" + "_".join(f"{a:g}" for a in args.rotations)

    def settings(self, args):
        return {"rotations": args.rotations}

    def contexts_of(self, images, n_contexts, seed, rotations=DEFAULT_ROTATIONS):
        return [rotate(images, a) if a % 360 else images for a in rotations]


BENCHMARK = RotatedMNIST()
