"""Executing a sweep's runs: in this process (--workers 1), in a pool of worker processes (--workers N), or on an
existing Ray cluster (--ray-address). A run's result file is <results-dir>/<stamp>.json, written atomically at the
end of the run; a run whose file exists is not run again, so a stopped sweep resumes where it was. A run's numbers
depend only on its command line, never on where it ran."""
import os
import sys

from cli.options import parse
from cli.stamp import param_stamp
from utils import io
from utils.errors import UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_one(argv, threads=None, task_free=False):
    """Run one experiment (in whichever process or machine this is called); returns {'result'} or {'error'}.
    task_free: argv are ./main_task_free.py's options."""
    import torch
    before = torch.get_num_threads()
    try:
        from train.experiment import run
        if threads:
            torch.set_num_threads(threads)
        args = parse(argv, prog="main_task_free" if task_free else "main", task_free=task_free)
        return {"result": run(args, param_stamp(args))}
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
            done(job, run_one(job.argv, threads, job.task_free))
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
            started[pool.submit(run_one, _quiet(job.argv), threads, job.task_free)] = job
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
        started = {remote.remote(_quiet(job.argv), threads, job.task_free): job for job in todo}
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


def run_all(s, jobs):
    """Execute the jobs with the setup's --workers / --ray-address; returns the number of failed runs."""
    return execute(jobs, s.sweep.workers, s.sweep.ray_address, s.sweep.threads)


def report_failures(failed):
    if failed:
        print(f"{failed} run(s) failed (see FAILED above); the summary leaves them out", file=sys.stderr)
    return 1 if failed else 0
