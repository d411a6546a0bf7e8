#!/usr/bin/env python3
"""Pre-train conv layers on one whole data set, as the paper's main_pretrain.py.

The network is the classifier of ./main.py (conv layers, hidden fc layers, an output layer with one unit per
class), trained with Adam on all classes at once. The paper pre-trains the conv layers for split CIFAR-100 on
CIFAR-10, one pre-training per seed:

    ./main_pretrain.py --experiment=CIFAR10 --epochs=100 --augment --convE-stag=e100 --seed-to-stag --seed=2

writes <model-dir>/C3-5x16-bn-e100-s2 (models/pretrained.py), which
`./main.py --experiment=CIFAR100 --pre-convE --freeze-convE --seed-to-ltag --seed=2` loads.
"""
import os
import sys
import time

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

import torch

from data.augment import random_crop_flip
from data.experiments import SINGLE, build_single_context
from models import pretrained
from models.classifier import Classifier, build_conv
from train.standard import accuracy, train_epochs
from utils import argtypes as t, io
from utils.errors import UsageError, run_cli
from cli.options import Parser, add_conv_init, add_general, add_model, set_conv_defaults, validate_training
from utils.runtime import choose_device, data_dir, set_seed

CIFAR = ("CIFAR10", "CIFAR100")


def build_parser():
    parser = Parser("./main_pretrain.py", description="Train a classifier to pre-train its conv layers.",
                    allow_abbrev=False)
    add_general(parser, pretrain=True)
    g = parser.add_argument_group("Problem Specification")
    g.add_argument("--experiment", default="CIFAR10", choices=list(SINGLE))
    g.add_argument("--augment", action="store_true", help="augment training data (random crop & horizontal flip)")
    g.add_argument("--no-norm", action="store_false", dest="normalize", help="don't normalise images (CIFAR)")
    add_model(parser, pretrain=True)
    g = parser.add_argument_group("Training Parameters")
    length = g.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=t.count, default=10, metavar="N", help="# epochs (default: %(default)d)")
    length.add_argument("--iters", type=t.count, metavar="N", help="# iterations (replaces --epochs)")
    g.add_argument("--batch", type=t.count, help="mini-batch size (default 256)")
    g.add_argument("--lr", type=t.positive, help="learning rate (default 0.0001)")
    add_conv_init(g)
    g = parser.add_argument_group("Evaluation Parameters")
    g.add_argument("--acc-n", type=t.count, default=1024, help="# test samples for the accuracy after each epoch")
    return parser


def parse(argv=None):
    args = build_parser().parse_args(argv)
    cifar = args.experiment in CIFAR
    args.normalize = args.normalize and cifar
    set_conv_defaults(args, 5 if cifar else 0)
    args.fc_units = 2000 if args.fc_units is None else args.fc_units  # the paper's value for these data sets
    args.lr = 0.0001 if args.lr is None else args.lr
    args.batch = 256 if args.batch is None else args.batch
    validate_training(args, ("epochs", "iters", "batch", "fc_layers", "fc_units", "channels", "n_blocks", "acc_n"))
    if args.augment and not cifar:
        raise UsageError("--augment is only supported for CIFAR10 or CIFAR100")
    if args.depth == 0:
        raise UsageError("--depth=0: there are no conv layers to pre-train")
    return args


def full_model_name(model, args, classes):
    """The whole classifier's file: conv label, fc layers, classes (the paper's name, without its list syntax)."""
    name = f"{model.conv.name}_F{args.fc_layers}x{args.fc_units}_c{classes}"
    return name if args.full_stag == "none" else f"{name}-{args.full_stag}"


def run(args):
    """Pre-train; returns a dictionary of the accuracies, timings and the paths written."""
    if args.save:
        io.check_writable(args.model_dir)
    set_seed(args.seed)
    device = choose_device(args.cuda)
    data = build_single_context(args.experiment, data_dir(args.data_dir), device, args.normalize)
    model = Classifier(data.image_size, data.channels, data.classes, fc_layers=args.fc_layers,
                       fc_units=args.fc_units, fc_drop=args.fc_drop, fc_bn=args.fc_bn == "yes", fc_nl=args.fc_nl,
                       conv=build_conv(args, data.channels)).to(device)
    pretrained.prepare(model, args)  # also here, as the paper: start from / freeze earlier pre-trained layers
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr, betas=(0.9, 0.999))
    per_epoch = len(data.train) // min(args.batch, len(data.train))
    iters = args.iters if args.iters is not None else args.epochs * per_epoch
    epoch_seconds = []

    def after_epoch(epoch, loss, seconds):
        epoch_seconds.append(seconds)
        if not args.quiet:
            acc = accuracy(model, data.test, data.preprocess, n=args.acc_n)
            print(f"epoch {epoch + 1}: training loss {loss:.4f}, test accuracy {100 * acc:.2f}% "
                  f"({min(args.acc_n, len(data.test))} samples), {seconds:.1f} s", flush=True)

    start = time.perf_counter()
    augment = random_crop_flip if args.augment else None
    train_epochs(model, optimizer, data.train, data.preprocess, args.batch, iters, augment, after_epoch, args.quiet)
    result = {"iters": iters, "epochs": len(epoch_seconds), "seconds_per_epoch": epoch_seconds,
              "train_seconds": time.perf_counter() - start,
              "train_accuracy": accuracy(model, data.train, data.preprocess),
              "test_accuracy": accuracy(model, data.test, data.preprocess)}
    if args.save:
        info = {"options": vars(args), **{k: result[k] for k in ("iters", "train_accuracy", "test_accuracy")}}
        result["conv_path"] = pretrained.save(model.conv, args, info)
        result["model_path"] = os.path.join(args.model_dir, full_model_name(model, args, data.classes))
        io.save_torch(result["model_path"], {"state": model.state_dict(), **info})
    return result


def main(argv=None):
    result = run(parse(argv))
    print(f"=> accuracy on the training set: {100 * result['train_accuracy']:.2f}%\n"
          f"=> accuracy on the test set:     {100 * result['test_accuracy']:.2f}%\n"
          f"=> training time: {result['train_seconds']:.1f} s ({result['epochs']} epochs, {result['iters']} iters)")
    if "conv_path" in result:
        print(f"=> conv layers: {result['conv_path']}\n=> full model:  {result['model_path']}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
