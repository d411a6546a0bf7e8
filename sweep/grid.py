"""Grid searches of one hyper-parameter per method (compare_hyperParams.py and its task-free sibling), next to the
baseline None, which the paper counts as the value 0: the accuracy at every value, the best value, a table and a pdf
(accuracy vs value, one page per method)."""
from dataclasses import dataclass, replace

from sweep import paper
from sweep.catalogue import applies, method
from sweep.execute import run_all
from sweep.plan import check_methods, method_jobs, number_list, setup
from sweep.plots import new_figure, save_page
from sweep.script import Sweep, conclude
from sweep.summary import accuracies, mean_sem, title_of


@dataclass(frozen=True)
class GridSearch(Sweep):
    """grids: sweep.catalogue.Grid entries. A grid with budgets is searched once per memory budget.
    fmt: names of the script's own options that fill '{name}' fields of the grids' method names and flags.
    values_option: the script's own option (comma-separated numbers) that replaces every grid's values.
    The steps (collect, conclude) are methods so that another kind of grid sweep can change its read-out."""
    grids: tuple = ()
    fmt: tuple = ()
    values_option: str = None

    def sweep(self, argv):
        s = setup(argv, self.prog, self.description, self.drops, add_args=self.add_args, task_free=self.task_free)
        base, curves = self.collect(s)
        every = base + [j for c in curves for j in c[3]]
        failed = run_all(s, every)
        return self.conclude(s, base, curves, every, failed)

    def collect(self, s):
        """(None's jobs, [(grid, budget or None, values, jobs)]) of the grids that apply."""
        args = s.args
        fmt = {name: getattr(s.sweep, name) for name in self.fmt}
        grids = [replace(g, method=replace(g.method, name=g.method.name.format(**fmt))) for g in self.grids]
        none = method("None")
        check_methods(s.sweep, [none] + [g.method for g in grids], args.scenario)
        given = number_list(getattr(s.sweep, "budgets", None), None)
        chosen = self.values_option and number_list(getattr(s.sweep, self.values_option), None,
                                                     "--" + self.values_option.replace("_", "-"), float)
        base = method_jobs(s, none) or []
        curves = []  # (grid, budget or None, values, jobs)
        for grid in grids:
            if not applies(grid.method, args.scenario, s.sweep):
                continue
            for budget in grid.budgets_for(args.experiment, given):
                values, jobs = [], []
                for value in chosen or grid.values_for(args.experiment):
                    found = method_jobs(s, grid.method, key(grid, budget, value), value=value, budget=budget, **fmt)
                    if found is None and not values:
                        break  # main.py refuses the method itself: one note, no grid
                    if found:
                        values.append(value)
                        jobs += found
                if not values:
                    break
                curves.append((grid, budget, values, jobs))
        return base, curves

    def conclude(self, s, base, curves, every, failed):
        """The paper's read-out: the accuracy at every value next to None (value 0), the best value, one page per
        grid."""
        args = s.args
        base_acc = accuracies(base).get(("None",))
        base_mean = mean_sem(base_acc)[0] if base_acc else float("nan")
        rows = [{"method": "None", "parameter": "", "budget": "", "value": 0, "n": len(base_acc or []),
                 "mean": base_mean}] if base_acc else []
        reports = []  # (grid, budget, [(value, mean accuracy)], the paper's choice beside ours)
        for grid, budget, values, jobs in curves:
            acc = accuracies(jobs)
            points = []
            for v in values:
                a = acc.get(key(grid, budget, v))
                if a:
                    points.append((v, mean_sem(a)[0]))
                    rows.append({"method": grid.method.name, "parameter": grid.parameter,
                                 "budget": "" if budget is None else budget, "value": v, "n": len(a),
                                 "mean": points[-1][1]})
            reports.append((grid, budget, points, paper.chosen(jobs, grid, budget, self.task_free)))
        return conclude(s, "hyperParams", rows, every, failed,
                        lambda: [report(*r, base_mean) for r in reports],
                        lambda pages: plot(pages, curves, rows, base_mean, args))


def key(grid, budget, value):
    return (grid.method.name, value) if grid.budgets is None else (grid.method.name, budget, value)


def report(grid, budget, points, chosen, base_mean):
    """The paper's read-out: the grid with None as value 0 in front, and the best of them (and the paper's choice,
    sweep.paper.chosen)."""
    if not points:
        return
    ext = [(0, base_mean)] + points
    best = max(ext, key=lambda p: (p[1], -ext.index(p)))
    title = grid.method.name + ("" if budget is None else f" (budget={budget})")
    print(f"\n{title}\n param list ({grid.parameter}): {[p[0] for p in ext]}\n  {[round(p[1], 4) for p in ext]}")
    print(f"---> {grid.parameter} = {best[0]:g}     --    {100 * best[1]:.2f}   {chosen}".rstrip())


def plot(pages, curves, rows, base_mean, args):
    from matplotlib import colormaps
    import numpy as np
    means = [r["mean"] for r in rows]
    low, high = min(means), max(means)
    margin = 0.1 * (high - low)
    ylim = (0 if args.scenario == "class" else max(low - 2 * margin, 0), min(high + margin, 1) + 0.01)
    by_grid = {}
    for grid, budget, values, jobs in curves:
        by_grid.setdefault(grid.method.name, (grid, []))[1].append((budget, values))
    for grid, lines in by_grid.values():
        fig, ax = new_figure(title_of(args), f"{grid.method.name}: {grid.parameter}"
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
        save_page(pages, fig)
