#!/usr/bin/env python3
"""Methods that store data, over memory budgets, as the paper's compare_replay.py.

    ./compare_replay.py --experiment=splitMNIST --scenario=class --seed=2 --n-seeds=5 [--tau-per-budget]

ER, A-GEM, FROMP (budgets up to 1000) and iCaRL (class-IL) at each budget, with None and Joint as reference lines.
Writes <plot-dir>/summaryExactRep-<problem>.pdf (accuracy vs budget) and <results-dir>/summaryExactRep-<problem>
.csv/.json. Runs are reused from <results-dir> like compare.py's.
"""
import os
import sys

import sweep
from utils.errors import run_cli
from sweep import PAPER_METHODS, Method

DROPS = ("no_fromp", "no_agem")
BUDGETS = {"splitMNIST": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
           "CIFAR100": [1, 2, 5, 10, 20, 50, 100, 200, 500]}
FROMP_MAX_BUDGET = 1000  # as the paper: FROMP's cost grows with the budget

METHODS = [
    Method("ER", "--replay=buffer --budget={budget}", color="red"),
    Method("A-GEM", "--agem --budget={budget}", drop="no_agem", color="orangered"),
    Method("FROMP", "--fromp --budget={budget}", drop="no_fromp", color="goldenrod"),
    Method("iCaRL", "--icarl --active-classes=all-so-far --budget={budget}", ("class",), color="purple"),
]

# The paper's best FROMP tau for each budget (split MNIST, from its grid search), used with --tau-per-budget.
TAU_PER_BUDGET = {
    "task": {1: 1e5, 2: 1e3, 5: 1e5, 10: 1e-3, 20: 1e4, 50: 1e3, 100: 0.01, 200: 0.01, 500: 0.1, 1000: 10.0},
    "domain": {1: 1e-3, 2: 1e5, 5: 1e5, 10: 1e5, 20: 1e5, 50: 1e4, 100: 10.0, 200: 1.0, 500: 10.0, 1000: 0.1},
    "class": {1: 1e5, 2: 0.01, 5: 1e4, 10: 1e5, 20: 1e4, 50: 1e3, 100: 1e3, 200: 10.0, 500: 1e-3, 1000: 1.0},
}


def add_args(group):
    group.add_argument("--budgets", help="comma-separated memory budgets (default: the paper's list)")
    group.add_argument("--tau-per-budget", action="store_true", help="FROMP: the paper's best tau for each budget")


def main(argv=None, methods=METHODS):
    s = sweep.setup(argv, "compare_replay", "Methods that store data, over memory budgets.", DROPS,
                    add_args=add_args)
    args = s.args
    sweep.check_methods(s.sweep, PAPER_METHODS[:2] + list(methods), args.scenario)
    budgets = sweep.budget_list(s.sweep.budgets, BUDGETS.get(args.experiment, BUDGETS["splitMNIST"]))
    references = [(m, sweep.method_jobs(s, m)) for m in PAPER_METHODS[:2]]
    references = [(m, jobs) for m, jobs in references if jobs]
    lines = []  # (method, budgets, jobs)
    for method in methods:
        if not sweep.applies(method, args.scenario, s.sweep):
            continue
        used, jobs = [], []
        for budget in budgets:
            if method.name == "FROMP" and budget > FROMP_MAX_BUDGET:
                continue
            extra = []
            if method.name == "FROMP" and s.sweep.tau_per_budget and budget in TAU_PER_BUDGET[args.scenario]:
                extra = [f"--tau={TAU_PER_BUDGET[args.scenario][budget]:g}"]
            found = sweep.method_jobs(s, method, (method.name, budget), extra, budget=budget)
            if found is None and not used:
                break  # main.py refuses the method itself: one note
            if found:
                used.append(budget)
                jobs += found
        if used:
            lines.append((method, used, jobs))
    every = [j for _, jobs in references for j in jobs] + [j for c in lines for j in c[2]]
    failed = sweep.run_all(s, every)
    rows = []
    for method, jobs in references:
        acc = sweep.accuracies(jobs).get((method.name,))
        if acc:
            rows.append({"method": method.name, "budget": "", "n": len(acc), **_stats(acc)})
    for method, used, jobs in lines:
        acc = sweep.accuracies(jobs)
        for budget in used:
            if (method.name, budget) in acc:
                a = acc[(method.name, budget)]
                rows.append({"method": method.name, "budget": budget, "n": len(a), **_stats(a)})
    print("\n" + "#" * 60 + f"\nMEMORY BUDGETS: {sweep.title_of(args)}\n" + "#" * 60)
    for row in rows:
        sem = "" if row["n"] < 2 else f"  (+/- {100 * row['sem']:.2f})"
        print(f"{row['method']:10s} {str(row['budget']):>6s}  {100 * row['mean']:.2f}{sem},  n={row['n']}")
    name = sweep.summary_name("summaryExactRep", args, every)
    if rows:
        sweep.write_table(rows, os.path.join(args.results_dir, name), every)
        pdf = os.path.join(args.plot_dir, name + ".pdf")
        plot(pdf, rows, [m for m, _ in references], [m for m, _, _ in lines], args)
        print(f"=> table: {os.path.join(args.results_dir, name)}.csv (.json)\n=> plot: {pdf}")
    return sweep.report_failures(failed)


def _stats(values):
    mean, sem = sweep.mean_sem(values)
    return {"mean": mean, "sem": sem}


def plot(path, rows, references, methods, args):
    import math
    with sweep.pdf_pages(path) as pdf:
        fig, ax = sweep.new_figure(sweep.title_of(args), "total memory budget (log-scale)",
                                   "average accuracy (after all contexts)")
        for method in methods:
            mine = [r for r in rows if r["method"] == method.name and r["budget"] != ""]
            err = [0 if math.isnan(r["sem"]) else r["sem"] for r in mine]
            ax.errorbar([r["budget"] for r in mine], [r["mean"] for r in mine], yerr=err, marker="o", capsize=3,
                        label=method.name, color=method.color)
        for method in references:
            for r in rows:
                if r["method"] == method.name and r["budget"] == "":
                    ax.axhline(r["mean"], color=method.color, linestyle="--", label=method.name)
                    if not math.isnan(r["sem"]):
                        ax.axhspan(r["mean"] - r["sem"], r["mean"] + r["sem"], color=method.color, alpha=0.15)
        ax.set_xscale("log")
        ax.legend(fontsize="small")
        sweep.save_page(pdf, fig)


if __name__ == "__main__":
    sys.exit(run_cli(main))
