"""XdG, Context-dependent Gating (Masse, Grant & Freedman, "Alleviating catastrophic forgetting using
context-dependent gating and synaptic stabilization", PNAS 2018).

For every context a fixed random subset of the units of each hidden fully connected layer is switched off (their
output multiplied by 0): `--gating-prop` of the units per layer, exactly int(prop * units), drawn once per run
from `--seed` (with a generator of its own, so the global random stream stays as without --xdg). A gated unit
neither passes activity nor receives gradient, so each context trains its own sub-network of the shared one.
The gate of a sample is chosen by its context, which must therefore be known at test time: task-IL only.
Combines with the other methods (e.g. --xdg --ewc, or --singlehead on permuted MNIST).

Paper defaults for task-IL (van de Ven et al. 2022, from their grid search): 0.9 split MNIST, 0.6 permuted MNIST,
0.85 split CIFAR-100; the paper's code gives split CIFAR-10 the same value as permuted MNIST (0.6).
"""
import torch
from torch import nn

from methods.component import Component, unpublished_note
from utils.errors import UsageError

GATING_PROP = {"splitMNIST": 0.9, "permMNIST": 0.6, "CIFAR100": 0.85, "CIFAR10": 0.6}
# any other benchmark: no published value; the middle of the paper's grid's range of chosen values
GATING_FALLBACK = 0.8


def draw_gates(n_contexts, layer_units, prop, seed, device="cpu"):
    """One [contexts, units] 0/1 float mask per hidden layer; in every row exactly int(prop * units) zeros."""
    generator = torch.Generator().manual_seed(seed)
    gates = []
    for units in layer_units:
        n_gated = int(prop * units)
        mask = torch.ones(n_contexts, units)
        for c in range(n_contexts):
            mask[c, torch.randperm(units, generator=generator)[:n_gated]] = 0.0
        gates.append(mask.to(device))
    return gates


class XdG(Component):
    scenarios = ("task",)
    scenario_note = " (the context must be known at test time)"
    excludes = {"SeparateNetworks": ""}
    supports_stream = True  # gated per sample by the sample's context
    stream_label = "--xdg"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Context-dependent Gating (XdG)")
        g.add_argument("--xdg", action="store_true", help="use 'Context-dependent Gating' (Masse et al, 2018)")
        g.add_argument("--gating-prop", type=float, metavar="PROP", dest="gating_prop",
                       help="--> XdG: prop of hidden units per layer to gate (default: 0.9 splitMNIST, 0.6 "
                            "permMNIST and CIFAR10, 0.85 CIFAR100)")

    @staticmethod
    def set_defaults(args):
        if args.xdg and args.gating_prop is None:
            args.gating_prop = GATING_PROP.get(args.experiment, GATING_FALLBACK)

    @staticmethod
    def unpublished(args):
        return unpublished_note(args, GATING_PROP, ["gating_prop"], f"{GATING_FALLBACK} (our choice)")

    @staticmethod
    def enabled(args):
        return args.xdg

    @staticmethod
    def describe(args):
        return "--xdg"

    @staticmethod
    def validate(args):
        if args.xdg and not 0 <= args.gating_prop < 1:
            raise UsageError("--gating-prop must be in [0, 1)")

    @staticmethod
    def stamp(args):
        return f"XdG{args.gating_prop:g}" if args.gating_prop > 0 else ""

    def __init__(self, args, learner):
        super().__init__(args, learner)
        mlp = learner.model.fc
        units = [next(m for m in layer if isinstance(m, nn.Linear)).out_features for layer in mlp.layers]
        device = next(learner.model.parameters()).device
        self.gates = draw_gates(args.contexts, units, args.gating_prop, args.seed, device)
        mlp.set_gates(self.gates)
        if args.depth > 0 and not getattr(args, "freeze_convE", False):
            print("Note that XdG is only applied to the fully connected layers of the network.")

    def state_dict(self):
        return {"gates": self.gates}

    def load_state_dict(self, state):
        if "gates" in state:
            device = next(self.learner.model.parameters()).device
            self.gates = [g.to(device) for g in state["gates"]]
            self.learner.model.fc.set_gates(self.gates)
