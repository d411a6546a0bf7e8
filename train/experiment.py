"""One experiment: build data, learner and components, train, evaluate, write the result.

In the academic setting the plan is one phase per context, evaluated after each (the accuracy matrix). In a
task-free experiment (./main_task_free.py's options) the plan is one phase, the stream, with the consolidation
event every --update-every iterations; it is evaluated at the end (a one-row matrix) and every --acc-log
iterations on --acc-n test samples per context (the accuracy curve, by train.monitor).

Called by ./main.py, ./main_task_free.py and by the sweeps (sweep/execute.py) with options that cli.options has
already parsed and checked, and the run's parameter stamp (cli.stamp), which names its files.
"""
import os
import platform
import time

import numpy as np
import torch

from data.experiments import build_experiment
from data.scenario import Scenario
from data.stream import Stream, StreamData, context_probs
from eval.evaluate import accuracy_row
from eval.metrics import summarise
from methods import enabled_components
from models import features, pretrained
from models.classifier import build_classifier
from train.learner import Learner
from train.loop import train
from utils import io
from utils.errors import DataError, Diverged, OutputError, UsageError
from utils.runtime import choose_device, data_dir, node, set_seed


def build_learner(args, experiment, device):
    scenario = Scenario(args.scenario, args.contexts, experiment.classes_per_context, args.singlehead,
                        args.active_classes)
    components = enabled_components(args)
    factory = next((c.build_model for c in components if "build_model" in c.claims(args)), None)
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
    if not (args.visdom or args.pdf or args.task_free):  # (task-free: always, for the accuracy curve)
        return None
    from train.monitor import Monitor
    plots = None
    if args.visdom:
        from eval.visdom_log import VisdomPlots
        plots = VisdomPlots(args.visdom_server, args.visdom_port, env=stamp)
    monitor = Monitor(args, learner, experiment.test, plots)
    learner.components.append(monitor)
    return monitor


def plan_of(args, learner, experiment):
    """(plan, iterations per entry): the contexts in turn; task-free, the stream as one entry, with contexts only
    the learner may see in task-IL (per sample)."""
    if not args.task_free:
        return learner.plan(experiment.train), args.iters
    stream = Stream(experiment.train, args.stream, args.iters, args.batch, args.fuzziness, args.labels_per_batch)
    data = StreamData.of(stream, visible=args.scenario == "task", update_every=args.update_every)
    return [(None, data)], len(stream)


def stream_settings(args):
    return {"stream": args.stream, "fuzziness": args.fuzziness, "labels_per_batch": args.labels_per_batch,
            "update_every": args.update_every, "iterations": args.iters * args.contexts}


def model_path(args, stamp):
    return os.path.join(args.model_dir, f"mM-{stamp}.pt")


def results_path(args, stamp):
    """A training run's record is <stamp>.json; evaluating its saved model (--test) writes <stamp>-test.json, so
    it never replaces the record a sweep reads (stamps end in -s<seed>: the names cannot meet)."""
    return os.path.join(args.results_dir, f"{stamp}.json" if args.train else f"{stamp}-test.json")


# What a finished training run's record holds (sweep.stored checks a stored record against it).
RECORD_FIELDS = ("stamp", "record", "status", "options", "accuracy_matrix", "average_accuracy", "seconds", "device",
                 "threads", "versions")


def run(args, stamp):
    """Train (or load) and evaluate one model named `stamp` (its parameter stamp); returns the result dictionary
    that is also written as JSON. The torch thread count is --threads (else torch's default) during the run and is
    recorded: with the seed and the device it decides the numbers bit for bit."""
    before = torch.get_num_threads()
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        return _run(args, stamp)
    finally:
        torch.set_num_threads(before)


def _run(args, stamp):
    io.check_writable(args.results_dir, "--results-dir")
    if args.save and args.train:
        io.check_writable(args.model_dir, "--model-dir")
    if args.pdf:
        io.check_writable(args.plot_dir, "--plot-dir")
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
    result = {"stamp": stamp, "record": "training" if args.train else "test", "status": "finished",
              "options": vars(args), "device": str(device), "threads": torch.get_num_threads(), "node": node(),
              "versions": {"python": platform.python_version(), "torch": torch.__version__,
                           "numpy": np.__version__}}
    path = results_path(args, stamp)

    def evaluate(context):
        t = time.perf_counter()
        upto = args.contexts - 1 if context is None else context  # (a stream: every context may have been seen)
        matrix.append(accuracy_row(learner, experiment.test, upto))
        eval_seconds[0] += time.perf_counter() - t

    save_error = None
    if args.train:
        plan, iters = plan_of(args, learner, experiment)
        try:
            phase_seconds = train(learner, plan, iters, args.batch, after_context=evaluate, quiet=args.quiet)
        except Diverged as e:  # not a result: recorded as such (no accuracies to average), and the run fails
            timings["total"] = time.perf_counter() - start
            io.write_json(path, {**result, "status": "diverged", "diverged": {"context": e.context,
                                 "iteration": e.iteration}, "accuracy_matrix": matrix, "seconds": timings})
            raise
        timings["train"] = sum(phase_seconds)
        timings["train_per_phase"] = phase_seconds
        if args.save:
            try:
                io.save_torch(model_path(args, stamp), {
                    "model": learner.model.state_dict(),
                    "components": {type(c).__name__: c.state_dict() for c in learner.components}})
            except OutputError as e:  # the results are still written below; the run then fails with this line
                save_error = f"the model was not saved: {e}"
    else:
        mpath = model_path(args, stamp)
        if not os.path.exists(mpath):
            raise UsageError(f"--test: no saved model {mpath} (train it first, without --no-save)")
        try:
            saved = torch.load(mpath, map_location=device, weights_only=False)
            learner.model.load_state_dict(saved["model"])
        except Exception as e:
            raise DataError(f"{mpath} is not a model saved for these options ({type(e).__name__})") from None
        for c in learner.components:
            c.load_state_dict(saved["components"].get(type(c).__name__, {}))
        evaluate(args.contexts - 1)
    timings["eval"] = eval_seconds[0]
    if monitor is not None:
        timings["logging"] = monitor.seconds  # part of "train": accuracies and plots at the log points
    if args.pdf:
        t = time.perf_counter()
        from eval.report import write_report
        probs = None
        if args.task_free:
            t_all = torch.arange(args.iters * args.contexts)
            probs = context_probs(args.stream, t_all, args.iters, args.contexts, args.fuzziness).numpy()
        write_report(os.path.join(args.plot_dir, f"{stamp}.pdf"), matrix, stamp, args.contexts, monitor, probs)
        timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    result.update({"accuracy_matrix": matrix, **summarise(matrix), "seconds": timings})
    if save_error is not None:
        result["model_saved"] = False
    if monitor is not None:
        result["training_log"] = monitor.history()
    if args.task_free:
        result["stream"] = stream_settings(args)
        log = result.get("training_log", {})
        result["curve"] = {"iterations": log.get("acc_iterations", []), "accuracy": log.get("accuracy", [])}
    io.write_json(path, result)
    if save_error is not None:
        raise OutputError(f"{save_error}; the results are in {path}")
    return result
