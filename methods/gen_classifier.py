"""Generative Classifier: a separate VAE for every class; a test sample gets the class whose VAE finds it likeliest.

van de Ven, Li & Tolias, "Class-incremental learning with generative classifiers" (CVPR-W 2021), as compared in
"Three types of incremental learning" (2022). Class-incremental learning only. Nothing is shared between classes,
so nothing is forgotten and nothing needs replay; the price is one generative model per class.

As in the paper's code (GMvandeVen/continual-learning: main.py, compare.py, models/generative_classifier.py,
train/train_task_based.py train_gen_classifier, models/vae.py estimate_lls), with two sets of settings, as there:
- the paper's main.py (`./main.py --gen-classifier`): each class's VAE trains for --iters iterations and has the
  general model's size: --fc-layers fc layers of --fc-units units, a latent space of --z-dim, learning rate --lr
  (on split MNIST 3 x 400, z 100, lr 0.001);
- its comparisons (compare.py, compare_task_free.py, the tutorial; here `--gc-compare`, which the sweep scripts
  add): each class's VAE trains for --iters / classes-per-context iterations (academic setting), has --fc-lay-gc fc
  layers of --fc-units-gc units (85; 2 hidden layers on split MNIST, else 1) and a latent space of --z-dim-gc (5 on
  split MNIST, else 20); learning rate 0.001 unless --lr is given (recorded as `lr_gc`); these replace --lr,
  --fc-layers and --fc-units in the run and its parameter stamp (the classifier those describe, the method does not
  have), declared in `shared_values` rather than written over the shared options. Its stamp is the one the
  comparison tables have always had; the main.py setting's stamp says `itersPerClass`, as its --iters count per
  class, not per context;
- batches of --batch samples of the VAE's class (Bernoulli decoder, the VAE's per-pixel loss); each VAE has its own
  Adam state;
- test scores are log p(x | class) estimated by importance sampling with --eval-s samples (50) under a Gaussian
  observation model with unit variance (estimate_lls), -inf for classes not trained yet.

On the hooks: the paper trains the VAEs of a context's classes one after another. Here one iteration draws --batch
samples of every class of the context (batch_sampler) and the criterion sums each VAE's loss on its own class's
samples; the VAEs share no parameters and Adam works per parameter, so each VAE takes exactly the steps it would
take alone, over its iterations per class (context_iters). The loop skips the classifier forward
pass (needs_scores = False): the loss needs the labels, which the model's forward does not get.

Task-free (as the paper's train_gen_classifier_on_stream): each iteration, the VAE of every class present in the
stream's batch takes one step on that class's samples of the batch (the others take none: their gradients stay
None, so Adam leaves them untouched); a class's VAE scores once it has trained. Grouping the batch by class needs
the classes' counts on the host: one device sync per iteration, as the paper's per-class loop.

On CIFAR (conv layers, --depth > 0) the VAEs model the features of the conv layers, which must be frozen
(--freeze-convE, with --pre-convE as the paper): the paper runs it only on frozen pre-trained features, and
trainable conv layers would have no loss to learn from. Each VAE is then fully connected on the conv output (a
vector): decoder output 'none' and reconstruction MSE (features are unbounded), the importance weights under a
unit-variance Gaussian as everywhere. The features are computed once before training (models/features.py).
`sample` (for --pdf / --visdom) is switched off there: the VAEs generate features, not images.

Prediction draws its importance samples from a generator seeded by --seed (the global random state is left as it
was), so --test on the saved model predicts exactly what the run after training predicted.
"""
import torch

from data.benchmarks import of
from data.tensorset import ClassBalancedSampler
from methods.component import LOG_INTERVALS, Component, num, unpublished_note
from models.classifier import build_conv
from models.conv import output_units
from models.generative_classifier import GenerativeClassifier as GenerativeClassifierModel
from models.vae import RECORD_MARK, VAE
from utils.errors import UsageError

# the components the Generative Classifier does not combine with (as the paper's check_for_errors)
EXCLUDES = ("LwF", "AGEM", "ER", "GenerativeReplay", "BrainInspired", "ParamReg", "Precondition", "FROMP", "XdG",
            "SeparateNetworks", "Joint", "Cumulative", "ICaRL", "MemoryBuffer")


# (fc layers, latent size) of each class's VAE: the paper's per benchmark; any other: no published value
VAE_SIZES = {"splitMNIST": (3, 5), "permMNIST": (2, 20), "CIFAR100": (2, 20)}
VAE_SIZES_FALLBACK = (2, 20)


def vae_size(args):
    """(fc layers, units, latent) of each class's VAE: the comparisons' -gc options, else the general model's."""
    if args.gc_compare:
        return args.fc_lay_gc, args.fc_units_gc, args.z_dim_gc
    return args.fc_layers, args.fc_units, args.z_dim


class GenerativeClassifier(Component):
    scenarios = ("class",)
    excludes = dict.fromkeys(EXCLUDES, "")
    needs_scores = False
    supports_stream = True
    stream_label = "--gen-classifier"
    record_marks = RECORD_MARK  # its records say which VAE made them (models/vae.py)

    @classmethod
    def claims(cls, args):
        hooks = super().claims(args)
        return hooks - {"batch_sampler"} if args.task_free else hooks  # a stream's batches are the stream's

    @staticmethod
    def add_args(parser):
        g = parser.add_argument_group("Generative Classifier")
        g.add_argument("--gen-classifier", action="store_true", dest="gen_classifier",
                       help="use 'Generative Classifier' (van de Ven et al, 2021): one VAE per class (class-IL only)")
        g.add_argument("--eval-s", type=int, default=50, dest="eval_s",
                       help="-> Generative Classifier: number of importance samples (default: %(default)s)")
        g.add_argument("--gc-compare", action="store_true", dest="gc_compare",
                       help="the settings of the paper's comparisons (its compare.py; ./compare.py and the other "
                            "sweeps add this flag): each class's VAE trains --iters / classes per context "
                            "iterations, with --fc-lay-gc, --fc-units-gc, --z-dim-gc and lr 0.001. Without it, as "
                            "the paper's main.py: --iters per class, --fc-layers, --fc-units, --z-dim and --lr")
        g.add_argument("--fc-units-gc", type=int, metavar="N", dest="fc_units_gc",
                       help="with --gc-compare: # of hidden units with generative classifier (default: 85)")
        g.add_argument("--fc-lay-gc", type=int, metavar="N", dest="fc_lay_gc",
                       help="with --gc-compare: # fc-layers with generative classifier (default: 3 on splitMNIST, "
                            "else 2)")
        g.add_argument("--z-dim-gc", type=int, metavar="N", dest="z_dim_gc",
                       help="with --gc-compare: size latent space generative classifier (default: 5 on "
                            "splitMNIST, else 20)")
        g.set_defaults(lr_gc=None)  # the VAEs' learning rate (no flag: --lr, else 0.001), recorded with the options

    @staticmethod
    def expand(args):
        if args.gen_classifier and args.gc_compare:  # --lr if given (only expand still knows), else the paper's
            args.lr_gc = 0.001 if args.lr is None else args.lr  # comparisons' 0.001 on every experiment

    @staticmethod
    def set_defaults(args):
        if not args.gc_compare:  # the main.py setting: the general model's size (its -gc flags are refused)
            return
        layers, z_dim = VAE_SIZES.get(args.experiment, VAE_SIZES_FALLBACK)
        args.fc_units_gc = 85 if args.fc_units_gc is None else args.fc_units_gc
        args.fc_lay_gc = layers if args.fc_lay_gc is None else args.fc_lay_gc
        args.z_dim_gc = z_dim if args.z_dim_gc is None else args.z_dim_gc

    @staticmethod
    def shared_values(args):
        """The VAEs are the network: their learning rate and size stand for the shared --lr, --fc-units and
        --fc-layers (in the optimizer and the parameter stamp); a log interval left at once per context (--iters)
        stays once per context (--iters / classes per context). None while not known (--print-defaults). Only
        with --gc-compare: in the main.py setting the VAEs are the general model."""
        if not args.gc_compare:
            return {}
        values = {"lr": args.lr_gc, "fc_units": args.fc_units_gc, "fc_layers": args.fc_lay_gc}
        if not args.task_free and args.iters is not None and args.contexts is not None:
            per_context = args.iters // of(args).classes_per_context(args.contexts)
            for flag in LOG_INTERVALS:
                if getattr(args, flag) == args.iters and per_context > 0:
                    values[flag] = per_context
        return values

    @staticmethod
    def enabled(args):
        return args.gen_classifier

    @staticmethod
    def unpublished(args):
        if not args.gc_compare:
            return {}
        layers, z_dim = VAE_SIZES_FALLBACK
        return unpublished_note(args, VAE_SIZES, ["fc_lay_gc", "z_dim_gc"], f"{layers} layers, z {z_dim} (the "
                                "paper's on its other benchmarks)")

    @staticmethod
    def describe(args):
        return "--gen-classifier"

    @staticmethod
    def settings(args):
        layers, units, z_dim = vae_size(args)
        size = f"{layers} fc layers of {units} units, latent {z_dim}"
        if not args.gc_compare:
            iters = "" if args.task_free else f"each class's VAE trains --iters = {args.iters} iterations, "
            return (f"Generative Classifier as the paper's main.py: {iters}{size} (--fc-layers, --fc-units, "
                    f"--z-dim), --lr. --gc-compare gives the settings of its comparisons (compare.py).")
        cpc = of(args).classes_per_context(args.contexts)
        iters = "" if args.task_free else (f"each class's VAE trains --iters / {cpc} (classes per context) = "
                                           f"{args.iters // cpc} iterations, ")
        return (f"Generative Classifier as the paper's comparisons (--gc-compare): {iters}{size} (--fc-lay-gc, "
                f"--fc-units-gc, --z-dim-gc), lr {num(args.lr_gc)}.")

    @staticmethod
    def validate(args):
        gc_flags = [f for f in ("fc_units_gc", "fc_lay_gc", "z_dim_gc") if getattr(args, f) is not None]
        if args.gc_compare and not args.gen_classifier:
            raise UsageError("--gc-compare chooses the Generative Classifier's settings: add --gen-classifier")
        if not args.gen_classifier:
            return
        if gc_flags and not args.gc_compare:
            flag = "--" + gc_flags[0].replace("_", "-")
            raise UsageError(f"{flag} sizes the VAEs of the paper's comparisons: add --gc-compare (without it the "
                             f"VAEs have the general model's size, as the paper's main.py: --fc-layers, --fc-units, "
                             f"--z-dim)")
        if args.depth > 0 and not args.freeze_convE:
            raise UsageError("--gen-classifier with conv layers models their frozen features: add --pre-convE "
                             "--freeze-convE (or --depth=0)")
        for flag in ("eval_s", *gc_flags):
            if getattr(args, flag) < 1:
                raise UsageError(f"--{flag.replace('_', '-')} must be at least 1")
        cpc = of(args).classes_per_context(args.contexts)
        if args.gc_compare and args.iters < cpc and not args.task_free:
            raise UsageError(f"--iters={args.iters}: the Generative Classifier trains each class's VAE for "
                             f"--iters / {cpc} (classes per context) iterations; give at least {cpc}")

    @staticmethod
    def stamp(args):
        per_class = "" if args.gc_compare or args.task_free else "-itersPerClass"  # --iters counts per class
        return f"GenC{per_class}-z{vae_size(args)[2]}-S{args.eval_s}"

    @staticmethod
    def build_model(args, experiment, scenario):
        conv = build_conv(args, experiment.channels)
        on_features = {} if conv is None else {
            "shape": (output_units(conv, experiment.channels, experiment.image_size),)}
        if conv is not None or args.normalize:  # features or normalised pixels: unbounded, a Gaussian decoder
            on_features.update(recon_loss="MSE", output="none")
        layers, units, z_dim = vae_size(args)  # read once: the factory below builds every class's VAE alike
        fc_bn, fc_nl = args.fc_bn == "yes", args.fc_nl
        return GenerativeClassifierModel(
            lambda: VAE(experiment.image_size, experiment.channels, fc_layers=layers, fc_units=units, z_dim=z_dim,
                        fc_bn=fc_bn, fc_nl=fc_nl, **on_features),
            scenario.n_outputs, conv)

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.sampler = None
        if learner.model.conv is not None:
            self.sample = None  # the VAEs generate conv features, not images to show

    def context_iters(self, context, iters):
        return iters if context is None or not self.args.gc_compare else iters // self.learner.scenario.cpc

    def batch_sampler(self, dataset, batch_size, context):
        self.sampler = ClassBalancedSampler(dataset, batch_size)
        return self.sampler

    def before_context(self, context, dataset):
        # the context's classes score from now on (accuracies logged during the context include them)
        if context is not None:
            self.learner.model.trained[torch.unique(dataset.labels)] = True

    def criterion(self, scores, batch, context):
        if context is not None:
            return self.learner.model.loss(batch.x, self.sampler.blocks)
        model = self.learner.model  # a stream's batch: group it by class
        model.trained[batch.y] = True
        order = torch.argsort(batch.y, stable=True)
        counts = torch.bincount(batch.y, minlength=len(model.vaes)).tolist()
        return model.loss(batch.x[order], [(label, n) for label, n in enumerate(counts) if n > 0])

    def predict(self, x, context):
        device = x.device
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.args.seed)
            return self.learner.model.log_likelihoods(x, self.args.eval_s)

    def sample(self, n):
        """For --pdf / --visdom: images from the VAEs of the classes trained so far."""
        return self.learner.model.sample(n)
