"""compare_task_free.py and compare_hyperParams_task_free.py: the sweep machinery of compare.py on
./main_task_free.py runs (method list, --replay-update, table/CSV/JSON/pdf, resume)."""
import json

import pytest

import compare_hyperParams_task_free
import compare_task_free
import sweep
from sweep import Grid, Method
from tests.conftest import tiny


def one_summary(base, prefix):
    """The path stem of the one summary <prefix>-<seeds>-<runs> (summaries are named by the runs they cover)."""
    found = list((base / "results").glob(f"{prefix}-s*.json"))
    assert len(found) == 1, found
    return found[0].with_suffix("")


def options(data_dir, base, *extra):
    return tiny(data_dir, base, "--contexts", "2", "--iters", "20", "--fc-units", "20", "--fuzziness", "5",
                "--update-every", "10", "--threads", "1", "--workers", "1", *extra)


@pytest.mark.slow
def test_comparison_table_files_replay_update_and_resume(data_dir, tmp_path, capsys):
    argv = options(data_dir, tmp_path, "--methods", "None,ER,Joint", "--replay-update", "5")
    assert compare_task_free.main(argv) == 0
    out = capsys.readouterr().out
    assert "3 runs: 0 already done, 3 to run" in out
    for name in ("None", "ER", "Joint"):
        assert any(line.startswith(name) for line in out.splitlines())
    stem = one_summary(tmp_path, "summary-task-free-splitMNIST2-class")
    rows = json.loads(stem.with_suffix(".json").read_text())["rows"]
    flags = {r["method"]: r["flags"] for r in rows}
    assert flags["ER"] == "--replay=buffer --update-every=5" and flags["Joint"] == "--joint"
    stamps = sorted(p.name for p in (tmp_path / "results").glob("splitMNIST2-class--*.json"))
    assert any("--random-ue10--" in s for s in stamps) and any("fuzzy5-ue5" in s and "buffer" in s for s in stamps)
    assert stem.with_suffix(".csv").exists()
    assert (tmp_path / "plots" / f"{stem.name}.pdf").stat().st_size > 1000
    assert all(len(r["so_far"]) >= 1 for r in rows)  # the accuracy curve over the stream
    assert compare_task_free.main(argv) == 0
    assert "3 runs: 3 already done, 0 to run" in capsys.readouterr().out


def test_method_list_by_scenario_and_drops():
    names = {s: [m.name for m in sweep.TASK_FREE_METHODS if sweep.applies(m, s, object())]
             for s in ("task", "domain", "class")}
    assert names["task"] == ["None", "Joint", "Separate Networks", "XdG", "SI", "LwF", "ER", "A-GEM"]
    assert names["domain"] == ["None", "Joint", "SI", "LwF", "ER", "A-GEM"]
    assert names["class"][-2:] == ["iCaRL", "Generative Classifier"]

    class Drop:
        no_context_spec, no_si, no_agem = True, True, True
    assert [m.name for m in sweep.TASK_FREE_METHODS if sweep.applies(m, "task", Drop())] == \
        ["None", "Joint", "LwF", "ER"]


def test_grids_with_none_as_value_zero(data_dir, tmp_path, capsys):
    grids = [Grid(Method("XdG", "--xdg --gating-prop={value:g}", ("task",), "no_xdg"), "gating_prop",
                  {"*": [0.0, 0.5]}, log=False),
             Grid(Method("SI", "--si --c={value:g}", drop="no_si"), "c", {"*": [1.0, 100.0]})]
    argv = options(data_dir, tmp_path, "--scenario", "task")
    assert compare_hyperParams_task_free.main(argv, grids=grids) == 0
    out = capsys.readouterr().out
    assert "param list (gating_prop): [0, 0.0, 0.5]" in out and "param list (c): [0, 1.0, 100.0]" in out
    assert out.count("---> ") == 2
    stem = one_summary(tmp_path, "hyperParams-task-free-splitMNIST2-task")
    rows = json.loads(stem.with_suffix(".json").read_text())["rows"]
    assert [(r["method"], r["value"]) for r in rows] == [("None", 0), ("XdG", 0.0), ("XdG", 0.5), ("SI", 1.0),
                                                          ("SI", 100.0)]
    assert (tmp_path / "plots" / f"{stem.name}.pdf").exists()
    xdg, si = compare_hyperParams_task_free.SWEEP.grids
    assert si.values["*"][0] == 1e-3 and si.values["*"][-1] == 1e7
    assert len(xdg.values["*"]) == 20
