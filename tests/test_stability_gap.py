"""Continual evaluation (--eval-contexts, --eval-every, --eval-n), the stability gap measured from its curve,
cumulative training with a growing batch (--grow-batch), and StabilityGap/stability_gap_example.py."""
import json
import os

import pytest

import main
from eval.metrics import stability_gap
from tests.conftest import ROOT, tiny
from train.learner import Learner


def test_stability_gap_of_a_known_curve():
    # context 1: 0.9 before the switch at 3, falls to 0.6 two iterations later, back within 1 point at 7
    iterations = list(range(1, 11))
    acc1 = [0.5, 0.8, 0.9, 0.7, 0.6, 0.8, 0.895, 0.9, 0.5, 0.55]
    acc2 = [None, None, None, 0.3, 0.5, 0.6, 0.7, 0.75, 0.7, 0.8]
    gaps = stability_gap(iterations, [[a, b] for a, b in zip(acc1, acc2)], [3, 8])
    assert [(g["switch"], g["context"]) for g in gaps] == [(3, 1), (8, 1), (8, 2)]
    first, second, third = gaps
    assert first["before"] == 0.9 and first["minimum"] == 0.6 and first["minimum_at"] == 2
    assert first["depth"] == pytest.approx(0.3) and first["recovered_after"] == 4
    assert second["before"] == 0.9 and second["minimum"] == 0.5 and second["recovered_after"] is None  # never back
    assert third["before"] == 0.75 and third["minimum"] == 0.7 and third["recovered_after"] == 2


def run(data_dir, tmp_path, *extra):
    base = tiny(data_dir, tmp_path, "--experiment=rotMNIST", "--rotations=0,90,180", "--scenario=domain",
                "--iters=12", "--no-save", "--threads=1", *extra)
    assert main.main(base) == 0
    records = sorted((tmp_path / "results").glob("*.json"), key=os.path.getmtime)
    return json.loads(records[-1].read_text())


def test_continual_evaluation_curve_and_gap_in_the_record(data_dir, tmp_path):
    plain = run(data_dir, tmp_path / "a")
    evaluated = run(data_dir, tmp_path / "b", "--eval-contexts=1", "--eval-every=1", "--eval-n=100000")
    assert evaluated["accuracy_matrix"] == plain["accuracy_matrix"]  # evaluating does not change the training
    assert plain["stamp"] != evaluated["stamp"] and "--ce1-e1-n100000-s0" in evaluated["stamp"]
    assert plain["stamp"].replace("-s0", "") in evaluated["stamp"] and "training_log" not in plain
    log = evaluated["training_log"]
    assert log["acc_iterations"] == list(range(1, 37)) and log["switches"] == [12, 24]
    assert all(row[0] is not None and row[1:] == [None, None] for row in log["accuracy"])
    # all test samples: the point at the end of each phase is the accuracy matrix's entry for context 1
    for phase, t in enumerate((12, 24, 36)):
        assert log["accuracy"][t - 1][0] == pytest.approx(evaluated["accuracy_matrix"][phase][0])
    gaps = evaluated["stability_gap"]
    assert [(g["switch"], g["context"]) for g in gaps] == [(12, 1), (24, 1)]
    curve = [row[0] for row in log["accuracy"]]
    assert gaps[0]["before"] == curve[11] and gaps[0]["minimum"] == min(curve[12:24])
    assert gaps[1]["minimum"] == min(curve[24:36])


def test_eval_n_and_all_contexts(data_dir, tmp_path):
    record = run(data_dir, tmp_path, "--eval-contexts=all", "--eval-every=6", "--eval-n=7")
    log = record["training_log"]
    assert log["acc_iterations"] == [6, 12, 18, 24, 30, 36]
    assert [sum(a is not None for a in row) for row in log["accuracy"]] == [1, 1, 2, 2, 3, 3]  # contexts so far
    assert all(round(a * 7) == pytest.approx(a * 7) for row in log["accuracy"] for a in row if a is not None)


@pytest.mark.parametrize("grow,sizes", [(False, [32, 32, 32]), (True, [32, 64, 96])])
def test_grow_batch_gives_a_batch_per_context_seen(data_dir, tmp_path, monkeypatch, grow, sizes):
    seen = []
    original = Learner.batch_sampler

    def spy(self, dataset, batch_size, context):
        seen.append(batch_size)
        return original(self, dataset, batch_size, context)
    monkeypatch.setattr(Learner, "batch_sampler", spy)
    record = run(data_dir, tmp_path, "--cummulative", *(["--grow-batch"] if grow else []))
    assert seen == sizes
    assert record["stamp"].endswith("--CUMMULATIVE" + ("-gb" if grow else "") + "-s0")


@pytest.mark.slow
def test_the_example_script_plans_and_runs_methods_in_one_figure(data_dir, tmp_path):
    from tests.conftest import run_script
    argv = tiny(data_dir, tmp_path, "--iters=10", "--eval-n=50", "--methods=Incremental Joint,None", "--threads=1")
    plan = run_script("StabilityGap/stability_gap_example.py", *argv, "--plan")
    assert plan.returncode == 0, plan.stderr
    assert "2 runs, 0 done, 2 to run" in plan.stdout
    r = run_script("StabilityGap/stability_gap_example.py", *argv, "--workers=1")
    assert r.returncode == 0, r.stderr
    table = next((tmp_path / "results").glob("stability_gap_example-rotMNIST3-r0_80_160-domain-s0-*.json"))
    rows = json.loads(table.read_text())["rows"]
    assert [(r["method"], r["switch"], r["context"]) for r in rows] == [
        ("Incremental Joint", 10, 1), ("Incremental Joint", 20, 1), ("None", 10, 1), ("None", 20, 1)]
    runs = {json.loads(p.read_text())["stamp"] for p in (tmp_path / "results").glob("rotMNIST*.json")}
    assert any("CUMMULATIVE-gb--ce1-e1-n50" in s for s in runs) and len(runs) == 2
    assert any(p.name.startswith("stability_gap_example-") for p in (tmp_path / "plots").glob("*.pdf"))
    # a method flag instead of the list: that method alone
    own = run_script("StabilityGap/stability_gap_example.py", *argv[:-2], "--threads=1", "--replay=buffer",
                     "--plan")
    assert own.returncode == 0 and "--replay=buffer " in own.stdout and "1 runs" in own.stdout, own.stderr
    assert os.path.exists(os.path.join(ROOT, "StabilityGap", "stability_gap_example.py"))
