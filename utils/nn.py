"""Small torch helpers every layer may use: optimizers as in the paper's protocol, evaluation mode for a block, the
fully connected layers of a model, and a recorder of their inputs and outputs."""
import copy
from contextlib import contextmanager

import torch
from torch import nn


def make_optimizer(params, kind="adam", lr=0.001, momentum=0.0):
    """Adam (betas 0.9, 0.999; also for 'adam_reset', which the loop re-creates at every context) or SGD, over the
    parameters that require a gradient."""
    params = [p for p in params if p.requires_grad]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999))


@contextmanager
def eval_mode(model):
    """`model` in evaluation mode inside the block, back in the mode it had afterwards (also on an exception)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def linear_layers(model):
    """Every nn.Linear of `model`, in registration order (forward order for an MLP): what KFAC, OWM and FROMP's
    kernel act on."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


@contextmanager
def record_linear(model, layers=None):
    """{layer: (input, output)} of every nn.Linear (or of `layers`) that runs in a forward pass inside the block; the
    tensors stay in the autograd graph."""
    record = {}

    def hook(module, inputs, output):
        record[module] = (inputs[0], output)

    handles = [m.register_forward_hook(hook) for m in (linear_layers(model) if layers is None else layers)]
    try:
        yield record
    finally:
        for h in handles:
            h.remove()


def frozen_copy(model):
    """A copy of `model` in evaluation mode without gradients: the model as it was, e.g. at the end of a context."""
    previous = copy.deepcopy(model).eval()
    for p in previous.parameters():
        p.requires_grad_(False)
    return previous


class LossWatch:
    """Notices a non-finite training loss without a device sync per iteration: each loss is copied into a small
    buffer on its device, and check() (one sync; call it every `window` iterations and at the end of a context)
    raises utils.errors.Diverged naming the first bad iteration. The numbers trained are untouched."""

    def __init__(self, window):
        self.window, self.buffer = window, None
        self.start(0)

    def start(self, context):
        """A new context (counted from 1)."""
        self.context, self.seen, self.last = context, 0, -1

    def add(self, loss, iteration):
        if self.buffer is None or self.buffer.device != loss.device:
            self.buffer = torch.zeros(self.window, dtype=torch.float32, device=loss.device)
        self.buffer[iteration % self.window] = loss.detach()
        self.last = iteration

    def check(self):
        if self.last < self.seen:
            return
        start = self.seen
        n = self.last - start + 1  # iterations since the last check (at most `window`)
        positions = [(start + k) % self.window for k in range(n)]
        bad = torch.nonzero(~torch.isfinite(self.buffer[positions])).flatten().tolist()
        self.seen = self.last + 1
        if bad:
            from utils.errors import Diverged
            raise Diverged(self.context, start + bad[0] + 1)
