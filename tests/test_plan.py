"""Sweeps at scale on one machine: --plan, the cost estimates, longest-first dispatch, the progress bar."""
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time

import pytest

import compare
import sweep
from sweep import cost, script
from sweep.progress import Progress
from tests.conftest import ROOT, run_script, tiny


def options(data_dir, base, *extra):
    return tiny(data_dir, base, "--experiment=splitMNIST", "--scenario=task", "--contexts", "2", "--iters", "20",
                "--fc-units", "20", "--methods", "None,Joint", *extra)


def results(base):
    return sorted((base / "results").glob("splitMNIST*.json"))


@pytest.mark.slow
def test_plan_counts_done_and_to_do_and_runs_nothing(data_dir, tmp_path):
    r = run_script("compare.py", *options(data_dir, tmp_path), "--workers", "1")  # seed 0 of None and Joint
    assert r.returncode == 0, r.stderr
    finished = {p.name: p.stat().st_mtime_ns for p in results(tmp_path)}
    assert len(finished) == 2

    r = run_script("compare.py", *options(data_dir, tmp_path), "--n-seeds", "3", "--plan")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert re.search(r"plan: \./compare\.py .*: 6 runs, 2 done, 4 to run", out), out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and "seeds" in line}
    assert "seeds 0-2" in lines["None"] and "done 1/3 (0)" in lines["None"] and "2 x" in lines["None"]
    assert "(recorded)" in lines["None"] and "(recorded)" in lines["Joint"]  # seed 0's seconds, same protocol
    assert "(4 estimated from recorded runs of the same method and protocol, 0 from the cost model" in out
    assert {p.name: p.stat().st_mtime_ns for p in results(tmp_path)} == finished  # nothing ran, nothing moved
    assert not list((tmp_path / "results").glob("*.lock"))

    r = run_script("compare.py", *options(data_dir, tmp_path, "--iters", "30"), "--plan")  # another protocol
    assert r.returncode == 0 and "0 done, 2 to run" in r.stdout and "(model)" in r.stdout
    assert "(recorded)" not in r.stdout


def test_estimates_recorded_then_model(data_dir, tmp_path):
    s = sweep.setup(options(data_dir, tmp_path, "--n-seeds", "2"), "compare", "", compare.SWEEP.drops)
    none = sweep.method_jobs(s, sweep.method("None"))
    joint = sweep.method_jobs(s, sweep.method("Joint"))
    est = cost.estimates(none + joint, {none[0].path: 12.0})
    assert est[none[1].path] == cost.Estimate(12.0, "recorded")
    assert est[joint[0].path].source == "model"
    assert none[0].iterations == 40 and joint[0].iterations == 40  # 2 x 20; Joint: --iters=40 once
    batch = joint[0].protocol.batch  # the run's batch prices its step (the multiply-adds of sweep/cost.py)
    assert batch < 128 and cost.seconds_per_iter("splitMNIST", batch) < cost.seconds_per_iter("splitMNIST")
    assert est[joint[0].path].seconds == pytest.approx(40 * cost.seconds_per_iter("splitMNIST", batch)
                                                       * cost.FACTORS["MNIST"]["Joint"])
    assert cost.model_seconds("DGR", "splitMNIST", 100) > cost.model_seconds("None", "splitMNIST", 100)
    genc = cost.model_seconds("Generative Classifier", "CIFAR100", 0, contexts=10, eval_s=10000)
    assert genc == pytest.approx(10 * cost.GEN_CLASSIFIER_EVAL["CIFAR"] * 200 * 10)  # eval: x eval-s x classes
    assert cost.makespan([2, 3, 4, 3], 2) == 6 and cost.makespan([5, 1], 4) == 5  # longest first: 4+2, 3+3
    assert cost.duration(42) == "42 s" and cost.duration(600) == "10 min" and cost.duration(7200) == "2.0 h"


def test_longest_first_and_the_results_do_not_depend_on_the_order(data_dir, tmp_path, capsys):
    def sweep_in(base, costs_of):
        s = sweep.setup(options(data_dir, base, "--n-seeds", "2"), "compare", "", compare.SWEEP.drops)
        jobs = sweep.method_jobs(s, sweep.method("None")) + sweep.method_jobs(s, sweep.method("Joint"))
        costs = {j.path: costs_of(k) for k, j in enumerate(jobs)}
        assert sweep.execute(jobs, workers=1, expect=s.expect, costs=costs) == 0
        out = capsys.readouterr().out
        order = [(m.group(1), int(m.group(2))) for m in re.finditer(r" done (\w+) \(seed (\d)\)", out)]
        return jobs, order

    jobs, up = sweep_in(tmp_path / "a", lambda k: k)    # the last job is the most expensive: it goes first
    _, down = sweep_in(tmp_path / "b", lambda k: -k)    # the first goes first
    expected = [(j.key[0], j.seed) for j in jobs]
    assert down == expected and up == expected[::-1]
    a, b = results(tmp_path / "a"), results(tmp_path / "b")
    assert [p.name for p in a] == [p.name for p in b] and len(a) == 4
    for pa, pb in zip(a, b):
        ra, rb = json.loads(pa.read_text()), json.loads(pb.read_text())
        assert ra["accuracy_matrix"] == rb["accuracy_matrix"]  # bit for bit (floats through JSON)


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_counts_failures_and_eta():
    tty = Tty()
    p = Progress({"a": 10.0, "b": 20.0, "c": 30.0}, parallel=1, stream=tty)
    assert "sweep 0/3 runs" in tty.getvalue() and "0 failed" in tty.getvalue()
    assert p.eta() == 60.0
    p.finished("c", seconds=60.0)  # took twice its estimate: the rest is expected to, too
    assert p.eta() == pytest.approx(2 * 30.0)
    p.finished("b", failed=True)
    p.finished("b", failed=True)  # (told twice: counted once)
    text = tty.getvalue()
    assert "sweep 2/3 runs" in text and "1 failed" in text and "ETA 20 s" in text
    p.close()
    off = io.StringIO()  # not a terminal: the bar writes nothing (the per-run lines are the record)
    q = Progress({"a": 1.0}, parallel=2, stream=off)
    q.finished("a", seconds=1.0)
    q.close()
    assert off.getvalue() == ""


@pytest.mark.slow
def test_all_results_plan_adds_every_sweep_up_in_seconds(tmp_path):
    env = dict(os.environ, CL_DATA_DIR=str(tmp_path / "no-data"))
    start = time.time()
    r = subprocess.run(["bash", os.path.join(ROOT, "all_results.sh"), "--plan", f"--results-dir={tmp_path / 'r'}",
                        f"--model-dir={tmp_path / 'm'}"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    took = time.time() - start
    assert r.returncode == 0, r.stderr[-2000:]
    sweeps = [s for s in re.findall(r"^plan: \./(\S+\.py) ", r.stdout, re.M) if s != "main_pretrain.py"]
    assert len(sweeps) == 38 and set(sweeps) == set(all_results_scripts()) - {"main_pretrain.py"}
    total = re.search(r"^all: (\d+) runs in 38 sweeps, 0 done, (\d+) to run", r.stdout, re.M)
    assert total and total.group(1) == total.group(2) and int(total.group(1)) > 2000
    assert "11 pre-training(s) of conv layers to run" in r.stdout  # ./store/models has none of them
    assert not list((tmp_path / "r").glob("*.json")) and not (tmp_path / "m").exists()
    print(f"all_results.sh --plan: {took:.1f} s")


def all_results_scripts():
    """The scripts that all_results.sh runs (its `run ./<script> ...` lines)."""
    with open(os.path.join(ROOT, "all_results.sh")) as f:
        return re.findall(r"^\s*run (?:python3 |\./)(\S+\.py)", f.read(), re.M)


def test_plan_all_finds_every_sweep_script_that_all_results_runs():
    found = script.find(ROOT)
    assert set(all_results_scripts()) - {"main_pretrain.py"} <= set(found)
    assert {"compare.py", "compare_hyperParams.py", "compare_replay.py", "compare_task_free.py",
            "compare_hyperParams_task_free.py"} <= set(found)
    assert not {"main.py", "main_task_free.py", "plan_all.py"} & set(found)


NEW_SCRIPT = '''"""A sweep script that no other file names."""
import sys

from sweep import run_cli
from sweep.catalogue import method
from sweep.compare import Comparison

SWEEP = Comparison("compare_new", "A new comparison.", methods=[method("None"), method("Joint")])


def main(argv=None, **changes):
    return SWEEP.run(argv, **changes)


if __name__ == "__main__":
    sys.exit(run_cli(main))
'''


@pytest.mark.slow
def test_a_new_sweep_script_is_one_file(data_dir, tmp_path):
    """Written in a folder of its own, it is found and planned by plan_all.py: nothing else is edited."""
    study = tmp_path / "NewStudy"
    study.mkdir()
    (study / "compare_new.py").write_text(NEW_SCRIPT)
    assert script.find(str(tmp_path)) == [os.path.join("NewStudy", "compare_new.py")]
    line = shlex.join([str(study / "compare_new.py"), *options(data_dir, tmp_path, "--n-seeds", "2")])
    r = subprocess.run([sys.executable, os.path.join(ROOT, "plan_all.py")], input=line + "\n", cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "compare_new.py" in r.stdout and re.search(r"^all: 4 runs in 1 sweeps, 0 done, 4 to run", r.stdout, re.M)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "plan_all.py")], input="./main.py --plan\n", cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "./main.py: not a sweep script (found: " in r.stderr
    assert ", compare.py, " in r.stderr and "StabilityGap/stability_gap_example.py" in r.stderr
