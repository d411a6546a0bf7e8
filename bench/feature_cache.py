#!/usr/bin/env python3
"""What computing the frozen conv layers' features once (models/features.py) saves, on CIFAR-100-shaped work.

`--experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE` shapes: batches of 256 32x32 colour images, conv
layers 16-32-64-128-256 (batch-norm, frozen), fc 1024-2000-2000-100, Adam at 0.0001. Random images and random conv
weights (the arithmetic does not depend on them). Side by side, alternating, best of --repeats:
- uncached: train/loop.py on images, the conv pass in every iteration (the path before models/features.py);
- cached:   train/loop.py on the features computed once (what ./main.py does now);
- bare:     a plain PyTorch loop of the same fc layers on precomputed features: the limit;
and the evaluation of 10,000 test images (eval.evaluate.accuracy_row over 10 contexts) with and without the cache.

    flock /work/cpu.lock python3 bench/feature_cache.py [--iters 100] [--repeats 2] [--no-gpus]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from data.experiments import NORMALISATION, Experiment  # noqa: E402
from data.preprocess import Preprocess  # noqa: E402
from data.scenario import Scenario  # noqa: E402
from data.tensorset import BatchSampler, TensorSet  # noqa: E402
from eval.evaluate import accuracy_row  # noqa: E402
from models import features, pretrained  # noqa: E402
from models.classifier import build_classifier  # noqa: E402
from train.learner import Learner  # noqa: E402
from train.loop import train  # noqa: E402
from train.optim import make_optimizer  # noqa: E402
from utils.options import parse  # noqa: E402
from utils.runtime import choose_device  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic_experiment(n_train, n_test, device):
    """One CIFAR-100 context of `n_train` training images (10 classes) and 10 contexts of test images."""
    g = torch.Generator().manual_seed(0)

    def images(n):
        return torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g).to(device)

    train_set = TensorSet.of_context(images(n_train), (torch.arange(n_train) % 10).to(device), 0)
    per = n_test // 10
    test = [TensorSet.of_context(images(per), (c * 10 + torch.arange(per) % 10).to(device), c) for c in range(10)]
    mean, std = NORMALISATION["CIFAR100"]
    return Experiment("CIFAR100", 10, 10, 32, 3, [train_set], test, Preprocess(mean=mean, std=std).to(device),
                      list(range(100)))


def learner_for(args, experiment, device, cached):
    """A learner of the plain method (no components): as main.build_learner, with or without the cache."""
    scenario = Scenario("class", 10, 10)
    torch.manual_seed(0)
    model = build_classifier(args, experiment, scenario).to(device)
    pretrained.prepare(model, args, load=False)  # --freeze-convE (random conv weights: nothing to load)
    seconds = 0.0
    if cached:
        start = time.perf_counter()
        experiment = features.precompute(model, experiment)
        seconds = time.perf_counter() - start
    learner = Learner(model, scenario, experiment, args, device)
    return learner, seconds


def ours(args, experiment, device, cached, iters):
    learner, feature_seconds = learner_for(args, experiment, device, cached)
    data = learner.experiment.train[0]
    train(learner, [(0, data)], 2, args.batch, quiet=True)  # warm-up
    sync(device)
    train_seconds = train(learner, [(0, data)], iters, args.batch, quiet=True)[0]
    start = time.perf_counter()
    accuracy_row(learner, learner.experiment.test, 9)  # returns host floats: synchronised
    return train_seconds, time.perf_counter() - start, feature_seconds


def bare(args, experiment, device, iters):
    """The limit: the fc layers' forward, backward and Adam step on batches indexed from precomputed features."""
    learner, _ = learner_for(args, experiment, device, cached=True)
    x, y = learner.experiment.train[0].images, learner.experiment.train[0].labels
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 2000), nn.ReLU(), nn.Linear(2000, 2000), nn.ReLU(),
                          nn.Linear(2000, 100)).to(device)
    optimizer = make_optimizer(model.parameters(), args)
    sampler = BatchSampler(learner.experiment.train[0], args.batch)

    def step():
        index = next(sampler)
        loss = F.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    sync(device)
    return time.perf_counter() - start


def run(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--train-n", type=int, default=5000, help="training images (one CIFAR-100 context: 5000)")
    p.add_argument("--test-n", type=int, default=10000, help="test images (CIFAR-100: 10000)")
    p.add_argument("--no-gpus", action="store_true")
    a = p.parse_args(argv)
    args = parse(["--experiment=CIFAR100", "--scenario=class", "--freeze-convE", "--quiet", "--no-save"]
                 + (["--no-gpus"] if a.no_gpus else []))
    device = choose_device(args.cuda)
    experiment = synthetic_experiment(a.train_n, a.test_n, device)
    best = {k: float("inf") for k in ("uncached", "cached", "bare", "eval_uncached", "eval_cached", "features")}
    for r in range(a.repeats):
        u_train, u_eval, _ = ours(args, experiment, device, False, a.iters)
        c_train, c_eval, f_seconds = ours(args, experiment, device, True, a.iters)
        b_train = bare(args, experiment, device, a.iters)
        print(f"repeat {r + 1}: training {a.iters} iterations: uncached {u_train:.2f} s, cached {c_train:.2f} s, "
              f"bare {b_train:.2f} s; evaluating {a.test_n} test images: uncached {u_eval:.2f} s, "
              f"cached {c_eval:.3f} s; features of {a.train_n + a.test_n} images {f_seconds:.2f} s", flush=True)
        for k, v in (("uncached", u_train), ("cached", c_train), ("bare", b_train), ("eval_uncached", u_eval),
                     ("eval_cached", c_eval), ("features", f_seconds)):
            best[k] = min(best[k], v)
    per100 = {k: best[k] * 100 / a.iters for k in ("uncached", "cached", "bare")}
    print(f"device: {device}, threads: {torch.get_num_threads()}, batch {args.batch}, fc {args.fc_layers - 1}x"
          f"{args.fc_units}, best of {a.repeats}")
    print(f"seconds per 100 iterations: uncached {per100['uncached']:.2f}, cached {per100['cached']:.2f}, "
          f"bare fc step (limit) {per100['bare']:.2f}")
    print(f"ratios: cached/bare {best['cached'] / best['bare']:.3f}, uncached/bare {best['uncached'] / best['bare']:.3f},"
          f" uncached/cached {best['uncached'] / best['cached']:.3f}")
    print(f"evaluation of {a.test_n} test images: uncached {best['eval_uncached']:.2f} s, cached "
          f"{best['eval_cached']:.3f} s (ratio {best['eval_uncached'] / best['eval_cached']:.1f}); features of "
          f"{a.train_n + a.test_n} images computed once in {best['features']:.2f} s")


if __name__ == "__main__":
    run()
