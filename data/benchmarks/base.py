"""What a benchmark declares about itself. Each file of data/benchmarks/ defines one Benchmark (data/benchmarks/
__init__.py registers it); data/experiments.py builds its contexts, cli.options fills its defaults, cli.stamp names
it, models/pretrained.py finds its conv layers, sweep/cost.py prices it from its sizes.

Contexts are formed in one of two ways:
- split (`split = True`): the classes in the seed's order (data.experiments.class_order), `classes / contexts` of
  them per context, global labels 0..classes-1 (split MNIST, split CIFAR);
- transformed (`split = False`): every context holds all classes, each under its own input transform (a pixel
  permutation, a rotation); context c's labels are the classes + c x classes, so class-IL has new labels per context
  and domain-IL folds them back (permuted and rotated MNIST).
"""
import torch

from data.preprocess import Preprocess


class Benchmark:
    name = ""           # its --experiment name
    classes = 10        # classes of the data set (split: over all contexts; transformed: in every context)
    image_size = 28     # the network's input: image_size x image_size pixels, `channels` channels
    channels = 1
    contexts = 5        # default number of contexts
    split = True        # how contexts are formed (see above)
    # its protocol: iterations per context, learning rate, batch size, hidden units of the fc layers, conv layers
    protocol = {"iters": 2000, "lr": 0.001, "batch": 128, "fc_units": 400}
    depth = 0           # conv layers by default (CIFAR: 5)
    published = False   # whether the protocol above is a published one (the paper's); else our choice for it
    origin = {}         # option -> where its default comes from, when that is not the paper (--print-defaults)
    normalisation = None  # per-channel ((means), (stds)) applied with --norm (CIFAR), else None
    pretrain = "MNIST"  # the ./main_pretrain.py --experiment whose conv layers fit its input

    def bound(self, settings):
        """The benchmark for these settings of its own options: itself, unless its sizes come from the data."""
        return self

    def read(self, data_dir, train):
        """(uint8 images [N, channels, size, size] on the CPU, int64 labels [N] in 0..classes-1)."""
        raise NotImplementedError

    def add_args(self, group):
        """Its own options (e.g. rotated MNIST's --rotations), in the 'Problem Specification' group."""

    def set_defaults(self, args):
        """Fill its own options left unset (after --contexts has its value)."""

    def validate(self, args):
        """Raise utils.errors.UsageError for an impossible combination of its own options."""

    def stamp(self, args):
        """What its own options add to the problem part of the parameter stamp ('' for nothing)."""
        return ""

    def settings(self, args):
        """Its own options, as keywords of `contexts_of` and `preprocess` (data.experiments.build_experiment)."""
        return {}

    def contexts_of(self, images, n_contexts, seed, **settings):
        """Transformed benchmarks: the images of each context (the transform done once, on the whole set)."""
        return [images] * n_contexts

    def preprocess(self, n_contexts, seed, normalize, **settings):
        """The per-batch conversion of stored images to network input (scaling; normalisation)."""
        if normalize and self.normalisation is not None:
            return Preprocess(mean=self.normalisation[0], std=self.normalisation[1])
        return Preprocess()

    def classes_per_context(self, n_contexts):
        return self.classes // n_contexts if self.split else self.classes

    def __repr__(self):
        return f"<benchmark {self.name}>"


def as_tensors(images, labels):
    """uint8 images and int64 labels, as every reader returns them."""
    return torch.as_tensor(images, dtype=torch.uint8), torch.as_tensor(labels, dtype=torch.long)
