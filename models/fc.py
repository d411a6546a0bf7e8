"""Fully connected layers, with optional per-context gating of the hidden units (used by XdG)."""
from torch import nn

NONLINEARITIES = {"relu": nn.ReLU, "leakyrelu": nn.LeakyReLU, "none": nn.Identity}


class MLP(nn.Module):
    """Hidden layers only: input -> [dropout -> linear -> (batch-norm) -> non-linearity] x len(units)."""

    def __init__(self, in_features, units, drop=0.0, batch_norm=False, nl="relu"):
        super().__init__()
        self.layers = nn.ModuleList()
        for n_in, n_out in zip([in_features] + units[:-1], units):
            self.layers.append(nn.Sequential(
                nn.Dropout(drop) if drop > 0 else nn.Identity(),
                nn.Linear(n_in, n_out),
                nn.BatchNorm1d(n_out) if batch_norm else nn.Identity(),
                NONLINEARITIES[nl](),
            ))
        self.out_features = units[-1] if units else in_features
        self.gates = None  # list (one per layer) of [contexts, units] 0/1 masks, or None

    def set_gates(self, gates):
        self.gates = gates

    def forward(self, x, context=None):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.gates is not None and context is not None:
                x = x * self.gates[i][context]
        return x


def context_gated(model):
    """Whether the output of `model` depends on the context it is told, through gates on its hidden units (XdG)."""
    return any(isinstance(m, MLP) and m.gates is not None for m in model.modules())
