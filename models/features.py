"""Frozen conv layers' features computed once, so that training and evaluation run the fc part only.

With `--freeze-convE` the conv layers are a fixed function (no gradient, batch-norm in eval mode), so every image
goes through them to the same features at every iteration and every evaluation. As the paper's code (main.py, its
"feature extractor"), each training and test image is put through them once, before training; the data sets then
hold the features, preprocessing becomes the identity (data.preprocess.Precomputed) and the model's ConvLayers pass
their input through (`precomputed`). The model, its state_dict and the random draws of training (batch order,
dropout) are the same as on images, so the results are too (tests/test_features.py).

Bit-equality needs the features computed here to equal those of the uncached training and test batches. On CPU
(oneDNN) a conv pass gives every image the same bits whatever else is in the batch, for every batch of 2 or more
images; a batch of one image takes another kernel (PyTorch's native "slow" conv) that can differ in the last bit.
So no pass here holds a single image: the last chunk takes one image from the one before, and a set of one image
is computed as two copies. An uncached pass over a single image (e.g. --batch=1) is the one place the uncached path
can differ, in the last bit. On CUDA, cuDNN chooses its algorithm per input shape, so the bits of the uncached
path can depend on the batch size; the features here are then as exact as any batch's, and deterministic.
"""
import dataclasses

import torch

from data.preprocess import Precomputed
from data.tensorset import TensorSet
from models.pretrained import conv_layers
from utils.nn import eval_mode

CHUNK = 256  # images per conv pass: 16 MB of first-layer activations (CIFAR), faster on CPU than 1000


def fixed_conv(model):
    """The conv layers every input of `model` goes through, when that is one fixed function: all frozen, with the
    same weights and batch-norm statistics in each network (--separate-networks); else None (no conv layers, or
    trainable ones, or already precomputed)."""
    convs = conv_layers(model)
    if not convs or not all(c.frozen and not c.precomputed for c in convs):
        return None
    first = convs[0].state_dict()
    for conv in convs[1:]:
        state = conv.state_dict()
        if state.keys() != first.keys() or not all(torch.equal(state[k], first[k]) for k in first):
            return None
    return convs[0]


def _chunks(n, chunk):
    """(start, stop) of the conv passes over n images: `chunk` each, none of a single image (unless n is 1)."""
    starts = list(range(0, n, chunk))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts[-1] -= 1
    return list(zip(starts, starts[1:] + [n]))


@torch.no_grad()
def conv_features(conv, dataset, preprocess, chunk=CHUNK):
    """A TensorSet of the features of every image of `dataset` (float, [N, conv output units]) with its labels and
    contexts: preprocessed as in training (per context), through `conv` in eval mode, without gradient, on the
    data's device, in passes of `chunk` images."""
    parts = []
    with eval_mode(conv):
        for start, stop in _chunks(len(dataset), chunk):
            context = dataset.context if dataset.context is not None else dataset.contexts[start:stop]
            x = preprocess(dataset.images[start:stop], context)
            parts.append(conv(torch.cat([x, x]))[:1] if x.shape[0] == 1 else conv(x))
        if not parts:  # an empty set: no features, of the right width
            parts.append(conv(torch.zeros((2, *dataset.images.shape[1:]), device=dataset.device))[:0])
    return TensorSet(torch.cat(parts), dataset.labels, dataset.contexts, dataset.context)


def precompute(model, experiment, chunk=CHUNK):
    """The experiment with the features of every training and test image in place of the images, and `model`'s conv
    layers set to take those features as their output; None (and nothing changed) when `model` has no fixed conv
    layers (fixed_conv)."""
    conv = fixed_conv(model)
    if conv is None:
        return None
    train = [conv_features(conv, s, experiment.preprocess, chunk) for s in experiment.train]
    test = [conv_features(conv, s, experiment.preprocess, chunk) for s in experiment.test]
    for c in conv_layers(model):
        c.precomputed = True
    if train and train[0].images.is_cuda:
        torch.cuda.synchronize(train[0].images.device)  # so that the time taken is measured in full
    return dataclasses.replace(experiment, train=train, test=test, preprocess=Precomputed())
