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
from methods.component import is_task_free
from models import pretrained
from models.classifier import build_classifier
from train.learner import Learner
from train.loop import train
from utils import io
from utils.errors import DataError, UsageError
from utils.runtime import choose_device, data_dir, set_seed


def build_learner(args, experiment, device):
    scenario = Scenario(args.scenario, args.contexts, experiment.classes_per_context, args.singlehead,
                        args.active_classes)
    components = enabled_components(args)
    factory = next((c.build_model for c in components if "build_model" in c.claims(args)), None)
    model = (factory or build_classifier)(args, experiment, scenario).to(device)
    pretrained.prepare(model, args, load=args.train)  # --pre-convE, --freeze-convE (with --test: the saved model)
    learner = Learner(model, scenario, experiment, args, device)
    learner.components = [c(args, learner) for c in components]
    return learner


def watch(args, learner, experiment, stamp):
    """With --visdom or --pdf, an observer recording losses and accuracies at the log points (after all methods)."""
    if not (args.visdom or args.pdf or is_task_free(args)):  # (task-free: always, for the accuracy curve)
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
    if not is_task_free(args):
        return learner.plan(experiment.train), args.iters
    stream = Stream(experiment.train, args.stream, args.iters, args.batch, args.fuzziness, args.labels_per_batch)
    data = StreamData.of(stream, visible=args.scenario == "task", update_every=args.update_every)
    return [(None, data)], len(stream)


def stream_settings(args):
    return {"stream": args.stream, "fuzziness": args.fuzziness, "labels_per_batch": args.labels_per_batch,
            "update_every": args.update_every, "iterations": args.iters * args.contexts}


def model_path(args, stamp):
    return os.path.join(args.model_dir, f"mM-{stamp}.pt")


def run(args, stamp):
    """Train (or load) and evaluate one model named `stamp` (its parameter stamp); returns the result dictionary
    that is also written as JSON."""
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
    monitor = watch(args, learner, experiment, stamp) if args.train else None
    matrix, eval_seconds = [], [0.0]

    def evaluate(context):
        t = time.perf_counter()
        upto = args.contexts - 1 if context is None else context  # (a stream: every context may have been seen)
        matrix.append(accuracy_row(learner, experiment.test, upto))
        eval_seconds[0] += time.perf_counter() - t

    if args.train:
        plan, iters = plan_of(args, learner, experiment)
        phase_seconds = train(learner, plan, iters, args.batch, after_context=evaluate, quiet=args.quiet)
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
        probs = None
        if is_task_free(args):
            t_all = torch.arange(args.iters * args.contexts)
            probs = context_probs(args.stream, t_all, args.iters, args.contexts, args.fuzziness).numpy()
        write_report(os.path.join(args.plot_dir, f"{stamp}.pdf"), matrix, stamp, args.contexts, monitor, probs)
        timings["report"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - start
    summary = summarise(matrix)
    result = {"stamp": stamp, "options": vars(args), "accuracy_matrix": matrix, **summary, "seconds": timings,
              "device": str(device),
              "versions": {"python": platform.python_version(), "torch": torch.__version__,
                           "numpy": np.__version__}}
    if monitor is not None:
        result["training_log"] = monitor.history()
    if is_task_free(args):
        result["stream"] = stream_settings(args)
        log = result.get("training_log", {})
        result["curve"] = {"iterations": log.get("acc_iterations", []), "accuracy": log.get("accuracy", [])}
    io.write_json(os.path.join(args.results_dir, f"{stamp}.json"), result)
    return result
