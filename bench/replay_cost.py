#!/usr/bin/env python3
"""Cost of experience replay on split MNIST (class-IL, default protocol): one training step, one replay batch
(draw + preprocess + forward/backward of the replayed samples), and the memory-buffer update at a context's end.
The floor for a step with replay is a plain step on a batch twice as large: the same arithmetic.

Usage: OMP_NUM_THREADS=1 CL_DATA_DIR=... python3 bench/replay_cost.py [--steps N] [--no-gpus]
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from data.experiments import build_experiment  # noqa: E402
from data.tensorset import BatchSampler  # noqa: E402
from train.experiment import build_learner  # noqa: E402
from methods.buffer import MemoryBuffer  # noqa: E402
from methods.component import Replayed  # noqa: E402
from methods.er import ER  # noqa: E402
from utils.nn import make_optimizer  # noqa: E402
from cli.options import parse  # noqa: E402
from utils.runtime import choose_device, data_dir, set_seed  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n, device):
    fn()  # warm-up
    sync(device)
    start = time.perf_counter()
    for _ in range(n):
        fn()
    sync(device)
    return (time.perf_counter() - start) / n


def main():
    steps = int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 300
    extra = ["--no-gpus"] if "--no-gpus" in sys.argv else []
    args = parse(["--replay=buffer", "--no-save", "--quiet"] + extra)
    set_seed(0)
    device = choose_device(args.cuda)
    experiment = build_experiment(args.experiment, args.contexts, data_dir(None), 0, device)
    learner = build_learner(args, experiment, device)
    replay = next(c for c in learner.components if isinstance(c, ER))
    buffer = learner.provider("memory")
    model, optimizer = learner.model, make_optimizer(learner.model.parameters(), args.optimizer, args.lr, args.momentum)

    # buffer update after context 1 (random selection, as ER), and with herding
    t = time.perf_counter(); buffer.after_context(0, experiment.train[0]); sync(device)
    random_s = time.perf_counter() - t
    args.sample_selection = "herding"
    herd = MemoryBuffer(args, learner)
    t = time.perf_counter(); herd.after_context(0, experiment.train[0]); sync(device)
    herding_s = time.perf_counter() - t

    learner.context = 1
    replay.before_context(1, experiment.train[1])
    sampler = BatchSampler(experiment.train[1], args.batch)
    double = BatchSampler(experiment.train[1], 2 * args.batch)

    def step(with_replay, fused=True):  # as train.loop does it
        batch = learner.batch(experiment.train[1], next(sampler))
        replayed = [replay.replay_batch(batch, 1)] if with_replay else []
        shared = replayed if fused else []
        scores, *others = learner.forward([batch] + shared)
        replayed = [Replayed(replay, b, others[0] if fused else None) for b in replayed]
        loss = learner.criterion(scores, batch, 1)
        if with_replay:
            loss = 0.5 * loss + replay.losses(batch, scores, replayed, 1)["replay"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def step_double():  # the same arithmetic as a step with replay, without replay: one batch twice as large
        batch = learner.batch(experiment.train[1], next(double))
        loss = learner.criterion(model(batch.x, batch.context), batch, 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def replay_only():
        drawn = [Replayed(replay, replay.replay_batch(None, 1), None)]  # draw, preprocess; scored by ER itself
        replay.losses(None, None, drawn, 1)["replay"].backward()

    plain = timed(lambda: step(False), steps, device)
    both = timed(lambda: step(True), steps, device)
    apart = timed(lambda: step(True, fused=False), steps, device)
    rep = timed(replay_only, steps, device)
    big = timed(step_double, steps, device)
    print(f"device {device}, threads {torch.get_num_threads()}, batch {args.batch}")
    print(f"training step (no replay):        {1e3 * plain:.2f} ms")
    print(f"training step with replay batch:  {1e3 * both:.2f} ms  ({both / plain:.2f}x; one forward pass)")
    print(f"  same, replay batch in its own pass: {1e3 * apart:.2f} ms  ({apart / plain:.2f}x)")
    print(f"training step, batch 2x (no replay): {1e3 * big:.2f} ms  ({big / plain:.2f}x)")
    print(f"replay batch alone (draw+fwd+bwd): {1e3 * rep:.2f} ms")
    print(f"buffer update, context 1, random:  {1e3 * random_s:.1f} ms  (= {random_s / plain:.1f} steps)")
    print(f"buffer update, context 1, herding: {1e3 * herding_s:.1f} ms  (= {herding_s / plain:.1f} steps)")


if __name__ == "__main__":
    main()
