"""Parameter regularisation: the flags shared by EWC, Online EWC, KFAC-EWC, SI, NCL and OWM (as the paper's code).

A method is a choice of (1) a weight penalty and/or gradient preconditioning and (2) how parameter importance is
estimated (Fisher, SI's path integral, OWM's input space). The convenience flags set these components:
    --ewc       weight penalty, Fisher (diagonal), offline (one term per context)    Kirkpatrick et al. 2017
    --si        weight penalty, SI importance                                         Zenke et al. 2017
    --kfac-ewc  weight penalty, KFAC Fisher                                           Ritter et al. 2018
    --ncl       weight penalty + preconditioning, KFAC Fisher with a prior           Kao et al. 2021
    --owm       preconditioning, OWM importance                                       Zeng et al. 2019
This component only declares, expands, fills in and checks the flags and writes the stamp; the work is done by
methods.ewc (Fisher), methods.si and methods.precondition.
"""
from methods.component import Component, num
from utils.errors import UsageError

# (EWC lambda, SI c) per experiment and scenario: the paper's chosen hyper-parameters
STRENGTHS = {
    "splitMNIST": {"task": (1e5, 10.0), "domain": (1e10, 5e4), "class": (1e9, 5e3)},
    "permMNIST": {"task": (1e2, 10.0), "domain": (1e2, 10.0), "class": (1e2, 5.0)},
    "CIFAR100": {"task": (1e3, 100.0), "domain": (1e3, 500.0), "class": (1e2, 5.0)},
}
TASK_FREE_C = 10.0  # SI's c in task-free experiments, every experiment and scenario (the paper's code)
FISHER_PRIOR = {"splitMNIST": 12000, "permMNIST": 60000, "CIFAR100": 5000}


CONVENIENCE = ("ewc", "si", "kfac_ewc", "ncl", "owm")  # the flags that stand for a method's parameter settings


class ParamReg(Component):
    supports_stream = True  # SI only: streams()

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Parameter Regularisation")
        g.add_argument("--ewc", action="store_true", help="EWC (offline: one penalty term per context)")
        g.add_argument("--si", action="store_true", help="Synaptic Intelligence")
        g.add_argument("--kfac-ewc", "--ewc-kfac", action="store_true", dest="kfac_ewc",
                       help="EWC with a KFAC Fisher")
        g.add_argument("--ncl", action="store_true", help="Natural Continual Learning (KFAC Fisher, prior, "
                                                          "preconditioned updates)")
        g.add_argument("--owm", action="store_true", help="Orthogonal Weight Modification")
        g.add_argument("--weight-penalty", action="store_true", dest="weight_penalty",
                       help="penalise changes to important parameters")
        g.add_argument("--reg-strength", type=float, dest="reg_strength",
                       help="strength of the weight penalty (default: --lambda for EWC, --c for SI, else 1)")
        g.add_argument("--lambda", type=float, dest="ewc_lambda", help="EWC: regularisation strength")
        g.add_argument("--c", type=float, dest="si_c", help="SI: regularisation strength")
        g.add_argument("--precondition", action="store_true",
                       help="parameter regularisation by gradient projection (preconditioning)")
        g.add_argument("--alpha", type=float, default=1e-10,
                       help="small constant stabilising inversion of the importance matrix (default: %(default)s)")
        g.add_argument("--importance-weighting", choices=["fisher", "si", "owm"], dest="importance_weighting")
        g.add_argument("--offline", action="store_true", help="separate penalty term per context (original EWC)")
        g.add_argument("--gamma", type=float, default=1.0, help="decay of old contexts' Fisher (Online EWC)")
        g.add_argument("--epsilon", type=float, default=0.1, help="SI: dampening parameter")
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
        chosen = [f"--{flag.replace('_', '-')}" for flag in CONVENIENCE if getattr(args, flag)]
        if len(chosen) > 1:
            raise UsageError(f"{chosen[0]} and {chosen[1]} cannot be combined: each sets the parameter "
                             f"regularisation (use --weight-penalty / --precondition / --importance-weighting)")
        if args.ewc:
            args.weight_penalty, args.importance_weighting, args.offline = True, "fisher", True
        if args.si:
            args.weight_penalty, args.importance_weighting = True, "si"
        if args.ncl:
            args.weight_penalty = args.precondition = True
            args.importance_weighting, args.fisher_kfac, args.fisher_init = "fisher", True, True
        if args.kfac_ewc:
            args.weight_penalty, args.importance_weighting, args.fisher_kfac = True, "fisher", True
        if args.owm:
            args.precondition, args.importance_weighting = True, "owm"
        if args.importance_weighting is None:
            args.importance_weighting = "fisher"

    @staticmethod
    def set_defaults(args):
        ewc_lambda, si_c = STRENGTHS.get(args.experiment, STRENGTHS["permMNIST"])[args.scenario]
        si_c = TASK_FREE_C if args.task_free else si_c
        args.ewc_lambda = ewc_lambda if args.ewc_lambda is None else args.ewc_lambda
        args.si_c = si_c if args.si_c is None else args.si_c
        if args.reg_strength is None:
            args.reg_strength = args.si_c if args.si else (args.ewc_lambda if args.ewc else 1.0)
        if args.data_size is None:
            args.data_size = FISHER_PRIOR.get(args.experiment, 10000)

    @staticmethod
    def enabled(args):
        return args.weight_penalty or args.precondition

    @classmethod
    def streams(cls, args):
        """Task-free experiments support SI (a weight penalty with SI's importance) only: the others' importance
        is estimated at context boundaries."""
        return args.importance_weighting == "si" and not args.precondition

    @staticmethod
    def describe(args):
        by = [f"--{flag.replace('_', '-')}" for flag in CONVENIENCE if getattr(args, flag)]
        what = " and ".join(f for f, on in (("--weight-penalty", args.weight_penalty),
                                            ("--precondition", args.precondition)) if on)
        return what + (f" (set by {by[0]})" if by else "")

    @staticmethod
    def validate(args):
        if args.importance_weighting == "owm" and args.weight_penalty:
            raise UsageError("OWM-based importance weighting is not supported with a weight penalty")
        if args.importance_weighting == "si" and args.precondition:
            raise UsageError("SI-based importance weighting is not supported with preconditioning")
        if args.fisher_batch < 1:
            raise UsageError("--fisher-batch must be at least 1")
        if args.fisher_batch > 1 and args.fisher_labels not in ("pred", "true"):
            raise UsageError("--fisher-batch > 1 needs --fisher-labels pred or true")
        if args.fisher_batch > 1 and args.fisher_kfac:
            raise UsageError("--fisher-kfac computes the Fisher per sample (--fisher-batch must be 1)")
        if args.fisher_n is not None and args.fisher_n < 1:
            raise UsageError("--fisher-n must be at least 1")
        if args.epsilon < 0 or args.alpha < 0 or args.data_size <= 0 or not 0 <= args.gamma <= 1:
            raise UsageError("--epsilon and --alpha must be >= 0, --fisher-prior > 0, --gamma in [0, 1]")
        if args.reg_strength < 0:
            raise UsageError("--reg-strength must be >= 0")

    @staticmethod
    def stamp(args):
        s = "PReg" + num(args.reg_strength) if args.weight_penalty else ""
        if args.precondition:
            s += ("-" if s else "") + "PreC" + num(args.alpha)
        if args.importance_weighting == "fisher":
            s += "-FI{}{}{}{}{}{}".format(
                "kfac" if args.fisher_kfac else "diag", f"I{num(args.data_size)}" if args.fisher_init else "",
                "N" if args.fisher_n is None else args.fisher_n,
                {"true": "Emp", "pred": "Pred", "sample": "Sam", "all": "All"}[args.fisher_labels],
                f"B{args.fisher_batch}" if args.fisher_batch > 1 else "",
                "-offline" if args.offline else (f"-forg{num(args.gamma)}" if args.gamma < 1 else ""))
        elif args.importance_weighting == "si":
            s += "-SI" + num(args.epsilon)
        else:
            s += "-OWM"
        return s
