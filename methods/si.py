"""Synaptic Intelligence (Zenke, Poole & Ganguli, ICML 2017); flags in methods.param_reg (--si, --c, --epsilon).

During a context, every step adds each parameter's contribution to the decrease of the loss:
    W_i += -g_i * (theta_i(after step) - theta_i(before step)),
with g the gradient used for that step: as in the paper's code, the gradient of the total loss (including the SI
penalty itself). After the context, with Delta_i the parameter's total change over the context,
    omega_i += W_i / (Delta_i^2 + epsilon),
and the penalty on later contexts is c * sum_i omega_i (theta_i - theta*_i)^2, theta* the parameters at the end of
the last finished context. Per step this is three in-place foreach operations on the parameter list.

Task-free (as the paper's code, train/train_stream.py): the same consolidation every --update-every iterations of
the stream (the loop's consolidation event), with c = 10 unless --c is given.
"""
import torch

from methods.component import Component


class SI(Component):
    supports_stream = True
    stream_label = "--si"

    @staticmethod
    def enabled(args):
        return args.importance_weighting == "si" and args.weight_penalty

    @staticmethod
    def describe(args):
        return "--si" if args.si else "--importance-weighting=si"

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.names, self.params = zip(*[(n, p) for n, p in learner.model.named_parameters() if p.requires_grad])
        self.start = None   # theta*: parameters at the start of the current context
        self.omega = None
        self.W = self.previous = None

    def before_context(self, context, dataset):
        if self.start is None:
            self.start = [p.detach().clone() for p in self.params]
        self.W = [torch.zeros_like(p) for p in self.params]
        self.previous = [p.detach().clone() for p in self.params]

    def after_step(self, context):
        pairs = [(w, g, prev, p) for w, prev, p in zip(self.W, self.previous, self.params)
                 if (g := p.grad) is not None]
        if not pairs:
            return
        W, grads, previous, params = (list(t) for t in zip(*pairs))
        with torch.no_grad():
            torch._foreach_sub_(previous, params)          # previous := -(step)
            torch._foreach_addcmul_(W, grads, previous)    # W += -g * step
            torch._foreach_copy_(previous, params)

    def after_context(self, context, dataset):
        if context is not None and self.learner.scenario.is_last(context):
            return
        with torch.no_grad():
            current = [p.detach().clone() for p in self.params]
            added = [w / ((c - s) ** 2 + self.args.epsilon) for w, c, s in zip(self.W, current, self.start)]
            self.omega = added if self.omega is None else [o + a for o, a in zip(self.omega, added)]
            self.start = current

    def penalty(self):
        if self.omega is None:
            return None
        return sum((o * (p - s) ** 2).sum() for o, p, s in zip(self.omega, self.params, self.start))

    def losses(self, batch, scores, replayed, context):
        value = self.penalty()
        return {} if value is None else {"si": self.args.reg_strength * value}
