#!/usr/bin/env python3
"""The plan of many sweeps at once, in one process: what `./all_results.sh --plan` prints. It reads command lines
(one per line, shell-quoted: ./compare.py ..., ./compare_hyperParams.py ..., ./main_pretrain.py ...) on stdin,
prints each sweep's plan (their --plan) and adds them up. It runs nothing. A sweep script is any script that
declares SWEEP (sweep/script.py), found by its path on the command line: a new one needs no edit here.

    ./all_results.sh --plan [options for every command]
    printf '%s\\n' "./compare.py --experiment=splitMNIST --scenario=task --plan" | ./plan_all.py
"""
import math
import os
import shlex
import sys
import time

from utils.errors import starting  # (the standard library only)

if __name__ == "__main__":
    starting()  # first: a Ctrl-C or SIGTERM while torch loads gives one line, not a traceback

import sweep
from sweep import cost, script
from utils.errors import UsageError, run_cli

ROOT = os.path.dirname(os.path.abspath(__file__))
CIFAR10_TRAIN = 50000


def pretrain_seconds(argv):
    """The cost model's seconds of a ./main_pretrain.py run (on CIFAR-10, batch 256 unless given)."""
    opts = dict(a.lstrip("-").split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    if "iters" in opts:
        iters = int(opts["iters"])
    else:
        iters = int(opts.get("epochs", 10)) * math.ceil(CIFAR10_TRAIN / int(opts.get("batch", 256)))
    return iters * cost.PRETRAIN_SECONDS_PER_ITER


def main(argv=None):
    start = time.perf_counter()
    lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not lines:
        raise UsageError("no command lines on stdin (this is what `./all_results.sh --plan` runs)")
    counted = {}  # result path -> (done, estimated seconds): a run named by two commands is counted once
    wall, pretrain = 0.0, []
    for line in lines:
        words = shlex.split(line)
        if os.path.basename(words[0]).startswith("python"):  # `python3 ICLRblogpost/compare_FI.py ...`
            words = words[1:]
        path = os.path.join(ROOT, words[0])
        if os.path.basename(path) == "main_pretrain.py":
            pretrain.append(pretrain_seconds(words[1:]))
            print(f"plan: {line.strip()}: to run, ~{cost.duration(pretrain[-1])} (cost model)\n")
            continue
        module = script.load(path)
        if module is None:
            raise UsageError(f"{words[0]}: not a sweep script (found: {', '.join(script.find(ROOT))}) "
                             "or ./main_pretrain.py")
        argv = [w for w in words[1:] if w != "--plan"] + ["--plan"]
        try:
            module.main(argv)
            raise UsageError(f"{words[0]} did not stop at its plan")
        except sweep.Planned as planned:
            s = planned.survey
        print()
        fresh = [(j, e) for j, e in s.todo() if j.path not in counted]
        wall += cost.makespan([e.seconds for _, e in fresh], s.parallel)
        for job, state, estimate in s.runs:
            counted.setdefault(job.path, (state != "to run", estimate.seconds))
    todo = [sec for done, sec in counted.values() if not done]
    print("#" * 60)
    print(f"all: {len(counted)} runs in {len(lines) - len(pretrain)} sweeps, {len(counted) - len(todo)} done, "
          f"{len(todo)} to run: ~{cost.duration(sum(todo))} of run time, ~{cost.duration(wall)} on the workers "
          f"of each sweep (one sweep after another)")
    if pretrain:
        print(f"     and {len(pretrain)} pre-training(s) of conv layers to run: ~{cost.duration(sum(pretrain))}")
    print(f"(planned in {time.perf_counter() - start:.1f} s; runs named by two commands are counted once)")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
