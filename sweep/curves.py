"""A sweep over methods whose result is a continual-evaluation curve (./main.py --eval-contexts): the accuracy on
chosen contexts after every few iterations, and the stability gap at each context switch (eval.metrics.stability_gap,
in every run's record). StabilityGap/stability_gap_example.py is one.

The script's `defaults` are ./main.py options put before the user's, so any of them can be changed on the command
line. The methods are the script's list (--methods picks some), or, when the options the user gave switch a method
on themselves (e.g. --replay=buffer), that one run alone: the gap of any method with one flag.
"""
import sys
from dataclasses import dataclass

import numpy as np

import methods
from sweep.catalogue import Method, applies
from sweep.execute import run_all
from sweep.plan import check_methods, method_jobs, setup
from sweep.plots import new_figure, save_page
from sweep.script import Sweep, conclude
from sweep.summary import title_of


@dataclass(frozen=True)
class CurveSweep(Sweep):
    """methods: sweep.catalogue.Method entries (the first is the default run); defaults: ./main.py tokens placed
    before the user's; ylim: the curve figure's accuracy range in %, used when every curve stays in it after the
    first switch (None: automatic)."""
    methods: tuple = ()
    defaults: tuple = ()
    ylim: tuple = None

    def sweep(self, argv):
        argv = sys.argv[1:] if argv is None else list(argv)
        s = setup([*self.defaults, *argv], self.prog, self.description, self.drops, (), self.add_args,
                  self.task_free)
        s.title = " ".join([f"./{self.prog}.py", *argv])  # (the user's options, not the defaults)
        chosen = self.methods_for(s)
        groups = [(m, jobs) for m in chosen if (jobs := method_jobs(s, m))]
        every = [j for _, jobs in groups for j in jobs]
        failed = run_all(s, every)
        rows, curves = summarise(groups)
        return conclude(s, self.prog.split("/")[-1], rows, every, failed, lambda: print_table(rows, s.args),
                        lambda pages: plot(pages, curves, s.args, self.ylim))

    def methods_for(self, s):
        """The user's own method (when their options switch one on and --methods is not given), else the list."""
        own = methods.enabled_components(s.args)
        if own and s.sweep.methods is None:
            return [Method(" ".join(dict.fromkeys(methods.describe(c, s.args, own) for c in own)), "", color="C3")]
        check_methods(s.sweep, self.methods, s.args.scenario)
        picked = [m for m in self.methods if applies(m, s.args.scenario, s.sweep)]
        return picked if s.sweep.methods else picked[:1]


def summarise(groups):
    """Per method: one row per switch and earlier context (mean over the seeds of the run records' stability-gap
    figures), and the mean curve of each evaluated context."""
    rows, curves = [], []
    for method, jobs in groups:
        done = [j.result for j in jobs if j.result is not None]
        if not done:
            continue
        log = done[0]["training_log"]
        x = log["acc_iterations"]
        n = min(len(r["training_log"]["accuracy"]) for r in done)
        acc = np.array([[[np.nan if a is None else a for a in row] for row in r["training_log"]["accuracy"][:n]]
                        for r in done], dtype=float)
        curves.append((method, x[:n], np.nanmean(acc, axis=0) if len(done) > 1 else acc[0], log["switches"]))
        gaps = {}
        for r in done:
            for g in r.get("stability_gap", []):
                gaps.setdefault((g["switch"], g["context"]), []).append(g)
        for (switch, context), found in sorted(gaps.items()):
            recovered = [g["recovered_after"] for g in found if g["recovered_after"] is not None]
            rows.append({"method": method.name, "switch": switch, "context": context, "n": len(found),
                         "before": _mean(found, "before"), "minimum": _mean(found, "minimum"),
                         "depth": _mean(found, "depth"), "minimum_at": _mean(found, "minimum_at"),
                         "recovered_after": float(np.mean(recovered)) if recovered else None,
                         "recovered_runs": len(recovered), "average_accuracy":
                         float(np.mean([r["average_accuracy"] for r in done])), "color": method.color})
    return rows, curves


def _mean(found, key):
    return float(np.mean([g[key] for g in found]))


def print_table(rows, args):
    print("\n" + "#" * 78 + f"\nSTABILITY GAP: {title_of(args)}\n" + "#" * 78)
    print(f"{'method':22s} {'switch':>6} {'context':>7} {'before':>7} {'lowest':>7} {'depth':>6} {'at':>5} "
          f"{'back after':>10}")
    for r in rows:
        back = "never" if r["recovered_after"] is None else f"{r['recovered_after']:.0f}"
        print(f"{r['method'][:22]:22s} {r['switch']:6d} {r['context']:7d} {100 * r['before']:7.2f} "
              f"{100 * r['minimum']:7.2f} {100 * r['depth']:6.2f} {r['minimum_at']:5.0f} {back:>10}  (n={r['n']})")
    print("(accuracy in %; 'at' and 'back after': iterations after the switch; back = within 1 point of before)")
    print("#" * 78)


def plot(pages, curves, args, ylim=None):
    """One page per evaluated context: its accuracy over all iterations, one line per method, switches marked."""
    contexts = sorted({j for _, _, acc, _ in curves for j in range(acc.shape[1]) if not np.isnan(acc[:, j]).all()})
    for j in contexts:
        fig, ax = new_figure(f"{title_of(args)}\naccuracy on context {j + 1} throughout training",
                             "total number of training iterations", f"test accuracy (%) on context {j + 1}")
        for method, x, acc, _ in curves:
            ax.plot(x, 100 * acc[:, j], label=method.name, color=method.color, linewidth=1)
        for k, t in enumerate(curves[0][3]):
            ax.axvline(t, color="grey", linestyle="--", linewidth=1, label="context switch" if k == 0 else None)
        start = np.searchsorted(curves[0][1], curves[0][3][0]) if curves[0][3] else 0  # (after the first switch)
        if ylim is not None and all(np.nanmin(100 * acc[start:, j]) >= ylim[0] for _, _, acc, _ in curves):
            ax.set_ylim(*ylim)  # the example's range (the first iterations, from chance, lie below it)
        ax.legend(fontsize="small")
        save_page(pages, fig)
