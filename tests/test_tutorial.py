"""NeurIPStutorial/compare_for_tutorial.py: the tutorial's methods per scenario, its colours per strategy, its 95%
confidence intervals, and its runs shared with ./compare.py."""
import argparse
import re

import pytest

from sweep.catalogue import PAPER_METHODS, TUTORIAL_METHODS
from sweep.compare import plot
from tests.conftest import run_script, tiny

EXPECTED = {
    "task": ["None", "Joint", "Separate Networks", "XdG", "EWC", "SI", "LwF", "FROMP", "DGR", "ER"],
    "domain": ["None", "Joint", "EWC", "SI", "LwF", "FROMP", "DGR", "ER"],
    "class": ["None", "Joint", "EWC", "SI", "LwF", "FROMP", "DGR", "ER", "Generative Classifier", "iCaRL"],
}


@pytest.mark.parametrize("scenario", EXPECTED)
def test_plan_lists_the_tutorials_methods(data_dir, tmp_path, scenario):
    r = run_script("NeurIPStutorial/compare_for_tutorial.py", *tiny(data_dir, tmp_path), "--experiment=splitMNIST",
                   f"--scenario={scenario}", "--seed=2", "--n-seeds=2", "--plan")
    assert r.returncode == 0, r.stderr
    listed = re.findall(r"^  (\S.*?)\s{2,}seeds 2, 3 ", r.stdout, re.M)
    assert listed == EXPECTED[scenario]
    assert f"{2 * len(EXPECTED[scenario])} runs, 0 done" in r.stdout


def test_same_runs_and_colours_as_the_papers_comparison():
    paper = {m.name: m for m in PAPER_METHODS}
    assert all(m is paper[m.name] for m in TUTORIAL_METHODS)  # same flags: the two scripts share stored runs
    colours = {m.name: m.color for m in TUTORIAL_METHODS}
    assert colours["EWC"] == "darkgreen" and colours["ER"] == "red" and colours["iCaRL"] == "purple"
    assert colours["Separate Networks"] == "dodgerblue" and colours["LwF"] == "gold"


def test_bars_show_95_percent_confidence_intervals():
    rows = [{"method": "None", "mean": 0.5, "sem": 0.1, "n": 3, "color": "grey"}]
    args = argparse.Namespace(experiment="splitMNIST", scenario="class", contexts=5)
    for z, half in ((1.96, 0.196), (1, 0.1)):
        pages = []
        plot(pages, rows, [], args, z=z)
        bars = next(c for c in pages[0].axes[0].containers if hasattr(c, "has_yerr"))  # the error bars
        segment = bars.lines[2][0].get_segments()[0]
        assert segment[1][1] - segment[0][1] == pytest.approx(2 * half)
