"""Executing a sweep's runs: in this process (--workers 1), in a pool of worker processes (--workers N), or on an
existing Ray cluster (--ray-address).

A run's result file is <results-dir>/<stamp>.json, written atomically at the end of the run. A stored result is
reused when it is a complete record made the same way (sweep.stored), so a stopped sweep resumes where it was; a
run is claimed with a lock file while it is computed, so two sweeps on one folder compute it once. A run's numbers
depend only on its command line, which holds the torch thread count (--threads, default 1 per run, whatever
--workers is), never on where it ran.

Ctrl-C: no new run starts, running ones are stopped (their results are not written), and the line says so; a
second Ctrl-C exits at once. Worker processes exit by themselves when the sweep's process dies.
"""
import os
import signal
import sys
import threading
import time

from cli.options import divergence_hint, hinting_divergence, parse
from cli.stamp import param_stamp
from sweep import preview, stored
from sweep.progress import Progress
from utils import io
from utils.errors import Diverged, Interrupted, UsageError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_THREADS = 1     # torch threads per run unless --threads: fixed, so --workers cannot change the numbers
POLL = 0.5              # seconds between looks at another sweep's claims, and at the parent from a worker


def run_one(argv, task_free=False):
    """Run one experiment (in whichever process or machine this is called); returns {'result'} or {'error'}
    (with 'diverged': True for a run stopped by a non-finite loss). task_free: argv are ./main_task_free.py's."""
    try:
        from train.experiment import run
        prog = "main_task_free" if task_free else "main"
        args = parse(argv, prog=prog, task_free=task_free)
        with hinting_divergence(args, argv, prog, task_free):
            return {"result": run(args, param_stamp(args))}
    except KeyboardInterrupt:
        raise
    except Diverged as e:
        return {"error": str(e), "diverged": True}
    except SystemExit as e:
        return {"error": f"exited with code {e.code}"}
    except BaseException as e:  # a failed run is reported; the sweep goes on
        return {"error": f"{type(e).__name__}: {e}".strip().splitlines()[0]}


def _hint(job):
    """What the stored diverged run `job` should change (cli.options.divergence_hint)."""
    if job.args is None:
        return "try a smaller --lr"
    return divergence_hint(job.args, job.argv, "main_task_free" if job.task_free else "main", job.task_free)


def _cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _label(job):
    return preview.label(job.key)


def _quiet(argv):
    return argv if "--quiet" in argv else [*argv, "--quiet"]


class _Sweep:
    """The bookkeeping of one execute() call: which paths are done, claimed, failed."""

    def __init__(self, jobs, expect):
        self.by_path, self.expect, self.claims = {}, expect, {}
        for job in jobs:
            self.by_path.setdefault(job.path, []).append(job)
        self.finished = 0
        self.progress = None

    def say(self, line):
        if self.progress is None:
            print(line, flush=True)
        else:
            self.progress.say(line)

    def settle(self, path, quiet=False):
        """Look at the stored result of `path`; fill its jobs if it is usable. Returns True if nothing is left to
        compute for it."""
        group = self.by_path[path]
        job = group[0]
        state, found = stored.inspect(path, job.stamp, self.expect, job.args)
        if state == "done":
            for j in group:
                j.result, j.error = found, None
            return True
        if state == "diverged":
            for j in group:
                j.result, j.error = None, stored.diverged_message(found, _hint(job))
            self.say(f"FAILED {_label(group[0])} (seed {group[0].seed}): {group[0].error}")
            if self.progress is not None:
                self.progress.finished(path, failed=True)
            return True
        if state == "rerun" and not quiet:
            self.say(f"note: rerunning {_label(group[0])} (seed {group[0].seed}): {path} is not usable: {found}")
        return False

    def claim(self, path):
        c = stored.Claim(path)
        if not c.acquire():
            return False
        self.claims[path] = c
        if c.stale:
            self.say(f"note: taking over a stale claim on {_label(self.by_path[path][0])} "
                     f"(left by process {c.stale.split()[0]}, which is gone)")
        return True

    def release(self, path):
        c = self.claims.pop(path, None)
        if c is not None:
            c.release()

    def release_all(self):
        for path in list(self.claims):
            self.release(path)

    def done(self, job, outcome):
        group = self.by_path[job.path]
        result = outcome.get("result") or {}
        if result.get("results_saved") is False:  # not where a later call finds it: not one of this sweep's results
            outcome = {"error": "; ".join(result.get("output_errors", ["its results could not be written"]))}
        try:
            if "error" in outcome:
                for j in group:
                    j.error = outcome["error"]
                self.say(f"FAILED {_label(job)} (seed {job.seed}): {outcome['error']}")
                self.progress.finished(job.path, failed=True)
                return
            result = outcome["result"]
            for line in result.get("output_errors", []):  # a side output failed: the result still counts
                self.say(f"note: {_label(job)} (seed {job.seed}): {line}")
            if not os.path.exists(job.path):  # a run on another machine: keep its result here too
                io.write_json(job.path, result)
            for j in group:
                j.result = result
            self.finished += 1
            self.say(f" done {_label(job)} (seed {job.seed}): {100 * result['average_accuracy']:.2f}% "
                     f"[{result['seconds']['total']:.1f} s]")
            self.progress.finished(job.path, result["seconds"]["total"])
        finally:
            self.release(job.path)


def execute(jobs, workers=None, ray_address=None, expect=None, costs=None):
    """Run the jobs without a usable stored result; fill job.result or job.error for every job. Returns #failed.
    expect: how this sweep makes its runs ({'threads', 'device', 'torch'}); stored results made otherwise rerun.
    costs: {path: estimated seconds}; the most expensive runs are dispatched first (ties in the jobs' order), so
    that the tail of the sweep keeps every worker busy. A run's numbers do not depend on when it runs."""
    s = _Sweep(jobs, expect)
    costs = costs or {}
    folders = {}
    for path in s.by_path:
        folders.setdefault(os.path.dirname(path), []).append(os.path.basename(path))
    for folder, names in folders.items():  # a result path too long fails here, not after its run
        io.check_names(folder, "--results-dir", names)
    todo = [path for path in s.by_path if not s.settle(path)]
    todo.sort(key=lambda p: -costs.get(p, 0.0))  # stable
    workers = min(workers or _cores(), max(len(todo), 1))
    where = (f"on Ray at {ray_address}" if ray_address else
             "in this process" if workers == 1 else f"in {workers} worker processes")
    print(f"{len(s.by_path)} runs: {len(s.by_path) - len(todo)} already done, {len(todo)} to run {where}",
          flush=True)
    announced = False
    s.progress = Progress({p: costs.get(p, 0.0) for p in todo}, workers)
    try:
        waiting = todo
        while waiting:
            mine, others = [], []
            for path in waiting:
                if not s.claim(path):
                    others.append(path)
                elif s.settle(path, quiet=True):  # another sweep finished it meanwhile
                    s.release(path)
                    s.progress.finished(path, failed=s.by_path[path][0].result is None)
                else:
                    mine.append(s.by_path[path][0])
            if mine:
                if ray_address:
                    _execute_ray(mine, ray_address, s)
                elif workers == 1:
                    for k, job in enumerate(mine):
                        try:
                            outcome = run_one(job.argv, job.task_free)
                        except KeyboardInterrupt:
                            raise Interrupted(f"stopped the running run (not written) and {len(mine) - k - 1} not "
                                              f"started; {s.finished} finished in this sweep, every finished "
                                              f"result is on disk") from None
                        s.done(job, outcome)
                else:
                    _execute_pool(mine, workers, s)
            if others and not announced:
                holder = stored.Claim(others[0]).holder().split()
                s.say(f"note: waiting for {len(others)} run(s) that another sweep is computing"
                      + (f" (process {holder[0]})" if holder else ""))
                announced = True
            while others and all(_held(p) for p in others):
                time.sleep(POLL)
            waiting = others
    except KeyboardInterrupt:  # while waiting for another sweep
        raise Interrupted(f"{s.finished} finished in this sweep, every finished result is on disk") from None
    finally:
        s.release_all()
        s.progress.close()
    return sum(1 for group in s.by_path.values() if group[0].result is None)


def _held(path):
    """True while another process holds the claim on `path`."""
    c = stored.Claim(path)
    if c.acquire():
        c.release()
        return False
    return True


# ---- a pool of worker processes ----------------------------------------------------------------------------------

def _watch_parent(parent):
    while True:
        time.sleep(POLL)
        if os.getppid() != parent:  # the sweep's process died: nobody will read our result
            os._exit(1)


def _stop(signum, frame):
    raise KeyboardInterrupt


def _worker(conn, parent):
    """A worker process: runs the argv it receives, one at a time, until told to stop or the parent is gone.
    Ctrl-C is the parent's to handle (it stops workers with SIGTERM, which ends the run in progress)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        while True:
            try:
                job = conn.recv()
            except (EOFError, OSError):
                return
            if job is None:
                return
            conn.send(run_one(*job))
    except (KeyboardInterrupt, BrokenPipeError):
        return


def _start_worker(context):
    parent_end, child_end = context.Pipe()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited through exec: no Ctrl-C race at start
    try:
        p = context.Process(target=_worker, args=(child_end, os.getpid()), daemon=True)
        p.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    child_end.close()
    return p, parent_end


def _terminate(procs, grace=5.0):
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.time() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.time()))
        if p.is_alive():
            p.kill()
            p.join()


def _execute_pool(todo, workers, s):
    import multiprocessing
    from multiprocessing.connection import wait
    context = multiprocessing.get_context("spawn")
    queue = list(todo)
    procs, running = [], {}  # running: connection -> (process, job)

    def feed(proc, conn):
        job = queue.pop(0)
        conn.send((_quiet(job.argv), job.task_free))
        running[conn] = (proc, job)

    try:
        for _ in range(min(workers, len(queue))):
            proc, conn = _start_worker(context)
            procs.append(proc)
            feed(proc, conn)
        while running:
            for conn in wait(list(running)):
                proc, job = running.pop(conn)
                try:
                    outcome = conn.recv()
                except (EOFError, OSError):  # the worker died (killed, out of memory)
                    proc.join()
                    outcome = {"error": f"worker process died (exit code {proc.exitcode})"}
                    conn.close()
                    if queue:
                        proc, conn = _start_worker(context)
                        procs.append(proc)
                s.done(job, outcome)
                if queue:
                    feed(proc, conn)
                else:
                    try:
                        conn.send(None)
                    except OSError:
                        pass
        for p in procs:
            p.join()
    except BaseException as e:  # Ctrl-C, or any error here (a closed output pipe): no worker is left behind
        if not isinstance(e, KeyboardInterrupt):
            _terminate(procs)
            raise
        stopping = list(running.values())

        def now(signum, frame):  # a second Ctrl-C: stop at once
            for p in procs:
                if p.is_alive():
                    p.kill()
            print("\ninterrupted again: stopped at once", file=sys.stderr, flush=True)
            os._exit(130)

        signal.signal(signal.SIGINT, now)
        _terminate(procs)
        raise Interrupted(f"stopped {len(stopping)} running run(s) (not written) and {len(queue)} not started; "
                          f"{s.finished} finished in this sweep, every finished result is on disk") from None


def _execute_ray(todo, address, s):
    try:
        import ray
    except ImportError:
        raise UsageError("--ray-address needs Ray: python3 -m pip install 'ray[default]'") from None
    env = {k: os.environ[k] for k in ("CL_DATA_DIR",) if k in os.environ}
    ray.init(address=address, log_to_driver=False, runtime_env={
        "working_dir": ROOT, "excludes": ["store/", ".git", "*.pt", "__pycache__/"], "env_vars": env})
    pending = []
    try:
        # a run asks for as many CPUs as it uses torch threads; a run lost with its node (or its worker process)
        # is retried elsewhere: its result file is named by its stamp and written atomically, so a retry writes
        # the same file once
        remote = ray.remote(max_retries=3)(run_one)
        started, cpus = {}, set()
        for job in todo:  # in the order given: the longest first
            args = parse(job.argv, prog="main_task_free" if job.task_free else "main", task_free=job.task_free)
            cpus.add(args.threads or DEFAULT_THREADS)
            started[remote.options(num_cpus=args.threads or DEFAULT_THREADS).remote(_quiet(job.argv),
                                                                                     job.task_free)] = job
        s.progress.parallel = max(1, int(ray.cluster_resources().get("CPU", 1)) // max(cpus))
        pending = list(started)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            job = started[ready[0]]
            try:
                outcome = ray.get(ready[0])
            except Exception as e:
                outcome = {"error": f"Ray task failed: {type(e).__name__}: {e}".splitlines()[0]}
            s.done(job, outcome)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise Interrupted(f"cancelled {len(pending)} run(s) on Ray (not written); {s.finished} finished in this "
                          f"sweep, every finished result is on disk") from None
    finally:
        ray.shutdown()


def run_all(s, jobs):
    """Execute the jobs with the setup's --workers / --ray-address, the longest first; returns the number of failed
    runs. With --plan: print the plan and stop (preview.Planned)."""
    survey = preview.survey(jobs, s.expect, s.sweep.workers or _cores())
    if s.sweep.plan:
        preview.print_plan(s.title, survey)
        raise preview.Planned(survey)
    costs = {job.path: estimate.seconds for job, _, estimate in survey.runs}
    return execute(jobs, s.sweep.workers, s.sweep.ray_address, s.expect, costs)


def report_failures(failed):
    if failed:
        print(f"{failed} run(s) failed (see FAILED above); the summary leaves them out", file=sys.stderr)
    return 1 if failed else 0
