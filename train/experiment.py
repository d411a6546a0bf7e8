"""One experiment in three steps: build (data and learner), train, record.

In the academic setting the plan is one phase per context, evaluated after each (the accuracy matrix). In a
task-free experiment (args.task_free) the plan is one phase, the stream, with the consolidation event every
--update-every iterations; it is evaluated at the end (a one-row matrix) and every --acc-log iterations on --acc-n
test samples per context (the accuracy curve, by train.monitor). --test skips training: it loads the saved model
and evaluates it once.

Called by ./main.py, ./main_task_free.py and the sweeps (sweep/execute.py) with options that cli.options has
already parsed and checked, and the run's parameter stamp (cli.stamp), which names its files (train.record).
"""
import time
from collections import namedtuple

import torch

from data.benchmarks import settings_of
from data.experiments import build_experiment
from data.scenario import Scenario
from data.stream import Stream, StreamData, context_probs
from eval.evaluate import accuracy_row
from eval.metrics import stability_gap
from methods import enabled_components
from models import features, pretrained
from models.classifier import build_classifier
from train import record
from train.learner import Learner
from train.loop import train
from utils.errors import Diverged, OutputError
from utils.runtime import choose_device, data_dir, set_seed, set_threads

# data: the experiment as the learner trains on it (the frozen conv layers' features, when computed once)
Setup = namedtuple("Setup", "learner data device seconds")
# what train() runs: the plan's (context, data) entries, iterations per entry, the consolidation interval (or None)
Schedule = namedtuple("Schedule", "plan iters update_every")


def run(args, stamp):
    """Build, then train and record (or with --test, load and evaluate) the run `args` describes, named `stamp`;
    returns its record, also written as JSON. The torch thread count is --threads (else torch's default) during
    the run and is recorded: with the seed and the device it decides the numbers bit for bit.

    The record is written as soon as the accuracies are known; a side output that fails afterwards (the model, the
    pdf, visdom) is a field of the record and a line in record["output_errors"], which the caller reports."""
    before = set_threads(args.threads)
    try:
        record.check_outputs(args, stamp)
        start = time.perf_counter()
        setup = build(args)
        return (fit if args.train else test)(args, stamp, setup, start)
    finally:
        torch.set_num_threads(before)


def build(args):
    """Step 1: seed every random module, then load the data and build the learner with its components."""
    start = time.perf_counter()
    set_seed(args.seed)
    device = choose_device(args.cuda)
    experiment = build_experiment(args.experiment, args.contexts, data_dir(args.data_dir), args.seed, device,
                                  args.normalize, **settings_of(args))
    seconds = time.perf_counter() - start
    learner = build_learner(args, experiment, device)
    return Setup(learner, learner.experiment, device, seconds)


def build_learner(args, experiment, device):
    """The model (a component's, else the classifier), its components and the data it trains on."""
    scenario = Scenario(args.scenario, args.contexts, experiment.classes_per_context, args.singlehead,
                        args.active_classes)
    components = enabled_components(args)
    factory = next((c.build_model for c in components if "build_model" in c.claims(args)), None)
    model = (factory or build_classifier)(args, experiment, scenario).to(device)
    pretrained.prepare(model, args, load=args.train)  # --pre-convE, --freeze-convE (with --test: the saved model)
    learner = Learner(model, scenario, conv_features(args, model, experiment, components), args, device)
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


def watch(args, learner, data, stamp):
    """With --visdom, --pdf or --eval-contexts (task-free: always, for the accuracy curve), an observer recording
    losses and accuracies at the log points, appended after all methods."""
    if not (args.visdom or args.pdf or args.task_free or args.eval_contexts is not None):
        return None
    from train.monitor import Monitor
    plots = None
    if args.visdom:
        from eval.visdom_log import VisdomPlots
        plots = VisdomPlots(args.visdom_server, args.visdom_port, env=stamp)
    monitor = Monitor(args, learner, data.test, plots)
    learner.components.append(monitor)
    return monitor


def schedule_of(args, learner, data):
    """The contexts in turn; task-free, the stream as one entry, with contexts only the learner may see in task-IL
    (per sample), and the consolidation event every --update-every iterations."""
    if not args.task_free:
        return Schedule(learner.plan(data.train), args.iters, None)
    stream = Stream(data.train, args.stream, args.iters, args.batch, args.fuzziness, args.labels_per_batch)
    return Schedule([(None, StreamData.of(stream, visible=args.scenario == "task"))], len(stream), args.update_every)


def fit(args, stamp, setup, start):
    """Steps 2 and 3: train, evaluating after each phase, then write the record, save the model and the pdf."""
    learner, data = setup.learner, setup.data
    monitor = watch(args, learner, data, stamp)
    head = record.new(args, stamp, setup.device)
    matrix, seconds, eval_seconds, logged = [], {"data": setup.seconds}, [0.0], [0.0]

    def evaluate(context):
        t = time.perf_counter()
        logged.append(monitor.seconds if monitor is not None else 0.0)  # the logging so far, inside the phases
        upto = args.contexts - 1 if context is None else context  # (a stream: every context may have been seen)
        matrix.append(accuracy_row(learner, data.test, upto))
        eval_seconds[0] += time.perf_counter() - t

    schedule = schedule_of(args, learner, data)
    hooks = {}  # seconds of each component's after_context (e.g. EWC's Fisher), inside "train"
    try:
        phase_seconds = train(learner, schedule.plan, schedule.iters, args.batch, schedule.update_every,
                              after_context=evaluate, quiet=args.quiet, hook_seconds=hooks)
    except Diverged as e:  # not a result: recorded as such, and the run fails
        seconds["total"] = time.perf_counter() - start
        record.diverged(args, head, e, matrix, seconds)
        raise
    logging = [b - a for a, b in zip(logged, logged[1:])]  # accuracies and plots at the log points, per phase
    per_phase = [p - g for p, g in zip(phase_seconds, logging)]
    seconds.update({"train": sum(per_phase), "train_per_phase": per_phase, "eval": eval_seconds[0],
                    "after_context": hooks})
    extra = {} if data.normalisation is None else {"normalisation": data.normalisation}  # (own data)
    if monitor is not None:
        seconds["logging"] = monitor.seconds  # not in "train"
        extra["training_log"] = log = monitor.history()
        if args.eval_contexts is not None:
            extra["stability_gap"] = stability_gap(log["acc_iterations"], log["accuracy"], log["switches"])
    if args.task_free:
        log = extra.get("training_log", {})
        extra["stream"] = {"stream": args.stream, "fuzziness": args.fuzziness, "labels_per_batch":
                           args.labels_per_batch, "update_every": args.update_every,
                           "iterations": args.iters * args.contexts}
        extra["curve"] = {"iterations": log.get("acc_iterations", []), "accuracy": log.get("accuracy", [])}
    seconds["total"] = time.perf_counter() - start
    path = record.finish(args, head, matrix, seconds, extra)  # the result first: nothing after it can cost it
    if monitor is not None and monitor.plots is not None:
        monitor.plots.close()
        if monitor.plots.failed:  # its one warning was printed when it failed
            head["plots_sent"] = False
    if args.save:
        line = record.save_model(args, stamp, learner)
        if line is not None:
            record.add_error(head, "model_saved", line)
    if args.pdf:
        seconds["report"] = report(args, stamp, matrix, monitor, head)
    seconds["total"] = time.perf_counter() - start
    record.rewrite(path, head)
    return head


def test(args, stamp, setup, start):
    """--test: load the model this run saved and evaluate it on every context (record <stamp>-test.json)."""
    head = record.new(args, stamp, setup.device)
    record.load_model(args, stamp, setup.learner, setup.device)
    t = time.perf_counter()
    matrix = [accuracy_row(setup.learner, setup.data.test, args.contexts - 1)]
    seconds = {"data": setup.seconds, "eval": time.perf_counter() - t}
    seconds["total"] = time.perf_counter() - start
    path = record.finish(args, head, matrix, seconds)
    if args.pdf:
        seconds["report"] = report(args, stamp, matrix, None, head)
        seconds["total"] = time.perf_counter() - start
        record.rewrite(path, head)
    return head


def report(args, stamp, matrix, monitor, head):
    """--pdf: the run's report (task-free: above each context's probability over the stream); returns seconds. A
    report that cannot be written is head["report_saved"] false and a line in head["output_errors"]."""
    t = time.perf_counter()
    from eval.report import write_report
    probs = None
    if args.task_free:
        t_all = torch.arange(args.iters * args.contexts)
        probs = context_probs(args.stream, t_all, args.iters, args.contexts, args.fuzziness).numpy()
    try:
        write_report(record.plot_path(args, stamp), matrix, stamp, args.contexts, monitor, probs)
    except OutputError as e:
        record.add_error(head, "report_saved", f"the report was not written: {e}")
    return time.perf_counter() - t
