"""Methods that store data, over memory budgets (compare_replay.py), with reference methods (None, Joint) as
horizontal lines: a table of mean +- SEM per method and budget, and a pdf (accuracy vs budget). A method's own rules
for budgets (the largest it runs, tuned flags per budget) come from its catalogue entry."""
from dataclasses import dataclass

from sweep import paper
from sweep.catalogue import applies
from sweep.execute import run_all
from sweep.plan import number_list, check_methods, method_jobs, setup
from sweep.plots import new_figure, save_page
from sweep.script import Sweep, conclude
from sweep.summary import accuracies, mean_sem, title_of


@dataclass(frozen=True)
class BudgetSweep(Sweep):
    """methods: entries with '{budget}' in their flags; references: entries run once, without a budget;
    budgets: {experiment: the budgets} ('*' = others), unless --budgets. With --tau-per-budget (the script's
    option), a method's `tuned` flags for the scenario and budget are added."""
    methods: tuple = ()
    references: tuple = ()
    budgets: dict = None

    def sweep(self, argv):
        s = setup(argv, self.prog, self.description, self.drops, add_args=self.add_args)
        args = s.args
        check_methods(s.sweep, list(self.references) + list(self.methods), args.scenario)
        budgets = number_list(s.sweep.budgets, self.budgets.get(args.experiment, self.budgets["*"]))
        references = [(m, method_jobs(s, m)) for m in self.references]
        references = [(m, jobs) for m, jobs in references if jobs]
        lines = []  # (method, budgets, jobs)
        for method in self.methods:
            if not applies(method, args.scenario, s.sweep):
                continue
            tuned = (method.tuned or {}).get(args.scenario, {}) if getattr(s.sweep, "tau_per_budget", False) else {}
            used, jobs = [], []
            for budget in budgets:
                if method.max_budget is not None and budget > method.max_budget:
                    continue
                extra = tuned[budget].split() if budget in tuned else []
                found = method_jobs(s, method, (method.name, budget), extra, budget=budget)
                if found is None and not used:
                    break  # main.py refuses the method itself: one note
                if found:
                    used.append(budget)
                    jobs += found
            if used:
                lines.append((method, used, jobs))
        every = [j for _, jobs in references for j in jobs] + [j for c in lines for j in c[2]]
        failed = run_all(s, every)
        rows = []
        for method, jobs in references:
            acc = accuracies(jobs).get((method.name,))
            if acc:
                rows.append({"method": method.name, "budget": "", "n": len(acc), **_stats(acc),
                             **_published(jobs, (method.name,), method.name)})
        for method, used, jobs in lines:
            acc = accuracies(jobs)
            for budget in used:
                if (method.name, budget) in acc:
                    a = acc[(method.name, budget)]
                    rows.append({"method": method.name, "budget": budget, "n": len(a), **_stats(a),
                                 **_published(jobs, (method.name, budget), method.name)})
        return conclude(s, "summaryExactRep", rows, every, failed, lambda: print_table(rows, args),
                        lambda pages: plot(pages, rows, [m for m, _ in references], [m for m, _, _ in lines], args))


def _stats(values):
    mean, sem = mean_sem(values)
    return {"mean": mean, "sem": sem}


def _published(jobs, key, name):
    """The published column of one row (sweep.paper): the paper's figure applies at its own budget only."""
    done = [j for j in jobs if j.key == key and j.result is not None]
    return paper.compare([(j.args, j.argv, j.result["average_accuracy"]) for j in done], name)


def print_table(rows, args):
    print("\n" + "#" * 60 + f"\nMEMORY BUDGETS: {title_of(args)}\n" + "#" * 60)
    print(f"{'':17s} {'ours':22s} {'published':24s} verdict")
    for row in rows:
        sem = "" if row["n"] < 2 else f" +- {100 * row['sem']:.2f}"
        ours = f"{100 * row['mean']:.2f}{sem}, n={row['n']}"
        print(f"{row['method']:10s} {str(row['budget']):>6s} {ours:22s} {row['published']:24s} {row['verdict']}")


def plot(pages, rows, references, methods, args):
    import math
    fig, ax = new_figure(title_of(args), "total memory budget (log-scale)", "average accuracy (after all contexts)")
    for method in methods:
        mine = [r for r in rows if r["method"] == method.name and r["budget"] != ""]
        err = [0 if math.isnan(r["sem"]) else r["sem"] for r in mine]
        ax.errorbar([r["budget"] for r in mine], [r["mean"] for r in mine], yerr=err, marker="o", capsize=3,
                    label=method.name, color=method.color)
        marked = [r for r in mine if r.get("published_mean") is not None]
        if marked:
            ax.scatter([r["budget"] for r in marked], [r["published_mean"] for r in marked], marker="D",
                       color=method.color, edgecolor="black", zorder=3, label=f"{method.name}: published")
    for method in references:
        for r in rows:
            if r["method"] == method.name and r["budget"] == "":
                ax.axhline(r["mean"], color=method.color, linestyle="--", label=method.name)
                if not math.isnan(r["sem"]):
                    ax.axhspan(r["mean"] - r["sem"], r["mean"] + r["sem"], color=method.color, alpha=0.15)
    ax.set_xscale("log")
    ax.legend(fontsize="small")
    save_page(pages, fig)
