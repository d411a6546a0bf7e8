"""Progress bars: shown on a terminal with context k/n, loss and batch accuracy; silent in logs and with --quiet."""
import functools
import io
import sys

import pytest
import torch
from tqdm import tqdm

from data.experiments import build_experiment
from train import loop
from train.experiment import build_learner
from train.learner import Batch
from train.loop import progress, train
from cli.options import parse
from tests.conftest import tiny


class Terminal(io.StringIO):
    def isatty(self):
        return True


def tiny_learner(data_dir, tmp_path, *extra):
    args = parse(tiny(data_dir, tmp_path, "--iters", "30", *extra))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    return args, experiment, build_learner(args, experiment, torch.device("cpu"))


@pytest.mark.slow  # about 4 s of CPU each
@pytest.mark.parametrize("terminal,quiet,shown", [(True, False, True), (True, True, False), (False, False, False)])
def test_bar_only_on_a_terminal_without_quiet(data_dir, tmp_path, monkeypatch, terminal, quiet, shown):
    args, experiment, learner = tiny_learner(data_dir, tmp_path)
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.setattr(loop, "tqdm", functools.partial(tqdm, mininterval=0, miniters=1))  # redraw every step
    plan = list(enumerate(experiment.train))[:2]
    train(learner, plan, args.iters, args.batch, quiet=quiet)
    text = stream.getvalue()
    if not shown:
        assert text == ""
        return
    assert "context 1/2" in text and "context 2/2" in text
    assert "30/30" in text            # iteration counter
    assert "loss=" in text and "acc=" in text
    assert text.count("acc=") >= 2 * (args.iters // loop.LOG_EVERY)  # updated every LOG_EVERY iterations


def test_postfix_shows_batch_accuracy_and_loss_terms(data_dir, tmp_path):
    args, experiment, learner = tiny_learner(data_dir, tmp_path, "--scenario", "class")
    learner.context = 1  # classes 0..3 seen
    y = torch.tensor([0, 1, 2, 3, 3])
    scores = torch.full((5, 10), -1.0)
    scores[torch.arange(5), torch.tensor([0, 1, 2, 0, 9])] = 5.0  # 3 of 5 right
    batch = Batch(x=None, y=y, context=torch.tensor([0, 0, 1, 1, 1]))
    current = torch.tensor(0.75)
    shown = progress(learner, batch, scores, current, {"current": current})
    assert shown == {"loss": "0.75", "acc": "0.6"}
    total = torch.tensor(1.25)
    shown = progress(learner, batch, scores, total, {"current": current, "ewc": torch.tensor(0.5)})
    assert shown == {"loss": "1.25", "current": "0.75", "ewc": "0.5", "acc": "0.6"}
    # task-incremental: accuracy within each sample's own head
    args, experiment, learner = tiny_learner(data_dir, tmp_path, "--scenario", "task")
    batch = Batch(x=None, y=torch.tensor([2, 3]), context=1)
    scores = torch.zeros(2, 10)
    scores[0, 2], scores[1, 9] = 1.0, 1.0  # first right in head 1; second's max is in another head -> unit 2
    assert progress(learner, batch, scores, current, {"current": current})["acc"] == "0.5"
