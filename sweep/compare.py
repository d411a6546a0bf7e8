"""A comparison of methods over seeds (compare.py, compare_task_free.py): run them, print mean +- SEM of the average
accuracy per method, and write the table and a pdf (bar chart; accuracy on the contexts so far, or over the stream
for task-free runs, vs what was learned)."""
from dataclasses import dataclass

from sweep import paper
from sweep.catalogue import applies
from sweep.execute import run_all
from sweep.plan import check_methods, check_owned, method_jobs, setup
from sweep.plots import new_figure, save_page
from sweep.script import Sweep, conclude
from sweep.summary import mean_sem, so_far_curve, title_of


@dataclass(frozen=True)
class Comparison(Sweep):
    """methods: sweep.catalogue.Method entries, in the table's order. fmt: names of the script's own options that
    fill '{name}' fields of the methods' flags (e.g. compare_task_free.py's replay_update). prefix: the summary
    files' name. ci: the pdf's error bars are 95% confidence intervals (1.96 SEM), as the NeurIPS tutorial's,
    instead of the SEM."""
    methods: tuple = ()
    fmt: tuple = ()
    prefix: str = "summary"
    ci: bool = False

    def sweep(self, argv):
        owned = {}
        for m in self.methods:
            for option in m.owns:
                owned.setdefault(option, []).append(m.name)
        s = setup(argv, self.prog, self.description, self.drops, owned.items(), self.add_args, self.task_free)
        check_methods(s.sweep, self.methods, s.args.scenario)
        for method in self.methods:
            if method.owns:
                check_owned(s, method)
        groups = []  # (method, its jobs over the seeds)
        for method in self.methods:
            if applies(method, s.args.scenario, s.sweep):
                jobs = method_jobs(s, method, **{name: getattr(s.sweep, name) for name in self.fmt})
                if jobs:
                    groups.append((method, jobs))
        every = [j for _, jobs in groups for j in jobs]
        failed = run_all(s, every)
        rows, curves = summarise(groups, self.task_free)
        return conclude(s, self.prefix, rows, every, failed, lambda: print_table(rows, groups, s.args, len(s.seeds)),
                        lambda pages: plot(pages, rows, curves, s.args, self.task_free, 1.96 if self.ci else 1))


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
        mean, sem = mean_sem(accs)
        rows.append({"method": method.name, "flags": " ".join(jobs[0].tokens),
                     "n": len(done), "mean": mean, "sem": sem, "seeds": [j.seed for j in done], "values": accs,
                     "color": method.color,
                     **paper.compare([(j.args, j.argv, j.result["average_accuracy"]) for j in done], method.name,
                                     task_free)})
        per_seed = [stream_curve(j.result) if task_free else so_far_curve(j.result["accuracy_matrix"])
                    for j in done]
        x = per_seed[0][0]
        ys = [y for _, y in per_seed]
        stats = [mean_sem([y[i] for y in ys]) for i in range(min(len(x), *map(len, ys)))]
        x = x[:len(stats)]
        curves.append((method, x, [m for m, _ in stats], [e for _, e in stats]))
        rows[-1]["so_far"] = [m for m, _ in stats]
    return rows, curves


def print_table(rows, groups, args, n_seeds):
    """Ours (mean +- SEM, seeds) beside the published figure and the verdict (sweep.paper)."""
    ruled = {m.name for m, _ in groups if m.rule_below}
    print("\n" + "#" * 60 + f"\nSUMMARY RESULTS: {title_of(args)}\n" + "#" * 60)
    print(f"{'':27s} {'ours':22s} {'published':24s} verdict")
    for i, row in enumerate(rows):
        sem = "" if row["n"] < 2 else f" +- {100 * row['sem']:.2f}"
        ours = f"{100 * row['mean']:.2f}{sem}, n={row['n']}"
        print(f"{row['method']:27s} {ours:22s} {row['published']:24s} {row['verdict']}")
        if row["method"] in ruled and i + 1 < len(rows):
            print("=" * 60)
    print("#" * 60)


def published_markers(ax, x, rows):
    """A black diamond at the published figure on each bar that has one (rows of the paper's protocol)."""
    marked = [(i, r["published_mean"]) for i, r in zip(x, rows) if r.get("published_mean") is not None]
    if marked:
        ax.scatter([i for i, _ in marked], [m for _, m in marked], marker="D", color="black", zorder=3,
                   label="published")
        ax.legend(fontsize="small")


def plot(pages, rows, curves, args, task_free=False, z=1):
    """The bar chart and the curves, with error bars of z SEM (1: the SEM; 1.96: a 95% confidence interval)."""
    import numpy as np
    title = title_of(args)
    n = max(r["n"] for r in rows)
    spread = "SEM" if z == 1 else f"{z:g} SEM (95% confidence interval)"
    fig, ax = new_figure(title, f"mean +- {spread} over {n} seed(s)", "average accuracy (after all contexts)")
    x = np.arange(len(rows))
    yerr = [0 if np.isnan(r["sem"]) else z * r["sem"] for r in rows]
    ax.bar(x, [r["mean"] for r in rows], yerr=yerr, capsize=4, color=[r["color"] for r in rows])
    published_markers(ax, x, rows)
    ax.set_xticks(x, [r["method"] for r in rows], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    save_page(pages, fig)

    if task_free:
        fig, ax = new_figure(title, "iteration of the stream", "average test accuracy (all contexts)")
    else:
        fig, ax = new_figure(title, "number of contexts learned", "average accuracy on the contexts so far")
    for method, xs, means, sems in curves:
        err = None if len(xs) and np.isnan(sems[0]) else [z * e for e in sems]
        ax.errorbar(xs, means, yerr=err, marker="o", capsize=3, label=method.name, color=method.color)
    if not task_free:
        ax.set_xticks(range(1, args.contexts + 1))
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize="small")
    save_page(pages, fig)
