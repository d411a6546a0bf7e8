"""Split CIFAR-100 (van de Ven et al. 2022, Table 3): the hundred classes in ten contexts of ten, in the seed's
class order, on conv layers pre-trained on CIFAR-10."""
from data.benchmarks.base import Benchmark
from data.cifar import load_cifar


class SplitCIFAR100(Benchmark):
    name = "CIFAR100"
    classes, image_size, channels, contexts = 100, 32, 3, 10
    protocol = {"iters": 5000, "lr": 0.0001, "batch": 256, "fc_units": 2000}
    depth = 5
    published = True
    normalisation = ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761))
    pretrain = "CIFAR10"

    def read(self, data_dir, train):
        return load_cifar(data_dir, self.classes, train)


BENCHMARK = SplitCIFAR100()
