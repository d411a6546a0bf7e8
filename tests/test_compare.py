"""compare.py and its siblings: resume, serial = parallel = Ray, failed runs, summary files, method lists."""
import csv
import json
import math
import os
import subprocess
import sys
import time

import pytest
import torch

import compare
import compare_hyperParams
import compare_replay
from tests.conftest import ROOT, run_script, tiny
import sweep
from sweep import Method


def options(data_dir, base):
    """Tiny runs (2 contexts): results and models under `base`, with the sweeps' default thread count per run
    (sweep.DEFAULT_THREADS, whatever --workers is)."""
    return tiny(data_dir, base, "--experiment=splitMNIST", "--scenario=task", "--contexts", "2", "--iters", "20",
                "--fc-units", "20", "--methods", "None,Joint")


def summary(base, prefix, n_runs=None):
    """The rows of the one summary <prefix>-... under base/results (of the one covering n_runs runs when given:
    sweeps of other runs write summaries of other names), and its path stem."""
    found = [(p, json.loads(p.read_text())) for p in (base / "results").glob(f"{prefix}-splitMNIST2-task-*.json")]
    found = [(p, d) for p, d in found if n_runs is None or len(d["runs"]) == n_runs]
    assert len(found) == 1, [p.name for p, _ in found]
    return found[0][1]["rows"], found[0][0].with_suffix("")


def result_files(base):
    return sorted(p for p in (base / "results").glob("splitMNIST*.json"))


def mtimes(files):
    return {p.name: p.stat().st_mtime_ns for p in files}


@pytest.fixture(scope="module")
def serial(data_dir, tmp_path_factory):
    """A serial sweep (None and Joint x seeds 0, 1) killed after its first result, then resumed, then re-called."""
    base = tmp_path_factory.mktemp("serial")
    argv = [*options(data_dir, base), "--n-seeds", "2", "--workers", "1"]
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "compare.py"), *argv], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120

    def first_run_done():  # its record and its model (the record is written first: train/experiment.fit)
        return any((base / "models" / f"mM-{f.stem}.pt").exists() for f in result_files(base))
    while not first_run_done() and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    p.kill()
    p.wait()
    before_resume = mtimes(result_files(base))
    resumed = run_script("compare.py", *argv)
    after_resume = mtimes(result_files(base))
    again = run_script("compare.py", *argv)
    return dict(base=base, argv=argv, before_resume=before_resume, resumed=resumed, after_resume=after_resume,
                again=again, after_again=mtimes(result_files(base)))


@pytest.mark.slow
def test_resume_after_kill_recomputes_nothing_and_loses_nothing(serial):
    assert 1 <= len(serial["before_resume"]) < 4, "the sweep was not stopped half-way"
    assert serial["resumed"].returncode == 0, serial["resumed"].stderr
    assert f"{len(serial['before_resume'])} already done" in serial["resumed"].stdout
    after = serial["after_resume"]
    assert len(after) == 4
    assert all(after[name] == t for name, t in serial["before_resume"].items())  # not recomputed
    assert serial["again"].returncode == 0
    assert "4 already done, 0 to run" in serial["again"].stdout
    assert serial["after_again"] == after


def _weights(base, stamp):
    return torch.load(base / "models" / f"mM-{stamp}.pt", weights_only=False)["model"]


def _same_runs(serial, base_b, seeds=(0, 1)):
    base_a = serial["base"]
    files = [base_a / "results" / name for name in serial["after_resume"]
             if int(name[:-len(".json")].rsplit("-s", 1)[1]) in seeds]
    assert len(files) == 2 * len(seeds)
    for path in files:
        a, b = json.loads(path.read_text()), json.loads((base_b / "results" / path.name).read_text())
        assert a["accuracy_matrix"] == b["accuracy_matrix"]
        wa, wb = _weights(base_a, a["stamp"]), _weights(base_b, b["stamp"])
        assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.slow
def test_parallel_gives_the_same_numbers_as_serial(serial, data_dir, tmp_path):
    r = run_script("compare.py", *options(data_dir, tmp_path), "--n-seeds", "2", "--workers", "2")
    assert r.returncode == 0, r.stderr
    assert "in 2 worker processes" in r.stdout
    _same_runs(serial, tmp_path)
    # the same command, --workers 1 or 2: the same summary, byte for byte, and the same thread count recorded
    _, stem_a = summary(serial["base"], "summary", 4)
    _, stem_b = summary(tmp_path, "summary", 4)
    assert stem_a.name == stem_b.name
    assert stem_a.with_suffix(".json").read_bytes() == stem_b.with_suffix(".json").read_bytes()
    threads = {json.loads(p.read_text())["threads"] for p in result_files(tmp_path) + result_files(serial["base"])}
    assert threads == {sweep.DEFAULT_THREADS}


@pytest.mark.slow
def test_summary_table_csv_json_and_pdf(serial):
    base = serial["base"]
    runs = [json.loads(p.read_text()) for p in result_files(base)]
    by_method = {"None": [r["average_accuracy"] for r in runs if not r["options"]["joint"]],
                 "Joint": [r["average_accuracy"] for r in runs if r["options"]["joint"]]}
    rows, stem = summary(base, "summary", 4)
    assert [r["method"] for r in rows] == ["None", "Joint"]
    for row in rows:
        values = by_method[row["method"]]
        mean = sum(values) / 2
        sem = math.sqrt(sum((v - mean) ** 2 for v in values) / 1) / math.sqrt(2)
        assert row["n"] == 2 and row["mean"] == pytest.approx(mean) and row["sem"] == pytest.approx(sem)
    joint = next(r for r in runs if r["options"]["joint"])
    assert joint["options"]["iters"] == 40  # Joint trains for iters x contexts
    none = [r for r in runs if not r["options"]["joint"]]
    so_far = [sum((r["accuracy_matrix"][0][0] for r in none)) / 2,
              sum(sum(r["accuracy_matrix"][1]) / 2 for r in none) / 2]
    assert rows[0]["so_far"] == pytest.approx(so_far)
    with open(stem.with_suffix(".csv")) as f:
        table = list(csv.DictReader(f))
    assert [r["method"] for r in table] == ["None", "Joint"] and float(table[1]["mean"]) == rows[1]["mean"]
    assert f"{100 * rows[0]['mean']:.2f}" in serial["again"].stdout
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(base / "plots" / (stem.name + ".pdf")))
    assert len(reader.pages) == 2  # bar chart, accuracy on the contexts so far
    text = reader.pages[1].extract_text()
    assert "contexts" in text and "Joint" in text
    assert not list((base / "plots").glob(".tmp-*"))


@pytest.mark.slow
def test_failed_run_is_reported_and_the_sweep_goes_on(serial, data_dir, capsys):
    base = serial["base"]
    methods = [sweep.method("None"),
               Method("Broken", "--test --fc-units=7"),          # parses, fails at run time: no saved model
               Method("Future", "--not-a-flag-yet"),             # not (yet) an option of main.py: left out
               Method("Abbreviated", "--single"),                # argparse would take it for --singlehead
               sweep.method("Joint")]
    code = compare.main([*options(data_dir, base), "--n-seeds", "2", "--workers", "2",
                         "--methods", "None,Joint,Broken,Future,Abbreviated"], methods=methods)
    out = capsys.readouterr().out
    assert code == 1
    assert "leaving out Future" in out and "leaving out Abbreviated" in out
    assert "4 already done, 2 to run" in out
    assert out.count("FAILED Broken") == 2 and "no saved model" in out
    assert "None " in out.split("SUMMARY")[1] and "Joint" in out.split("SUMMARY")[1]


def test_method_flags_and_routed_options(data_dir, tmp_path):
    s = sweep.setup([*options(data_dir, tmp_path), "--lambda=7"], "compare", "", compare.SWEEP.drops,
                    [("--lambda", ["EWC"])])
    ewc = Method("EWC", "--singlehead", owns=("--lambda",))
    assert sweep.owned_tokens(s.sweep, ewc) == ["--lambda=7"]
    assert sweep.owned_tokens(s.sweep, sweep.method("None")) == []
    assert "--lambda=7" not in s.shared
    joint = sweep.method_jobs(s, sweep.method("Joint"))
    assert joint[0].argv[-1] == "--seed=0" and "--iters=40" in joint[0].tokens and "JOINT" in joint[0].stamp
    drop = sweep.setup([*options(data_dir, tmp_path), "--no-reg"], "compare", "", compare.SWEEP.drops)
    assert not sweep.applies(sweep.method("EWC"), "task", drop.sweep)                 # dropped by --no-reg
    assert not sweep.applies(sweep.method("Separate Networks"), "class", drop.sweep)  # task only
    with pytest.raises(SystemExit) as e:
        sweep.setup([*options(data_dir, tmp_path), "--experiment=nope"], "compare", "", compare.SWEEP.drops)
    assert e.value.code == 2


@pytest.mark.slow
def test_grid_and_budget_sweeps(serial, data_dir, capsys):
    base = serial["base"]
    grid = sweep.Grid(Method("LR", "--lr={value:g}"), "lr", {"*": [0.0001, 0.01]})
    code = compare_hyperParams.main([*options(data_dir, base), "--workers", "1", "--methods", "None,LR"],
                                    grids=[grid])
    out = capsys.readouterr().out
    assert code == 0 and "1 already done, 2 to run" in out  # None (seed 0) reused from the sweep above
    rows, stem = summary(base, "hyperParams")
    best = max(rows, key=lambda r: r["mean"])
    assert f"---> lr = {best['value']:g}" in out
    pypdf = pytest.importorskip("pypdf")
    assert len(pypdf.PdfReader(str(base / "plots" / (stem.name + ".pdf"))).pages) == 1

    wide = Method("Wide", "--fc-units={budget}")
    code = compare_replay.main([*options(data_dir, base), "--workers", "1", "--budgets", "20,30",
                                "--methods", "None,Joint,Wide"], methods=[wide])
    out = capsys.readouterr().out
    assert code == 0 and "2 already done, 1 to run" in out  # None, Joint; Wide at 20 units is None
    rows, stem = summary(base, "summaryExactRep")
    assert [(r["method"], r["budget"]) for r in rows] == [("None", ""), ("Joint", ""), ("Wide", 20), ("Wide", 30)]
    assert len(pypdf.PdfReader(str(base / "plots" / (stem.name + ".pdf"))).pages) == 1


def test_ray_missing_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    job = sweep.Job(("None",), 0, [], "x", str(tmp_path / "x.json"))
    with pytest.raises(sweep.UsageError, match="needs Ray"):
        sweep.execute([job], ray_address="127.0.0.1:1")
