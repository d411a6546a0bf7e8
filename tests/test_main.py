import json

from tests.conftest import run_script, tiny


def test_main_runs_and_writes_json(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--scenario", "task"))
    assert r.returncode == 0, r.stderr
    files = list((tmp_path / "results").glob("*.json"))
    assert len(files) == 1
    result = json.loads(files[0].read_text())
    assert len(result["accuracy_matrix"]) == 5 and len(result["accuracy_matrix"][0]) == 5
    assert result["average_accuracy"] > 0.6  # task-IL on the learnable synthetic data
