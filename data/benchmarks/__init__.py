"""Every benchmark --experiment can name, one file each (data/benchmarks/base.py says what a file declares).
A new benchmark is its file and one line here."""
from data.benchmarks import cifar10, cifar100, custom, perm_mnist, rot_mnist, split_mnist

BENCHMARKS = {b.name: b for b in (
    split_mnist.BENCHMARK,
    perm_mnist.BENCHMARK,
    rot_mnist.BENCHMARK,
    cifar10.BENCHMARK,
    cifar100.BENCHMARK,
    custom.BENCHMARK,
)}


def benchmark(name, settings=None):
    """The Benchmark named `name` (as BENCHMARKS is at the call: tests add toy ones), bound to `settings`, the
    values of its own options (custom data: its sizes come from the file)."""
    return BENCHMARKS[name].bound(settings or {})


def settings_of(args):
    """The values of the benchmark's own options in the parsed options `args` (keywords of build_experiment)."""
    return BENCHMARKS[args.experiment].settings(args)


def of(args):
    """The benchmark of the parsed options `args`."""
    return BENCHMARKS[args.experiment].bound(settings_of(args))
