"""The methods of the paper's comparisons, as a user selects them on ./main.py's command line.

A method whose flags ./main.py does not (yet) accept is left out of a sweep with one printed note, so the lists can
name methods before they are implemented.
"""
from dataclasses import dataclass, field

SCENARIOS = ("task", "domain", "class")


@dataclass(frozen=True)
class Method:
    """One entry of a comparison.

    flags: what follows ./main.py to select the method, as a user types it. '{name}' fields are filled from the
    parsed shared options (plus 'iters_all' = iters x contexts, and 'value' / 'budget' in grids).
    owns: options of compare.py that go only to this method's runs (e.g. EWC's --lambda).
    drop: the compare.py option that leaves it out (e.g. 'no_reg' for --no-reg).
    rule_below: the summary table draws a rule under its row (Joint: the references above, the methods below).
    max_budget: memory-budget sweeps leave out larger budgets.
    tuned: {scenario: {budget: flags}}, the paper's best hyper-parameters per memory budget (--tau-per-budget).
    """
    name: str
    flags: str = ""
    scenarios: tuple = SCENARIOS
    drop: str = None
    owns: tuple = ()
    color: str = "C0"
    rule_below: bool = False
    max_budget: int = None
    tuned: dict = field(default=None, hash=False)


# The paper's comparison (GMvandeVen/continual-learning, compare.py), in its order.
PAPER_METHODS = [
    Method("None", "", color="grey"),
    Method("Joint", "--joint --iters={iters_all}", color="black", rule_below=True),
    Method("Separate Networks", "--separate-networks", ("task",), "no_context_spec", color="dodgerblue"),
    Method("XdG", "--xdg", ("task",), "no_context_spec", color="deepskyblue"),
    Method("EWC", "--ewc", drop="no_reg", owns=("--lambda",), color="darkgreen"),
    Method("SI", "--si", drop="no_reg", owns=("--c",), color="yellowgreen"),
    Method("LwF", "--lwf", color="gold"),
    Method("FROMP", "--fromp", drop="no_fromp", owns=("--tau",), color="goldenrod"),
    Method("DGR", "--replay=generative", color="indianred"),
    Method("BI-R", "--brain-inspired", drop="no_bir", color="lightcoral"),
    Method("ER", "--replay=buffer", color="red"),
    Method("A-GEM", "--agem", drop="no_agem", color="orangered"),
    Method("iCaRL", "--icarl --active-classes=all-so-far", ("class",), color="purple"),
    Method("Generative Classifier", "--gen-classifier --gc-compare", ("class",), owns=("--eval-s",), color="indigo"),
]

# The NeurIPS 2022 tutorial's comparison (NeurIPStutorial/compare_for_tutorial.py), in its order: two examples of
# each computational strategy, coloured by strategy (context-specific components blue, parameter regularisation
# green, functional regularisation yellow, replay red, template-based classification purple). The runs are the
# paper's comparison's, so the two scripts share their results.
TUTORIAL_METHODS = [next(m for m in PAPER_METHODS if m.name == name) for name in (
    "None", "Joint", "Separate Networks", "XdG", "EWC", "SI", "LwF", "FROMP", "DGR", "ER", "Generative Classifier",
    "iCaRL")]

# The paper's task-free comparison (its compare_task_free.py), as ./main_task_free.py flags, in its order. Joint is
# the random stream; ER, A-GEM and iCaRL update their replay source every --replay-update iterations (the paper's
# default 1), the other methods every --update-every.
TASK_FREE_METHODS = [
    Method("None", "", color="grey"),
    Method("Joint", "--joint", color="black", rule_below=True),
    Method("Separate Networks", "--separate-networks", ("task",), "no_context_spec", color="dodgerblue"),
    Method("XdG", "--xdg", ("task",), "no_context_spec", color="deepskyblue"),
    Method("SI", "--si", drop="no_si", owns=("--c",), color="yellowgreen"),
    Method("LwF", "--lwf", color="gold"),
    Method("ER", "--replay=buffer --update-every={replay_update}", color="red"),
    Method("A-GEM", "--agem --update-every={replay_update}", drop="no_agem", color="orangered"),
    Method("iCaRL", "--icarl --update-every={replay_update}", ("class",), color="purple"),
    Method("Generative Classifier", "--gen-classifier --gc-compare", ("class",), color="indigo"),
]

# FROMP's best tau per scenario and memory budget in the paper's grid search on split MNIST
FROMP_TAU = {
    "task": {1: 1e5, 2: 1e3, 5: 1e5, 10: 1e-3, 20: 1e4, 50: 1e3, 100: 0.01, 200: 0.01, 500: 0.1, 1000: 10.0},
    "domain": {1: 1e-3, 2: 1e5, 5: 1e5, 10: 1e5, 20: 1e5, 50: 1e4, 100: 10.0, 200: 1.0, 500: 10.0, 1000: 0.1},
    "class": {1: 1e5, 2: 0.01, 5: 1e4, 10: 1e5, 20: 1e4, 50: 1e3, 100: 1e3, 200: 10.0, 500: 1e-3, 1000: 1.0},
}

# The paper's memory-budget comparison (its compare_replay.py): the methods that store data, '{budget}' samples.
# FROMP stops at 1000 (its cost grows with the budget), as the paper.
BUDGET_METHODS = [
    Method("ER", "--replay=buffer --budget={budget}", color="red"),
    Method("A-GEM", "--agem --budget={budget}", drop="no_agem", color="orangered"),
    Method("FROMP", "--fromp --budget={budget}", drop="no_fromp", color="goldenrod", max_budget=1000,
           tuned={s: {b: f"--tau={tau:g}" for b, tau in taus.items()} for s, taus in FROMP_TAU.items()}),
    Method("iCaRL", "--icarl --active-classes=all-so-far --budget={budget}", ("class",), color="purple"),
]



@dataclass(frozen=True)
class Grid:
    """A method with one hyper-parameter, written '{value}' in its flags; values per experiment ('*' = others).
    budgets: per experiment ('*' = others), one grid per memory budget ('{budget}' in the flags; --budgets)."""
    method: Method
    parameter: str
    values: dict = field(hash=False)
    log: bool = True
    budgets: dict = field(default=None, hash=False)

    def values_for(self, experiment):
        return self.values.get(experiment, self.values["*"])

    def budgets_for(self, experiment, given=None):
        """[None] (one grid) without budgets; else --budgets (given) or this experiment's list."""
        return [None] if self.budgets is None else given or self.budgets.get(experiment, self.budgets["*"])


DECADES = [10.0 ** k for k in range(0, 14)]                                  # 1 ... 1e13
ONE_FIVE = [m * 10.0 ** k for k in range(-3, 5) for m in (1, 5)] + [1e5]     # 0.001, 0.005, ..., 5e4, 1e5
TWENTIETHS = [round(0.05 * k, 2) for k in range(20)]                          # 0, 0.05, ..., 0.95
TENTHS = [round(0.1 * k, 1) for k in range(10)]                               # 0, 0.1, ..., 0.9

# The paper's hyper-parameter grids (its compare_hyperParams.py), with None as the value 0
GRIDS = [
    Grid(Method("XdG", "--xdg --gating-prop={value:g}", ("task",), "no_xdg", color="deepskyblue"),
         "gating_prop", {"*": TWENTIETHS, "permMNIST": TENTHS}, log=False),
    Grid(Method("EWC", "--ewc --lambda={value:g}", drop="no_reg", color="darkgreen"),
         "lambda", {"*": DECADES, "permMNIST": DECADES[:8]}),
    Grid(Method("SI", "--si --c={value:g}", drop="no_reg", color="yellowgreen"),
         "c", {"*": ONE_FIVE, "permMNIST": [10.0 ** k for k in range(-2, 6)]}),
    Grid(Method("FROMP", "--fromp --budget={budget} --tau={value:g}", drop="no_fromp", color="goldenrod"),
         "tau", {"*": [10.0 ** k for k in range(-3, 6)]},
         budgets={"splitMNIST": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], "*": [1, 2, 5, 10, 20]}),
    Grid(Method("BI-R", "--brain-inspired --dg-prop={value:g}", drop="no_bir", color="lightcoral"),
         "dg_prop", {"*": TENTHS}, log=False),
]

# The ICLR 2025 blog post "On the computation of the Fisher Information in continual learning" (the paper's code's
# ICLRblogpost/compare_FI.py): EWC with five ways of computing its diagonal Fisher, each over lambda 1 ... 1e13. Its
# EWC is a weight penalty with Fisher importance, without --ewc's --offline: Online EWC with gamma 1, unless the
# command line gives --offline (passed on to every run). '{fisher_n_all}': the script's --fisher-n-all.
FISHER_EWC = "--weight-penalty --importance-weighting=fisher --reg-strength={value:g} "
FISHER_GRIDS = [
    Grid(Method("EXACT", FISHER_EWC + "--fisher-labels=all", color="black"), "lambda", {"*": DECADES}),
    Grid(Method("EXACT (n={fisher_n_all})", FISHER_EWC + "--fisher-labels=all --fisher-n={fisher_n_all}",
                color="grey"), "lambda", {"*": DECADES}),
    Grid(Method("SAMPLE", FISHER_EWC + "--fisher-labels=sample", color="red"), "lambda", {"*": DECADES}),
    Grid(Method("EMPIRICAL", FISHER_EWC + "--fisher-labels=true", color="orange"), "lambda", {"*": DECADES}),
    Grid(Method("BATCHED (b=128)", FISHER_EWC + "--fisher-labels=true --fisher-batch=128", color="blue"),
         "lambda", {"*": DECADES}),
]

# The paper's grids for task-free experiments (its compare_hyperParams_task_free.py)
TASK_FREE_GRIDS = [
    Grid(Method("XdG", "--xdg --gating-prop={value:g}", ("task",), "no_xdg", color="deepskyblue"),
         "gating_prop", {"*": TWENTIETHS}, log=False),
    Grid(Method("SI", "--si --c={value:g}", drop="no_si", color="yellowgreen"), "c",
         {"*": [10.0 ** k for k in range(-3, 8)]}),  # 0.001 ... 1e7
]

DROP_HELP = {
    "no_context_spec": "no XdG or Separate Networks",
    "no_xdg": "no XdG",
    "no_reg": "no EWC or SI",
    "no_si": "no SI",
    "no_fromp": "no FROMP",
    "no_bir": "no BI-R",
    "no_agem": "no A-GEM",
}


def applies(method, scenario, sweep_args):
    chosen = getattr(sweep_args, "methods", None)
    return (scenario in method.scenarios and not (method.drop and getattr(sweep_args, method.drop, False))
            and (not chosen or method.name in chosen))


def method(name, methods=PAPER_METHODS):
    """The entry of `methods` called `name`."""
    found = [m for m in methods if m.name == name]
    if not found:
        raise KeyError(f"no method {name!r} (known: {', '.join(m.name for m in methods)})")
    return found[0]
