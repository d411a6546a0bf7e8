"""Pre-trained conv layers: the file ./main_pretrain.py writes and --pre-convE / --freeze-convE read.

The file is named as in the paper's code: the conv layers' label, then the tag and seed
(`<model-dir>/C3-5x16-bn-e100-s2` for `--convE-stag=e100 --seed-to-stag --seed=2`), so that a CIFAR-100 run with
`--pre-convE --seed-to-ltag --seed=2` finds the layers pre-trained with the same seed. It holds {"state": the conv
layers' state_dict} as the paper's checkpoints do, plus the pre-training's options and test accuracy.

--pre-convE also reads the paper's own files (e.g. its shipped `C3-5x16-bn-e100`): the same layers under the paper's
module names (`convLayerN.conv/bn.*`, `convLayerN.blockM.block_layerK/shortcut.*`), translated here. Our files from
before plain conv layers had a bias (a bias before batch-norm) load with those biases zero: the same function.
"""
import os
import re

import torch

from data.benchmarks import BENCHMARKS, of
from models.conv import ConvLayers
from utils import io
from utils.errors import DataError


def file_name(conv_name, tag, seed, seed_to_tag):
    """The paper's name: no tag -> the label alone; the seed is added only to a tag."""
    return conv_name if tag == "none" else f"{conv_name}-{tag}" + (f"-s{seed}" if seed_to_tag else "")


def save(conv, args, extra=None):
    """Write the conv layers of a pre-training run (atomically); returns the path."""
    path = os.path.join(args.model_dir, file_name(conv.name, args.convE_stag, args.seed, args.seed_to_stag))
    io.save_torch(path, {"state": conv.state_dict(), "name": conv.name, **(extra or {})})
    return path


def conv_layers(model):
    """Every set of conv layers in the model (one per network with --separate-networks)."""
    return [m for m in model.modules() if isinstance(m, ConvLayers)]


def prepare(model, args, load=True):
    """--pre-convE: load the pre-trained conv layers into every ConvLayers of `model`; --freeze-convE: freeze them.
    As in the paper's code, both do nothing to a model without conv layers."""
    convs = conv_layers(model)
    if load and args.pre_convE and convs:
        name = file_name(convs[0].name, args.convE_ltag, args.seed, args.seed_to_ltag)
        path = os.path.join(args.model_dir, name)
        state, zeroed = own_keys(load_state(path, args), convs[0])
        if zeroed:
            print(f"note: {path} predates the conv layers' biases: loaded with those biases zero (the same layers)")
        for conv in convs:
            try:
                conv.load_state_dict(state)
            except RuntimeError:
                raise DataError(f"{path} holds conv layers of another shape than {conv.name}: corrupt file, or "
                                f"layers of other options") from None
    if args.freeze_convE:
        for conv in convs:
            conv.freeze()
    return model


PAPER_LAYER = re.compile(r"convLayer(\d+)\.(.+)")
PAPER_PARTS = [(re.compile(r"conv\."), "0."), (re.compile(r"bn\."), "1."),
               (re.compile(r"block(\d+)\.block_layer(\d)\."), lambda m: f"{int(m[1]) - 1}.conv{m[2]}."),
               (re.compile(r"block(\d+)\.shortcut\."), lambda m: f"{int(m[1]) - 1}.shortcut.")]


def from_paper(state, own):
    """The paper's keys as this module's: `convLayerN.X` -> `layers.{N-1}.X'` (the bare last layer without a
    Sequential around it); keys that match nothing are kept, to be refused by load_state_dict."""
    out = {}
    for key, value in state.items():
        layer = PAPER_LAYER.fullmatch(key)
        if layer:
            rest = layer[2]
            for pattern, repl in PAPER_PARTS:
                rest = pattern.sub(repl, rest, count=1) if pattern.match(rest) else rest
            key = f"layers.{int(layer[1]) - 1}.{rest}"
            bare = f"layers.{int(layer[1]) - 1}.{rest[2:]}"
            key = bare if key not in own and rest.startswith("0.") and bare in own else key
        out[key] = value
    return out


def own_keys(state, conv):
    """`state` under `conv`'s keys (translated from the paper's) and whether biases were missing and set to zero:
    exactly the convolutions' biases that our files from before they had one lack."""
    own = conv.state_dict()
    if any(k.startswith("convLayer") for k in state):
        state = from_paper(state, own)
    missing = [k for k in own if k not in state]
    biases = [k for k in missing if k.endswith(".bias")
              and isinstance(conv.get_submodule(k[:-len(".bias")]), torch.nn.Conv2d)]
    if not missing or missing != biases or any(k not in own for k in state):
        return state, False
    return {**state, **{k: torch.zeros_like(own[k]) for k in missing}}, True


def load_state(path, args):
    if not os.path.exists(path):
        raise DataError(f"no pre-trained conv layers {path}; make them with: {pretrain_command(args)}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)["state"]
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise TypeError("no state_dict")
        return state
    except Exception as e:  # truncated, foreign or not a checkpoint at all
        raise DataError(f"{path} is not a file of pre-trained conv layers ({type(e).__name__})") from None


def pretrain_command(args):
    """The ./main_pretrain.py line that writes the file this run looks for (the paper's: 100 epochs, augmented)."""
    # a benchmark names the pre-training data that fit its input; ./main_pretrain.py's own --experiment is one
    source = of(args).pretrain if args.experiment in BENCHMARKS else args.experiment
    parts = ["./main_pretrain.py", f"--experiment={source}"]
    epochs = re.fullmatch(r"e(\d+)", args.convE_ltag)
    if epochs:
        parts.append(f"--epochs={epochs.group(1)}")
    if source == "CIFAR10":
        parts.append("--augment")
    if args.convE_ltag != "none":
        parts.append(f"--convE-stag={args.convE_ltag}")
        if args.seed_to_ltag:
            parts += ["--seed-to-stag", f"--seed={args.seed}"]
    parts += conv_flags(args, cifar=source == "CIFAR10")
    if args.model_dir != "./store/models":
        parts.append(f"--model-dir={args.model_dir}")
    if not args.normalize and source == "CIFAR10":
        parts.append("--no-norm")
    return " ".join(parts)


def conv_flags(args, cifar):
    """The conv options of `args` that differ from main_pretrain.py's defaults (so the same layers are made)."""
    defaults = {"depth": 5 if cifar else 0, "reducing_layers": args.depth - 1, "channels": 16,
                "conv_type": "standard", "n_blocks": 2, "conv_bn": "yes", "conv_nl": "relu"}
    flags = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k, v in defaults.items()
             if getattr(args, k) != v and not (k == "n_blocks" and args.conv_type != "resNet")]
    return flags + (["--global-pooling"] if args.global_pooling else [])
