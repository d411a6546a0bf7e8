#!/usr/bin/env python3
"""Fingerprints of short real runs: each configuration's parameter stamp and accuracy matrix, to check a refactor
bit for bit. Record before the change (`--out before.json`, in a worktree of the old commit), again after, then
`--compare before.json after.json` lists every configuration whose stamp or matrix differs (exit code 1 if any).

Runs ./main.py and ./main_task_free.py as subprocesses of the tree it sits in, seed 0, one thread, --no-save, on
the data of --data-dir / $CL_DATA_DIR. Short protocols: what is compared is the exact numbers, not their quality.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHORT = "--seed=0 --threads=1 --iters=100"
MAIN = {  # name -> ./main.py options
    "None-task": "--scenario=task",
    "None-domain": "--scenario=domain",
    "None-class": "--scenario=class",
    "Joint": "--scenario=class --joint",
    "Cumulative": "--scenario=class --cummulative",
    "SeparateNetworks": "--scenario=task --separate-networks",
    "XdG": "--scenario=task --xdg",
    "XdG+EWC": "--scenario=task --xdg --ewc",
    "EWC": "--scenario=class --ewc",
    "EWC-task": "--scenario=task --ewc",
    "OnlineEWC": "--scenario=domain --weight-penalty --importance-weighting=fisher --gamma=0.9",
    "KFAC-EWC": "--scenario=class --kfac-ewc",
    "NCL": "--scenario=task --ncl",
    "SI": "--scenario=class --si",
    "SI-domain": "--scenario=domain --si",
    "OWM": "--scenario=class --owm",
    "LwF": "--scenario=class --lwf",
    "LwF-task": "--scenario=task --lwf",
    "FROMP": "--scenario=class --fromp",
    "FROMP-task": "--scenario=task --fromp",
    "ER": "--scenario=class --replay=buffer",
    "ER+SI": "--scenario=class --replay=buffer --si",
    "ER-domain": "--scenario=domain --replay=buffer",
    "A-GEM": "--scenario=class --agem",
    "A-GEM-task": "--scenario=task --agem",
    "A-GEM-both": "--scenario=class --replay=buffer --use-replay=both",
    "iCaRL": "--scenario=class --icarl --active-classes=all-so-far",
    "Replay-all": "--scenario=class --replay=all",
    "DGR": "--scenario=class --replay=generative --iters=50",
    "DGR-distill": "--scenario=class --replay=generative --distill --iters=50",
    "BI-R": "--scenario=class --brain-inspired --iters=50",
    "BI-R-task": "--scenario=task --brain-inspired --iters=50",
    "GenClassifier": "--scenario=class --gen-classifier --gc-compare",
    "GenClassifier-main": "--scenario=class --gen-classifier",  # the paper's main.py setting (issue 25)
    "permMNIST-None": "--experiment=permMNIST --scenario=domain --contexts=3 --iters=50",
    "permMNIST-SI": "--experiment=permMNIST --scenario=domain --contexts=3 --iters=50 --si",
    "permMNIST-EWC": "--experiment=permMNIST --scenario=task --contexts=3 --iters=50 --ewc",
    "CIFAR10-None": "--experiment=CIFAR10 --scenario=task --contexts=2 --iters=10",
    "CIFAR10-ER": "--experiment=CIFAR10 --scenario=class --contexts=2 --iters=10 --replay=buffer",
}
TASK_FREE = {  # name -> ./main_task_free.py options (a stream of --iters x contexts iterations)
    "TF-None-class": "--scenario=class --fuzziness=20",
    "TF-None-task": "--scenario=task --fuzziness=20",
    "TF-None-domain": "--scenario=domain --fuzziness=20",
    "TF-Joint": "--scenario=class --joint --stream=random",
    "TF-SeparateNetworks": "--scenario=task --separate-networks --fuzziness=20",
    "TF-XdG": "--scenario=task --xdg --fuzziness=20",
    "TF-SI": "--scenario=class --si --fuzziness=20 --update-every=20",
    "TF-LwF": "--scenario=class --lwf --fuzziness=20 --update-every=20",
    "TF-LwF-task": "--scenario=task --lwf --fuzziness=20 --update-every=20",
    "TF-ER": "--scenario=class --replay=buffer --fuzziness=20 --update-every=1",
    "TF-A-GEM": "--scenario=domain --agem --fuzziness=20 --update-every=1",
    "TF-iCaRL": "--scenario=class --icarl --fuzziness=20 --update-every=1",
    "TF-GenClassifier": "--scenario=class --gen-classifier --gc-compare --fuzziness=20",
}
STAMP_ONLY = {  # stamps of runs this machine has no data for (CIFAR-100) or that take long
    "CIFAR100-class-BI-R": "--experiment=CIFAR100 --scenario=class --brain-inspired --pre-convE --freeze-convE",
    "CIFAR100-task-XdG": "--experiment=CIFAR100 --scenario=task --xdg",
    "CIFAR100-domain-EWC": "--experiment=CIFAR100 --scenario=domain --ewc",
    "CIFAR100-class-SI": "--experiment=CIFAR100 --scenario=class --si",
    "CIFAR100-class-GenC": ("--experiment=CIFAR100 --scenario=class --gen-classifier --gc-compare --pre-convE "
                            "--freeze-convE"),
    "CIFAR10-task-FROMP": "--experiment=CIFAR10 --scenario=task --fromp",
    "permMNIST-task-XdG": "--experiment=permMNIST --scenario=task --xdg",
    "splitMNIST-class-A-GEM": "--experiment=splitMNIST --scenario=class --agem",
}


def run(script, options, results):
    cmd = [sys.executable, os.path.join(ROOT, script), *SHORT.split(), *options.split(), "--no-save", "--quiet",
           f"--results-dir={results}"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    (name,) = [f for f in os.listdir(results) if f.endswith(".json")]
    with open(os.path.join(results, name)) as f:
        record = json.load(f)
    os.remove(os.path.join(results, name))
    return {"stamp": record["stamp"], "matrix": record["accuracy_matrix"]}


def stamp(options):
    cmd = [sys.executable, os.path.join(ROOT, "main.py"), *options.split(), "--get-stamp"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    return {"stamp": out.stdout.strip()} if out.returncode == 0 else {"error": out.stderr.strip()}


def record(path, only):
    found = {}
    with tempfile.TemporaryDirectory() as results:
        for table, script in ((MAIN, "main.py"), (TASK_FREE, "main_task_free.py")):
            for name, options in table.items():
                if only and name not in only:
                    continue
                start = time.perf_counter()
                found[name] = run(script, options, results)
                print(f"{name:22s} {time.perf_counter() - start:6.1f} s  {found[name].get('error', '')}", flush=True)
    for name, options in STAMP_ONLY.items():
        if not only or name in only:
            found[name] = stamp(options)
    with open(path, "w") as f:
        json.dump(found, f, indent=1)


def compare(before_path, after_path):
    with open(before_path) as f:
        before = json.load(f)
    with open(after_path) as f:
        after = json.load(f)
    differ = 0
    for name in after:  # (a partial record, --only, is compared on its own configurations)
        if before.get(name) != after[name]:
            differ += 1
            print(f"DIFFERS {name}: {before.get(name)} -> {after[name]}")
    missing = sorted(set(before) - set(after))
    print(f"{len(after) - differ} of {len(after)} identical (stamps and accuracy matrices, float equality)"
          + (f"; not in {after_path}: {', '.join(missing)}" if missing else ""))
    return 1 if differ else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", help="record the fingerprints into this JSON file")
    p.add_argument("--only", default="", help="comma-separated configuration names (default: all)")
    p.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    a = p.parse_args()
    if a.compare:
        return compare(*a.compare)
    record(a.out, [n for n in a.only.split(",") if n])
    return 0


if __name__ == "__main__":
    sys.exit(main())
