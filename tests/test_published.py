"""The published figures and the verdict beside ours (sweep.published, sweep.paper): the paper's protocol decided
from the runs' options, the verdict at its edges, and the column in a real (tiny) compare.py table."""
import json
import math

import pytest

import compare
from cli.options import parse
from sweep import paper
from sweep.catalogue import PAPER_METHODS
from sweep.published import FIGURES, TABLE_2, TABLE_3, Figure, figure
from tests.conftest import tiny


def test_the_published_figures_are_the_papers_with_their_sources():
    assert figure("splitMNIST", "class", "EWC") == Figure(20.64, sem=0.52, source=TABLE_2)
    assert figure("CIFAR100", "class", "A-GEM") == Figure(20.38, sem=1.45, source=TABLE_3)
    read = figure("splitMNIST", "domain", "SI")
    assert (read.low, read.sem, read.tolerance) == (68, None, 2.0) and "figure" in read.source
    assert figure("splitMNIST", "class", "DGR").high == 90
    # nothing invented: no value where the paper gives none
    for missing in [("splitMNIST", "domain", "A-GEM"), ("CIFAR100", "task", "FROMP"), ("permMNIST", "class", "EWC"),
                    ("CIFAR100", "domain", "XdG")]:
        assert figure(*missing) is None
    assert figure("splitMNIST", "class", "SI", task_free=True) is None
    names = {m.name for m in PAPER_METHODS}
    assert all(m in names for cells in FIGURES.values() for ms in cells.values() for m in ms)
    assert sum(len(ms) for ms in FIGURES[(False, "CIFAR100")].values()) == 11 + 9 + 11  # Table 3's cells


@pytest.mark.parametrize("argv, name, expected", [
    (["--ewc", "--seed=2"], "EWC", None),
    (["--ewc", "--seed=21"], "EWC", None),
    (["--ewc", "--iters=100", "--seed=2"], "EWC", "--iters=100 (the paper's: --iters=2000)"),
    (["--ewc", "--lambda=1e5", "--seed=3"], "EWC", "--lambda=100000 (the paper's: --lambda=1e+09)"),
    (["--ewc", "--seed=1"], "EWC", "--seed=1 (the paper's: 2-21)"),
    (["--ewc", "--seed=22"], "EWC", "--seed=22 (the paper's: 2-21)"),
    (["--replay=buffer", "--budget=10", "--seed=2"], "ER", "--budget=10 (the paper's: --budget=100)"),
    (["--joint", "--iters=10000", "--seed=2"], "Joint", None),
    (["--experiment=CIFAR100", "--si", "--seed=2"], "SI", "no --pre-convE (the paper's: --pre-convE)"),
    (["--experiment=CIFAR100", "--si", "--seed=2", "--pre-convE", "--freeze-convE", "--seed-to-ltag"], "SI", None),
    (["--experiment=rotMNIST", "--seed=2"], "None", "the paper has no protocol for rotMNIST"),
])
def test_the_papers_protocol_is_decided_from_the_runs_options(argv, name, expected):
    args = parse(argv)
    assert paper.difference(args, name, argv=argv) == expected


def _values(mean, sem, n=3):
    """n accuracies (fractions) with this mean and SEM (%)."""
    half = sem * math.sqrt(n) * math.sqrt((n - 1) / 2) / 100  # +-half around the mean, the rest at it
    return [mean / 100 - half, mean / 100 + half] + [mean / 100] * (n - 2)


def test_values_helper():
    from sweep.summary import mean_sem
    m, s = mean_sem(_values(20, 0.3))
    assert (100 * m, 100 * s) == (pytest.approx(20), pytest.approx(0.3))


@pytest.mark.parametrize("ours, fig, expected", [
    (_values(20.0, 0.3), Figure(20.0 + 2 * 0.5, sem=0.4), "agrees"),           # exactly 2 combined SE
    (_values(20.0, 0.3), Figure(20.0 + 2 * 0.5 + 0.01, sem=0.4), "differs"),   # just outside
    (_values(20.0, 0.3), Figure(20.0 - 2 * 0.5 - 0.01, sem=0.4), "differs"),
    (_values(20.0, 0.3, 2), Figure(20.0, sem=0.4), "too few seeds"),           # 2 seeds: no verdict
    (_values(90.0, 5.0, 2), Figure(20.0, sem=0.4), "too few seeds"),
    (_values(86.0, 0.1), Figure(84, tolerance=2), "agrees"),                   # figure-read: 84 +- 2
    (_values(86.01, 0.1), Figure(84, tolerance=2), "differs"),
    (_values(81.99, 0.1), Figure(84, tolerance=2), "differs"),
    (_values(96.0, 0.1), Figure(98, 100, tolerance=2), "agrees"),              # a range 98-100 +- 2
    (_values(95.9, 0.1), Figure(98, 100, tolerance=2), "differs"),
])
def test_verdict_at_its_edges(ours, fig, expected):
    assert paper.verdict(ours, fig) == expected


def test_a_protocol_difference_turns_the_column_into_not_the_papers_protocol():
    runs = [(parse(["--ewc", f"--seed={s}", "--iters=100"]), ["--ewc", "--iters=100"], 0.2) for s in (2, 3, 4)]
    col = paper.compare(runs, "EWC")
    assert col == {"published": "not the paper's protocol: --iters=100 (the paper's: --iters=2000)",
                   "published_mean": None, "verdict": "-"}
    runs = [(parse(["--ewc", f"--seed={s}"]), ["--ewc"], acc) for s, acc in ((2, 0.20), (3, 0.21), (4, 0.22))]
    assert paper.compare(runs, "EWC") == {"published": "20.64 +- 0.52", "published_mean": pytest.approx(0.2064),
                                          "verdict": "agrees"}
    assert paper.compare(runs, "EWC")["verdict"] == "agrees"
    assert paper.compare(runs[:2], "EWC")["verdict"] == "too few seeds"


def test_compare_table_csv_and_json_show_the_column(data_dir, tmp_path, capsys):
    """A real (tiny) sweep: not the paper's protocol, said in the table, the CSV and the JSON."""
    argv = tiny(data_dir, tmp_path, "--experiment=splitMNIST", "--scenario=class", "--iters=2", "--fc-units=10",
                "--methods=None", "--seed=2", "--workers=1")
    assert compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "published" in out and "not the paper's protocol: --iters=2 (the paper's: --iters=2000)" in out
    (summary,) = (tmp_path / "results").glob("summary-*.json")
    row = json.loads(summary.read_text())["rows"][0]
    assert row["published"].startswith("not the paper's protocol") and row["verdict"] == "-"
    assert "published" in summary.with_suffix(".csv").read_text().splitlines()[0]


def test_compare_replay_rows_carry_the_column(data_dir, tmp_path, capsys):
    import compare_replay
    argv = tiny(data_dir, tmp_path, "--experiment=splitMNIST", "--scenario=class", "--iters=2", "--fc-units=10",
                "--contexts=2", "--methods=ER", "--budgets=10,100", "--seed=2", "--workers=1")
    assert compare_replay.main(argv) == 0
    assert "not the paper's protocol: --contexts=2 (the paper's: --contexts=5)" in capsys.readouterr().out
    (summary,) = (tmp_path / "results").glob("summaryExactRep-*.json")
    rows = json.loads(summary.read_text())["rows"]
    assert [(r["method"], r["budget"]) for r in rows] == [("None", ""), ("Joint", ""), ("ER", 10), ("ER", 100)]
    assert all(r["verdict"] == "-" and r["published"].startswith("not the paper's protocol") for r in rows)


def _grid_job(value, *argv, seed=1, name="EWC", flag="--lambda"):
    from sweep.plan import Job
    tokens = [f"--{name.lower()}", f"{flag}={value:g}", *argv]
    return Job((name, value), seed, tokens, "", "", tokens, args=parse([*tokens, f"--seed={seed}"]), result={})


def test_grid_read_out_names_the_papers_choice_only_for_its_protocol():
    from sweep.catalogue import GRIDS
    ewc = next(g for g in GRIDS if g.method.name == "EWC")
    assert paper.chosen([_grid_job(1e9), _grid_job(1e5)], ewc, None) == "(the paper's choice: 1e+09)"
    assert paper.chosen([_grid_job(1e9, "--iters=100")], ewc, None) == \
        "(the paper's choice: not comparable, not the paper's protocol: --iters=100 (the paper's: --iters=2000))"
    assert "from seed 1" in paper.chosen([_grid_job(1e9, seed=2)], ewc, None)
    assert paper.chosen([_grid_job(1e9)], ewc, None, task_free=True) == ""
    fromp = next(g for g in GRIDS if g.method.name == "FROMP")
    job = _grid_job(1000.0, "--budget=100", name="FROMP", flag="--tau")
    assert paper.chosen([job], fromp, 100) == "(the paper's choice: 1000)"
    assert paper.chosen([job], fromp, 10) == ""
