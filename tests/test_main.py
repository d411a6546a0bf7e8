"""End-to-end ./main.py runs on the synthetic data (its refusals: tests/test_refusals.py; --test:
tests/test_round_trip.py)."""
import json

import pytest

from tests.conftest import SHARED_DATA, real_mnist, run_script, tiny
from utils.runtime import cpu_model

pytestmark = pytest.mark.slow  # every test here runs ./main.py in a subprocess, or on the real MNIST


def result_of(tmp_path, pattern="*-s[0-9].json"):
    """The one training record under tmp_path."""
    files = list((tmp_path / "results").glob(pattern))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_main_task_il_learns_and_writes_json(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task"))
    assert r.returncode == 0, r.stderr
    result = result_of(tmp_path)
    assert len(result["accuracy_matrix"]) == 5 and len(result["accuracy_matrix"][0]) == 5
    assert result["average_accuracy"] > 0.6  # task-IL on the learnable synthetic data
    assert result["stamp"] in r.stdout and "average accuracy" in r.stdout
    for key in ("forgetting", "backward_transfer", "seconds", "versions", "options"):
        assert key in result
    assert result["node"]["cpu"] == cpu_model() and cpu_model()  # the CPU model: its float rounding differs


def test_none_vs_joint_class_il(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path / "none", "--iters", "60"))
    j = run_script("main.py", *tiny(data_dir, tmp_path / "joint", "--joint", "--iters", "300"))
    assert r.returncode == 0 and j.returncode == 0, r.stderr + j.stderr
    none, joint = result_of(tmp_path / "none"), result_of(tmp_path / "joint")
    assert none["average_accuracy"] < 0.35  # fine-tuning forgets: about one context's worth
    assert joint["average_accuracy"] > 0.8
    assert len(joint["accuracy_matrix"]) == 1 and "JOINT" in joint["stamp"]


def test_cumulative_and_same_seed_same_numbers(data_dir, tmp_path):
    runs = [run_script("main.py", *tiny(data_dir, tmp_path / str(i), "--cumulative", "--seed", "5"))
            for i in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    a, b = result_of(tmp_path / "0"), result_of(tmp_path / "1")
    assert a["accuracy_matrix"] == b["accuracy_matrix"] and "CUMMULATIVE" in a["stamp"]
    assert a["average_accuracy"] > 0.5  # cumulative training does not forget


def test_cifar_paths_run(data_dir, tmp_path):
    for exp, contexts in (("CIFAR10", "5"), ("CIFAR100", "10")):
        r = run_script("main.py", *tiny(data_dir, tmp_path / exp, "--experiment", exp, "--contexts", contexts,
                                        "--iters", "3", "--fc-units", "20", "--channels", "4", "--no-save"))
        assert r.returncode == 0, r.stderr
        assert result_of(tmp_path / exp)["stamp"].startswith(f"{exp}{contexts}-class--CS5x4r4")


def test_get_stamp_and_help(tmp_path):
    r = run_script("main.py", "--get-stamp", "--scenario", "task", "--seed", "3")
    assert r.returncode == 0
    assert r.stdout.strip() == "splitMNIST5-task--F3x400--i2000-lr0.001-b128-adam-s3"
    h = run_script("main.py", "-h")
    for group in ("Problem Specification", "Parameters Main Model", "Training Parameters", "Evaluation Parameters"):
        assert group in h.stdout


@real_mnist
def test_real_mnist_short_run(tmp_path):
    r = run_script("main.py", "--data-dir", SHARED_DATA, "--scenario", "task", "--iters", "100", "--no-save",
                   "--quiet", "--results-dir", str(tmp_path / "results"))
    assert r.returncode == 0, r.stderr
    assert result_of(tmp_path)["average_accuracy"] > 0.9  # task-IL split MNIST learns fast
