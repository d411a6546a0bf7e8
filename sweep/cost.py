"""What a sweep's runs cost before they run: the figures behind --plan, the order of dispatch (longest first) and
the progress bar's ETA.

A run's estimate is, where there is one, the mean recorded seconds of the finished runs of the same method and
protocol among the sweep's runs ("recorded"); otherwise the cost model ("model"): training iterations x seconds per
iteration of a None run on the experiment x the method's cost factor. Evaluation and data loading are not in the
model (seconds next to the training of a default-protocol run, except for the Generative Classifier's evaluation
with a large --eval-s). The figures were measured with bench/method_costs.py on this project's 2-core CPU machine,
one torch thread per run (as the sweeps run them), on 2026-12-02; on other machines the seconds differ but the
ratios, which decide the order, hold much better, and recorded seconds replace the model as runs finish.
"""
from dataclasses import dataclass

# seconds per training iteration of a None run (one torch thread, class-IL, the paper's network and batch)
SECONDS_PER_ITER = {"splitMNIST": 0.0050, "permMNIST": 0.0130, "CIFAR10": 0.034, "CIFAR100": 0.034}
# a method's training seconds per iteration relative to None (bench/method_costs.py), by experiment family
FACTORS = {
    "MNIST": {"None": 1.0, "Joint": 0.84, "Separate Networks": 0.32, "XdG": 1.03, "EWC": 2.09, "SI": 1.14,
              "LwF": 1.22, "FROMP": 7.15, "DGR": 6.01, "BI-R": 4.29, "ER": 1.58, "A-GEM": 1.97, "iCaRL": 2.12,
              "Generative Classifier": 1.0},
    "CIFAR": {"None": 1.0, "Joint": 1.0, "Separate Networks": 1.0, "XdG": 1.0, "EWC": 1.0, "SI": 1.0, "LwF": 1.0,
              "FROMP": 1.0, "DGR": 1.0, "BI-R": 1.0, "ER": 1.0, "A-GEM": 1.0, "iCaRL": 1.0,
              "Generative Classifier": 1.0},
}
PRETRAIN_SECONDS_PER_ITER = 0.55  # ./main_pretrain.py on CIFAR-10: batch 256, augmented, one thread


@dataclass(frozen=True)
class Estimate:
    seconds: float
    source: str  # "recorded" (finished runs of the same method and protocol) or "model"


def family(experiment):
    return "CIFAR" if experiment.startswith("CIFAR") else "MNIST"


def model_seconds(method, experiment, iterations):
    """The cost model's seconds for `iterations` training iterations of `method` (a name of sweep.catalogue; an
    unknown method costs what None does)."""
    factor = FACTORS[family(experiment)].get(method, 1.0)
    return iterations * SECONDS_PER_ITER.get(experiment, SECONDS_PER_ITER["CIFAR100"]) * factor


def estimates(jobs, recorded):
    """{path: Estimate} for the jobs. recorded: {path: seconds} of the jobs whose finished result is stored."""
    seen = {}
    for job in jobs:
        if job.path in recorded:
            seen.setdefault((job.key[0], job.protocol), []).append(recorded[job.path])
    out = {}
    for job in jobs:
        found = seen.get((job.key[0], job.protocol))
        if found:
            out[job.path] = Estimate(sum(found) / len(found), "recorded")
        else:
            out[job.path] = Estimate(model_seconds(job.key[0], job.protocol[1], job.iterations), "model")
    return out


def makespan(seconds, parallel):
    """Wall seconds for runs of these seconds on `parallel` workers, dispatched longest first (greedy)."""
    loads = [0.0] * max(1, parallel)
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


def duration(seconds):
    """'42 s', '12 min', '3.4 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
