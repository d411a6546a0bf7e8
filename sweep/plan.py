"""From a sweep script's command line to its runs: the sweep's own options, the options every run shares, and one
Job (a ./main.py command line and the stamp that names its result file) per method, grid point and seed.
With task_free, the runs are ./main_task_free.py's (its parser; the stamps include the stream)."""
import argparse
import contextlib
import io as _io
import math
import os
import shlex
import sys
from dataclasses import dataclass, field

from cli.options import build_parser, parse
from cli.stamp import param_stamp
from sweep.catalogue import DROP_HELP
from sweep.cost import Protocol
from sweep.execute import DEFAULT_THREADS
from utils import argtypes as t, io
from utils.errors import UsageError


def sweep_parser(prog, description, drops, owned=()):
    """The options of the sweep itself; everything else on the command line is passed to every run.
    owned: (option, [method names]) pairs: options that go to those methods' runs only."""
    p = argparse.ArgumentParser(f"./{prog}.py", description=description, add_help=False, allow_abbrev=False)
    g = p.add_argument_group("Sweep")
    g.add_argument("--seed", type=t.seed, default=0, help="first random seed (default: %(default)s)")
    g.add_argument("--n-seeds", type=t.count, default=1, help="number of seeds (default: %(default)s)")
    g.add_argument("--workers", type=t.count, metavar="N",
                   help="runs in parallel processes (default: one per core; 1 = one after another in this process)")
    g.add_argument("--threads", type=t.count, metavar="N",
                   help=f"torch threads per run (default: {DEFAULT_THREADS}, whatever --workers is). Runs with the "
                        "same number of threads give bit-identical results; other numbers differ by float "
                        "rounding, so stored results made with another number are rerun")
    g.add_argument("--ray-address", metavar="ADDRESS", help="run on an existing Ray cluster (e.g. 10.0.0.1:6379)")
    g.add_argument("--plan", action="store_true",
                   help="list the runs, which are already done and how long the rest will take; run nothing")
    g.add_argument("--methods", metavar="NAMES", type=lambda v: [n.strip() for n in v.split(",") if n.strip()],
                   help="comma-separated method names to run (default: every method of the list)")
    for drop in drops:
        g.add_argument("--" + drop.replace("_", "-"), action="store_true", help=DROP_HELP.get(drop))
    types = _option_types(prog) if owned else {}
    for option, users in dict(owned).items():
        g.add_argument(option, metavar="VALUE", type=types.get(option), help=f"passed to {' and '.join(users)} only")
    return p


def _checked(kind):
    """Check the text as main.py's type would (floats also finite) but keep it as typed: it is passed on."""
    def parse(text):
        value = kind(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(text)
        return text
    parse.__name__ = "finite number" if kind is float else getattr(kind, "__name__", "value")
    return parse


def _option_types(prog):
    """The type main.py's parser gives each option (float ones must also be finite), so that a sweep refuses
    --lambda=abc at once, with main.py's words."""
    types = {}
    for action in build_parser(prog)._actions:
        kind = action.type
        for option in action.option_strings:
            types[option] = None if kind is None else _checked(kind)
    return types


def split_argv(argv, parser):
    """(sweep options, tokens for every run). Exits with usage 2 on a bad sweep option."""
    err = _io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            sweep_args, rest = parser.parse_known_args(argv)
    except SystemExit:
        raise UsageError(err.getvalue().strip().splitlines()[-1].split("error: ", 1)[-1]) from None
    if sweep_args.seed + sweep_args.n_seeds - 1 > t.SEED_MAX:
        raise UsageError(f"--seed + --n-seeds - 1 must be at most {t.SEED_MAX}")
    return sweep_args, rest


def runner(task_free):
    return "main_task_free" if task_free else "main"


def print_help(sweep, prog, task_free=False):
    sweep.print_help()
    print(f"\nEvery other option is passed to each run of ./{runner(task_free)}.py:")
    build_parser(prog, task_free=task_free).print_help()


def owned_tokens(sweep_args, method):
    """The compare.py options that belong to this method only, as main.py tokens."""
    out = []
    for option in method.owns:
        value = getattr(sweep_args, option.lstrip("-").replace("-", "_"), None)
        if value is not None:
            out.append(f"{option}={value}")
    return out


def base_args(shared, prog, task_free=False):
    """Parse the shared options as main.py would (a user error stops here with exit code 2)."""
    return parse(shared, prog=prog, task_free=task_free)


def fields(args, **extra):
    f = dict(vars(args))
    f["iters_all"] = args.iters * args.contexts
    f.update(extra)
    return f


def method_tokens(method, args, **extra):
    return shlex.split(method.flags.format_map(fields(args, **extra)))


def try_parse(argv, task_free=False):
    """main.py's parser on argv: (args, None), or (None, the one-line reason it refused them)."""
    err = _io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parse(argv, prog=runner(task_free), task_free=task_free), None
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        return None, (lines[-1].split("error: ", 1)[-1] if lines else "refused by main.py's parser")
    except UsageError as e:
        return None, str(e)


def number_list(text, default, option="--budgets", kind=int):
    """A comma-separated option (--budgets, --lambdas) as a list of finite positive numbers of `kind` (`default`
    when not given); a bad value is a UsageError."""
    if not text:
        return default
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        example = "10,100" if kind is int else "1e2,1e5"
        raise UsageError(f"{option}={text}: expected comma-separated positive "
                         f"{'integers' if kind is int else 'numbers'}, e.g. {example}")
    return values


@dataclass
class Job:
    key: tuple        # what the script groups by, e.g. ("EWC",) or ("EWC", 1e5)
    seed: int
    argv: list
    stamp: str
    path: str
    tokens: list = field(default_factory=list)   # the method's own flags
    task_free: bool = False                      # a ./main_task_free.py run
    protocol: Protocol = None                    # what decides its cost besides the method
    iterations: int = 0                          # training iterations in all
    result: dict = field(default=None, repr=False)
    error: str = None
    args: argparse.Namespace = field(default=None, repr=False)  # its options as main.py parses them


def make_jobs(key, tokens, shared, seeds, results_dir, label=None, task_free=False):
    """The runs of one method (one grid point) over seeds; None, with a printed note, if main.py refuses them."""
    jobs = []
    for seed in seeds:
        argv = [*shared, *tokens, f"--seed={seed}"]
        args, reason = try_parse(argv, task_free)
        if args is None:
            print(f"note: leaving out {label or key[0]} ({' '.join(tokens)}): {reason}")
            return None
        stamp = param_stamp(args)
        jobs.append(Job(key, seed, argv, stamp, os.path.join(results_dir, f"{stamp}.json"), tokens, task_free,
                        *cost_of(args, task_free), args=args))
    return jobs


def cost_of(args, task_free):
    """(sweep.cost.Protocol, training iterations) of a run."""
    protocol = Protocol(task_free, args.experiment, args.scenario, args.contexts, args.iters, args.batch, args.threads,
                        getattr(args, "stream", None), getattr(args, "eval_s", None))
    one_phase = getattr(args, "joint", False) and not task_free  # Joint: --iters once, over all contexts' data
    return protocol, args.iters * (1 if one_phase else args.contexts)


def method_jobs(s, method, key=None, extra_tokens=(), **fmt):
    """The runs of `method` over the seeds of setup `s` (None, with a printed note, if main.py refuses them)."""
    own = method_tokens(method, s.args, **fmt) + list(extra_tokens)
    given = owned_tokens(s.sweep, method)
    check_owned(s, method, own, given)
    tokens = own + given
    return make_jobs(key or (method.name,), tokens, s.shared, s.seeds, s.args.results_dir, method.name,
                     s.task_free)


def check_owned(s, method, own=None, given=None):
    """A value the user gave for a method's own option (e.g. --tau=-1) that main.py refuses is a usage error of
    the sweep, whether or not the method runs in it; a method main.py refuses by itself is only left out."""
    own = method_tokens(method, s.args) if own is None else own
    given = owned_tokens(s.sweep, method) if given is None else given
    if not given:
        return
    args, reason = try_parse([*s.shared, *own, *given, f"--seed={s.seeds[0]}"])
    if args is None and try_parse([*s.shared, *own, f"--seed={s.seeds[0]}"])[0] is not None:
        raise UsageError(f"{' '.join(given)} (for {method.name}): {reason}")


@dataclass
class Setup:
    sweep: argparse.Namespace
    shared: list
    args: argparse.Namespace      # the shared options as main.py parses them (seed = first seed)
    seeds: list
    expect: dict = None           # how its runs are made: stored results made otherwise are rerun
    task_free: bool = False       # runs of ./main_task_free.py
    title: str = ""               # the command line, for --plan


def check_methods(sweep_args, methods, scenario):
    """--methods must name methods of this script; those that do not apply to the scenario are left out with a
    note; if none is left, that is a usage error (not an empty table)."""
    chosen = getattr(sweep_args, "methods", None)
    if chosen is None:
        return
    known = {m.name: m for m in methods}
    unknown = [n for n in chosen if n not in known]
    if not chosen or unknown:
        raise UsageError(f"--methods: unknown method name(s) {', '.join(unknown) or '(none given)'} "
                         f"(known: {', '.join(known)})")
    for name in chosen:
        if scenario not in known[name].scenarios:
            print(f"note: leaving out {name}: only for --scenario={'/'.join(known[name].scenarios)}")
    if all(scenario not in known[n].scenarios for n in chosen):
        raise UsageError(f"--methods={','.join(chosen)}: none of them applies to --scenario={scenario}")


def setup(argv, prog, description, drops, owned=(), add_args=None, task_free=False):
    """Parse a sweep script's command line: its own options, and the options shared by every run."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = sweep_parser(prog, description, drops, owned)
    if add_args is not None:
        add_args(parser.add_argument_group(prog))
    if "-h" in argv or "--help" in argv:
        print_help(parser, prog, task_free)
        raise SystemExit(0)
    sweep_args, shared = split_argv(argv, parser)
    threads = sweep_args.threads or DEFAULT_THREADS
    shared = [*shared, f"--threads={threads}"]  # in every run's command line: the same numbers however it runs
    args = base_args([*shared, f"--seed={sweep_args.seed}"], prog, task_free)
    io.check_writable(args.results_dir, "--results-dir")
    io.check_writable(args.plot_dir, "--plot-dir")  # (the summary pdf: refused now, not after every run)
    seeds = list(range(sweep_args.seed, sweep_args.seed + sweep_args.n_seeds))
    import torch
    from utils.runtime import choose_device
    expect = {"threads": threads, "device": choose_device(args.cuda).type, "torch": torch.__version__}
    title = " ".join([f"./{prog}.py", *(shlex.quote(a) for a in argv)])
    return Setup(sweep_args, shared, args, seeds, expect, task_free, title)
