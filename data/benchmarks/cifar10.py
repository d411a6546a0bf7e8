"""Split CIFAR-10: the ten classes in five contexts of two, in the seed's class order (van de Ven et al. 2022 use
it to pre-train the conv layers for split CIFAR-100; the protocol here is CIFAR-100's)."""
from data.benchmarks.cifar100 import SplitCIFAR100


class SplitCIFAR10(SplitCIFAR100):
    """Split CIFAR-100's reader, protocol and network on CIFAR-10's ten classes and its own normalisation."""
    name = "CIFAR10"
    classes, contexts = 10, 5
    normalisation = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))


BENCHMARK = SplitCIFAR10()
