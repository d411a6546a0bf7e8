"""Deep Generative Replay (DGR; Shin et al., "Continual learning with deep generative replay", NeurIPS 2017), as in
van de Ven et al. 2022 (`--replay=generative`).

A separate generator, a VAE with the classifier's fully connected architecture (models/vae.py; `--g-fc-lay`,
`--g-fc-uni`, `--g-z-dim`, by default the classifier's `--fc-layers`, `--fc-units` and `--z-dim` 100), is trained
alongside the classifier with its own Adam optimiser (`--lr-gen`, default `--lr`) during the first `--g-iters` of
each context's iterations (default: all). From the second context on, each iteration:
- a batch as large as the training batch is drawn from a frozen copy of the generator as it was at the end of the
  last context (replay_batch; it comes back to this component's losses hook as one of the Replayed batches);
- the classifier replays it (losses) through the targets helper that all replay methods share (methods/replay.py):
  targets from a frozen copy of the classifier at the end of the last context, hard (argmax) or with `--distill`
  soft (temperature `--temp`), each past context through its own head in task-IL, weight (1 - 1/c) against (1/c)
  for the current batch;
- the generator takes one step on (1/c) L_VAE(current batch) + (1 - 1/c) L_VAE(generated batch) (after_iteration,
  which gets both batches as arguments).
Nothing of the generator is needed to predict, so `--test` loads the classifier only.

With conv layers (CIFAR) the generator is a conv VAE (models/conv_vae.py: the classifier's conv layers as its
encoder, their deconv mirror as its decoder) on the images as the classifier sees them (normalised unless
--no-norm; then the decoder's output is 'none', else a sigmoid), with `--recon-loss` (default MSE on CIFAR, BCE on
MNIST, as the paper's code). Its conv encoder starts from the pre-trained conv layers with --pre-convE and is frozen
with --freeze-convE, as the classifier's (my reading of the paper's code; only the decoder and fc part then train).
Its samples are images that go through the classifier's (frozen) conv layers like real ones, so this component
needs pixel input (`pixel_input`) and --freeze-convE cannot use features computed once: each replayed batch costs a
decoder pass and a conv pass (README: measured cost).
"""
from data.tensorset import Batch
from data.benchmarks import of
from methods.component import num
from methods.replay import ReplaySource
from models import pretrained
from models.conv_vae import ConvVAE
from models.fc import context_gated
from models.vae import RECON_LOSSES, RECORD_MARK, VAE
from utils.errors import UsageError
from utils.nn import frozen_copy, make_optimizer

GENERATOR_FLAGS = {"g_z_dim": "z_dim", "g_fc_lay": "fc_layers", "g_fc_uni": "fc_units", "g_iters": "iters",
                   "lr_gen": "lr"}  # generator option -> the classifier's option it defaults to


class GenerativeReplay(ReplaySource):
    excludes = {**ReplaySource.excludes, "SeparateNetworks": ""}
    record_marks = RECORD_MARK  # its records say which VAE made them (models/vae.py)

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Generative Replay (separate generator)")
        g.add_argument("--g-z-dim", type=int, dest="g_z_dim", help="size latent space generator (def: as classifier)")
        g.add_argument("--g-fc-lay", type=int, dest="g_fc_lay", help="[fc_layers] in generator (def: as classifier)")
        g.add_argument("--g-fc-uni", type=int, dest="g_fc_uni", help="[fc_units] in generator (def: as classifier)")
        g.add_argument("--g-iters", type=int, dest="g_iters", help="# batches to train generator (def: as classifier)")
        g.add_argument("--lr-gen", type=float, dest="lr_gen", help="learning rate generator (def: as classifier)")
        g.add_argument("--recon-loss", choices=RECON_LOSSES, dest="recon_loss",
                       help="reconstruction loss of the generator (default: MSE on CIFAR, BCE on MNIST)")

    pixel_input = True  # replayed images go through the conv layers: no features computed once

    @staticmethod
    def default_recon(args):
        """BCE needs pixels in [0, 1]: MNIST's; benchmarks with a normalisation (CIFAR, own data) get MSE."""
        return "MSE" if of(args).normalisation is not None else "BCE"

    @staticmethod
    def set_defaults(args):
        if args.recon_loss is None:
            args.recon_loss = GenerativeReplay.default_recon(args)
        for flag, source in GENERATOR_FLAGS.items():
            if getattr(args, flag) is None:
                setattr(args, flag, getattr(args, source))

    @staticmethod
    def enabled(args):
        return args.replay == "generative"  # (unless BI-R, which `replaces` it: its classifier generates)

    @staticmethod
    def describe(args):
        return "--replay=generative"

    @staticmethod
    def validate(args):
        if not GenerativeReplay.enabled(args):
            return
        for flag in ("g_z_dim", "g_fc_lay", "g_fc_uni", "g_iters"):
            if getattr(args, flag) < 1:
                raise UsageError(f"--{flag.replace('_', '-')} must be at least 1")
        if args.g_iters > args.iters:
            raise UsageError("--g-iters above --iters is not supported: the generator trains in the classifier's "
                             "iterations")
        if args.lr_gen <= 0:
            raise UsageError("--lr-gen must be positive")
        if args.depth > 0 and (args.conv_type != "standard" or args.global_pooling):
            raise UsageError("--replay=generative with conv layers mirrors them in a deconv decoder: only "
                             "--conv-type=standard without --global-pooling")
        if args.recon_loss == "BCE" and args.normalize:
            raise UsageError("--recon-loss=BCE needs images in [0, 1]: add --no-norm (or use --recon-loss=MSE)")

    @staticmethod
    def stamp(args):
        s = ReplaySource.stamp(args) + "--"  # the replay's segment, then the generator's
        s += f"VAE={'C-' if args.depth > 0 else ''}F{args.g_fc_lay}x{args.g_fc_uni}-z{args.g_z_dim}"
        s += "" if args.recon_loss == GenerativeReplay.default_recon(args) else f"-{args.recon_loss}"
        s += "" if args.g_iters == args.iters else f"-gi{args.g_iters}"
        return s + ("" if args.lr_gen == args.lr else f"-lrG{num(args.lr_gen)}")

    def __init__(self, args, learner):
        super().__init__(args, learner)
        experiment = learner.experiment
        fc = dict(fc_layers=args.g_fc_lay, fc_units=args.g_fc_uni, z_dim=args.g_z_dim, fc_bn=args.fc_bn == "yes",
                  fc_nl=args.fc_nl, recon_loss=args.recon_loss, output="none" if args.normalize else "sigmoid")
        if args.depth > 0:
            generator = ConvVAE(experiment.image_size, experiment.channels, depth=args.depth,
                                reducing_layers=args.reducing_layers, conv_channels=args.channels,
                                conv_bn=args.conv_bn == "yes", conv_nl=args.conv_nl, **fc)
            pretrained.prepare(generator, args, load=args.train)  # --pre-convE, --freeze-convE as the classifier
        else:
            generator = VAE(experiment.image_size, experiment.channels, **fc)
        self.generator = generator.to(learner.device)
        self.optimizer = self._optimizer()
        self.previous_generator = None   # frozen copy of the generator at the end of the last context
        self.rnt = 1.0         # relative weight of the current batch, 1/c

    def _optimizer(self):
        # the paper's code: Adam (betas 0.9, 0.999) at --lr-gen, or plain SGD (no momentum) at --lr-gen
        return make_optimizer(self.generator.parameters(), "sgd" if self.args.optimizer == "sgd" else "adam",
                              self.args.lr_gen)

    def before_context(self, context, dataset):
        super().before_context(context, dataset)
        self.rnt = 1.0 / (context + 1)
        if self.args.optimizer == "adam_reset" and context > 0:
            self.optimizer = self._optimizer()

    def replay_batch(self, batch, context):
        """From the second context on, a batch as large as the training batch from the previous generator; scored
        in the current batch's forward pass unless a gated model replays it through each past context's gates."""
        if self.previous_generator is None:
            return None
        gated = context_gated(self.learner.model) and self.learner.scenario.per_context
        return Batch(self.previous_generator.sample(self.args.batch), None, batch.context, shared=not gated)

    def after_iteration(self, context, iteration, losses, batch, replayed):
        if iteration >= self.args.g_iters:
            return None
        generated = next((r.batch.x for r in replayed if r.source is self), None)
        self.generator.train()
        loss = self.generator.loss(batch.x)
        if generated is not None:
            loss = self.rnt * loss + (1 - self.rnt) * self.generator.loss(generated)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"generator": loss.detach()}  # shown and logged with the classifier's losses

    def rows(self, batch, scores, replayed, context):
        generated = next((r for r in replayed if r.source is self), None)
        if generated is None:
            return None
        return self.unlabelled_rows(generated.batch.x, generated.scores, batch, context)

    def after_context(self, context, dataset):
        super().after_context(context, dataset)  # the classifier's frozen copy (it labels the generated samples)
        self.previous_generator = frozen_copy(self.generator)
