"""Synaptic Intelligence (Zenke, Poole & Ganguli, ICML 2017): `--si` (a common option, methods.common
ParamRegOptions: a weight penalty with SI's importance), `--c` (its strength, the penalty's default --reg-strength)
and `--epsilon`, declared here.

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

from methods.common import ParamRegOptions
from methods.component import Component, num, option_group, unpublished_note
from utils.errors import UsageError

# SI's c per experiment and scenario: the paper's chosen hyper-parameters
SI_C = {
    "splitMNIST": {"task": 10.0, "domain": 5e4, "class": 5e3},
    "permMNIST": {"task": 10.0, "domain": 10.0, "class": 5.0},
    "CIFAR100": {"task": 100.0, "domain": 500.0, "class": 5.0},
}
TASK_FREE_C = 10.0  # SI's c in task-free experiments, every experiment and scenario (the paper's code)
# any other benchmark (split CIFAR-10, rotated MNIST, own data): no published value; permuted MNIST's chosen values
C_FALLBACK = {"task": 10.0, "domain": 10.0, "class": 5.0}


class SI(Component):
    supports_stream = True
    stream_label = "--si"
    common_options = ("importance_weighting", "weight_penalty", "si", "reg_strength")  # the switches: ParamRegOptions

    @staticmethod
    def add_args(parser):
        """SI's flags, in the parameter regularisation's argument group (as the paper's code)."""
        g = option_group(parser, ParamRegOptions.title)
        g.add_argument("--c", type=float, dest="si_c", help="SI: regularisation strength")
        g.add_argument("--epsilon", type=float, default=0.1, help="SI: dampening parameter")

    @staticmethod
    def set_defaults(args):
        c = TASK_FREE_C if args.task_free else SI_C.get(args.experiment, C_FALLBACK)[args.scenario]
        args.si_c = c if args.si_c is None else args.si_c
        if args.si and args.reg_strength is None:
            args.reg_strength = args.si_c  # --si's strength

    @staticmethod
    def unpublished(args):
        if args.task_free:
            return {}
        return unpublished_note(args, SI_C, ["si_c"], f"{C_FALLBACK[args.scenario]:g} (our choice: permuted MNIST's "
                                "value; tune it with ./compare_hyperParams.py)")

    @staticmethod
    def validate(args):
        if args.epsilon < 0:
            raise UsageError("--epsilon must be >= 0")

    @staticmethod
    def importance_stamp(args):
        """SI's part of the parameter regularisation's stamp segment (methods.param_reg)."""
        return "-SI" + num(args.epsilon)

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
