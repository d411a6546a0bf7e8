"""Parameter regularisation by preconditioning the gradient (--precondition, --alpha: common options,
methods.common.ParamRegOptions). NCL's Fisher is methods.ewc's, asked for through `provides` ("fisher").

- NCL (Kao, Jensen, van de Ven, Bernacchia & Hennequin, NeurIPS 2021), importance 'fisher' with --fisher-kfac: the
  gradient of each linear layer, [dW, db], becomes Gs^-1 [dW, db] As^-1 / N, with (As, Gs) the nearest Kronecker
  factors of (G (x) A) + (alpha I (x) alpha I) and N = --fisher-prior (natural-gradient-like steps).
- importance 'fisher', diagonal: g_i / (F_i + alpha^2), and / N with --fisher-init (as the paper's code).
- OWM (Zeng, Chen, Cui & Yu, Nature Machine Intelligence 2019), importance 'owm': after a context, A is the mean of
  abar abar^T over its inputs (abar: a layer's input with a 1 appended for the bias), averaged over contexts
  (A = (1 - 1/k) gamma A_old + (1/k) A_new at the k-th); the gradient of each linear layer becomes
  [dW, db] (A / alpha + I)^-1, which removes its component along the input space of past contexts.
The inverses change only between contexts, so they are computed once per context; a step costs two (KFAC) or one
(OWM) matrix product per linear layer. Other (e.g. convolutional) parameters are left as they are.
"""
import torch

from methods import fisher
from methods.component import Component
from utils.nn import linear_layers
from methods.ewc import decay, fisher_options


def _grad_matrix(m):
    g = m.weight.grad
    return g if m.bias is None else torch.cat([g, m.bias.grad.unsqueeze(1)], 1)


def _set_grad(m, g):
    if m.bias is None:
        m.weight.grad.copy_(g)
    else:
        m.weight.grad.copy_(g[:, :-1])
        m.bias.grad.copy_(g[:, -1])


def _inverse(m):
    """Inverse of a symmetric positive definite matrix, computed in float64 (alpha is tiny)."""
    return torch.linalg.inv(m.double()).to(m.dtype)


def _owm_projector(a, alpha):
    """(A / alpha + I)^-1 via the eigen-decomposition of A in float64 (A / alpha is ~1e10: plain LU fails)."""
    values, vectors = torch.linalg.eigh(a.double())
    scale = 1.0 / (values.clamp(min=0) / alpha + 1.0)
    return ((vectors * scale) @ vectors.T).to(a.dtype)


class Precondition(Component):
    common_options = ("precondition", "alpha", "importance_weighting", "ncl", "owm")  # ParamRegOptions

    @staticmethod
    def importance_stamp(args):
        """OWM's part of the parameter regularisation's stamp segment (methods.param_reg)."""
        return "-OWM"

    @staticmethod
    def enabled(args):
        return args.precondition

    @staticmethod
    def describe(args):
        return "--precondition" + (" (set by --ncl)" if args.ncl else " (set by --owm)" if args.owm else "")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.layers = linear_layers(learner.model)
        self.owm_a = None     # OWM: per layer mean input covariance
        self.owm_count = 0
        self.inverses = None  # per layer (left, right) or right only; refreshed in before_context
        self.scale = None     # diagonal Fisher: per parameter 1 / (F + alpha^2) (/ N)
        self.data_size = None  # KFAC Fisher: N, the Fisher's prior strength in samples (each step is / N)

    def before_context(self, context, dataset):
        args, alpha = self.args, self.args.alpha
        self.inverses = self.scale = None
        if args.importance_weighting == "owm":
            if self.owm_a is not None:
                self.inverses = [_owm_projector(a, alpha) for a in self.owm_a]
            return
        source = self.learner.provider("fisher")  # methods.ewc's FisherImportance
        if source.factored:
            info = source.importance()
            self.data_size = source.data_size
            if info is not None:
                self.inverses = []
                for f in info:
                    eye_a = alpha * torch.eye(f["A"].shape[0], device=f["A"].device)
                    eye_g = alpha * torch.eye(f["G"].shape[0], device=f["G"].device)
                    s = fisher.nearest_kf_sum({"A": f["A"], "G": f["G"]}, {"A": eye_a, "G": eye_g})
                    self.inverses.append((_inverse(s["G"]), _inverse(s["A"])))
        else:
            precision = source.importance()
            if precision is not None:
                divide = source.data_size if source.prior else 1.0
                self.scale = {k: 1.0 / ((f + alpha ** 2) * divide) for k, f in precision.items()}
                self.params = fisher.trainable(self.learner.model)

    @torch.no_grad()
    def before_step(self, context):
        if self.scale is not None:
            for k, p in self.params.items():
                if p.grad is not None:
                    p.grad.mul_(self.scale[k])
            return
        if self.inverses is None:
            return
        for m, inv in zip(self.layers, self.inverses):
            if m.weight.grad is None:
                continue
            g = _grad_matrix(m)
            if isinstance(inv, tuple):
                g = inv[0] @ g @ inv[1] / self.data_size
            else:
                g = g @ inv
            _set_grad(m, g)

    def after_context(self, context, dataset):
        if self.args.importance_weighting != "owm" or self.learner.scenario.is_last(context):
            return
        new = fisher.estimate(self.learner, dataset, context, "owm", **fisher_options(self.args))
        if self.owm_a is None:
            self.owm_a = new
        else:
            frac = 1.0 / (self.owm_count + 1)
            self.owm_a = [(1 - frac) * decay(self.args) * old + frac * a for old, a in zip(self.owm_a, new)]
        self.owm_count += 1
