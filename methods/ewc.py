"""EWC, Online EWC and KFAC-EWC: a quadratic penalty weighted by the Fisher Information. `--ewc` and the penalty's
switches are common options (methods.common.ParamRegOptions); EWC's strength `--lambda` and the Fisher's flags
(--offline, --gamma, --fisher-*) are declared here, with what --ewc, --kfac-ewc and --ncl mean for them.
methods.precondition asks this file: NCL preconditions with this component's Fisher (`provides`), and OWM estimates
and decays its input covariance as fisher_options and decay say.

EWC (Kirkpatrick et al., PNAS 2017), offline: one term per finished context t,
    L = 1/2 * lambda * sum_t sum_i F_t,i (theta_i - theta*_t,i)^2.
Online EWC (Schwarz et al., ICML 2018): one running Fisher F = gamma * F_old + F_new and one anchor (the latest
parameters); the penalty uses gamma * F, as the paper's code does.
KFAC-EWC (Ritter et al., NeurIPS 2018): for each linear layer, with dW = [W - W*, b - b*],
    L = 1/2 * lambda * sum_layers sum(dW * (G @ dW @ A)),
where successive contexts' Kronecker factors are summed with the nearest-Kronecker-product rule of the paper's code.
With --fisher-init (NCL) the Fisher starts as a prior of precision 1/--fisher-prior around zero.

The Fisher is estimated after each context except the last (it would never be used), on that context's training
set (as the loop hands it over, so including any memory buffer), with the active output units of that context.

Offline EWC costs one quadratic per step however many contexts there are: sum_t F_t (p - a_t)^2 equals
P (p - m)^2 + const with P = sum_t F_t, m = sum_t F_t a_t / P, so the penalty and its gradient are unchanged.
"""
import torch

from methods import fisher
from methods.common import ParamRegOptions
from methods.component import Component, num, option_group, unpublished_note
from utils.errors import UsageError
from utils.nn import linear_layers

# EWC's lambda per experiment and scenario: the paper's chosen hyper-parameters
EWC_LAMBDA = {
    "splitMNIST": {"task": 1e5, "domain": 1e10, "class": 1e9},
    "permMNIST": {"task": 1e2, "domain": 1e2, "class": 1e2},
    "CIFAR100": {"task": 1e3, "domain": 1e3, "class": 1e2},
}
FISHER_PRIOR = {"splitMNIST": 12000, "permMNIST": 60000, "CIFAR100": 5000}  # --fisher-prior (NCL), in data size
# any other benchmark (split CIFAR-10, rotated MNIST, own data): no published value; lambda 100 in every scenario
# (permuted MNIST's chosen value, the mildest of the paper's) and a prior of 10,000 samples
LAMBDA_FALLBACK = {"task": 1e2, "domain": 1e2, "class": 1e2}
PRIOR_FALLBACK = 10000


def fisher_options(args):
    """fisher.estimate's arguments from the flags --fisher-labels, --fisher-n, --fisher-batch."""
    return {"labels": args.fisher_labels, "n": args.fisher_n, "batch": args.fisher_batch}


def decay(args):
    """--gamma: the weight of the past contexts' importance when a new context's is added."""
    return args.gamma


class FisherImportance(Component):
    provides = ("fisher",)  # importance() for gradient preconditioning (methods/precondition.py)
    # the parameter regularisation's switches, and the convenience flags that set them (to name the one a user gave)
    common_options = ("importance_weighting", "weight_penalty", "precondition", "reg_strength", "ewc", "kfac_ewc",
                      "ncl")

    @staticmethod
    def add_args(parser):
        """EWC's and the Fisher's flags, in the parameter regularisation's argument group (as the paper's code)."""
        g = option_group(parser, ParamRegOptions.title)
        g.add_argument("--lambda", type=float, dest="ewc_lambda", help="EWC: regularisation strength")
        g.add_argument("--offline", action="store_true", help="separate penalty term per context (original EWC)")
        g.add_argument("--gamma", type=float, default=1.0, help="decay of old contexts' Fisher (Online EWC)")
        g.add_argument("--fisher-n", type=int, dest="fisher_n", help="Fisher: # samples (default: all)")
        g.add_argument("--fisher-batch", type=int, default=1, dest="fisher_batch", metavar="N",
                       help="Fisher: batch size (should be 1; >1 only with --fisher-labels pred or true)")
        g.add_argument("--fisher-labels", default="all", choices=["all", "sample", "pred", "true"],
                       dest="fisher_labels", help="Fisher: which labels (all = expectation over the prediction)")
        g.add_argument("--fisher-kfac", action="store_true", dest="fisher_kfac",
                       help="Fisher: KFAC approximation rather than diagonal")
        g.add_argument("--fisher-init", action="store_true", dest="fisher_init",
                       help="Fisher: start with a prior (as in NCL)")
        g.add_argument("--fisher-prior", type=float, metavar="SIZE", dest="data_size",
                       help="Fisher: prior strength in data size (as in NCL)")

    @staticmethod
    def expand(args):
        if args.ewc:
            args.offline = True
        if args.ncl:
            args.fisher_kfac = args.fisher_init = True
        if args.kfac_ewc:
            args.fisher_kfac = True

    @staticmethod
    def set_defaults(args):
        default = EWC_LAMBDA.get(args.experiment, LAMBDA_FALLBACK)[args.scenario]
        args.ewc_lambda = default if args.ewc_lambda is None else args.ewc_lambda
        if args.ewc and args.reg_strength is None:
            args.reg_strength = args.ewc_lambda  # --ewc's strength
        if args.data_size is None:
            args.data_size = FISHER_PRIOR.get(args.experiment, PRIOR_FALLBACK)

    @staticmethod
    def unpublished(args):
        return {**unpublished_note(args, EWC_LAMBDA, ["ewc_lambda"], "100 (our choice; tune it with "
                                   "./compare_hyperParams.py)"),
                **unpublished_note(args, FISHER_PRIOR, ["data_size"], f"{PRIOR_FALLBACK} (our choice)")}

    @staticmethod
    def validate(args):
        if args.fisher_batch < 1:
            raise UsageError("--fisher-batch must be at least 1")
        if args.fisher_batch > 1 and args.fisher_labels not in ("pred", "true"):
            raise UsageError("--fisher-batch > 1 needs --fisher-labels pred or true")
        if args.fisher_batch > 1 and args.fisher_kfac:
            raise UsageError("--fisher-kfac computes the Fisher per sample (--fisher-batch must be 1)")
        if args.fisher_n is not None and args.fisher_n < 1:
            raise UsageError("--fisher-n must be at least 1")
        if args.data_size <= 0 or not 0 <= args.gamma <= 1:
            raise UsageError("--fisher-prior must be > 0, --gamma in [0, 1]")

    @staticmethod
    def importance_stamp(args):
        """The Fisher's part of the parameter regularisation's stamp segment (methods.param_reg)."""
        return "-FI{}{}{}{}{}{}".format(
            "kfac" if args.fisher_kfac else "diag", f"I{num(args.data_size)}" if args.fisher_init else "",
            "N" if args.fisher_n is None else args.fisher_n,
            {"true": "Emp", "pred": "Pred", "sample": "Sam", "all": "All"}[args.fisher_labels],
            f"B{args.fisher_batch}" if args.fisher_batch > 1 else "",
            "-offline" if args.offline else (f"-forg{num(args.gamma)}" if args.gamma < 1 else ""))

    @staticmethod
    def enabled(args):
        return args.importance_weighting == "fisher" and (args.weight_penalty or args.precondition)

    @staticmethod
    def describe(args):
        by = next((f"--{flag.replace('_', '-')}" for flag in ("ewc", "kfac_ewc", "ncl") if getattr(args, flag)), None)
        return "--importance-weighting=fisher" + (f" (set by {by})" if by else "")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.params = fisher.trainable(learner.model)
        self.layers = linear_layers(learner.model)
        self.terms = []        # diagonal: list of (anchor {name: tensor}, fisher {name: tensor}), offline
        self.precision = None  # diagonal: merged precision P and mean m used by the penalty
        self.mean = None
        self.const = 0.0
        self.kfac = None       # KFAC: per linear layer {'A', 'G', 'weight', 'bias'}
        self.count = 0         # contexts (a prior counts as one) whose Fisher is stored
        self.factored = args.fisher_kfac  # importance() gives KFAC factors, else a diagonal
        self.prior = args.fisher_init     # the Fisher starts as a prior (NCL)
        self.data_size = args.data_size   # N, the prior's strength in samples (NCL's preconditioned steps are / N)
        if args.fisher_init:
            self._init_prior()

    # ---- the stored Fisher ----
    def _init_prior(self):
        n = self.args.data_size
        if self.args.fisher_kfac:
            self.kfac = []
            for m in self.layers:
                a_dim = m.in_features + (m.bias is not None)
                dev = m.weight.device
                self.kfac.append({"A": torch.eye(a_dim, device=dev) / n ** 0.5,
                                  "G": torch.eye(m.out_features, device=dev) / n ** 0.5,
                                  "weight": torch.zeros_like(m.weight.detach()),
                                  "bias": None if m.bias is None else torch.zeros_like(m.bias.detach())})
        else:
            self.terms = [({k: torch.zeros_like(p.detach()) for k, p in self.params.items()},
                           {k: torch.full_like(p.detach(), 1.0 / n) for k, p in self.params.items()})]
            self._merge()
        self.count = 1

    def _merge(self):
        """Merge the diagonal terms into one quadratic (precision, mean, constant)."""
        scale = 1.0 if self.args.offline else self.args.gamma
        precision = {k: sum(f[k] for _, f in self.terms) * scale for k in self.params}
        weighted = {k: sum(f[k] * a[k] for a, f in self.terms) * scale for k in self.params}
        self.precision = precision
        self.mean = {k: torch.where(precision[k] > 0, weighted[k] / precision[k], self.terms[-1][0][k])
                     for k in self.params}
        const = 0.0
        for a, f in self.terms:
            for k in self.params:
                const += (scale * f[k].double() * (a[k].double() - self.mean[k].double()) ** 2).sum().item()
        self.const = const

    def importance(self):
        """The Fisher stored so far, for preconditioning: the KFAC factors per linear layer (list of {'A', 'G', ...}),
        or the total diagonal precision {name: tensor}; None before any."""
        return self.kfac if self.args.fisher_kfac else self.precision

    def after_context(self, context, dataset):
        if self.learner.scenario.is_last(context) or len(dataset) == 0:
            return
        args = self.args
        if args.fisher_kfac:
            new = fisher.estimate(self.learner, dataset, context, "kfac", **fisher_options(args))
            for i, m in enumerate(self.layers):
                new[i]["weight"] = m.weight.detach().clone()
                new[i]["bias"] = None if m.bias is None else m.bias.detach().clone()
                if self.kfac is not None:
                    old = self.kfac[i]
                    summed = fisher.nearest_kf_sum({"A": args.gamma * old["A"], "G": old["G"]}, new[i])
                    new[i].update(summed)
            self.kfac = new
        else:
            new = fisher.estimate(self.learner, dataset, context, "diag", **fisher_options(args))
            anchor = {k: p.detach().clone() for k, p in self.params.items()}
            if args.offline:
                self.terms.append((anchor, new))
            else:
                if self.terms:
                    old = self.terms[-1][1]
                    new = {k: args.gamma * old[k] + new[k] for k in new}
                self.terms = [(anchor, new)]
            self._merge()
        self.count += 1

    # ---- the penalty ----
    def penalty(self):
        """1/2 * the quadratic (without the strength), or None before any Fisher."""
        if self.args.fisher_kfac:
            if self.kfac is None:
                return None
            total = 0.0
            for m, info in zip(self.layers, self.kfac):
                dp = m.weight - info["weight"]
                if m.bias is not None:
                    dp = torch.cat([dp, (m.bias - info["bias"]).unsqueeze(1)], 1)
                total = total + (dp * (info["G"] @ dp @ info["A"])).sum()
            return 0.5 * total
        if self.precision is None:
            return None
        total = sum((self.precision[k] * (p - self.mean[k]) ** 2).sum() for k, p in self.params.items())
        return 0.5 * (total + self.const)

    def losses(self, batch, scores, replayed, context):
        if not self.args.weight_penalty:
            return {}
        value = self.penalty()
        return {} if value is None else {"ewc": self.args.reg_strength * value}

    def state_dict(self):
        return {}
