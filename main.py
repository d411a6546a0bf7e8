#!/usr/bin/env python3
"""Run one continual-learning experiment in the academic setting (contexts with known boundaries)."""
import os
import platform
import sys
import time

import numpy as np
import torch

from data.experiments import build_experiment
from data.scenario import Scenario
from eval.evaluate import accuracy_row
from eval.metrics import format_table, summarise
from methods.baselines import Joint
from models import features, pretrained
from models.classifier import build_classifier
from train.learner import Learner
from train.loop import train
from utils import io
from utils.errors import DataError, UsageError, run_cli
from utils.options import enabled_components, parse
from utils.runtime import choose_device, data_dir, set_seed
from utils.stamp import param_stamp


def build_learner(args, experiment, device):
    scenario = Scenario(args.scenario, args.contexts, experiment.classes_per_context, args.singlehead,
                        args.active_classes)
    components = enabled_components(args)
    factory = next((c.build_model for c in components if c.build_model is not None), None)
    model = (factory or build_classifier)(args, experiment, scenario).to(device)
    pretrained.prepare(model, args, load=args.train)  # --pre-convE, --freeze-convE (with --test: the saved model)
    experiment = conv_features(args, model, experiment, components)
    learner = Learner(model, scenario, experiment, args, device)
    learner.components = [c(args, learner) for c in components]
    return learner


def conv_features(args, model, experiment, components):
    """--freeze-convE in training: the frozen conv layers' features of every image, computed once (models/features.py),
    unless a component needs the images themselves (pixel_input)."""
    if not (args.train and args.freeze_convE) or any(c.pixel_input for c in components):
        return experiment
    start = time.perf_counter()
    cached = features.precompute(model, experiment)
    if cached is None:
        return experiment
    n = sum(len(s) for s in cached.train + cached.test)
    print(f"features computed once: {n} images in {time.perf_counter() - start:.1f} s")
    return cached


def watch(args, learner, experiment, stamp):
    """With --visdom or --pdf, an observer recording losses and accuracies at the log points (after all methods)."""
    if not (args.visdom or args.pdf):
        return None
    from eval.monitor import Monitor
    plots = None
    if args.visdom:
        from eval.visdom_log import VisdomPlots
        plots = VisdomPlots(args.visdom_server, args.visdom_port, env=stamp)
    monitor = Monitor(args, learner, experiment.test, plots)
    learner.components.append(monitor)
    return monitor


def model_path(args, stamp):
    return os.path.join(args.model_dir, f"mM-{stamp}.pt")


def run(args):
    """Train (or load) and evaluate one model; returns the result dictionary that is also written as JSON."""
    stamp = param_stamp(args)
    io.check_writable(args.results_dir)
    if args.save and args.train:
        io.check_writable(args.model_dir)
    if args.pdf:
        io.check_writable(args.plot_dir)
    timings = {}
    start = time.perf_counter()
    set_seed(args.seed)
    device = choose_device(args.cuda)
    experiment = build_experiment(args.experiment, args.contexts, data_dir(args.data_dir), args.seed, device,
                                  args.normalize)
    timings["data"] = time.perf_counter() - start
    learner = build_learner(args, experiment, device)
    experiment = learner.experiment  # conv features in place of the images, when computed once
    monitor = watch(args, learner, experiment, stamp) if args.train else None
    matrix, eval_seconds = [], [0.0]

    def evaluate(context):
        t = time.perf_counter()
        matrix.append(accuracy_row(learner, experiment.test, context))
        eval_seconds[0] += time.perf_counter() - t

    if args.train:
        plan = Joint.plan(experiment.train) if args.joint else list(enumerate(experiment.train))
        phase_seconds = train(learner, plan, args.iters, args.batch, after_context=evaluate, quiet=args.quiet)
        timings["train"] = sum(phase_seconds)
        timings["train_per_phase"] = phase_seconds
        if args.save:
            io.save_torch(model_path(args, stamp), {
                "model": learner.model.state_dict(),
                "components": {type(c).__name__: c.state_dict() for c in learner.components}})
    else:
        path = model_path(args, stamp)
        if not os.path.exists(path):
            raise UsageError(f"--test: no saved model {path} (train it first, without --no-save)")
        try:
            saved = torch.load(path, map_location=device, weights_only=False)
            learner.model.load_state_dict(saved["model"])
        except Exception as e:
            raise DataError(f"{path} is not a model saved for these options ({type(e).__name__})") from None
        for c in learner.components:
            c.load_state_dict(saved["components"].get(type(c).__name__, {}))
        evaluate(args.contexts - 1)
    timings["eval"] = eval_seconds[0]
    if monitor is not None:
        timings["logging"] = monitor.seconds  # part of "train": accuracies and plots at the log points
    if args.pdf:
        t = time.perf_counter()
        from eval.report import write_report
        write_report(os.path.join(args.plot_dir, f"{stamp}.pdf"), matrix, stamp, args.contexts, monitor)
        timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    summary = summarise(matrix)
    result = {"stamp": stamp, "options": vars(args), "accuracy_matrix": matrix, **summary, "seconds": timings,
              "device": str(device),
              "versions": {"python": platform.python_version(), "torch": torch.__version__,
                           "numpy": np.__version__}}
    if monitor is not None:
        result["training_log"] = monitor.history()
    io.write_json(os.path.join(args.results_dir, f"{stamp}.json"), result)
    return result


def main(argv=None):
    args = parse(argv)
    if args.get_stamp:
        print(param_stamp(args))
        return 0
    result = run(args)
    print(format_table(result["accuracy_matrix"], result))
    seconds = result["seconds"]
    if args.train:
        print(f"=> training time: {seconds['train']:.1f} s (total {seconds['total']:.1f} s)")
    elif args.time:
        print(f"=> total time: {seconds['total']:.1f} s (no training with --test)")
    print(f"=> results: {os.path.join(args.results_dir, result['stamp'] + '.json')}")
    if args.pdf:
        print(f"=> report: {os.path.join(args.plot_dir, result['stamp'] + '.pdf')}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
