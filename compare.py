#!/usr/bin/env python3
"""Compare the paper's continual-learning methods on one experiment and scenario, over several seeds.

    ./compare.py --experiment=splitMNIST --scenario=task --seed=2 --n-seeds=20 [any option of ./main.py]

Every run's result is <results-dir>/<stamp>.json (reused when complete and made the same way, so a stopped sweep
resumes; see sweep/stored.py). Prints a table (mean +- SEM of the average accuracy per method) and writes
<plot-dir>/summary-<problem>-s<seeds>-<hash>.pdf (bar chart; accuracy on the contexts so far vs number of contexts
learned) and <results-dir>/summary-<problem>-s<seeds>-<hash>.csv/.json, named by the runs they cover.
"""
import os
import sys

import sweep
from utils.errors import run_cli

DROPS = ("no_context_spec", "no_reg", "no_fromp", "no_bir", "no_agem")


def main(argv=None, methods=None):
    methods = sweep.PAPER_METHODS if methods is None else methods
    owned = {}
    for m in methods:
        for option in m.owns:
            owned.setdefault(option, []).append(m.name)
    s = sweep.setup(argv, "compare", "Compare continual-learning methods over seeds.", DROPS, owned.items())
    args = s.args
    sweep.check_methods(s.sweep, methods, args.scenario)
    for method in methods:
        if method.owns:
            sweep.check_owned(s, method)
    groups = []  # (method, its jobs over the seeds)
    for method in methods:
        if sweep.applies(method, args.scenario, s.sweep):
            jobs = sweep.method_jobs(s, method)
            if jobs:
                groups.append((method, jobs))
    every = [j for _, jobs in groups for j in jobs]
    failed = sweep.run_all(s, every)
    rows, curves = summarise(groups)
    print_table(rows, args, len(s.seeds))
    name = sweep.summary_name("summary", args, every)
    if rows:
        sweep.write_table(rows, os.path.join(args.results_dir, name), every)
        pdf = os.path.join(args.plot_dir, name + ".pdf")
        plot(pdf, rows, curves, args)
        print(f"=> table: {os.path.join(args.results_dir, name)}.csv (.json)\n=> plot: {pdf}")
    return sweep.report_failures(failed)


def summarise(groups):
    rows, curves = [], []
    for method, jobs in groups:
        done = [j for j in jobs if j.result is not None]
        if not done:
            continue
        accs = [j.result["average_accuracy"] for j in done]
        mean, sem = sweep.mean_sem(accs)
        rows.append({"method": method.name, "flags": " ".join(jobs[0].tokens),
                     "n": len(done), "mean": mean, "sem": sem, "seeds": [j.seed for j in done], "values": accs,
                     "color": method.color})
        per_seed = [sweep.so_far_curve(j.result["accuracy_matrix"]) for j in done]
        x = per_seed[0][0]
        ys = [y for _, y in per_seed]
        stats = [sweep.mean_sem([y[i] for y in ys]) for i in range(len(x))]
        curves.append((method, x, [m for m, _ in stats], [e for _, e in stats]))
        rows[-1]["so_far"] = [m for m, _ in stats]
    return rows, curves


def print_table(rows, args, n_seeds):
    print("\n" + "#" * 60 + f"\nSUMMARY RESULTS: {sweep.title_of(args)}\n" + "#" * 60)
    for i, row in enumerate(rows):
        sem = "" if row["n"] < 2 else f"  (+/- {100 * row['sem']:.2f})"
        print(f"{row['method']:27s} {100 * row['mean']:.2f}{sem},  n={row['n']}")
        if row["method"] == "Joint" and i + 1 < len(rows):
            print("=" * 60)
    print("#" * 60)


def plot(path, rows, curves, args):
    import numpy as np
    title = sweep.title_of(args)
    with sweep.pdf_pages(path) as pdf:
        n = max(r["n"] for r in rows)
        fig, ax = sweep.new_figure(title, f"mean +- SEM over {n} seed(s)", "average accuracy (after all contexts)")
        x = np.arange(len(rows))
        yerr = [0 if np.isnan(r["sem"]) else r["sem"] for r in rows]
        ax.bar(x, [r["mean"] for r in rows], yerr=yerr, capsize=4, color=[r["color"] for r in rows])
        ax.set_xticks(x, [r["method"] for r in rows], rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        sweep.save_page(pdf, fig)

        fig, ax = sweep.new_figure(title, "number of contexts learned", "average accuracy on the contexts so far")
        for method, xs, means, sems in curves:
            err = None if len(xs) and np.isnan(sems[0]) else sems
            ax.errorbar(xs, means, yerr=err, marker="o", capsize=3, label=method.name, color=method.color)
        ax.set_xticks(range(1, args.contexts + 1))
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize="small")
        sweep.save_page(pdf, fig)


if __name__ == "__main__":
    sys.exit(run_cli(main))
