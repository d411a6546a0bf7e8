"""Parameter regularisation: the flags shared by EWC, Online EWC, KFAC-EWC, SI, NCL and OWM (as the paper's code).

A method is a choice of (1) a weight penalty and/or gradient preconditioning and (2) how parameter importance is
estimated (Fisher, SI's path integral, OWM's input space). The convenience flags set these components:
    --ewc       weight penalty, Fisher (diagonal), offline (one term per context)    Kirkpatrick et al. 2017
    --si        weight penalty, SI importance                                         Zenke et al. 2017
    --kfac-ewc  weight penalty, KFAC Fisher                                           Ritter et al. 2018
    --ncl       weight penalty + preconditioning, KFAC Fisher with a prior           Kao et al. 2021
    --owm       preconditioning, OWM importance                                       Zeng et al. 2019
This component declares the convenience flags, the choice of penalty / preconditioning / importance, the penalty's
strength and --alpha, and writes the stamp's segment; each importance declares its own flags, defaults and part of
that segment (methods.ewc: --lambda and the Fisher's flags; methods.si: --c, --epsilon; methods.precondition: OWM),
and does the work.
"""
from methods.component import Component, num
from methods.ewc import FisherImportance
from methods.precondition import Precondition
from methods.si import SI
from utils.errors import UsageError

IMPORTANCE = {"fisher": FisherImportance, "si": SI, "owm": Precondition}  # --importance-weighting -> its component


CONVENIENCE = ("ewc", "si", "kfac_ewc", "ncl", "owm")  # the flags that stand for a method's parameter settings


class ParamReg(Component):
    supports_stream = True  # SI only: streams()
    reads = ("si_c", "ewc_lambda", "fisher_kfac", "fisher_init", "offline")  # --si's/--ewc's strength; set by expand

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
        g.add_argument("--precondition", action="store_true",
                       help="parameter regularisation by gradient projection (preconditioning)")
        g.add_argument("--alpha", type=float, default=1e-10,
                       help="small constant stabilising inversion of the importance matrix (default: %(default)s)")
        g.add_argument("--importance-weighting", choices=["fisher", "si", "owm"], dest="importance_weighting")
        FisherImportance.add_fisher_args(g)  # (the EWC/Fisher flags and SI's sit in this group, as in the paper)
        SI.add_si_args(g)

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
    def set_defaults(args):  # (after SI's and EWC's own: ParamReg follows them in COMPONENTS)
        if args.reg_strength is None:
            args.reg_strength = args.si_c if args.si else (args.ewc_lambda if args.ewc else 1.0)

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
        if args.alpha < 0:
            raise UsageError("--alpha must be >= 0")
        if args.reg_strength < 0:
            raise UsageError("--reg-strength must be >= 0")

    @staticmethod
    def stamp(args):
        s = "PReg" + num(args.reg_strength) if args.weight_penalty else ""
        if args.precondition:
            s += ("-" if s else "") + "PreC" + num(args.alpha)
        return s + IMPORTANCE[args.importance_weighting].importance_stamp(args)
