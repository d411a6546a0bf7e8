#!/usr/bin/env python3
"""What rotated MNIST's rotation costs: a rotMNIST None run (0, 80, 160 degrees) next to the same run without
rotation (0, 0, 0: the same data, network and iterations) and a permuted MNIST None run of 3 contexts (32x32 input
and a pixel gather per batch), alternated in one process. The rotation is done once per context when the data are
built (seconds['data']), so training should cost the same as without it.

    python3 bench/rotation_cost.py [--iters 500] [--repeats 3]      (real MNIST from $CL_DATA_DIR)
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import main  # noqa: E402


def main_(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=500, help="iterations per context (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args(argv)
    common = {"results_dir": tempfile.mkdtemp(), "save": False, "quiet": True, "cuda": False, "iters": a.iters,
              "fc_units": 400, "lr": 0.001, "batch": 128, "scenario": "domain", "threads": 1}
    runs = {"rotMNIST 0,80,160": {"experiment": "rotMNIST", "rotations": "0,80,160"},
            "rotMNIST 0,0,0 (no rotation)": {"experiment": "rotMNIST", "rotations": "0,0,0"},
            "permMNIST 3 contexts": {"experiment": "permMNIST", "contexts": 3}}
    best = {name: None for name in runs}
    for r in range(a.repeats):
        for name, options in runs.items():
            s = main.run(**common, **options, seed=r)["seconds"]
            if best[name] is None or s["train"] < best[name]["train"]:
                best[name] = s
            print(f"repeat {r + 1}: {name:<30} train {s['train']:6.2f} s  data {s['data']:5.2f} s", flush=True)
    base = best["rotMNIST 0,0,0 (no rotation)"]["train"]
    print(f"best of {a.repeats}, {a.iters} iterations x 3 contexts, batch 128, 2x400 units, domain-IL:")
    for name, s in best.items():
        print(f"{name:<30} training {s['train']:7.2f} s  {s['train'] / base:5.3f}x   data {s['data']:5.2f} s")


if __name__ == "__main__":
    main_()
