"""A run's files: where they go, saving and loading its model, and its JSON record.

A training run's record is `<results-dir>/<stamp>.json`; evaluating its saved model again (--test) writes
`<stamp>-test.json`, so it never replaces the record a sweep reads (stamps end in -s<seed>: the names cannot meet).
The model goes to `<model-dir>/mM-<stamp>.pt` with every component's state, so that --test predicts as the run did.
"""
import os
import platform
import tempfile

import numpy as np
import torch

from eval.metrics import summarise
from methods import record_marks
from utils import io
from utils.errors import DataError, OutputError, UsageError
from utils.runtime import node

# What a finished training run's record holds (sweep.stored checks a stored record against it).
RECORD_FIELDS = ("stamp", "record", "status", "options", "accuracy_matrix", "average_accuracy", "seconds", "device",
                 "threads", "versions")


def model_path(args, stamp):
    return os.path.join(args.model_dir, f"mM-{stamp}.pt")


def results_path(args, stamp):
    return os.path.join(args.results_dir, f"{stamp}.json" if args.train else f"{stamp}-test.json")


def plot_path(args, stamp):
    return os.path.join(args.plot_dir, f"{stamp}.pdf")


def check_outputs(args, stamp):
    """Every folder this run will write to can be written, and its files' names fit there, checked before any work
    (one line if not); temporary files left there by killed writers are removed (utils.io.clean_temporary)."""
    io.check_writable(args.results_dir, "--results-dir", [os.path.basename(results_path(args, stamp))])
    if args.save and args.train:
        io.check_writable(args.model_dir, "--model-dir", [os.path.basename(model_path(args, stamp))])
    if args.pdf:
        io.check_writable(args.plot_dir, "--plot-dir", [os.path.basename(plot_path(args, stamp))])


def new(args, stamp, device):
    """The record's head: what ran, where and with which versions (the results are added by `finish`)."""
    head = {"stamp": stamp, "record": "training" if args.train else "test", "status": "finished",
            "options": vars(args), "device": str(device), "threads": torch.get_num_threads(), "node": node(),
            "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}}
    if args.depth > 0:  # the conv layers have the paper's biases (records made before them are rerun by sweeps)
        head["conv_bias"] = True
    head.update(record_marks(args))  # which architecture of its methods made it (Component.record_marks)
    return head


def diverged(args, record, error, matrix, seconds):
    """Write the record of a run stopped by a non-finite loss: not a result (no accuracies to average)."""
    io.write_json(results_path(args, record["stamp"]), {
        **record, "status": "diverged", "diverged": {"context": error.context, "iteration": error.iteration},
        "accuracy_matrix": matrix, "seconds": seconds})


def finish(args, record, matrix, seconds, extra=None):
    """Add the accuracies, their summary, the seconds and `extra` fields to `record` and write it, before any side
    output (model, pdf) is tried; returns its path. If --results-dir cannot take it (a full disk), it goes to a
    fallback place (fallback), and the line saying so is added to record["output_errors"]."""
    record.update({"accuracy_matrix": matrix, **summarise(matrix), "seconds": seconds, **(extra or {})})
    path = results_path(args, record["stamp"])
    try:
        io.write_json(path, record)
    except OutputError as e:
        return fallback(args, record, e)
    return path


def fallback(args, record, error):
    """Write `record` where it fits after --results-dir refused it: beside the model, else in the temporary
    folder; returns the path (None if nowhere)."""
    name = os.path.basename(results_path(args, record["stamp"]))
    places = ([args.model_dir] if args.save and args.train else []) + [tempfile.gettempdir()]
    for folder in places:
        path = os.path.join(folder, name)
        line = f"{error}; the results are in {path} instead"
        trial = {**record, "results_saved": False, "output_errors": [*record.get("output_errors", []), line]}
        try:
            io.write_json(path, trial)
        except OutputError:
            continue
        record.update(trial)
        return path
    add_error(record, "results_saved", f"{error}, nor anywhere else: the results are only shown")
    return None


def add_error(record, field, line):
    """A side output that failed: `field` false in the record (e.g. model_saved), and the line saying why."""
    if field is not None:
        record[field] = False
    record.setdefault("output_errors", []).append(line)


def rewrite(path, record):
    """Write `record` again at `path` (the seconds and side outputs known after the first write); the first,
    complete version stays if this fails."""
    if path is None:
        return
    try:
        io.write_json(path, record)
    except OutputError:
        pass


def save_model(args, stamp, learner):
    """Save the model and its components' state; returns None, or the line saying why it could not be saved."""
    try:
        io.save_torch(model_path(args, stamp), {
            "model": learner.model.state_dict(),
            "components": {type(c).__name__: c.state_dict() for c in learner.components}})
    except OutputError as e:
        return f"the model was not saved: {e}"
    return None


def load_model(args, stamp, learner, device):
    """Load the model this run's options saved (--test), with its components' state."""
    path = model_path(args, stamp)
    if not os.path.exists(path):
        raise UsageError(f"--test: no saved model {path} (train it first, without --no-save)")
    try:
        saved = torch.load(path, map_location=device, weights_only=False)
        learner.model.load_state_dict(saved["model"])
        for c in learner.components:
            c.load_state_dict(saved["components"].get(type(c).__name__, {}))
    except Exception as e:  # another run's file, or one of an earlier architecture (e.g. VAEs before issue 25)
        raise DataError(f"{path} is not a model saved for these options by this code's architecture "
                        f"({type(e).__name__}): train it again") from None
