"""A grid search whose grids are ways of doing one method, read out together (ICLRblogpost/compare_FI.py: EWC with
five ways of computing its Fisher over lambda): accuracy against the value, one line per way with None as the
reference, each way's best value and its accuracy, and the seconds the Fisher estimates took per run (the record's
seconds.after_context of EWC's Fisher component, summed over the contexts), in a table and a pdf."""
import math
from dataclasses import dataclass

from methods.ewc import FisherImportance
from sweep.grid import GridSearch
from sweep.plots import new_figure, save_page
from sweep.script import conclude
from sweep.summary import accuracies, mean_sem, title_of

HOOK = FisherImportance.__name__  # whose after_context seconds are the Fisher's


def fisher_seconds(result):
    """Seconds of the run's Fisher estimates (all contexts), or None in a record made before they were kept."""
    calls = result.get("seconds", {}).get("after_context", {}).get(HOOK)
    return None if calls is None else sum(calls)


def variant_seconds(mine):
    """A variant's Fisher seconds per run: the mean over its runs at every lambda (lambda does not change the work)."""
    return mean_or_none([r["fisher_seconds"] for r in mine])


def mean_or_none(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class FisherStudy(GridSearch):
    """GridSearch's runs (None, and each grid = one Fisher variant over lambda), with this module's read-out."""

    def conclude(self, s, base, curves, every, failed):
        rows = []
        base_acc = accuracies(base).get(("None",))
        if base_acc:
            rows.append(row("None", "", base_acc, [j.result for j in base if j.result is not None]))
        for grid, budget, values, jobs in curves:
            acc = accuracies(jobs)
            mine = []
            for v in values:
                if (grid.method.name, v) in acc:
                    done = [j.result for j in jobs if j.key == (grid.method.name, v) and j.result is not None]
                    mine.append(row(grid.method.name, v, acc[(grid.method.name, v)], done))
            if mine:
                max(mine, key=lambda r: r["mean"])["best"] = True  # the first of equals, as numpy's argmax
            rows += mine
        return conclude(s, "FI", rows, every, failed, lambda: print_table(rows),
                        lambda pages: plot(pages, rows, curves, s.args))


def row(name, value, accs, results):
    mean, sem = mean_sem(accs)
    return {"method": name, "lambda": value, "n": len(accs), "mean": mean, "sem": sem, "best": False,
            "fisher_seconds": mean_or_none([fisher_seconds(r) for r in results]),
            "train_seconds": mean_or_none([r.get("seconds", {}).get("train") for r in results])}


def variants(rows):
    """{method name: its rows} of the Fisher variants, in the table's order."""
    out = {}
    for r in rows:
        if r["method"] != "None":
            out.setdefault(r["method"], []).append(r)
    return out


def _pm(r):
    return "" if r["n"] < 2 else f" (+/- {100 * r['sem']:.2f})"


def print_table(rows):
    for name, mine in variants(rows).items():
        print(f"\n\nEWC  --  {name}\n param list (lambda): {[r['lambda'] for r in mine]}\n"
              f"  {[round(r['mean'], 4) for r in mine]}")
        best = next(r for r in mine if r["best"])
        print(f"---> lambda = {best['lambda']:g}     --    {100 * best['mean']:.2f}")
    print("\n" + "#" * 78 + "\n  EACH FISHER AT ITS BEST LAMBDA: AVERAGE TEST ACCURACY, SECONDS OF ITS ESTIMATES\n"
          + "-" * 78)
    print(f"{'':18s} {'lambda':>8s} {'accuracy (%)':>12s}{'':14s} {'n':>4s} {'Fisher (s/run)':>15s}")
    by_name = variants(rows)
    for r in rows:
        if r["method"] == "None" or r["best"]:
            seconds = variant_seconds(by_name.get(r["method"], []))
            lam = "" if r["method"] == "None" else f"{r['lambda']:g}"
            shown = "" if r["method"] == "None" else "n/a" if seconds is None else f"{seconds:.2f}"
            print(f"{r['method']:18s} {lam:>8s} {100 * r['mean']:12.2f}{_pm(r):14s} {r['n']:4d} {shown:>15s}")
    print("#" * 78)


def plot(pages, rows, curves, args):
    """The blog post's figure (accuracy against lambda, one line per Fisher, None as a line across), then the
    accuracy at each one's best lambda and the seconds of its Fisher estimates (mean over its runs)."""
    import numpy as np
    colors = {g.method.name: g.method.color for g, *_ in curves}
    title = title_of(args)
    none = [r for r in rows if r["method"] == "None"]
    err = lambda rs: [0 if math.isnan(r["sem"]) else r["sem"] for r in rs]  # noqa: E731
    fig, ax = new_figure(title, "EWC: lambda (log-scale)", "test accuracy (after all contexts)")
    for name, mine in variants(rows).items():
        ax.errorbar([r["lambda"] for r in mine], [r["mean"] for r in mine], yerr=err(mine), marker="o", capsize=3,
                    label=name, color=colors[name])
    for r in none:
        ax.axhline(r["mean"], color="green", linestyle="--", label="None")
        if not math.isnan(r["sem"]):
            ax.axhspan(r["mean"] - r["sem"], r["mean"] + r["sem"], color="green", alpha=0.15)
    ax.set_xscale("log")
    ax.legend(fontsize="small")
    save_page(pages, fig)

    best = none + [r for r in rows if r["best"]]
    x = np.arange(len(best))
    names = [r["method"] + ("" if r["method"] == "None" else f"\n(lambda={r['lambda']:g})") for r in best]
    fig, ax = new_figure(title, "", "average accuracy (after all contexts), at the best lambda")
    ax.bar(x, [r["mean"] for r in best], yerr=err(best), capsize=4,
           color=[colors.get(r["method"], "green") for r in best])
    ax.set_xticks(x, names, fontsize="x-small", rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    save_page(pages, fig)

    timed = [(name, variant_seconds(mine)) for name, mine in variants(rows).items()]
    timed = [(name, sec) for name, sec in timed if sec is not None]
    if timed:
        fig, ax = new_figure(title, "", "seconds of the Fisher estimates per run (all contexts; mean over runs)")
        ax.bar(np.arange(len(timed)), [sec for _, sec in timed], color=[colors[name] for name, _ in timed])
        ax.set_xticks(np.arange(len(timed)), [name for name, _ in timed], fontsize="small", rotation=20, ha="right")
        save_page(pages, fig)
