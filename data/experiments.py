"""The paper's context sets: split MNIST, permuted MNIST, split CIFAR-10 and split CIFAR-100."""
import sys
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from data.cifar import load_cifar
from data.mnist import load_mnist
from data.preprocess import Preprocess
from data.tensorset import TensorSet

# name: (total classes, default contexts, image size, channels)
EXPERIMENTS = {
    "splitMNIST": (10, 5, 28, 1),
    "permMNIST": (10, 10, 32, 1),
    "CIFAR10": (10, 5, 32, 3),
    "CIFAR100": (100, 10, 32, 3),
}
# the paper's protocol per experiment (van de Ven et al. 2022): iterations per context, learning rate, batch size
# and hidden units of the fc layers; cli.options fills flags left unset from it
PROTOCOL = {
    "splitMNIST": {"iters": 2000, "lr": 0.001, "batch": 128, "fc_units": 400},
    "permMNIST": {"iters": 5000, "lr": 0.0001, "batch": 128, "fc_units": 1000},
    "CIFAR10": {"iters": 5000, "lr": 0.0001, "batch": 256, "fc_units": 2000},
    "CIFAR100": {"iters": 5000, "lr": 0.0001, "batch": 256, "fc_units": 2000},
}
NORMALISATION = {
    "CIFAR10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "CIFAR100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761)),
}


def classes_per_context(experiment, n_contexts):
    total = EXPERIMENTS[experiment][0]
    return total if experiment == "permMNIST" else total // n_contexts


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


def _load(name, data_dir, train):
    if name in ("splitMNIST", "permMNIST"):
        return load_mnist(data_dir, train)
    return load_cifar(data_dir, 100 if name == "CIFAR100" else 10, train)


def class_order(n_classes, seed):
    """Which original class becomes global label k. As the paper's code (data/load.py, numpy seeded with the run's
    seed): seed 0 keeps the original order; otherwise p = permutation(n_classes) and original class y becomes label
    p[y], so label k holds the original class argsort(p)[k]. Same seed, same contexts as the paper's runs."""
    if seed == 0:
        return list(range(n_classes))
    return np.argsort(np.random.RandomState(seed).permutation(n_classes)).tolist()


def build_experiment(name, n_contexts, data_dir, seed=0, device="cpu", normalize=True):
    total, _, size, channels = EXPERIMENTS[name]
    cpc = classes_per_context(name, n_contexts)
    splits = {}
    if name == "permMNIST":
        rng = np.random.RandomState(seed)
        # a fixed random pixel permutation per context, drawn as the paper's code does; with seed 0 (its
        # "exception") context 0 sees the original images
        perms = [rng.permutation(size * size) for _ in range(n_contexts - (seed == 0))]
        perms = [np.arange(size * size)] * (seed == 0) + perms
        preprocess = Preprocess(permutations=torch.from_numpy(np.stack(perms)).long())
        order = list(range(total))
        for split in ("train", "test"):
            images, labels = _load(name, data_dir, split == "train")
            images = F.pad(images, (2, 2, 2, 2)).to(device)
            labels = labels.to(device)
            splits[split] = [TensorSet.of_context(images, labels + c * cpc, c) for c in range(n_contexts)]
    else:
        order = class_order(total, seed)
        if cpc * n_contexts < total:  # as in the paper's code, the classes that fill no context are not used
            left = sorted(order[cpc * n_contexts:])
            print(f"warning: {name} with {n_contexts} contexts of {cpc} classes leaves out class"
                  f"{'es' if len(left) > 1 else ''} {', '.join(map(str, left))}", file=sys.stderr, flush=True)
        new_label = torch.empty(total, dtype=torch.long)
        new_label[torch.tensor(order)] = torch.arange(total)
        mean_std = NORMALISATION.get(name) if normalize else None
        preprocess = Preprocess(mean=mean_std[0], std=mean_std[1]) if mean_std else Preprocess()
        for split in ("train", "test"):
            images, labels = _load(name, data_dir, split == "train")
            labels = new_label[labels]
            sets = []
            for c in range(n_contexts):
                index = ((labels >= c * cpc) & (labels < (c + 1) * cpc)).nonzero().squeeze(1)
                sets.append(TensorSet.of_context(images[index].to(device), labels[index].to(device), c))
            splits[split] = sets
    return Experiment(name, n_contexts, cpc, size, channels, splits["train"], splits["test"],
                      preprocess.to(device), order)


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
    mean_std = NORMALISATION.get(name) if normalize else None
    preprocess = Preprocess(mean=mean_std[0], std=mean_std[1]) if mean_std else Preprocess()
    return SingleContext(name, classes, size, channels, sets["train"], sets["test"], preprocess.to(device))
