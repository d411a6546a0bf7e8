"""--plan: a sweep's runs, which are already done, and the time the rest will take, without running anything.

Also what a real sweep needs before it starts: the estimate of each run it will compute (sweep.cost), by which it
dispatches the longest first and times its progress bar.
"""
import sys
from dataclasses import dataclass

from sweep import cost, stored


class Planned(SystemExit):
    """--plan was given: the plan is printed and the script stops here (exit code 0). plan_all.py catches it to
    add the plans of many scripts up."""

    def __init__(self, survey):
        super().__init__(0)
        self.survey = survey


@dataclass
class Survey:
    """The runs of one sweep (unique result paths, in the sweep's order) with their state and estimate."""
    runs: list        # [(job, state, Estimate)]: state is 'done', 'diverged' (a failed run, not rerun) or 'to run'
    parallel: int     # runs at a time (--workers, or one per core)

    def todo(self):
        return [(j, e) for j, state, e in self.runs if state == "to run"]

    def seconds_left(self):
        return sum(e.seconds for _, e in self.todo())

    def wall_left(self):
        return cost.makespan([e.seconds for _, e in self.todo()], self.parallel)


def survey(jobs, expect, parallel):
    """Look at every run's stored result once; estimate the ones still to run."""
    first, states, recorded = {}, {}, {}
    for job in jobs:
        if job.path in first:
            continue
        first[job.path] = job
        state, record = stored.inspect(job.path, job.stamp, expect, job.args)
        states[job.path] = {"done": "done", "diverged": "diverged"}.get(state, "to run")
        if state == "done":
            recorded[job.path] = record["seconds"]["total"]
    found = cost.estimates(list(first.values()), recorded)
    runs = [(job, states[p], cost.Estimate(recorded[p], "recorded") if p in recorded else found[p])
            for p, job in first.items()]
    return Survey(runs, parallel)


def _seeds(seeds):
    """'2-21', '2, 5, 7'."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def label(key):
    """A run's key as the sweeps print it: 'EWC 100000'."""
    return " ".join(f"{k:g}" if isinstance(k, float) else str(k) for k in key)


def print_plan(title, s, out=None):
    """One line per method (grid point): its seeds, how many are done, the estimate of the rest and its source."""
    out = out or sys.stdout  # (as it is at the call, not at import: a redirected stdout)
    groups = {}
    for job, state, estimate in s.runs:
        groups.setdefault(job.key, []).append((job, state, estimate))
    todo = s.todo()
    print(f"plan: {title}: {len(s.runs)} runs, {len(s.runs) - len(todo)} done, {len(todo)} to run", file=out)
    for key, runs in groups.items():
        done = [j.seed for j, state, _ in runs if state != "to run"]
        left = [e for _, state, e in runs if state == "to run"]
        seeds = _seeds([j.seed for j, _, _ in runs])
        line = f"  {label(k for k in key if k is not None):32s} seeds {seeds:10s} done {len(done)}/{len(runs)}"
        if 0 < len(done) < len(runs):
            line += f" ({_seeds(done)})"
        if left:
            sources = sorted({e.source for e in left})
            line += (f", to run: {len(left)} x ~{cost.duration(sum(e.seconds for e in left) / len(left))} "
                     f"({'/'.join(sources)})")
        print(line, file=out)
    print(f"  => {len(todo)} to run: ~{cost.duration(s.seconds_left())} of run time "
          f"({sum(e.source == 'recorded' for _, e in todo)} estimated from recorded runs of the same method and "
          f"protocol, {sum(e.source == 'model' for _, e in todo)} from the cost model in sweep/cost.py); "
          f"on {s.parallel} worker(s): ~{cost.duration(s.wall_left())}", file=out)
