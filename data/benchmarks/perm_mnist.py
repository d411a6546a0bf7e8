"""Permuted MNIST (van de Ven et al. 2022): the ten digits, zero-padded to 32x32, in ten contexts, each under its
own fixed random pixel permutation drawn from the seed as the paper's code draws it."""
import numpy as np
import torch
import torch.nn.functional as F

from data.benchmarks.base import Benchmark
from data.mnist import load_mnist
from data.preprocess import Preprocess


class PermutedMNIST(Benchmark):
    name = "permMNIST"
    classes, image_size, channels, contexts = 10, 32, 1, 10
    split = False
    protocol = {"iters": 5000, "lr": 0.0001, "batch": 128, "fc_units": 1000}
    published = True
    pretrain = "MNIST32"

    def read(self, data_dir, train):
        images, labels = load_mnist(data_dir, train)
        return F.pad(images, (2, 2, 2, 2)), labels

    def preprocess(self, n_contexts, seed, normalize, **settings):
        """The permutation is an index per batch (a gather into the batch's pixels), not a copy of the data per
        context: ten copies of the padded training set would take 700 MB."""
        size = self.image_size * self.image_size
        rng = np.random.RandomState(seed)
        # with seed 0 (the paper's code's "exception") context 0 sees the original images
        perms = [rng.permutation(size) for _ in range(n_contexts - (seed == 0))]
        perms = [np.arange(size)] * (seed == 0) + perms
        return Preprocess(permutations=torch.from_numpy(np.stack(perms)).long())


BENCHMARK = PermutedMNIST()
