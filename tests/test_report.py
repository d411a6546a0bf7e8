"""--pdf: the report exists, has its pages, renders (parsed by pypdf), and shows the run's numbers; --time."""
import json
import re

import numpy as np
import pypdf
import pytest
import torch

import main
from train import experiment
from eval.report import grid
from methods.component import Component
from tests.conftest import run_script, tiny
from cli.options import parse


def cells_of(text):
    """Numbers with one decimal standing alone (the heat-map's cell labels; not 0.001 in 'lr0.001')."""
    return re.findall(r"(?<![\w.])\d+\.\d(?![\w.])", text)


def page_texts(path):
    reader = pypdf.PdfReader(str(path), strict=True)
    return reader, [page.extract_text() for page in reader.pages]


@pytest.mark.slow
def test_pdf_report_and_time(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task", "--pdf", "--time", "--acc-log", "10",
                                    "--loss-log", "5", "--no-save"))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert "training time" in r.stdout and f"{result['seconds']['train']:.1f} s" in r.stdout
    assert 0 < result["seconds"]["train"] < result["seconds"]["total"] and result["seconds"]["report"] > 0
    path = tmp_path / "plots" / f"{result['stamp']}.pdf"
    assert [p.name for p in (tmp_path / "plots").iterdir()] == [path.name]  # no temporary file left
    assert f"report: {path}" in r.stdout

    reader, texts = page_texts(path)
    assert len(texts) == 4  # accuracy per context, average accuracy, accuracy matrix, loss
    for page in reader.pages:
        assert [round(float(v)) for v in page.mediabox[2:]] == [576, 396]  # 8 x 5.5 inches
    stamp_lines = [t for t in texts if result["stamp"] in t]
    assert len(stamp_lines) == 4
    assert "test accuracy per context" in texts[0] and all(f"context {j}" in texts[0] for j in range(1, 6))
    assert "average test accuracy" in texts[1]
    assert "accuracy matrix" in texts[2]
    # the heat-map's cell labels are the accuracy matrix of the JSON, in percent, row by row
    cells = cells_of(texts[2])
    assert cells == [f"{100 * a:.1f}" for row in result["accuracy_matrix"] for a in row]
    assert "training loss" in texts[3] and "current" in texts[3]
    # what the report plots is in the JSON too: 150 iterations, accuracy every 10, loss every 5
    log = result["training_log"]
    assert log["acc_iterations"] == list(range(10, 151, 10))
    assert log["loss"]["current"]["iterations"] == list(range(5, 151, 5))
    assert log["accuracy"][0][1:] == [None] * 4 and None not in log["accuracy"][-1]


class FakeGenerator(Component):
    """Stands in for a generative model: the report shows its samples after every context."""
    name = "fake-generator"

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.calls, self.drawn, self.rng = [], [], torch.Generator().manual_seed(0)

    def sample(self, n):
        self.calls.append(n)
        self.drawn.append(torch.rand(n, 1, 28, 28, generator=self.rng))
        return self.drawn[-1]


@pytest.mark.slow
def test_monitoring_changes_nothing_samples_hook_and_test_mode(data_dir, tmp_path, monkeypatch):
    # with dropout, leaving the model in eval mode or drawing random numbers would change the results
    base = tiny(data_dir, tmp_path, "--acc-log", "7", "--loss-log", "3", "--fc-drop", "0.2")
    plain = main.run(parse(base))
    assert "training_log" not in plain
    saved = tmp_path / "models" / f"mM-{plain['stamp']}.pt"
    plain_weights = torch.load(saved)["model"]
    watched = main.run(parse(base + ["--pdf"]))  # saves over the same file
    # the observer evaluates the model between steps: training must come out exactly the same
    watched_weights = torch.load(saved)["model"]
    assert all(torch.equal(plain_weights[k], watched_weights[k]) for k in plain_weights)
    assert watched["accuracy_matrix"] == plain["accuracy_matrix"]
    assert len(watched["training_log"]["acc_iterations"]) == 150 // 7

    # --test with --pdf: only the accuracy matrix (one row) can be shown
    tested = main.run(parse(base + ["--test", "--pdf"]))
    _, texts = page_texts(tmp_path / "plots" / f"{tested['stamp']}.pdf")
    assert len(texts) == 1
    assert cells_of(texts[0]) == [f"{100 * a:.1f}" for a in plain["accuracy_matrix"][-1]]

    generators = []
    build = experiment.build_learner

    def with_generator(args, experiment, device):
        learner = build(args, experiment, device)
        learner.components.append(FakeGenerator(args, learner))
        generators.append(learner.components[-1])
        return learner

    monkeypatch.setattr(experiment, "build_learner", with_generator)
    result = main.run(parse(base + ["--pdf", "--no-save", "--sample-n", "16"]))
    assert generators[0].calls == [16] * 5  # once after each context (no visdom: no samples during training)
    reader, texts = page_texts(tmp_path / "plots" / f"{result['stamp']}.pdf")
    assert len(texts) == 4 + 5
    for k, page in enumerate(reader.pages[4:]):
        assert f"samples after context {k + 1}" in texts[4 + k]
        names = re.findall(rb"/(I\d+) Do", page.get_contents().get_data())  # the images this page draws
        assert len(names) == 1
        shown = np.asarray(page.images["/" + names[0].decode()].image.convert("L"), dtype=float) / 255
        expected = grid(generators[0].drawn[k].numpy())[..., 0]  # 16 images of 28x28 in a 4x4 grid
        assert shown.shape == expected.shape == (117, 117)
        # pixel for pixel (8-bit grey); matplotlib may store the image bottom row first
        assert min(np.abs(shown - expected).max(), np.abs(shown - expected[::-1]).max()) < 2.5 / 255
