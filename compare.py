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
    return run_comparison(argv, sweep.PAPER_METHODS if methods is None else methods, "compare",
                          "Compare continual-learning methods over seeds.", DROPS)


def run_comparison(argv, methods, prog, description, drops, add_args=None, fmt=(), task_free=False):
    """The comparison of `methods` over seeds (compare.py; compare_task_free.py with task_free): run, table, pdf.
    fmt: names of sweep options that fill '{name}' fields of the methods' flags."""
    owned = {}
    for m in methods:
        for option in m.owns:
            owned.setdefault(option, []).append(m.name)
    s = sweep.setup(argv, prog, description, drops, owned.items(), add_args=add_args, task_free=task_free)
    args = s.args
    sweep.check_methods(s.sweep, methods, args.scenario)
    for method in methods:
        if method.owns:
            sweep.check_owned(s, method)
    groups = []  # (method, its jobs over the seeds)
    for method in methods:
        if sweep.applies(method, args.scenario, s.sweep):
            jobs = sweep.method_jobs(s, method, **{name: getattr(s.sweep, name) for name in fmt})
            if jobs:
                groups.append((method, jobs))
    every = [j for _, jobs in groups for j in jobs]
    failed = sweep.run_all(s, every)
    rows, curves = summarise(groups, task_free)
    print_table(rows, args, len(s.seeds))
    name = sweep.summary_name("summary-task-free" if task_free else "summary", args, every)
    if rows:
        sweep.write_table(rows, os.path.join(args.results_dir, name), every)
        pdf = os.path.join(args.plot_dir, name + ".pdf")
        plot(pdf, rows, curves, args, task_free)
        print(f"=> table: {os.path.join(args.results_dir, name)}.csv (.json)\n=> plot: {pdf}")
    return sweep.report_failures(failed)


def stream_curve(result):
    """Task-free: (iterations, mean test accuracy over all contexts) at each --acc-log point of the stream."""
    curve = result.get("curve", {})
    return curve.get("iterations", []), [sum(row) / len(row) for row in curve.get("accuracy", [])]


def summarise(groups, task_free=False):
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
        per_seed = [stream_curve(j.result) if task_free else sweep.so_far_curve(j.result["accuracy_matrix"])
                    for j in done]
        x = per_seed[0][0]
        ys = [y for _, y in per_seed]
        stats = [sweep.mean_sem([y[i] for y in ys]) for i in range(min(len(x), *map(len, ys)))]
        x = x[:len(stats)]
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


def plot(path, rows, curves, args, task_free=False):
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

        if task_free:
            fig, ax = sweep.new_figure(title, "iteration of the stream", "average test accuracy (all contexts)")
        else:
            fig, ax = sweep.new_figure(title, "number of contexts learned", "average accuracy on the contexts so far")
        for method, xs, means, sems in curves:
            err = None if len(xs) and np.isnan(sems[0]) else sems
            ax.errorbar(xs, means, yerr=err, marker="o", capsize=3, label=method.name, color=method.color)
        if not task_free:
            ax.set_xticks(range(1, args.contexts + 1))
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize="small")
        sweep.save_page(pdf, fig)


if __name__ == "__main__":
    sys.exit(run_cli(main))
