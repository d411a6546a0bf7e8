"""A-GEM (Chaudhry et al., "Efficient lifelong learning with A-GEM", ICLR 2019): `--agem` = `--replay=buffer
--use-replay=inequality`.

The gradient g of the loss is projected when it points against the gradient g_ref of the loss on a batch of stored
samples: if g.g_ref < 0, g <- g - (g.g_ref) / (g_ref.g_ref + eps) g_ref (eps: `--eps-agem`). `--use-replay=both`
also adds the replayed loss (weighted as normal replay) to the loss whose gradient is projected.

The stored samples are ER's (methods/er.py: `--replay=buffer`, or `--replay=all`), which this component asks for
through ER's "stored replay" interface. All of A-GEM happens in one hook, before_step, where g is in p.grad: the
batch is drawn there (no random number is drawn between the loop's forward pass and this hook, so the draws are in
the order they would be in if it were drawn before the pass), its loss is computed on its own forward pass, and
g_ref is a local. The replayed loss is therefore not among the logged loss terms.
"""
import torch

from methods.component import Component
from methods.replay import STREAM_SOURCES
from utils.errors import UsageError


def agem_project(grads, refs, eps=1e-7):
    """A-GEM's projection, in place on the list `grads`: where g.g_ref < 0, g <- g - (g.g_ref)/(g_ref.g_ref + eps)
    g_ref (g and g_ref being the concatenations of the lists). Runs without a device sync."""
    dot = sum((g * r).sum() for g, r in zip(grads, refs))
    norm = sum((r * r).sum() for r in refs)
    coef = dot.clamp(max=0) / (norm + eps)
    for g, r in zip(grads, refs):
        g.sub_(coef * r)
    return grads


class AGEM(Component):
    excludes = {"Joint": "", "Cumulative": "", "LwF": "its constraint is the gradient on stored samples",
                "GenerativeReplay": "its constraint is the gradient on stored samples"}
    provides = ("gradient constraint",)
    common_options = ("replay",)  # methods.common.ReplayOptions
    supports_stream = True
    stream_label = "--agem"

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("A-GEM")
        g.add_argument("--agem", action="store_true", help="select defaults for 'A-GEM' (Chaudhry et al, 2019)")
        g.add_argument("--use-replay", default="normal", choices=["normal", "inequality", "both"], dest="use_replay",
                       help="add the replayed loss (normal), use its gradient as A-GEM's constraint (inequality), "
                            "or both")
        g.add_argument("--eps-agem", type=float, default=1e-7, dest="eps_agem",
                       help="parameter to ensure numerical stability of A-GEM")

    @staticmethod
    def expand(args):
        if not args.agem:
            return
        if args.replay not in ("none", "buffer", "current", "generative"):
            raise UsageError(f"--agem (--replay=buffer) cannot be combined with --replay={args.replay}")
        args.replay = "buffer" if args.replay == "none" else args.replay  # current/generative: refused as excluded
        args.use_replay = "inequality"

    @staticmethod
    def enabled(args):
        return args.use_replay != "normal"

    @staticmethod
    def describe(args):
        return "--agem" if args.agem else f"--use-replay={args.use_replay}"

    @classmethod
    def streams(cls, args):
        return args.replay in STREAM_SOURCES

    @staticmethod
    def validate(args):
        if args.eps_agem < 0:
            raise UsageError("--eps-agem must be at least 0")
        if args.replay == "none" and args.use_replay != "normal":
            raise UsageError(f"--use-replay={args.use_replay} needs a replay source (--replay)")

    @staticmethod
    def stamp_suffix(args):
        """A-GEM's part of the replay's stamp segment (written by ER, methods/er.py)."""
        if args.use_replay == "normal":
            return ""
        s = "-aGEM" if args.use_replay == "inequality" else "-both"
        return s + ("" if args.eps_agem == 1e-7 else f"{args.eps_agem:g}")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.adds_loss = args.use_replay == "both"  # (read by ER: how to weigh the current loss)
        self.params = [p for p in learner.model.parameters() if p.requires_grad]

    def before_step(self, context):
        source = self.learner.provider("stored replay")
        if not source.replaying(context):
            return
        replayed = source.draw(context)
        if replayed is None:
            return
        loss = source.constraint_loss(replayed, context)
        refs = torch.autograd.grad(loss, self.params, allow_unused=True)
        grads, kept = [], []
        for p, r in zip(self.params, refs):
            if r is None:
                continue
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            if self.adds_loss:
                p.grad.add_(r)
            grads.append(p.grad)
            kept.append(r)
        agem_project(grads, kept, self.args.eps_agem)
