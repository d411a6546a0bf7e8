"""Separate Networks: a separate small network for every context, each trained only on its own context's data.

The "context-specific components" baseline of van de Ven, Tuytelaars & Tolias, "Three types of incremental
learning" (Nature Machine Intelligence, 2022): with the context known at test time (task-IL) nothing is forgotten,
at the price of no transfer between contexts. Each network has 100 hidden units per fc layer on split MNIST and 400
otherwise (`--fc-units` sets it), so that all networks together have about as many parameters as the shared one.

Training needs no hook: a batch of one context runs through that context's network only, so the other networks'
gradients stay None and the optimizer (Adam, SGD) leaves them untouched.
"""
import copy

import torch

from data.benchmarks import benchmark
from methods.component import Component, unpublished_note
from models.classifier import build_classifier
from models.separate import SeparateClassifiers

UNITS = {"splitMNIST": 100, "permMNIST": 400, "CIFAR100": 400}  # hidden units per network: the paper's
DEFAULT_UNITS = 400  # any other benchmark: no published value


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


class SeparateNetworks(Component):
    scenarios = ("task",)
    supports_stream = True  # each sample through its own context's network
    stream_label = "--separate-networks"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Separate Networks")
        g.add_argument("--separate-networks", action="store_true", dest="separate_networks",
                       help="train a separate network per context (task-IL only; default --fc-units 100 on "
                            "splitMNIST, else 400)")

    @staticmethod
    def expand(args):
        # runs before the shared defaults, which would otherwise give --fc-units the shared network's size
        if args.separate_networks and args.fc_units is None:
            args.fc_units = UNITS.get(args.experiment, DEFAULT_UNITS)

    @staticmethod
    def enabled(args):
        return args.separate_networks

    @staticmethod
    def unpublished(args):
        return unpublished_note(args, UNITS, ["fc_units"], f"{DEFAULT_UNITS} units per network")

    @staticmethod
    def describe(args):
        return "--separate-networks"

    @staticmethod
    def stamp(args):
        return "SepNets"

    @staticmethod
    def build_model(args, experiment, scenario):
        cpc = scenario.cpc
        network_args = copy.copy(args)
        model = SeparateClassifiers(lambda: build_classifier(network_args, experiment, _Heads(cpc)),
                                 scenario.n_contexts, cpc, scenario.multihead)
        print(f"Separate Networks: {scenario.n_contexts} x {count_parameters(model.networks[0]):,} = "
              f"{count_parameters(model):,} parameters (one shared network: "
              f"{_shared_parameters(args, experiment, scenario):,})")
        return model


class _Heads:
    """The part of a scenario that build_classifier reads: one network's number of output units."""

    def __init__(self, n_outputs):
        self.n_outputs = n_outputs


def _shared_parameters(args, experiment, scenario):
    """Parameters of the shared network of the paper's protocol (default --fc-units) for this experiment, built on
    the meta device: no memory used, nothing drawn from the random number generators."""
    shared = copy.copy(args)
    shared.separate_networks, shared.fc_units = False, benchmark(args.experiment).protocol["fc_units"]
    with torch.device("meta"):
        return count_parameters(build_classifier(shared, experiment, scenario))
