#!/usr/bin/env python3
"""What computing the frozen conv layers' features once (models/features.py) saves, on CIFAR-100-shaped work.

`--experiment=CIFAR100 --scenario=class --pre-convE --freeze-convE` shapes: batches of 256 32x32 colour images, conv
layers 16-32-64-128-256 (batch-norm, frozen), fc 1024-2000-2000-100, Adam at 0.0001. Random images and random conv
weights (the arithmetic does not depend on them). Side by side: the three alternate in short segments (a busy machine penalises all alike), best and median segment:
- uncached: train/loop.py on images, the conv pass in every iteration (the path before models/features.py);
- cached:   train/loop.py on the features computed once (what ./main.py does now);
- bare:     a plain PyTorch loop of the same fc layers on precomputed features: the limit;
and the evaluation of 10,000 test images (eval.evaluate.accuracy_row over 10 contexts) with and without the cache.

    flock /work/cpu.lock python3 bench/feature_cache.py [--iters 100] [--segment 10] [--no-gpus]
"""
import argparse
import os
import statistics
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
from utils.nn import make_optimizer  # noqa: E402
from cli.options import parse  # noqa: E402
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
    """A learner of the plain method (no components): as train.experiment.build_learner, with or without the cache."""
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


def ours(learner):
    """k iterations of train/loop.py on the learner's first training set -> seconds."""
    data = learner.experiment.train[0]
    return lambda k: train(learner, [(0, data)], k, learner.args.batch, quiet=True)[0]


def evaluation(learner):
    """accuracy_row over the 10 test sets (it returns host floats, so the device is synchronised)."""
    def run():
        start = time.perf_counter()
        accuracy_row(learner, learner.experiment.test, 9)
        return time.perf_counter() - start
    return run


def bare(args, data, device):
    """The limit: the fc layers' forward, backward and Adam step on batches indexed from precomputed features."""
    x, y = data.images, data.labels
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 2000), nn.ReLU(), nn.Linear(2000, 2000), nn.ReLU(),
                          nn.Linear(2000, 100)).to(device)
    optimizer = make_optimizer(model.parameters(), args.optimizer, args.lr, args.momentum)
    sampler = BatchSampler(data, args.batch)

    def steps(k):
        sync(device)
        start = time.perf_counter()
        for _ in range(k):
            index = next(sampler)
            loss = F.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        sync(device)
        return time.perf_counter() - start
    return steps


def run(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=100, help="iterations timed per variant, in segments")
    p.add_argument("--segment", type=int, default=10, help="iterations per timed segment (variants alternate)")
    p.add_argument("--eval-repeats", type=int, default=3)
    p.add_argument("--train-n", type=int, default=5000, help="training images (one CIFAR-100 context: 5000)")
    p.add_argument("--test-n", type=int, default=10000, help="test images (CIFAR-100: 10000)")
    p.add_argument("--no-gpus", action="store_true")
    a = p.parse_args(argv)
    args = parse(["--experiment=CIFAR100", "--scenario=class", "--freeze-convE", "--quiet", "--no-save"]
                 + (["--no-gpus"] if a.no_gpus else []))
    device = choose_device(args.cuda)
    experiment = synthetic_experiment(a.train_n, a.test_n, device)
    uncached, _ = learner_for(args, experiment, device, cached=False)
    cached, feature_seconds = learner_for(args, experiment, device, cached=True)
    trainers = {"uncached": ours(uncached), "cached": ours(cached),
                "bare": bare(args, cached.experiment.train[0], device)}
    for step in trainers.values():
        step(2)  # warm-up
    times = {k: [] for k in trainers}
    for _ in range(max(1, a.iters // a.segment)):
        for name, step in trainers.items():
            times[name].append(step(a.segment))
    evals = {"uncached": evaluation(uncached), "cached": evaluation(cached)}
    eval_times = {k: [] for k in evals}
    for _ in range(a.eval_repeats):
        for name, run_eval in evals.items():
            eval_times[name].append(run_eval())

    def per100(name, pick):
        return pick(times[name]) * 100 / a.segment

    print(f"device: {device}, threads: {torch.get_num_threads()}, batch {args.batch}, conv 16-32-64-128-256 frozen, "
          f"fc {args.fc_layers - 1}x{args.fc_units} -> 100; {len(times['bare'])} alternating segments of "
          f"{a.segment} iterations each")
    for label, pick in (("best segment", min), ("median segment", statistics.median)):
        u, c, b = (per100(k, pick) for k in ("uncached", "cached", "bare"))
        print(f"seconds per 100 iterations ({label}): uncached {u:.2f}, cached {c:.2f}, bare fc step (limit) {b:.2f}"
              f"; ratios cached/bare {c / b:.3f}, uncached/bare {u / b:.3f}, uncached/cached {u / c:.3f}")
    eu, ec = min(eval_times["uncached"]), min(eval_times["cached"])
    print(f"evaluation of {a.test_n} test images (best of {a.eval_repeats}): uncached {eu:.2f} s, cached {ec:.3f} s"
          f" (ratio {eu / ec:.1f}); features of {a.train_n + a.test_n} images computed once in {feature_seconds:.2f} s")


if __name__ == "__main__":
    run()
