"""Is this the paper's experiment, and does it give the paper's figure? The one place that decides "the paper's
protocol": a run follows it when its parameter stamp is the stamp of the paper's run of the same method (./main.py's
defaults, which are the paper's, plus the flags the paper's commands add: sweep.published.PROTOCOLS) and its seed is
one of the paper's. The verdict compares mean +- SEM over our seeds with the published figure."""
import argparse
import functools
import math

from cli.options import NOT_HYPER, build_parser
from cli.stamp import param_stamp
from sweep.catalogue import PAPER_METHODS, TASK_FREE_METHODS, method
from sweep.plan import method_tokens, runner, try_parse
from sweep.published import CHOSEN, CHOSEN_FROMP_BUDGET, GRID_SEED, PROTOCOLS, figure
from sweep.summary import mean_sem

MIN_SEEDS = 3
PAPER_FORMAT = {"replay_update": 1}  # compare_task_free.py's --replay-update, the paper's (it starts replay at 1)
NO_VALUE = "no published value"
AGREES, DIFFERS, TOO_FEW, NONE = "agrees", "differs", "too few seeds", "-"


def _paper_run(experiment, scenario, task_free, seed, tokens_of):
    """./main.py's options of the paper's command on this benchmark and scenario, with the method's tokens
    (tokens_of(the shared options parsed)); None where the paper has no protocol for it or main.py refuses it."""
    protocol = PROTOCOLS.get((task_free, experiment))
    if protocol is None:
        return None
    seed = f"--seed={protocol.seeds[0] if seed is None else seed}"
    shared = [f"--experiment={experiment}", f"--scenario={scenario}", *protocol.flags.split()]
    base, _ = try_parse([*shared, seed], task_free)
    tokens = None if base is None else tokens_of(base, protocol)
    return None if tokens is None else try_parse([*shared, *tokens, seed], task_free)[0]


@functools.lru_cache(maxsize=None)
def paper_args(experiment, scenario, name, task_free=False):
    """./main.py's options of the paper's run of method `name` (seed: the paper's first), or None where the paper
    has no protocol for the benchmark or does not run the method in this scenario."""
    entry = method(name, TASK_FREE_METHODS if task_free else PAPER_METHODS)
    if scenario not in entry.scenarios:
        return None
    return _paper_run(experiment, scenario, task_free, None, lambda base, protocol: (
        method_tokens(entry, base, **PAPER_FORMAT) + protocol.flags_of(scenario, name).split()))


@functools.lru_cache(maxsize=None)
def paper_grid_args(experiment, scenario, grid, value, budget=None, task_free=False):
    """./main.py's options of the paper's grid run of `grid` (a sweep.catalogue.Grid) at `value` (and budget), on
    the grids' seed; None where the paper has no protocol for the benchmark or main.py refuses it."""
    return _paper_run(experiment, scenario, task_free, GRID_SEED,
                      lambda base, protocol: method_tokens(grid.method, base, value=value, budget=budget))


def with_seed(args, seed):
    return argparse.Namespace(**{**vars(args), "seed": seed})


@functools.lru_cache(maxsize=None)
def _flags(task_free):
    """{destination: its option strings} of ./main.py's (./main_task_free.py's) options, in the parser's order."""
    flags = {}
    for action in build_parser(runner(task_free), task_free=task_free)._actions:
        if action.option_strings and action.dest not in NOT_HYPER | {"help", "seed", "threads"}:
            flags[action.dest] = flags.get(action.dest, ()) + tuple(action.option_strings)
    return flags


def _show(flag, value):
    if isinstance(value, bool) or value is None:
        return flag if value else f"no {flag}"
    return f"{flag}={value:g}" if isinstance(value, float) else f"{flag}={value}"


def difference(args, name, task_free=False, argv=()):
    """None if the run with options `args` is the paper's run of method `name`; else the first difference, as
    '--iters=100 (the paper's: --iters=2000)', among the options its command line `argv` gives first (--lambda
    rather than the --reg-strength it sets)."""
    protocol = PROTOCOLS.get((task_free, args.experiment))
    if protocol is None:
        return f"the paper has no protocol for {args.experiment}" + (" task-free" if task_free else "")
    if args.seed not in protocol.seeds:
        return f"--seed={args.seed} (the paper's: {protocol.seeds[0]}-{protocol.seeds[-1]})"
    paper = paper_args(args.experiment, args.scenario, name, task_free)
    if paper is None:
        return f"{name} is not in the paper's {args.scenario}-incremental comparison"
    return _first_difference(args, with_seed(paper, args.seed), task_free, argv)


def _first_difference(args, paper, task_free, argv):
    """None if the runs `args` and `paper` have one stamp; else the first option that differs."""
    ours = param_stamp(args)
    if ours == param_stamp(paper):
        return None
    typed = {token.split("=")[0] for token in argv}
    flags = _flags(task_free)
    for dest in sorted(flags, key=lambda d: typed.isdisjoint(flags[d])):  # stable: the parser's order otherwise
        mine, theirs = getattr(args, dest, None), getattr(paper, dest, None)
        if mine != theirs:
            return f"{_show(flags[dest][0], mine)} (the paper's: {_show(flags[dest][0], theirs)})"
    return f"the run {ours} (the paper's: {param_stamp(paper)})"


def chosen(jobs, grid, budget, task_free=False):
    """'the paper's choice: 1e+09' to print beside a grid's best value (jobs: its runs, Jobs with `args` and `argv`
    at grid values), or why it does not compare; '' where the paper gives no choice (a task-free grid, a budget
    other than FROMP's 100, a benchmark or scenario without one)."""
    done = [j for j in jobs if j.result is not None]
    if not done or task_free or (grid.budgets is not None and budget != CHOSEN_FROMP_BUDGET):
        return ""
    args = done[0].args
    value = CHOSEN.get(args.experiment, {}).get((grid.method.name, grid.parameter), {}).get(args.scenario)
    if value is None:
        return ""
    for job in done:
        if job.seed != GRID_SEED:
            return f"(the paper's choice is from seed {GRID_SEED}: not comparable)"
        paper = paper_grid_args(args.experiment, args.scenario, grid, job.key[-1], budget, task_free)
        problem = "main.py refuses the paper's grid run" if paper is None else \
            _first_difference(job.args, paper, task_free, job.argv)
        if problem:
            return f"(the paper's choice: not comparable, not the paper's protocol: {problem})"
    return f"(the paper's choice: {value:g})"


def verdict(values, fig):
    """'agrees' | 'differs' | 'too few seeds' for our accuracies (fractions, one per seed) against the published
    Figure (%): agrees within 2 combined standard errors (mean +- sem) or within the range +- tolerance (a value
    read from a figure). Fewer than MIN_SEEDS seeds give no verdict."""
    if len(values) < MIN_SEEDS:
        return TOO_FEW
    mean, sem = (100 * x for x in mean_sem(values))
    if fig.sem is not None:
        close = abs(mean - fig.mean) <= 2 * math.hypot(sem, fig.sem) * (1 + 1e-12)
    else:
        high = fig.low if fig.high is None else fig.high
        close = fig.low - fig.tolerance - 1e-9 <= mean <= high + fig.tolerance + 1e-9
    return AGREES if close else DIFFERS


def compare(runs, name, task_free=False):
    """{'published': the figure's text, or why there is none to compare with; 'published_mean' (a fraction, or
    None); 'verdict'} for one row of a comparison: `runs` are (options, command line, average accuracy) of its
    finished seeds."""
    args = runs[0][0]
    fig = figure(args.experiment, args.scenario, name, task_free)
    if fig is None:
        return {"published": NO_VALUE, "published_mean": None, "verdict": NONE}
    for options, argv, _ in runs:
        problem = difference(options, name, task_free, argv)
        if problem:
            return {"published": f"not the paper's protocol: {problem}", "published_mean": None, "verdict": NONE}
    return {"published": fig.text(), "published_mean": fig.mean / 100,
            "verdict": verdict([acc for _, _, acc in runs], fig)}

