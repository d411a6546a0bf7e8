"""Sweeps of main.py runs (methods x seeds x hyper-parameter values), shared by compare.py, compare_hyperParams.py
and compare_replay.py.

A run is a ./main.py command line. Its parameter stamp names its result file, <results-dir>/<stamp>.json, which
main.run writes atomically at its very end; a run whose file exists is not run again, so a stopped sweep resumes
where it was and a second call costs nothing. Runs execute in this process (--workers 1), in a pool of worker
processes (--workers N), or on an existing Ray cluster (--ray-address); a run's numbers depend only on its command
line, never on where it ran.

A method is declared by the flags a user types for ./main.py. Methods whose flags main.py does not (yet) accept
are left out with one printed note, so the method lists below can name methods before they are implemented.
"""
import argparse
import contextlib
import io as _io
import math
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field

import numpy as np

from utils import io
from utils.errors import UsageError
from utils.options import build_parser, parse
from utils.stamp import param_stamp, problem_stamp

SCENARIOS = ("task", "domain", "class")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Method:
    """One entry of a comparison.

    flags: what follows ./main.py to select the method, as a user types it. '{name}' fields are filled from the
    parsed shared options (plus 'iters_all' = iters x contexts, and 'value' / 'budget' in grids).
    owns: options of compare.py that go only to this method's runs (e.g. EWC's --lambda).
    drop: the compare.py option that leaves it out (e.g. 'no_reg' for --no-reg).
    """
    name: str
    flags: str = ""
    scenarios: tuple = SCENARIOS
    drop: str = None
    owns: tuple = ()
    color: str = "C0"


# The paper's comparison (GMvandeVen/continual-learning, compare.py), in its order.
PAPER_METHODS = [
    Method("None", "", color="grey"),
    Method("Joint", "--joint --iters={iters_all}", color="black"),
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
    Method("Generative Classifier", "--gen-classifier", ("class",), color="indigo"),
]

DROP_HELP = {
    "no_context_spec": "no XdG or Separate Networks",
    "no_xdg": "no XdG",
    "no_reg": "no EWC or SI",
    "no_fromp": "no FROMP",
    "no_bir": "no BI-R",
    "no_agem": "no A-GEM",
}


# ---------------------------------------------------------------- command line ----

def sweep_parser(prog, description, drops, owned=()):
    """The options of the sweep itself; everything else on the command line is passed to every run.
    owned: (option, [method names]) pairs: options that go to those methods' runs only."""
    p = argparse.ArgumentParser(f"./{prog}.py", description=description, add_help=False, allow_abbrev=False)
    g = p.add_argument_group("Sweep")
    g.add_argument("--seed", type=int, default=0, help="first random seed (default: %(default)s)")
    g.add_argument("--n-seeds", type=int, default=1, help="number of seeds (default: %(default)s)")
    g.add_argument("--workers", type=int, metavar="N",
                   help="runs in parallel processes (default: one per core; 1 = one after another in this process)")
    g.add_argument("--threads", type=int, metavar="N",
                   help="torch threads per run (default: cores / workers; 1 on Ray). Runs with the same number of "
                        "threads give bit-identical results; other numbers differ by float rounding")
    g.add_argument("--ray-address", metavar="ADDRESS", help="run on an existing Ray cluster (e.g. 10.0.0.1:6379)")
    g.add_argument("--methods", metavar="NAMES", type=lambda v: [n.strip() for n in v.split(",") if n.strip()],
                   help="comma-separated method names to run (default: every method of the list)")
    for drop in drops:
        g.add_argument("--" + drop.replace("_", "-"), action="store_true", help=DROP_HELP.get(drop))
    for option, users in dict(owned).items():
        g.add_argument(option, metavar="VALUE", help=f"passed to {' and '.join(users)} only")
    return p


def split_argv(argv, parser):
    """(sweep options, tokens for every run). Exits with usage 2 on a bad sweep option."""
    err = _io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            sweep_args, rest = parser.parse_known_args(argv)
    except SystemExit:
        raise UsageError(err.getvalue().strip().splitlines()[-1].split("error: ", 1)[-1]) from None
    if sweep_args.n_seeds < 1:
        raise UsageError("--n-seeds must be at least 1")
    for name in ("workers", "threads"):
        if getattr(sweep_args, name) is not None and getattr(sweep_args, name) < 1:
            raise UsageError(f"--{name} must be at least 1")
    return sweep_args, rest


def print_help(sweep, prog):
    sweep.print_help()
    print("\nEvery other option is passed to each run of ./main.py:")
    build_parser(prog).print_help()


def owned_tokens(sweep_args, method):
    """The compare.py options that belong to this method only, as main.py tokens."""
    out = []
    for option in method.owns:
        value = getattr(sweep_args, option.lstrip("-").replace("-", "_"), None)
        if value is not None:
            out.append(f"{option}={value}")
    return out


def base_args(shared, prog):
    """Parse the shared options as main.py would (a user error stops here with exit code 2)."""
    return parse(shared, prog=prog)


def fields(args, **extra):
    f = dict(vars(args))
    f["iters_all"] = args.iters * args.contexts
    f.update(extra)
    return f


def method_tokens(method, args, **extra):
    return shlex.split(method.flags.format_map(fields(args, **extra)))


def try_parse(argv):
    """main.py's parser on argv: (args, None), or (None, the one-line reason it refused them)."""
    err = _io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return parse(argv), None
    except SystemExit:
        lines = err.getvalue().strip().splitlines()
        return None, (lines[-1].split("error: ", 1)[-1] if lines else "refused by main.py's parser")
    except UsageError as e:
        return None, str(e)


def budget_list(text, default):
    """--budgets as a list of positive ints (the paper's list when not given); a bad value is a UsageError."""
    if not text:
        return default
    try:
        budgets = [int(b) for b in text.split(",")]
    except ValueError:
        budgets = []
    if not budgets or min(budgets) < 1:
        raise UsageError(f"--budgets={text}: expected comma-separated positive integers, e.g. 10,100")
    return budgets


def applies(method, scenario, sweep_args):
    chosen = getattr(sweep_args, "methods", None)
    return (scenario in method.scenarios and not (method.drop and getattr(sweep_args, method.drop, False))
            and (not chosen or method.name in chosen))


# ---------------------------------------------------------------- runs ----

@dataclass
class Job:
    key: tuple        # what the script groups by, e.g. ("EWC",) or ("EWC", 1e5)
    seed: int
    argv: list
    stamp: str
    path: str
    tokens: list = field(default_factory=list)   # the method's own flags
    result: dict = field(default=None, repr=False)
    error: str = None


def make_jobs(key, tokens, shared, seeds, results_dir, label=None):
    """The runs of one method (one grid point) over seeds; None, with a printed note, if main.py refuses them."""
    jobs = []
    for seed in seeds:
        argv = [*shared, *tokens, f"--seed={seed}"]
        args, reason = try_parse(argv)
        if args is None:
            print(f"note: leaving out {label or key[0]} ({' '.join(tokens)}): {reason}")
            return None
        stamp = param_stamp(args)
        jobs.append(Job(key, seed, argv, stamp, os.path.join(results_dir, f"{stamp}.json"), tokens))
    return jobs


def run_one(argv, threads=None):
    """Run one experiment (in whichever process or machine this is called); returns {'result'} or {'error'}."""
    import torch
    before = torch.get_num_threads()
    try:
        import main
        if threads:
            torch.set_num_threads(threads)
        return {"result": main.run(parse(argv))}
    except KeyboardInterrupt:
        raise
    except SystemExit as e:
        return {"error": f"exited with code {e.code}"}
    except BaseException as e:  # a failed run is reported; the sweep goes on
        return {"error": f"{type(e).__name__}: {e}".strip().splitlines()[0]}
    finally:
        torch.set_num_threads(before)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _load(path):
    try:
        return io.read_json(path)
    except (OSError, ValueError):
        return None


def execute(jobs, workers=None, ray_address=None, threads=None):
    """Run the jobs whose result file is missing; fill job.result or job.error for every job. Returns #failed."""
    by_path = {}
    for job in jobs:
        by_path.setdefault(job.path, []).append(job)
    todo = []
    for path, group in by_path.items():
        result = _load(path) if os.path.exists(path) else None
        if result is None:
            todo.append(group[0])
        for job in group:
            job.result = result
    reused = len(by_path) - len(todo)
    workers = min(workers or _cores(), max(len(todo), 1))
    where = (f"on Ray at {ray_address}" if ray_address else
             "in this process" if workers == 1 else f"in {workers} worker processes")
    print(f"{len(by_path)} runs: {reused} already done, {len(todo)} to run {where}", flush=True)

    def done(job, outcome):
        if "error" in outcome:
            for j in by_path[job.path]:
                j.error = outcome["error"]
            print(f"FAILED {_label(job)} (seed {job.seed}): {outcome['error']}", flush=True)
            return
        result = outcome["result"]
        if not os.path.exists(job.path):  # a run on another machine: keep its result here too
            io.write_json(job.path, result)
        for j in by_path[job.path]:
            j.result = result
        print(f" done {_label(job)} (seed {job.seed}): {100 * result['average_accuracy']:.2f}% "
              f"[{result['seconds']['total']:.1f} s]", flush=True)

    if not todo:
        pass
    elif ray_address:
        _execute_ray(todo, ray_address, threads or 1, done)
    elif workers == 1:
        for job in todo:
            done(job, run_one(job.argv, threads))
    else:
        _execute_pool(todo, workers, threads or max(1, _cores() // workers), done)
    return sum(1 for group in by_path.values() if group[0].result is None)


def _fmt(k):
    return f"{k:g}" if isinstance(k, float) else str(k)


def _label(job):
    return " ".join(_fmt(k) for k in job.key)


def _quiet(argv):
    return argv if "--quiet" in argv else [*argv, "--quiet"]


def _execute_pool(todo, workers, threads, done):
    import concurrent.futures as cf
    import multiprocessing
    pool = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        started = {}
        for job in todo:
            started[pool.submit(run_one, _quiet(job.argv), threads)] = job
        for future in cf.as_completed(started):
            job = started[future]
            try:
                outcome = future.result()
            except Exception as e:  # the worker process died (killed, out of memory)
                outcome = {"error": f"worker process failed: {type(e).__name__}: {e}"}
            done(job, outcome)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _execute_ray(todo, address, threads, done):
    try:
        import ray
    except ImportError:
        raise UsageError("--ray-address needs Ray: python3 -m pip install 'ray[default]'") from None
    env = {k: os.environ[k] for k in ("CL_DATA_DIR",) if k in os.environ}
    ray.init(address=address, log_to_driver=False, runtime_env={
        "working_dir": ROOT, "excludes": ["store/", ".git", "*.pt", "__pycache__/"], "env_vars": env})
    try:
        remote = ray.remote(num_cpus=threads)(run_one)
        started = {remote.remote(_quiet(job.argv), threads): job for job in todo}
        pending = list(started)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            job = started[ready[0]]
            try:
                outcome = ray.get(ready[0])
            except Exception as e:
                outcome = {"error": f"Ray task failed: {type(e).__name__}: {e}".splitlines()[0]}
            done(job, outcome)
    finally:
        ray.shutdown()


def method_jobs(s, method, key=None, extra_tokens=(), **fmt):
    """The runs of `method` over the seeds of setup `s` (None, with a printed note, if main.py refuses them)."""
    tokens = method_tokens(method, s.args, **fmt) + owned_tokens(s.sweep, method) + list(extra_tokens)
    return make_jobs(key or (method.name,), tokens, s.shared, s.seeds, s.args.results_dir, method.name)


def run_all(s, jobs):
    """Execute the jobs with the setup's --workers / --ray-address; returns the number of failed runs."""
    return execute(jobs, s.sweep.workers, s.sweep.ray_address, s.sweep.threads)


def accuracies(jobs):
    """{key: [average accuracy of each finished seed]} in the order the jobs were made."""
    out = {}
    for job in jobs:
        if job.result is not None:
            out.setdefault(job.key, []).append(job.result["average_accuracy"])
    return out


def report_failures(failed):
    if failed:
        print(f"{failed} run(s) failed (see FAILED above); the summary leaves them out", file=sys.stderr)
    return 1 if failed else 0


# ---------------------------------------------------------------- summaries ----

def mean_sem(values):
    v = np.asarray(values, dtype=float)
    sem = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else float("nan")
    return float(v.mean()), sem


def so_far_curve(matrix):
    """Mean accuracy over contexts 0..i after phase i (one point for a single-phase run such as Joint)."""
    R = np.asarray(matrix, dtype=float)
    n = R.shape[1]
    if R.shape[0] == 1:
        return [n], [float(R[0].mean())]
    return list(range(1, R.shape[0] + 1)), [float(R[i, :i + 1].mean()) for i in range(R.shape[0])]


def summary_name(prefix, args):
    return f"{prefix}-{problem_stamp(args)}"


def write_table(rows, path_stem):
    """rows: list of dicts with the same keys; writes <stem>.csv and <stem>.json atomically."""
    import csv
    keys = list(rows[0]) if rows else []
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, keys, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()})
    io.write_atomic(path_stem + ".csv", lambda f: f.write(buf.getvalue().encode()))
    io.write_json(path_stem + ".json", rows)


@contextlib.contextmanager
def pdf_pages(path):
    """PdfPages written to a temporary file in the same folder, then moved into place."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pdf")
    os.close(fd)
    try:
        with PdfPages(tmp) as pdf:
            yield pdf
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def new_figure(title, xlabel, ylabel):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def save_page(pdf, fig):
    import matplotlib.pyplot as plt
    fig.tight_layout()
    pdf.savefig(fig)
    plt.close(fig)


def title_of(args):
    return f"{args.experiment}  -  {args.scenario}-incremental learning"


# ---------------------------------------------------------------- the common start of every script ----

@dataclass
class Setup:
    sweep: argparse.Namespace
    shared: list
    args: argparse.Namespace      # the shared options as main.py parses them (seed = first seed)
    seeds: list


def setup(argv, prog, description, drops, owned=(), add_args=None):
    """Parse a sweep script's command line: its own options, and the options shared by every run."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = sweep_parser(prog, description, drops, owned)
    if add_args is not None:
        add_args(parser.add_argument_group(prog))
    if "-h" in argv or "--help" in argv:
        print_help(parser, prog)
        raise SystemExit(0)
    sweep_args, shared = split_argv(argv, parser)
    args = base_args([*shared, f"--seed={sweep_args.seed}"], prog)
    seeds = list(range(sweep_args.seed, sweep_args.seed + sweep_args.n_seeds))
    return Setup(sweep_args, shared, args, seeds)
