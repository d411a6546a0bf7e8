"""Split CIFAR-10: the ten classes in five contexts of two, in the seed's class order (van de Ven et al. 2022 use
it to pre-train the conv layers for split CIFAR-100; the protocol here is CIFAR-100's)."""
from data.benchmarks.base import Benchmark
from data.cifar import load_cifar


class SplitCIFAR10(Benchmark):
    name = "CIFAR10"
    classes, image_size, channels, contexts = 10, 32, 3, 5
    protocol = {"iters": 5000, "lr": 0.0001, "batch": 256, "fc_units": 2000}
    depth = 5
    published = True
    normalisation = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
    pretrain = "CIFAR10"

    def read(self, data_dir, train):
        return load_cifar(data_dir, 10, train)


BENCHMARK = SplitCIFAR10()
