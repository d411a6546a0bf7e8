"""A benchmark's contexts as tensors on the training device (the benchmarks themselves: data/benchmarks/), and
the single-context data sets of pre-training."""
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from data.benchmarks import BENCHMARKS, benchmark
from data.cifar import load_cifar
from data.mnist import load_mnist
from data.preprocess import Preprocess
from data.tensorset import TensorSet


@dataclass
class Experiment:
    name: str
    n_contexts: int
    classes_per_context: int
    image_size: int
    channels: int
    train: list          # one TensorSet per context
    test: list
    preprocess: Preprocess
    class_order: list    # original class of each global label (split experiments)
    normalisation: dict = None  # per-channel mean and std the inputs are normalised with, if they are


def class_order(n_classes, seed):
    """Which original class becomes global label k. As the paper's code (data/load.py, numpy seeded with the run's
    seed): seed 0 keeps the original order; otherwise p = permutation(n_classes) and original class y becomes label
    p[y], so label k holds the original class argsort(p)[k]. Same seed, same contexts as the paper's runs."""
    if seed == 0:
        return list(range(n_classes))
    return np.argsort(np.random.RandomState(seed).permutation(n_classes)).tolist()


def build_experiment(name, n_contexts, data_dir, seed=0, device="cpu", normalize=True, **settings):
    """The contexts of benchmark `name` (data/benchmarks/), as TensorSets on `device`; `settings`: the benchmark's
    own options (Benchmark.settings)."""
    b = benchmark(name, settings)
    cpc = b.classes_per_context(n_contexts)
    preprocess = b.preprocess(n_contexts, seed, normalize, **settings)
    splits = {}
    if not b.split:  # every class in every context, each context under its own transform
        order = list(range(b.classes))
        for split in ("train", "test"):
            images, labels = b.read(data_dir, split == "train")
            images, labels = images.to(device), labels.to(device)
            contexts = b.contexts_of(images, n_contexts, seed, **settings)
            splits[split] = [TensorSet.of_context(x, labels + c * cpc, c) for c, x in enumerate(contexts)]
    else:
        order = class_order(b.classes, seed)
        if cpc * n_contexts < b.classes:  # as in the paper's code, the classes that fill no context are not used
            left = sorted(order[cpc * n_contexts:])
            print(f"warning: {name} with {n_contexts} contexts of {cpc} classes leaves out class"
                  f"{'es' if len(left) > 1 else ''} {', '.join(map(str, left))}", file=sys.stderr, flush=True)
        new_label = torch.empty(b.classes, dtype=torch.long)
        new_label[torch.tensor(order)] = torch.arange(b.classes)
        for split in ("train", "test"):
            images, labels = b.read(data_dir, split == "train")
            labels = new_label[labels]
            sets = []
            for c in range(n_contexts):
                index = ((labels >= c * cpc) & (labels < (c + 1) * cpc)).nonzero().squeeze(1)
                sets.append(TensorSet.of_context(images[index].to(device), labels[index].to(device), c))
            splits[split] = sets
    norm = None if preprocess.mean is None else {"mean": preprocess.mean.flatten().tolist(),
                                                 "std": preprocess.std.flatten().tolist()}
    return Experiment(name, n_contexts, cpc, b.image_size, b.channels, splits["train"], splits["test"],
                      preprocess.to(device), order, norm)


# single-context data sets for pre-training (./main_pretrain.py): name -> (classes, image size, channels)
SINGLE = {"CIFAR10": (10, 32, 3), "CIFAR100": (100, 32, 3), "MNIST": (10, 28, 1), "MNIST32": (10, 32, 1)}


@dataclass
class SingleContext:
    name: str
    classes: int
    image_size: int
    channels: int
    train: TensorSet
    test: TensorSet
    preprocess: Preprocess


def build_single_context(name, data_dir, device="cpu", normalize=True):
    """All classes of one data set as one context, original labels (CIFAR normalised with its own statistics)."""
    classes, size, channels = SINGLE[name]
    sets = {}
    for split in ("train", "test"):
        if name.startswith("MNIST"):
            images, labels = load_mnist(data_dir, split == "train")
            if name == "MNIST32":
                images = F.pad(images, (2, 2, 2, 2))
        else:
            images, labels = load_cifar(data_dir, classes, split == "train")
        sets[split] = TensorSet.of_context(images.to(device), labels.to(device), 0)
    mean_std = BENCHMARKS[name].normalisation if normalize and name in BENCHMARKS else None
    preprocess = Preprocess(mean=mean_std[0], std=mean_std[1]) if mean_std else Preprocess()
    return SingleContext(name, classes, size, channels, sets["train"], sets["test"], preprocess.to(device))
