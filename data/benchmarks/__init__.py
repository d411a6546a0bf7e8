"""Every benchmark --experiment can name, one file each (data/benchmarks/base.py says what a file declares).
A new benchmark is its file and one line here."""
from data.benchmarks import cifar10, cifar100, perm_mnist, rot_mnist, split_mnist

BENCHMARKS = {b.name: b for b in (
    split_mnist.BENCHMARK,
    perm_mnist.BENCHMARK,
    rot_mnist.BENCHMARK,
    cifar10.BENCHMARK,
    cifar100.BENCHMARK,
)}


def benchmark(name):
    """The Benchmark named `name` (as BENCHMARKS is at the call: tests add toy ones)."""
    return BENCHMARKS[name]
