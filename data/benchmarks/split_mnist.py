"""Split MNIST (van de Ven et al. 2022): the ten digits in five contexts of two, in the seed's class order."""
from data.benchmarks.base import Benchmark
from data.mnist import load_mnist


class SplitMNIST(Benchmark):
    name = "splitMNIST"
    classes, image_size, channels, contexts = 10, 28, 1, 5
    protocol = {"iters": 2000, "lr": 0.001, "batch": 128, "fc_units": 400}
    published = True
    pretrain = "MNIST"

    def read(self, data_dir, train):
        return load_mnist(data_dir, train)


BENCHMARK = SplitMNIST()
