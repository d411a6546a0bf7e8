"""Parameter regularisation: EWC, Online EWC, KFAC-EWC, SI, NCL and OWM (as the paper's code).

A method is a choice of (1) a weight penalty and/or gradient preconditioning and (2) how parameter importance is
estimated (Fisher, SI's path integral, OWM's input space). These choices, the convenience flags that make them
(--ewc, --si, --kfac-ewc, --ncl, --owm), the penalty's strength and --alpha are common options
(methods.common.ParamRegOptions). This component is on with a penalty or preconditioning: it gives the strength its
fallback, checks the choices go together, says which of them run in a task-free stream, and writes the stamp's
segment. Each importance declares its own flags, defaults and part of that segment (methods.ewc: --lambda and the
Fisher's flags; methods.si: --c, --epsilon; methods.precondition: OWM), and does the work.
"""
from methods.common import CONVENIENCE
from methods.component import Component, num
from methods.ewc import FisherImportance
from methods.precondition import Precondition
from methods.si import SI
from utils.errors import UsageError

IMPORTANCE = {"fisher": FisherImportance, "si": SI, "owm": Precondition}  # --importance-weighting -> its component


class ParamReg(Component):
    supports_stream = True  # SI only: streams()
    common_options = CONVENIENCE + ("weight_penalty", "reg_strength", "precondition", "alpha", "importance_weighting")

    @staticmethod
    def set_defaults(args):  # (after SI's and EWC's, which give --si's and --ewc's strength: COMPONENTS order)
        if args.reg_strength is None:
            args.reg_strength = 1.0

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
