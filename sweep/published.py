"""The published figures, as data: van de Ven, Tuytelaars & Tolias, "Three types of incremental learning", Nature
Machine Intelligence 4, 1185-1197 (2022). Final test accuracy (%) averaged over all contexts, mean and s.e.m. over
the paper's seeds, each with where it comes from. Values no table or figure gives are absent, never filled in: the
comparisons then say "no published value" (task-free runs and permuted MNIST have none here).

Also the paper's protocol beside its defaults (the flags its commands add, as ./all_results.sh, and its seeds) and
its chosen hyper-parameters. What counts as the paper's run is decided in sweep/paper.py from these.
"""
from dataclasses import dataclass, field

TABLE_2 = "Table 2 (split MNIST, 20 seeds)"
TABLE_3 = "Table 3 (split CIFAR-100, 10 seeds)"
FIGURE = "read from a figure of the paper's code (20 seeds)"
FIGURE_TOLERANCE = 2.0  # points either side of a value read from a figure


@dataclass(frozen=True)
class Figure:
    """A published accuracy (%): mean +- sem from a table, or a range low..high read from a figure, to be taken as
    +- tolerance points."""
    low: float
    high: float = None
    sem: float = None
    tolerance: float = 0.0
    source: str = ""

    @property
    def mean(self):
        return self.low if self.high is None else (self.low + self.high) / 2

    def text(self):
        if self.sem is not None:
            return f"{self.low:.2f} +- {self.sem:.2f}"
        span = f"{self.low:g}" if self.high is None else f"{self.low:g}-{self.high:g}"
        return f"~{span} (+-{self.tolerance:g}, figure)"


def _table(source, values):
    """{method: Figure} from {method: (mean, sem) or None for a '-' in the table}."""
    return {m: Figure(v[0], sem=v[1], source=source) for m, v in values.items() if v is not None}


def _read(values):
    """{method: Figure} from {method: value or (low, high)} read from a figure."""
    return {m: Figure(*(v if isinstance(v, tuple) else (v,)), tolerance=FIGURE_TOLERANCE, source=FIGURE)
            for m, v in values.items()}


# Table 3, all three scenarios; '-' in the paper (a method not run in a scenario) is left out
_CIFAR100 = {
    "task": {"None": (61.43, 0.36), "Joint": (78.78, 0.25), "Separate Networks": (76.83, 0.25),
             "XdG": (69.86, 0.34), "EWC": (76.34, 0.29), "SI": (74.84, 0.39), "LwF": (78.59, 0.24),
             "DGR": (71.40, 0.32), "BI-R": (79.14, 0.21), "ER": (76.43, 0.24), "A-GEM": (73.30, 0.39)},
    "domain": {"None": (18.42, 0.33), "Joint": (46.85, 0.51), "EWC": (21.65, 0.55), "SI": (22.58, 0.42),
               "LwF": (29.45, 0.39), "DGR": (20.52, 0.43), "BI-R": (30.26, 0.44), "ER": (39.00, 0.34),
               "A-GEM": (20.51, 0.59)},
    "class": {"None": (7.71, 0.18), "Joint": (49.78, 0.21), "EWC": (8.24, 0.25), "SI": (8.10, 0.24),
              "LwF": (25.57, 0.27), "DGR": (9.67, 0.22), "BI-R": (25.81, 0.41), "ER": (37.57, 0.21),
              "A-GEM": (20.38, 1.45), "Generative Classifier": (46.83, 0.18), "iCaRL": (37.83, 0.21)},
}

# Split MNIST: Table 2's class-IL column, as quoted; the rest read from a figure ("every other method" in task-IL:
# the methods of the paper's task-IL comparison)
_SPLIT_MNIST = {
    "task": _read({"None": 84, **{m: (98, 100) for m in ("Joint", "Separate Networks", "XdG", "EWC", "SI", "LwF",
                                                           "FROMP", "DGR", "BI-R", "ER", "A-GEM")}}),
    "domain": _read({"None": 59, "EWC": 62, "SI": 68, "LwF": 72, "FROMP": 84, "ER": 94, "DGR": 96, "Joint": 98}),
    "class": {**_read({"FROMP": 77, "DGR": (89, 90), "BI-R": (93, 94), "Generative Classifier": (93, 94),
                       "iCaRL": (93, 94)}),
              **_table(TABLE_2, {"None": (19.89, 0.02), "Joint": (98.17, 0.04), "EWC": (20.64, 0.52),
                                 "SI": (21.20, 0.57), "LwF": (21.89, 0.32), "A-GEM": (65.10, 3.64),
                                 "ER": (88.79, 0.20)})},
}

# {(task_free, experiment): {scenario: {method: Figure}}}
FIGURES = {
    (False, "CIFAR100"): {s: _table(TABLE_3, v) for s, v in _CIFAR100.items()},
    (False, "splitMNIST"): _SPLIT_MNIST,
}


def figure(experiment, scenario, method, task_free=False):
    """The published Figure for this cell, or None (no published value)."""
    return FIGURES.get((task_free, experiment), {}).get(scenario, {}).get(method)


@dataclass(frozen=True)
class Protocol:
    """The paper's runs of one benchmark beyond ./main.py's defaults (which are the paper's): the flags its commands
    give every run (all_results.sh), flags of single methods ({(scenario or '*', method): flags}), and its seeds for
    the comparisons (grid searches: seed 1)."""
    seeds: range
    flags: str = ""
    method_flags: dict = field(default_factory=dict, hash=False)

    def flags_of(self, scenario, method):
        return " ".join(filter(None, [self.flags, self.method_flags.get(("*", method), ""),
                                      self.method_flags.get((scenario, method), "")]))


GRID_SEED = 1
PROTOCOLS = {
    (False, "splitMNIST"): Protocol(range(2, 22)),
    (False, "CIFAR100"): Protocol(range(2, 12), "--pre-convE --freeze-convE --seed-to-ltag",
                                  {("class", "Generative Classifier"): "--eval-s=10000"}),
    (False, "permMNIST"): Protocol(range(2, 7), "--fisher-n=1000"),
    (True, "splitMNIST"): Protocol(range(2, 22), method_flags={("task", "XdG"): "--gating-prop=0.45",
                                                               ("*", "SI"): "--c=10"}),
}

# The paper's chosen hyper-parameters ("Chosen hyper-parameters"): {experiment: {(grid method, parameter):
# {scenario: value}}}; FROMP's tau is the one for its budget of 100 (our sweep.catalogue.FROMP_TAU holds all budgets)
CHOSEN_SOURCE = "the paper's chosen hyper-parameters (grid searches on seed 1)"
CHOSEN = {
    "splitMNIST": {("XdG", "gating_prop"): {"task": 0.9},
                   ("EWC", "lambda"): {"task": 1e5, "domain": 1e10, "class": 1e9},
                   ("SI", "c"): {"task": 10, "domain": 5e4, "class": 5e3},
                   ("FROMP", "tau"): {"task": 0.01, "domain": 10, "class": 1000},
                   ("BI-R", "dg_prop"): {"task": 0, "domain": 0.1, "class": 0.1}},
    "CIFAR100": {("XdG", "gating_prop"): {"task": 0.85},
                 ("EWC", "lambda"): {"task": 1e3, "domain": 1e3, "class": 1e2},
                 ("SI", "c"): {"task": 100, "domain": 500, "class": 5},
                 ("BI-R", "dg_prop"): {"task": 0, "domain": 0.5, "class": 0.7}},
    "permMNIST": {("XdG", "gating_prop"): {"task": 0.6},
                  ("EWC", "lambda"): {"task": 1e2, "domain": 1e2, "class": 1e2},
                  ("SI", "c"): {"task": 10, "domain": 10, "class": 5}},
}
CHOSEN_FROMP_BUDGET = 100
