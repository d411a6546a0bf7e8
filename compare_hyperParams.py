#!/usr/bin/env python3
"""The paper's hyper-parameter grid searches (on one seed by default), as in its compare_hyperParams.py.

    ./compare_hyperParams.py --experiment=splitMNIST --scenario=task --seed=1 [--no-xdg --no-reg --no-fromp --no-bir]

For each grid: the average accuracy at every value, next to the baseline None (value 0, as the paper counts it);
the best value is printed. Writes <plot-dir>/hyperParams-<problem>.pdf (accuracy vs value, one page per grid) and
<results-dir>/hyperParams-<problem>.csv/.json. Runs are reused from <results-dir> like compare.py's.
"""
import os
import sys
from dataclasses import dataclass

import sweep
from utils.errors import run_cli
from sweep import Method

DROPS = ("no_xdg", "no_reg", "no_fromp", "no_bir")

DECADES = [10.0 ** k for k in range(0, 14)]                                  # 1 ... 1e13
ONE_FIVE = [m * 10.0 ** k for k in range(-3, 5) for m in (1, 5)] + [1e5]     # 0.001, 0.005, ..., 5e4, 1e5
TWENTIETHS = [round(0.05 * k, 2) for k in range(20)]                          # 0, 0.05, ..., 0.95
TAUS = [10.0 ** k for k in range(-3, 6)]                                      # 0.001 ... 1e5
FROMP_BUDGETS = {"splitMNIST": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], "CIFAR100": [1, 2, 5, 10, 20]}


@dataclass(frozen=True)
class Grid:
    """A method with one hyper-parameter, written '{value}' in its flags; values per experiment ('*' = others)."""
    method: Method
    parameter: str
    values: dict
    log: bool = True
    per_budget: bool = False   # FROMP: one grid per memory budget ('{budget}' in the flags)

    def values_for(self, experiment):
        return self.values.get(experiment, self.values["*"])


GRIDS = [
    Grid(Method("XdG", "--xdg --gating-prop={value:g}", ("task",), "no_xdg", color="deepskyblue"),
         "gating_prop", {"*": TWENTIETHS, "permMNIST": [round(0.1 * k, 1) for k in range(10)]}, log=False),
    Grid(Method("EWC", "--ewc --lambda={value:g}", drop="no_reg", color="darkgreen"),
         "lambda", {"*": DECADES, "permMNIST": DECADES[:8]}),
    Grid(Method("SI", "--si --c={value:g}", drop="no_reg", color="yellowgreen"),
         "c", {"*": ONE_FIVE, "permMNIST": [10.0 ** k for k in range(-2, 6)]}),
    Grid(Method("FROMP", "--fromp --budget={budget} --tau={value:g}", drop="no_fromp", color="goldenrod"),
         "tau", {"*": TAUS}, per_budget=True),
    Grid(Method("BI-R", "--brain-inspired --dg-prop={value:g}", drop="no_bir", color="lightcoral"),
         "dg_prop", {"*": [round(0.1 * k, 1) for k in range(10)]}, log=False),
]


def add_args(group):
    group.add_argument("--budgets", help="comma-separated memory budgets for the FROMP grids (default: the paper's)")


def main(argv=None, grids=GRIDS):
    return run_grids(argv, grids, "compare_hyperParams", "Grid searches of the methods' hyper-parameters.", DROPS,
                     add_args)


def run_grids(argv, grids, prog, description, drops, add_args=None, task_free=False):
    """The grid searches `grids` next to None (compare_hyperParams.py; its task-free sibling with task_free)."""
    s = sweep.setup(argv, prog, description, drops, add_args=add_args, task_free=task_free)
    args = s.args
    sweep.check_methods(s.sweep, [sweep.PAPER_METHODS[0]] + [g.method for g in grids], args.scenario)
    budgets = sweep.budget_list(getattr(s.sweep, "budgets", None),
                                FROMP_BUDGETS.get(args.experiment, FROMP_BUDGETS["CIFAR100"]))
    base = sweep.method_jobs(s, sweep.PAPER_METHODS[0]) or []
    curves = []  # (grid, budget or None, values, jobs)
    for grid in grids:
        if not sweep.applies(grid.method, args.scenario, s.sweep):
            continue
        for budget in (budgets if grid.per_budget else [None]):
            values, jobs = [], []
            for value in grid.values_for(args.experiment):
                key = (grid.method.name, budget, value) if grid.per_budget else (grid.method.name, value)
                found = sweep.method_jobs(s, grid.method, key, value=value, budget=budget)
                if found is None and not values:
                    break  # main.py refuses the method itself: one note, no grid
                if found:
                    values.append(value)
                    jobs += found
            if not values:
                break
            curves.append((grid, budget, values, jobs))
    every = base + [j for c in curves for j in c[3]]
    failed = sweep.run_all(s, every)
    base_acc = sweep.accuracies(base).get(("None",))
    base_mean = sweep.mean_sem(base_acc)[0] if base_acc else float("nan")
    rows = [{"method": "None", "parameter": "", "budget": "", "value": 0, "n": len(base_acc or []),
             "mean": base_mean}] if base_acc else []
    for grid, budget, values, jobs in curves:
        acc = sweep.accuracies(jobs)
        points = []
        for v in values:
            a = acc.get((grid.method.name, budget, v) if grid.per_budget else (grid.method.name, v))
            if a:
                points.append((v, sweep.mean_sem(a)[0]))
                rows.append({"method": grid.method.name, "parameter": grid.parameter,
                             "budget": "" if budget is None else budget, "value": v, "n": len(a),
                             "mean": points[-1][1]})
        report(grid, budget, points, base_mean)
    name = sweep.summary_name("hyperParams-task-free" if task_free else "hyperParams", args, every)
    if rows:
        sweep.write_table(rows, os.path.join(args.results_dir, name), every)
        pdf = os.path.join(args.plot_dir, name + ".pdf")
        plot(pdf, curves, rows, base_mean, args)
        print(f"=> table: {os.path.join(args.results_dir, name)}.csv (.json)\n=> plot: {pdf}")
    return sweep.report_failures(failed)


def report(grid, budget, points, base_mean):
    """The paper's read-out: the grid with None as value 0 in front, and the best of them."""
    if not points:
        return
    ext = [(0, base_mean)] + points
    best = max(ext, key=lambda p: (p[1], -ext.index(p)))
    title = grid.method.name + ("" if budget is None else f" (budget={budget})")
    print(f"\n{title}\n param list ({grid.parameter}): {[p[0] for p in ext]}\n  {[round(p[1], 4) for p in ext]}")
    print(f"---> {grid.parameter} = {best[0]:g}     --    {100 * best[1]:.2f}")


def plot(path, curves, rows, base_mean, args):
    from matplotlib import colormaps
    import numpy as np
    means = [r["mean"] for r in rows]
    low, high = min(means), max(means)
    margin = 0.1 * (high - low)
    ylim = (0 if args.scenario == "class" else max(low - 2 * margin, 0), min(high + margin, 1) + 0.01)
    with sweep.pdf_pages(path) as pdf:
        by_grid = {}
        for grid, budget, values, jobs in curves:
            by_grid.setdefault(grid.method.name, (grid, []))[1].append((budget, values))
        for grid, lines in by_grid.values():
            fig, ax = sweep.new_figure(sweep.title_of(args), f"{grid.method.name}: {grid.parameter}"
                                       + (" (log-scale)" if grid.log else ""), "test accuracy (after all contexts)")
            colors = colormaps["YlOrBr"](np.linspace(1.0, 0.5, len(lines)))
            for (budget, values), color in zip(lines, colors):
                ys = [r["mean"] for v in values for r in rows if r["method"] == grid.method.name
                      and r["value"] == v and r["budget"] == ("" if budget is None else budget)]
                xs = values[:len(ys)]
                label = grid.method.name + ("" if budget is None else f" (budget={budget})")
                ax.plot(xs, ys, marker="o", label=label, color=grid.method.color if budget is None else color)
            if not np.isnan(base_mean):
                ax.axhline(base_mean, color="grey", linestyle="--", label="None")
            if grid.log:
                ax.set_xscale("log")
            ax.set_ylim(*ylim)
            ax.legend(fontsize="small")
            sweep.save_page(pdf, fig)


if __name__ == "__main__":
    sys.exit(run_cli(main))
