"""The reproduction report (./report.py): the paper's tables from whatever results are stored, each cell ours (mean
+- SEM, seeds done) beside the published figure and the verdict (sweep.paper), or "pending" with the command that
fills it. It reads only the result files of the paper's runs (found by their stamps), never trains.

SECTIONS is the extension point: a function (Store) -> Part per section, in the report's order; a later experiment
(the stability gap, the tutorial, the Fisher study) appends its own, drawing its figures where its runs exist.
"""
import os
import shlex
from dataclasses import dataclass, field

from cli.stamp import param_stamp, problem_stamp, stream_stamp
from sweep import paper
from sweep.catalogue import GRIDS, PAPER_METHODS, SCENARIOS, TASK_FREE_METHODS, method
from sweep.published import CHOSEN, CHOSEN_FROMP_BUDGET, CHOSEN_SOURCE, GRID_SEED, PROTOCOLS, figure
from sweep.stored import inspect
from sweep.summary import mean_sem
from utils import io

PENDING = "pending"
SCENARIO_TITLE = {"task": "Task-IL", "domain": "Domain-IL", "class": "Class-IL"}


class Store:
    """The stored results of one folder, looked up by stamp (only complete, finished records count)."""

    def __init__(self, results_dir):
        self.dir = results_dir
        self.names = {n[:-len(".json")] for n in os.listdir(results_dir) if n.endswith(".json")}

    def holds(self, prefix, seeds=None):
        """Whether any result's stamp starts with `prefix` (and ends with one of `seeds`): a problem without runs
        is pending without parsing the options of each of its cells (milliseconds each)."""
        ends = None if seeds is None else tuple(f"-s{s}" for s in seeds)
        return any(n.startswith(prefix) and (ends is None or n.endswith(ends)) for n in self.names)

    def accuracy(self, stamp, args):
        """The average accuracy of the finished run `stamp` (made with options `args`), or None."""
        if stamp not in self.names:
            return None
        state, record = inspect(os.path.join(self.dir, stamp + ".json"), stamp, None, args)
        return record["average_accuracy"] if state == "done" else None


@dataclass
class Cell:
    ours: str = PENDING
    published: str = ""
    verdict: str = ""
    note: str = ""          # a pending cell: the key of the command that fills it
    values: list = field(default=None, compare=False, repr=False)   # our accuracies (fractions), for the chart
    figure: object = field(default=None, compare=False, repr=False)  # the published sweep.published.Figure


@dataclass
class Table:
    header: list
    rows: list              # [row label, Cell or text, ...]
    commands: dict = field(default_factory=dict)   # key -> command line that fills the pending cells marked key


@dataclass
class Part:
    title: str
    text: str = ""
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)    # matplotlib Figures for the pdf, drawn by the section


def _command(prog, experiment, scenario, seeds, flags, names=()):
    """The sweep that fills the pending cells of `names` (all of the sweep's methods when empty)."""
    span = f"--seed={seeds[0]}" + (f" --n-seeds={len(seeds)}" if len(seeds) > 1 else "")
    chosen = shlex.quote("--methods=" + ",".join(names)) if names else ""
    return " ".join(filter(None, [f"./{prog}.py --experiment={experiment} --scenario={scenario} {span}", flags,
                                  chosen]))


def _held(store, experiment, scenario, task_free, seeds):
    """Whether the store holds runs of this benchmark and scenario (task-free: the paper's stream) with one of
    `seeds`: the start of the stamp of the paper's run of None."""
    args = paper.paper_args(experiment, scenario, "None", task_free)
    return args is not None and store.holds(
        problem_stamp(args) + (f"--{stream_stamp(args)}" if task_free else ""), seeds)


def comparison_cell(store, experiment, scenario, name, task_free=False):
    """Ours over the paper's seeds, the published figure and the verdict; None if the paper's comparison has no
    such cell (a method of another scenario, or one main.py refuses there)."""
    seeds = PROTOCOLS[(task_free, experiment)].seeds
    fig = figure(experiment, scenario, name, task_free)
    published = fig.text() if fig else paper.NO_VALUE
    if not _held(store, experiment, scenario, task_free, seeds):
        entry = method(name, TASK_FREE_METHODS if task_free else PAPER_METHODS)
        return Cell(PENDING, published, "", values=[]) if scenario in entry.scenarios else None
    args = paper.paper_args(experiment, scenario, name, task_free)
    if args is None:
        return None
    values = []
    for seed in seeds:
        run = paper.with_seed(args, seed)
        acc = store.accuracy(param_stamp(run), run)
        if acc is not None:
            values.append(acc)
    if not values:
        return Cell(PENDING, published, "", values=[])
    mean, sem = mean_sem(values)
    ours = f"{100 * mean:.2f}" + ("" if len(values) < 2 else f" +- {100 * sem:.2f}")
    ours += f" ({len(values)} of {len(seeds)} seeds)"
    return Cell(ours, published, paper.verdict(values, fig) if fig else paper.NONE, values=values, figure=fig)


def comparison(title, experiment, task_free=False, text=""):
    """A section in the layout of the paper's Tables 2 and 3: methods down, scenarios across."""
    methods = TASK_FREE_METHODS if task_free else PAPER_METHODS
    prog = "compare_task_free" if task_free else "compare"
    protocol = PROTOCOLS[(task_free, experiment)]

    def build(store):
        table = Table(["Method"] + [SCENARIO_TITLE[s] for s in SCENARIOS], [])
        pending, cells = {s: [] for s in SCENARIOS}, {s: 0 for s in SCENARIOS}
        for m in methods:
            row = [m.name]
            for s in SCENARIOS:
                cell = comparison_cell(store, experiment, s, m.name, task_free)
                if cell is None:
                    row.append("-")
                    continue
                cells[s] += 1
                if cell.ours == PENDING:
                    cell.note = s
                if cell.ours == PENDING or len(cell.values) < len(protocol.seeds):  # the command completes it too
                    pending[s].append(m.name)
                row.append(cell)
            table.rows.append(row)
        for s, names in pending.items():
            if names:
                flags = " ".join(dict.fromkeys(" ".join(protocol.flags_of(s, n) for n in names).split()))
                table.commands[s] = _command(prog, experiment, s, protocol.seeds, flags,
                                             names if len(names) < cells[s] else ())
        return Part(title, text, [table], [chart(title, table, i) for i in range(1, len(table.header))
                                           if any(getattr(r[i], "values", None) for r in table.rows)])
    return build


def _grid_points(experiment, scenario, grid, task_free):
    """[(value, args of the paper's grid run at that value)] (FROMP: at the paper's budget)."""
    budget = CHOSEN_FROMP_BUDGET if grid.budgets is not None else None
    points = [(v, paper.paper_grid_args(experiment, scenario, grid, v, budget, task_free))
              for v in grid.values_for(experiment)]
    return [(v, args) for v, args in points if args is not None]


def grid_cell(store, experiment, scenario, grid, chosen, task_free=False):
    """Our grid's best value (None counted as the value 0, as the paper's read-out) beside the paper's choice."""
    theirs = f"{chosen:g}"
    if not _held(store, experiment, scenario, task_free, [GRID_SEED]):
        return Cell(PENDING, theirs, "", scenario)
    none = paper.paper_args(experiment, scenario, "None", task_free)
    points = [("None (0)", 0, paper.with_seed(none, GRID_SEED))]
    points += [(f"{v:g}", v, args) for v, args in _grid_points(experiment, scenario, grid, task_free)]
    found = [(label, v, acc) for label, v, args in points
             for acc in [store.accuracy(param_stamp(args), args)] if acc is not None]
    if len(found) < 2:
        return Cell(PENDING, theirs, "", scenario)
    best = max(found, key=lambda p: p[2])  # the first of equals, as compare_hyperParams.py
    ours = f"{best[0]} ({100 * best[2]:.2f}%; {len(found)} of {len(points)} values)"
    if len(found) < len(points):
        return Cell(ours, theirs, "partial grid", scenario)
    return Cell(ours, theirs, "same choice" if best[1] == chosen else "other choice")


def hyper_parameters(store):
    """Each grid's best value on seed 1 next to the paper's chosen value."""
    table = Table(["Benchmark: method (parameter)"] + [SCENARIO_TITLE[s] for s in SCENARIOS], [])
    for experiment, grids in CHOSEN.items():
        flags = PROTOCOLS[(False, experiment)].flags
        pending = {s: [] for s in SCENARIOS}
        for (name, parameter), by_scenario in grids.items():
            grid = next(g for g in GRIDS if g.method.name == name)
            row = [f"{experiment}: {name} ({parameter})"]
            for s in SCENARIOS:
                if s not in by_scenario or s not in grid.method.scenarios:
                    row.append("-")
                    continue
                cell = grid_cell(store, experiment, s, grid, by_scenario[s])
                if cell.ours == PENDING or cell.verdict == "partial grid":
                    pending[s].append(name)
                    cell.note = f"{experiment}-{s}"
                row.append(cell)
            table.rows.append(row)
        for s, names in pending.items():
            if names:
                budgets = f" --budgets={CHOSEN_FROMP_BUDGET}" if "FROMP" in names else ""
                table.commands[f"{experiment}-{s}"] = _command("compare_hyperParams", experiment, s, [GRID_SEED],
                                                               (flags + budgets).strip(), ["None"] + names)
    return Part("Hyper-parameters: our grids' choice beside the paper's",
                f"Source: {CHOSEN_SOURCE}. Ours: the best value of our grid on seed {GRID_SEED} (None counts as "
                "the value 0), its accuracy and how much of the grid is done.", [table])


LATER = [  # (title, summary-file prefix, the command that makes one, which rows to show, its columns: (header,
    #          row -> text))
    ("NeurIPS 2022 tutorial (NeurIPStutorial/compare_for_tutorial.py)", "tutorialplots-",
     "python3 NeurIPStutorial/compare_for_tutorial.py --seed=2 --n-seeds=20 --experiment=splitMNIST --scenario=class",
     lambda r: True, [("method", lambda r: r["method"]), ("ours", lambda r: _pm(r["mean"], r["sem"], r["n"]))]),
    ("Stability gap (StabilityGap/stability_gap_example.py)", "stability_gap_example-",
     "python3 StabilityGap/stability_gap_example.py", lambda r: True,
     [("method", lambda r: r["method"]), ("switch", lambda r: str(r["switch"])),
      ("context", lambda r: str(r["context"])), ("before", lambda r: f"{100 * r['before']:.2f}"),
      ("lowest", lambda r: f"{100 * r['minimum']:.2f}"), ("depth", lambda r: f"{100 * r['depth']:.2f}"),
      ("back within 1 point after", lambda r: "never" if r["recovered_after"] is None
       else f"{r['recovered_after']:.0f} iterations"), ("seeds", lambda r: str(r["n"]))]),
    ("Fisher Information study (ICLRblogpost/compare_FI.py)", "FI-",
     "python3 ICLRblogpost/compare_FI.py --seed=1 --n-seeds=30 --experiment=splitMNIST --scenario=task",
     lambda r: r["method"] == "None" or r.get("best"),  # (None, and each variant at its best lambda)
     [("variant", lambda r: r["method"]), ("best lambda", lambda r: f"{r['lambda']}" if r["lambda"] != "" else ""),
      ("ours", lambda r: _pm(r["mean"], r["sem"], r["n"])),
      ("Fisher s per run", lambda r: "" if r.get("fisher_seconds") is None else f"{r['fisher_seconds']:.2f}")]),
]


def _pm(mean, sem, n):
    return f"{100 * mean:.2f}" + ("" if sem is None or n < 2 else f" +- {100 * sem:.2f}") + f" (n={n})"


def later_experiments(store):
    """The later experiments' summaries (the newest summary file of each in the results folder), or the command
    that makes one. Their runs have no published figures to set beside them."""
    tables, missing = [], []
    for title, prefix, command, keep, columns in LATER:
        found = sorted((n for n in store.names if n.startswith(prefix)),
                       key=lambda n: os.path.getmtime(os.path.join(store.dir, n + ".json")))
        if not found:
            missing.append(f"{title}: pending; `{command}` makes it.")
            continue
        rows = [r for r in io.read_json(os.path.join(store.dir, found[-1] + ".json"))["rows"] if keep(r)]
        tables.append(Table([f"{title}: {found[-1]}"] + [h for h, _ in columns[1:]],
                            [[get(r) for _, get in columns] for r in rows]))
    return Part("The paper's code's later experiments", " ".join(missing), tables)


SECTIONS = [
    comparison("Table 2: split MNIST", "splitMNIST",
               text="Published: the class-IL column of Table 2 (mean +- s.e.m., 20 seeds); the other columns read "
                    "from a figure (+-2 points)."),
    comparison("Table 3: split CIFAR-100", "CIFAR100",
               text="Published: Table 3 (mean +- s.e.m., 10 seeds). Conv layers pre-trained on CIFAR-10, frozen."),
    comparison("Permuted MNIST", "permMNIST", text="The paper's protocol (seeds 2-6); no published value here."),
    comparison("Task-free split MNIST", "splitMNIST", task_free=True,
               text="./main_task_free.py runs (fuzzy boundaries); no published value here."),
    hyper_parameters,
    later_experiments,
]


def cell_text(cell, sep="; "):
    """A cell as text: ours, the published figure, the verdict (a pending one: the key of its command)."""
    if not isinstance(cell, Cell):
        return cell
    ours = f"{PENDING} [{cell.note}]" if cell.ours == PENDING and cell.note else cell.ours
    published = cell.published if cell.published in ("", paper.NO_VALUE) else f"published {cell.published}"
    parts = [ours, published, cell.verdict if cell.verdict != paper.NONE else ""]
    return sep.join(p for p in parts if p)


def counts(parts):
    """{verdict or 'pending': number of cells} over every table."""
    found = {}
    for part in parts:
        for table in part.tables:
            for row in table.rows:
                for cell in row[1:]:
                    if isinstance(cell, Cell):
                        key = PENDING if cell.ours == PENDING else cell.verdict
                        key = paper.NO_VALUE if key == paper.NONE else key
                        found[key] = found.get(key, 0) + 1
    return found


def markdown(parts, results_dir):
    tally = ", ".join(f"{k}: {v}" for k, v in counts(parts).items())
    lines = ["# Reproduction report: van de Ven, Tuytelaars & Tolias (2022), \"Three types of incremental learning\"",
             "", f"From the results in `{results_dir}` ({tally}). Each cell: ours (mean +- SEM over the seeds "
             "done), the published figure, the verdict: *agrees* (within 2 combined standard errors, or within "
             "the tolerance of a value read from a figure), *differs*, *too few seeds* (fewer than "
             f"{paper.MIN_SEEDS}). Accuracies in %. A *pending* cell has no run of the paper's protocol yet: the "
             "command under its table marked with its key fills it (and completes the cells with fewer seeds than "
             "the paper's; stored runs are reused).", ""]
    for part in parts:
        lines += [f"## {part.title}", ""] + ([part.text, ""] if part.text else [])
        for table in part.tables:
            lines += ["| " + " | ".join(table.header) + " |", "|" + "---|" * len(table.header)]
            lines += ["| " + " | ".join(cell_text(c) for c in row) + " |" for row in table.rows]
            lines += [""] + [f"- [{k}] `{c}`" for k, c in table.commands.items()] + [""]
    return "\n".join(lines)


COLOURS = {"agrees": "#c8e6c9", "same choice": "#c8e6c9", "differs": "#ffcdd2", "other choice": "#ffcdd2",
           "too few seeds": "#fff9c4", "partial grid": "#fff9c4"}


def table_page(part, table):
    """One table as a pdf page, drawn as boxes and texts (matplotlib's table lays its cells out again on every draw:
    seconds per page): a cell's colour is its verdict; the commands for its pending cells below."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    rows = [table.header] + table.rows
    row_h, head_h, note_h = 0.5, 0.3, 0.12  # inches
    height = 0.8 + head_h + row_h * len(table.rows) + note_h * (len(table.commands) + 1)
    fig = Figure(figsize=(11, height))
    fig.suptitle(part.title, y=1 - 0.1 / height, va="top")
    widths = [0.2] + [0.78 / (len(table.header) - 1)] * (len(table.header) - 1)
    top = 1 - 0.6 / height
    for r, row in enumerate(rows):
        h = (head_h if r == 0 else row_h) / height
        x = 0.01
        for c, cell in enumerate(row):
            pending = getattr(cell, "ours", "") == PENDING
            colour = "#eeeeee" if pending else COLOURS.get(getattr(cell, "verdict", ""), "white")
            fig.add_artist(Rectangle((x, top - h), widths[c], h, transform=fig.transFigure, facecolor=colour,
                                     edgecolor="grey", linewidth=0.5))
            fig.text(x + widths[c] / 2, top - h / 2, cell_text(cell, "\n"), ha="center", va="center",
                     fontsize=6.5, weight="bold" if r == 0 else "normal")
            x += widths[c]
        top -= h
    notes = "\n".join(f"[{k}] {c}" for k, c in table.commands.items())
    if notes:
        fig.text(0.01, 0.1 / height, notes, fontsize=6, family="monospace", va="bottom")
    return fig


def chart(title, table, column):
    """One scenario of a comparison table as bars (ours, mean +- SEM) with the published figure as a diamond and its
    agreement range as a black bar, for the cells with runs."""
    from sweep.plots import new_figure
    rows = [(r[0], r[column]) for r in table.rows if getattr(r[column], "values", None)]
    fig, ax = new_figure(f"{title}: {table.header[column]}", "", "average accuracy (%, after all contexts)")
    label = "published (+- 2 s.e.m. or the figure's tolerance)"
    for x, (name, cell) in enumerate(rows):
        mean, sem = mean_sem(cell.values)
        ax.bar(x, 100 * mean, yerr=0 if len(cell.values) < 2 else 100 * sem, capsize=4,
               color=COLOURS.get(cell.verdict, "lightgrey"), edgecolor="grey")
        f = cell.figure
        if f is not None:
            low, high = ((f.mean - 2 * f.sem, f.mean + 2 * f.sem) if f.sem is not None
                         else (f.low - f.tolerance, (f.high or f.low) + f.tolerance))
            ax.errorbar(x + 0.25, f.mean, yerr=[[f.mean - low], [high - f.mean]], fmt="D", color="black",
                        capsize=3, label=label)
            label = None
    ax.set_xticks(range(len(rows)), [f"{n.replace(' ', chr(10))}\n({len(c.values)} seeds)\n{c.verdict}"
                                      for n, c in rows], fontsize=6.5)
    ax.set_ylim(0, 105)
    if any(c.figure for _, c in rows):
        ax.legend(fontsize="small", loc="upper left")
    return fig


def build(results_dir, sections=None):
    store = Store(results_dir)
    return [section(store) for section in (SECTIONS if sections is None else sections)]


def write(parts, results_dir, out_dir):
    """<out_dir>/report.md and <out_dir>/report.pdf, each complete or not at all; returns their paths."""
    from eval.report import write_pdf
    md, pdf = os.path.join(out_dir, "report.md"), os.path.join(out_dir, "report.pdf")
    text = markdown(parts, results_dir)
    io.write_atomic(md, lambda f: f.write(text.encode()))
    pages = [table_page(p, t) for p in parts for t in p.tables] + [f for p in parts for f in p.figures]
    write_pdf(pdf, pages, "Reproduction report")
    return md, pdf
