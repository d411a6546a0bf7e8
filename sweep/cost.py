"""What a sweep's runs cost before they run: the figures behind --plan, the order of dispatch (longest first) and
the progress bar's ETA.

A run's estimate is, where there is one, the mean recorded seconds of the finished runs of the same method and
protocol among the sweep's runs ("recorded"); otherwise the cost model ("model"): training iterations x seconds per
iteration of a None run on the experiment x the method's cost factor, plus, for the Generative Classifier, its
evaluation (one importance-sampled likelihood per class, test sample and --eval-s sample after each context: it
does not shrink with --iters). Data loading and the other methods' evaluation are left out (seconds).
The measured figures (each comment says which are measured and which scaled) come from bench/method_costs.py on
this project's 2-core CPU machine, one torch thread per run (as the sweeps run them), on 2026-12-02; on other machines the seconds differ but the
ratios, which decide the order, hold much better, and recorded seconds replace the model as runs finish.
"""
import math
from dataclasses import dataclass
from typing import NamedTuple

from data.benchmarks import BENCHMARKS

# Seconds per training iteration of a None run (one torch thread), from the arithmetic of one step: a power law in
# the multiply-adds of the fc layers (batch x (inputs x units + units x units + units x classes)) through two
# measured points. split MNIST: 128 x (784x400 + 400x400 + 400x10), 8.6 ms (a default-protocol None run of
# ./main_task_free.py: 86 s for 10,000 iterations, two runs on the two cores); CIFAR-100 on the features computed
# once: 256 x (1024x2000 + 2000x2000 + 2000x100), 112 ms (bench/method_costs.py --experiment CIFAR100 --iters 20,
# 2026-12-05). Permuted MNIST (1024 inputs, 1000 units) comes out at 27 ms; any other benchmark is priced the same
# way from its sizes.
MEASURED = ((128 * (784 * 400 + 400 * 400 + 400 * 10), 0.0086),
            (256 * (1024 * 2000 + 2000 * 2000 + 2000 * 100), 0.112))
EXPONENT = math.log(MEASURED[1][1] / MEASURED[0][1]) / math.log(MEASURED[1][0] / MEASURED[0][0])
CONV_FEATURES = 1024  # the paper's 5 conv layers' output (256 x 2 x 2): the fc layers' input on conv benchmarks
# a method's training seconds per iteration relative to None (bench/method_costs.py), by experiment family
FACTORS = {
    "MNIST": {"None": 1.0, "Joint": 0.84, "Separate Networks": 0.32, "XdG": 1.03, "EWC": 2.09, "SI": 1.14,
              "LwF": 1.22, "FROMP": 7.15, "DGR": 6.01, "BI-R": 4.29, "ER": 1.58, "A-GEM": 1.97, "iCaRL": 2.12,
              "Generative Classifier": 0.79},
    # CIFAR: measured on CIFAR-100 shapes (bench/method_costs.py --experiment CIFAR100 --iters 20, 2026-12-05; DGR
    # alone cannot use the feature cache); EWC (its Fisher is per context, not per iteration), Separate Networks,
    # FROMP and the Generative Classifier are not measured there and take their split MNIST factor
    "CIFAR": {"Joint": 0.98, "XdG": 1.02, "SI": 1.18, "LwF": 1.26, "DGR": 12.9, "BI-R": 4.89, "ER": 1.99,
              "A-GEM": 1.90, "iCaRL": 2.18},
}
# the Generative Classifier's evaluation after one context with --eval-s=50 and 10 classes (it grows with both)
GEN_CLASSIFIER_EVAL = {"MNIST": 22.0, "CIFAR": 22.0}
PRETRAIN_SECONDS_PER_ITER = 0.55  # ./main_pretrain.py on CIFAR-10: batch 256, augmented, one thread


class Protocol(NamedTuple):
    """What decides a run's cost besides its method: runs of one method with equal protocols cost the same."""
    task_free: bool
    experiment: str
    scenario: str
    contexts: int
    iters: int
    batch: int
    threads: int
    stream: str = None
    eval_s: int = None


@dataclass(frozen=True)
class Estimate:
    seconds: float
    source: str  # "recorded" (finished runs of the same method and protocol) or "model"


def family(experiment):
    """Which measured factors apply: those of conv benchmarks (split CIFAR) or of fc ones (MNIST)."""
    return "CIFAR" if BENCHMARKS[experiment].depth > 0 else "MNIST"


def sizes(experiment, batch=None):
    """(batch, inputs, hidden units, classes) of a benchmark's default network; own data whose sizes are known only
    from its file (unbound here) is priced as split MNIST."""
    b = BENCHMARKS[experiment]
    if not b.classes:
        b = BENCHMARKS["splitMNIST"]
    inputs = CONV_FEATURES if b.depth > 0 else b.channels * b.image_size ** 2
    return batch or b.protocol["batch"], inputs, b.protocol["fc_units"], b.classes


def seconds_per_iter(experiment, batch=None):
    """A None run's seconds per iteration, from the multiply-adds of its step (see MEASURED)."""
    n, inputs, units, classes = sizes(experiment, batch)
    work = n * (inputs * units + units * units + units * classes)
    return MEASURED[0][1] * (work / MEASURED[0][0]) ** EXPONENT


def model_seconds(method, experiment, iterations, contexts=1, eval_s=50, batch=None):
    """The cost model's seconds for a run of `method` (a name of sweep.catalogue; an unknown method costs what None
    does) with `iterations` training iterations in all and an evaluation after each of `contexts` contexts."""
    factor = FACTORS[family(experiment)].get(method, FACTORS["MNIST"].get(method, 1.0))
    seconds = iterations * seconds_per_iter(experiment, batch) * factor
    if method == "Generative Classifier":
        seconds += (contexts * GEN_CLASSIFIER_EVAL[family(experiment)] * (eval_s or 50) / 50
                    * sizes(experiment)[3] / 10)
    return seconds


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
            p = job.protocol
            out[job.path] = Estimate(model_seconds(job.key[0], p.experiment, job.iterations, p.contexts, p.eval_s,
                                                   p.batch), "model")
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
