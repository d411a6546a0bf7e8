"""Your own data (`--experiment=custom`): an .npz file (`--data-file`) or a folder of images (`--image-folder`),
split into contexts by class in the seed's order, as split MNIST is.

- `--data-file PATH.npz` holds x_train, y_train, x_test, y_test. Images: uint8 0-255 (scaled to [0, 1] per batch,
  as MNIST) or float (taken as they are), N x H x W, N x C x H x W or N x H x W x C, 1 or 3 channels, square.
  Labels: integers 0..K-1, every class in both splits.
- `--image-folder DIR` holds DIR/train/<class>/* and DIR/test/<class>/* (classes in sorted order of their folder
  names), read with Pillow: grey images give 1 channel, any colour image makes the set RGB, all of one square size.
  The folder is decoded once, with a progress bar, into a tensor cache beside it (DIR/.cl-cache-<key>.pt, the key
  from every file's name, size and time); a changed folder gets a new key and is decoded again.
Normalisation is per channel with the training set's mean and standard deviation (recorded in the results JSON;
`--no-norm` leaves it out). The parameter stamp names the data by its name and a key of its contents, so results of
other data never pass for these. Nobody published a protocol for your data: split MNIST's is the default.
"""
import hashlib
import os
from functools import lru_cache

import numpy as np
import torch

from data.benchmarks.base import Benchmark
from data.preprocess import Preprocess
from utils import io
from utils.errors import DataError, UsageError

KEYS = ("x_train", "y_train", "x_test", "y_test")
SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class CustomData(Benchmark):
    name = "custom"
    protocol = {"iters": 2000, "lr": 0.001, "batch": 128, "fc_units": 400}

    normalisation = ()  # per channel, from the training set (preprocess)
    origin = {"contexts": "two classes per context (one if their number is odd)"}

    def __init__(self, source=None, label="", key="", sizes=(0, 0, 0)):
        """The benchmark of one data set (`bound`); the registered one (no source) only declares the options."""
        self.source, self.label, self.key = source, label, key
        self.classes, self.image_size, self.channels = sizes
        self.pretrain = "CIFAR10" if self.channels == 3 else "MNIST"  # (./main_pretrain.py's data of that shape)
        # two classes per context when they pair up, as split MNIST and split CIFAR-10; else one per context
        self.contexts = self.classes // 2 if self.classes % 2 == 0 else self.classes

    def add_args(self, group):
        group.add_argument("--data-file", dest="data_file", metavar="PATH.npz",
                           help="custom: your data as x_train, y_train, x_test, y_test in one .npz file")
        group.add_argument("--image-folder", dest="image_folder", metavar="DIR",
                           help="custom: your images in DIR/train/<class>/ and DIR/test/<class>/")

    def settings(self, args):
        return {"data_file": args.data_file, "image_folder": args.image_folder}

    def bound(self, settings):
        file, folder = settings.get("data_file"), settings.get("image_folder")
        if (file is None) == (folder is None):
            raise UsageError("--experiment=custom needs one of --data-file or --image-folder")
        return describe(os.path.abspath(file or folder), "file" if file else "folder", *stat_key(file or folder))

    def validate(self, args):
        if self.classes % args.contexts:
            raise UsageError(f"--contexts={args.contexts} does not divide the {self.classes} classes of "
                             f"{self.source}")

    def stamp(self, args):
        return f"-{self.label}{self.key[:8]}"

    def read(self, data_dir, train):
        data = load(self.source, *stat_key(self.source))
        return data[0:2] if train else data[2:4]

    def preprocess(self, n_contexts, seed, normalize, **settings):
        if not normalize:
            return Preprocess()
        images = load(self.source, *stat_key(self.source))[0]
        x = images.double() / (255.0 if images.dtype == torch.uint8 else 1.0)  # as the network sees them
        mean, std = x.mean(dim=(0, 2, 3)), x.std(dim=(0, 2, 3)).clamp_min(1e-8)
        return Preprocess(mean=tuple(mean.tolist()), std=tuple(std.tolist()))


BENCHMARK = CustomData()


def stat_key(path):
    """What decides whether cached knowledge of `path` still holds: for a file its size and time, for a folder
    every image's name, size and time."""
    try:
        if os.path.isdir(path):
            return (tuple((os.path.relpath(p, path), st.st_size, st.st_mtime_ns)
                          for p, st in ((p, os.stat(p)) for p in image_files(path))),)
        st = os.stat(path)
        return ((st.st_size, st.st_mtime_ns),)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file or folder") from None
    except OSError as e:
        raise DataError(f"cannot read {path} ({e.strerror})") from None


def image_files(folder):
    found = []
    for split in ("train", "test"):
        root = os.path.join(folder, split)
        for dirpath, _, files in os.walk(root):
            found += [os.path.join(dirpath, f) for f in files if f.lower().endswith(SUFFIXES)]
    return sorted(found)


@lru_cache(maxsize=4)
def describe(path, kind, key):
    """The bound benchmark of the data at `path` (sizes and a key of its contents)."""
    x_train, y_train = load(path, key)[:2]
    label = os.path.splitext(os.path.basename(path.rstrip(os.sep)))[0]
    label = "".join(ch for ch in label if ch.isalnum())[:16] or kind
    digest = hashlib.md5(repr(key).encode()).hexdigest() if kind == "folder" else file_md5(path)
    return CustomData(path, label, digest, (int(y_train.max()) + 1, x_train.shape[-1], x_train.shape[1]))


def file_md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=2)
def load(path, key):
    """(x_train, y_train, x_test, y_test) of the data at `path`: images [N, C, S, S] (uint8, or float32 as given),
    labels int64 0..K-1, checked; `key` (stat_key) makes a changed file a new cache entry."""
    data = read_folder(path, key) if os.path.isdir(path) else read_npz(path)
    return check(path, *data)


def read_npz(path):
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in KEYS if k not in f.files]
            if missing:
                raise DataError(f"{path} lacks {', '.join(missing)} (it needs {', '.join(KEYS)})")
            arrays = [f[k] for k in KEYS]
    except DataError:
        raise
    except Exception as e:  # not a zip, a pickled object, a truncated member
        raise DataError(f"{path} is not a readable .npz file ({type(e).__name__})") from None
    out = []
    for name, x, y in (("train", arrays[0], arrays[1]), ("test", arrays[2], arrays[3])):
        out += [images_nchw(path, name, x), labels_of(path, name, y)]
    return out


def images_nchw(path, split, x):
    if x.dtype != np.uint8 and not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{path}: x_{split} is {x.dtype}; images are uint8 (0-255) or float")
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise DataError(f"{path}: x_{split} has shape {x.shape}; images are N x H x W or have 1 or 3 channels "
                        f"(N x C x H x W or N x H x W x C)")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise DataError(f"{path}: x_{split} holds NaN or infinite values")
    tensor = torch.from_numpy(np.ascontiguousarray(x))
    return tensor if x.dtype == np.uint8 else tensor.float()


def labels_of(path, split, y):
    y = np.asarray(y)
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or
                           (np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)))):
        raise DataError(f"{path}: y_{split} must be a vector of integer labels (it is {y.dtype}, shape {y.shape})")
    return torch.from_numpy(y.astype(np.int64))


def check(path, x_train, y_train, x_test, y_test):
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.shape[0] != y.shape[0]:
            raise DataError(f"{path}: x_{split} has {x.shape[0]} images but y_{split} {y.shape[0]} labels")
        if x.shape[0] == 0:
            raise DataError(f"{path}: no {split} images")
        if x.shape[2] != x.shape[3]:
            raise DataError(f"{path}: {split} images are {x.shape[2]}x{x.shape[3]} pixels; they must be square")
    if x_train.shape[1:] != x_test.shape[1:] or x_train.dtype != x_test.dtype:
        raise DataError(f"{path}: train images are {tuple(x_train.shape[1:])} {x_train.dtype}, test images "
                        f"{tuple(x_test.shape[1:])} {x_test.dtype}")
    k = int(y_train.max()) + 1
    if int(y_train.min()) < 0 or int(y_test.min()) < 0 or int(y_test.max()) >= k:
        raise DataError(f"{path}: labels must be 0..{k - 1} (the training labels' range), found "
                        f"{int(min(y_train.min(), y_test.min()))}..{int(max(y_train.max(), y_test.max()))}")
    for split, y in (("train", y_train), ("test", y_test)):
        absent = sorted(set(range(k)) - set(y.unique().tolist()))
        if absent:
            raise DataError(f"{path}: class {absent[0]} has no {split} images"
                            + (f" (nor {len(absent) - 1} other classes)" if len(absent) > 1 else ""))
    return x_train, y_train, x_test, y_test


def read_folder(folder, key):
    """Decode the folder once (Pillow, a progress bar), caching the tensors beside it under the contents' key."""
    cache = os.path.join(folder, f".cl-cache-{hashlib.md5(repr(key).encode()).hexdigest()[:16]}.pt")
    if os.path.exists(cache):
        try:
            return torch.load(cache, weights_only=True)
        except Exception:
            pass  # a damaged cache is decoded again
    classes = class_names(folder)
    decoded = [decode(folder, split, classes) for split in ("train", "test")]
    data = [t for pair in decoded for t in pair]
    try:
        io.save_torch(cache, data)
    except Exception as e:  # a read-only folder: decoded again next time
        print(f"note: could not cache the decoded images in {folder} ({e}); they are decoded at every run")
    return data


def class_names(folder):
    names = {}
    for split in ("train", "test"):
        root = os.path.join(folder, split)
        if not os.path.isdir(root):
            raise DataError(f"{folder} has no {split}/ folder (it needs {split}/<class>/<images>)")
        names[split] = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
        if not names[split]:
            raise DataError(f"{root} has no class folders")
    for name in names["train"]:
        if name not in names["test"]:
            raise DataError(f"class {name} has no test images ({os.path.join(folder, 'test', name)} is missing)")
    extra = sorted(set(names["test"]) - set(names["train"]))
    if extra:
        raise DataError(f"class {extra[0]} has test images but no training images in {folder}/train")
    return names["train"]


def decode(folder, split, classes):
    from PIL import Image, UnidentifiedImageError
    from tqdm import tqdm
    files = []
    for label, name in enumerate(classes):
        root = os.path.join(folder, split, name)
        found = sorted(f for f in os.listdir(root) if f.lower().endswith(SUFFIXES))
        if not found:
            raise DataError(f"{root} holds no images")
        files += [(os.path.join(root, f), label) for f in found]
    images, size, colour = [], None, False
    with tqdm(files, desc=f"decoding {split} images (once)", leave=False, dynamic_ncols=True, disable=None) as bar:
        for path, _ in bar:  # (the bar closes before an error's line)
            try:
                with Image.open(path) as im:
                    im.load()
                    colour = colour or im.mode not in ("1", "L", "LA", "I", "I;16", "F")
                    images.append(im.convert("RGB"))
            except (UnidentifiedImageError, OSError) as e:
                raise DataError(f"cannot read image {path} ({type(e).__name__})") from None
            w, h = images[-1].size
            size = size or (w, h)
            if (w, h) != size or w != h:
                raise DataError(f"{path} is {w}x{h} pixels; the images must all be square and of one size "
                                f"({size[0]}x{size[1]} as the first)")
    x = np.stack([np.asarray(im) for im in images]).transpose(0, 3, 1, 2)
    x = x if colour else x[:, :1]
    return torch.from_numpy(np.ascontiguousarray(x)), torch.tensor([label for _, label in files])
