"""One classifier per context ("Separate Networks"), behind the interface of the shared classifier.

Each context has its own complete network (conv layers if any, hidden fc layers, an output layer with the
context's `classes_per_context` units). The scores come back in the scenario's output layout, so that
`Scenario.select` picks them out as it does for the shared network: with a multi-headed output layer the context's
network fills that context's head and the other heads are zero; with a single head the network fills it.
"""
import torch.nn.functional as F
from torch import nn


class SeparateClassifiers(nn.Module):
    def __init__(self, make_network, n_contexts, classes_per_context, multihead=True):
        """`make_network()` returns a new classifier with `classes_per_context` outputs (called once per context);
        `multihead`: one head per context in the output layout (else one head shared by all contexts)."""
        super().__init__()
        self.networks = nn.ModuleList(make_network() for _ in range(n_contexts))
        self.cpc, self.multihead = classes_per_context, multihead
        self.n_outputs = classes_per_context * n_contexts if multihead else classes_per_context

    def _place(self, scores, context):
        """Put one context's scores [B, cpc] at its head of the [B, n_outputs] layout (zeros elsewhere)."""
        if not self.multihead:
            return scores
        return F.pad(scores, (context * self.cpc, self.n_outputs - (context + 1) * self.cpc))

    def _route(self, x, contexts, run):
        """Per-sample contexts: each network gets only its own samples (so no other network's parameters or
        batch-norm statistics are touched). Finding the samples of each context needs their count on the host."""
        out = None
        for c, net in enumerate(self.networks):
            index = (contexts == c).nonzero().squeeze(1)
            if index.numel() == 0:
                continue
            part = run(c, net, x.index_select(0, index))
            if out is None:
                out = part.new_zeros((x.shape[0],) + part.shape[1:])
            out = out.index_copy(0, index, part)
        return out

    def forward(self, x, context=None):
        if context is None:
            raise ValueError("SeparateClassifiers needs the context of its input")
        if isinstance(context, int):
            return self._place(self.networks[context](x), context)
        return self._route(x, context, lambda c, net, xs: self._place(net(xs), c))

    def features(self, x, context=None):
        if context is None:
            raise ValueError("SeparateClassifiers needs the context of its input")
        if isinstance(context, int):
            return self.networks[context].features(x)
        return self._route(x, context, lambda c, net, xs: net.features(xs))
