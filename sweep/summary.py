"""Summaries of a sweep: accuracies per method, mean and standard error over seeds, the curve of accuracy on the
contexts so far, and the table files."""
import hashlib
import io as _io
import math

import numpy as np

from cli.stamp import problem_stamp
from utils import io


def accuracies(jobs):
    """{key: [average accuracy of each finished seed]} in the order the jobs were made."""
    out = {}
    for job in jobs:
        if job.result is not None:
            out.setdefault(job.key, []).append(job.result["average_accuracy"])
    return out


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


def summary_name(prefix, args, jobs):
    """<prefix>-<problem>-s<first seed>[-<last seed>]-<8 hex digits of the runs' stamps>: a summary is named by
    the runs it covers, so sweeps of other methods, options or seeds on one folder never overwrite each other's
    summary (the same name means the same runs, hence the same numbers)."""
    stamps = sorted({j.stamp for j in jobs})
    seeds = sorted({j.seed for j in jobs}) or [args.seed]
    digest = hashlib.sha1("\n".join(stamps).encode()).hexdigest()[:8]
    span = f"s{seeds[0]}" + (f"-{seeds[-1]}" if len(seeds) > 1 else "")
    return f"{prefix}-{problem_stamp(args)}-{span}-{digest}"


def write_table(rows, path_stem, jobs=()):
    """rows: list of dicts with the same keys; writes <stem>.csv and <stem>.json ({'runs': the stamps it covers,
    'rows': rows}) atomically."""
    import csv
    keys = list(rows[0]) if rows else []
    buf = _io.StringIO()
    writer = csv.DictWriter(buf, keys, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (" ".join(map(str, v)) if isinstance(v, list) else v) for k, v in row.items()})
    io.write_atomic(path_stem + ".csv", lambda f: f.write(buf.getvalue().encode()))
    io.write_json(path_stem + ".json", {"runs": sorted({j.stamp for j in jobs}), "rows": rows})


def title_of(args):
    return f"{args.experiment}  -  {args.scenario}-incremental learning"
