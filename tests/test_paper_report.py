"""./report.py (sweep.reproduction) from a store of small synthetic result files: every kind of cell (pending with
its command, agrees, differs, too few seeds, no published value, a grid's choice), in seconds, without training."""
import time

import pytest

import report
from cli.stamp import param_stamp
from eval.metrics import summarise
from sweep import paper, reproduction
from sweep.catalogue import GRIDS
from sweep.published import GRID_SEED
from sweep.reproduction import PENDING, Cell
from utils import io


def store_run(results, args, accuracy):
    """A complete record of the run `args` whose every context ends at `accuracy` (as train.record writes)."""
    n = args.contexts
    rows = 1 if args.joint or args.task_free else n  # one phase: joint training, a task-free stream
    matrix = [[accuracy] * n for _ in range(rows)]
    stamp = param_stamp(args)
    io.write_json(str(results / f"{stamp}.json"), {
        "stamp": stamp, "record": "training", "status": "finished", "options": vars(args), "device": "cpu",
        "threads": 1, "versions": {"torch": "x"}, "accuracy_matrix": matrix, "seconds": {"total": 1.0},
        **summarise(matrix), **({"conv_bias": True} if args.depth > 0 else {})})


def paper_run(experiment, scenario, name, seed, task_free=False):
    return paper.with_seed(paper.paper_args(experiment, scenario, name, task_free), seed)


def grid_run(experiment, scenario, grid_name, value):
    grid = next(g for g in GRIDS if g.method.name == grid_name)
    return dict(reproduction._grid_points(experiment, scenario, grid, False))[value]


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    base = tmp_path_factory.mktemp("store")
    results = base / "results"
    results.mkdir()
    for seed, acc in zip((2, 3, 4), (0.20, 0.21, 0.22)):          # EWC class-IL: 21 +- 0.58 vs 20.64 +- 0.52
        store_run(results, paper_run("splitMNIST", "class", "EWC", seed), acc)
    for seed, acc in zip((2, 3, 4), (0.50, 0.51, 0.52)):          # ER class-IL: 51 vs 88.79: differs
        store_run(results, paper_run("splitMNIST", "class", "ER", seed), acc)
    for seed in (2, 3):                                            # SI: 2 seeds
        store_run(results, paper_run("splitMNIST", "class", "SI", seed), 0.21)
    for seed in (2, 3, 4):                                         # task-IL None: 84 +- 2 (figure) vs 85
        store_run(results, paper_run("splitMNIST", "task", "None", seed), 0.85)
    args = paper_run("splitMNIST", "class", "LwF", 2)             # not the paper's protocol: stays pending
    args.iters = 100
    store_run(results, args, 0.3)
    for seed in range(2, 7):                                       # permuted MNIST, all 5 seeds: no published value
        store_run(results, paper_run("permMNIST", "domain", "None", seed), 0.7)
    # grids on seed 1: EWC class-IL complete, best at the paper's 1e9; SI class-IL partial
    store_run(results, paper_run("splitMNIST", "class", "None", GRID_SEED), 0.19)
    for value in [10.0 ** k for k in range(14)]:
        store_run(results, grid_run("splitMNIST", "class", "EWC", value), 0.30 if value == 1e9 else 0.2)
    store_run(results, grid_run("splitMNIST", "class", "SI", 5e3), 0.25)
    start = time.process_time()  # CPU seconds: other processes on the machine do not count
    assert report.main(["--results-dir", str(results), "--out-dir", str(base)]) == 0
    seconds = time.process_time() - start
    parts = reproduction.build(str(results))
    return dict(base=base, parts=parts, seconds=seconds, md=(base / "report.md").read_text())


def cell(parts, title, row, column):
    part = next(p for p in parts if p.title.startswith(title))
    table = part.tables[0]
    found = next(r for r in table.rows if r[0] == row)
    return found[table.header.index(column)], table


def test_every_kind_of_cell(made):
    parts = made["parts"]
    ewc, _ = cell(parts, "Table 2", "EWC", "Class-IL")
    assert ewc == Cell("21.00 +- 0.58 (3 of 20 seeds)", "20.64 +- 0.52", "agrees")
    assert cell(parts, "Table 2", "ER", "Class-IL")[0].verdict == "differs"
    si = cell(parts, "Table 2", "SI", "Class-IL")[0]
    assert si.verdict == "too few seeds" and "(2 of 20 seeds)" in si.ours
    none = cell(parts, "Table 2", "None", "Task-IL")[0]
    assert none.verdict == "agrees" and none.published == "~84 (+-2, figure)"
    lwf, table = cell(parts, "Table 2", "LwF", "Class-IL")             # its one run is not the paper's protocol
    assert lwf.ours == PENDING and lwf.note == "class"
    # one command per column fills its pending cells and completes those with fewer than the paper's 20 seeds
    assert table.commands["class"] == "./compare.py --experiment=splitMNIST --scenario=class --seed=2 --n-seeds=20"
    assert cell(parts, "Table 2", "iCaRL", "Task-IL")[0] == "-"      # not in the paper's task-IL comparison
    perm, table = cell(parts, "Permuted MNIST", "None", "Domain-IL")
    assert perm.ours == "70.00 +- 0.00 (5 of 5 seeds)" and perm.published == "no published value" and \
        perm.verdict == "-"
    assert table.commands["domain"] == ("./compare.py --experiment=permMNIST --scenario=domain --seed=2 "
                                        "--n-seeds=5 --fisher-n=1000 --methods=Joint,EWC,SI,LwF,FROMP,DGR,BI-R,"
                                        "ER,A-GEM")
    cifar, table = cell(parts, "Table 3", "A-GEM", "Class-IL")
    assert cifar.ours == PENDING and cifar.published == "20.38 +- 1.45"
    assert "--pre-convE --freeze-convE --seed-to-ltag --eval-s=10000" in table.commands["class"]


def test_grid_choice_beside_the_papers(made):
    parts = made["parts"]
    ewc = cell(parts, "Hyper-parameters", "splitMNIST: EWC (lambda)", "Class-IL")[0]
    assert ewc == Cell("1e+09 (30.00%; 15 of 15 values)", "1e+09", "same choice")
    si, table = cell(parts, "Hyper-parameters", "splitMNIST: SI (c)", "Class-IL")
    assert si.verdict == "partial grid" and si.ours.startswith("5000 (25.00%; 2 of ")
    assert cell(parts, "Hyper-parameters", "splitMNIST: EWC (lambda)", "Task-IL")[0].ours == PENDING
    assert table.commands["splitMNIST-class"] == ("./compare_hyperParams.py --experiment=splitMNIST "
                                                  "--scenario=class --seed=1 --budgets=100 "
                                                  "--methods=None,SI,FROMP,BI-R")


def test_report_files_in_seconds(made):
    assert made["seconds"] < 10
    md = made["md"]
    assert "(agrees: 2, pending: 147, too few seeds: 1, differs: 1, no published value: 1, same choice: 1, " \
           "partial grid: 1)" in md
    assert "| EWC |" in md and "21.00 +- 0.58 (3 of 20 seeds); published 20.64 +- 0.52; agrees" in md
    assert "pending [class]" in md and "- [class] `./compare.py --experiment=splitMNIST --scenario=class" in md
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(made["base"] / "report.pdf"))
    parts = made["parts"]
    tables = sum(len(p.tables) for p in parts)
    assert tables == len(reproduction.SECTIONS) - 1  # one each (the later experiments': no summaries here)
    assert len(reader.pages) == tables + 3  # and the charts: task, class, permMNIST domain
    assert [len(p.figures) for p in parts] == [2, 0, 1, 0, 0, 0]
    assert "agrees" in reader.pages[0].extract_text() and "differs" in reader.pages[0].extract_text()
    assert "published" in reader.pages[tables + 1].extract_text()  # the class-IL chart


def test_later_experiments_show_their_newest_summary_or_the_command(tmp_path):
    io.write_json(str(tmp_path / "stability_gap_example-rotMNIST3-r0_80_160-domain-s0-aaaa.json"), {"runs": [], "rows": [
        {"method": "Incremental Joint", "switch": 500, "context": 1, "n": 2, "before": 0.9, "minimum": 0.8,
         "depth": 0.1, "minimum_at": 70.0, "recovered_after": None, "recovered_runs": 0}]})
    io.write_json(str(tmp_path / "FI-splitMNIST5-task-s1-bbbb.json"), {"runs": [], "rows": [
        {"method": "None", "lambda": "", "n": 1, "mean": 0.8, "sem": None, "best": False, "fisher_seconds": None},
        {"method": "EXACT", "lambda": 100.0, "n": 1, "mean": 0.9, "sem": None, "best": False, "fisher_seconds": 3.0},
        {"method": "EXACT", "lambda": 1e5, "n": 1, "mean": 0.99, "sem": None, "best": True, "fisher_seconds": 3.5}]})
    part = reproduction.later_experiments(reproduction.Store(str(tmp_path)))
    gap, fisher = part.tables
    assert gap.rows == [["Incremental Joint", "500", "1", "90.00", "80.00", "10.00", "never", "2"]]
    assert [row[:3] for row in fisher.rows] == [["None", "", "80.00 (n=1)"], ["EXACT", "100000.0", "99.00 (n=1)"]]
    assert "tutorial" in part.text and "pending" in part.text and "compare_for_tutorial.py --seed=2" in part.text
