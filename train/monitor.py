"""Watching a run: an observer on the loop's hooks that records the training loss and the test accuracy at the
log points of the paper's code (`--loss-log`, `--acc-log`, `--sample-log`) for the live visdom plots and the pdf.

train.experiment appends a Monitor to `learner.components` (after every method) only with --visdom or --pdf, or in
a task-free run (for its accuracy curve), so a plain run pays nothing. Between log points `after_iteration` does
integer arithmetic only; loss values are read (one device sync) and the test accuracy computed only at log points.

Iterations are counted over the whole run from 1, as in the paper's code (the number of iterations so far, over
all phases), and a quantity is logged when that number is a multiple of its log interval. In a task-free stream
(no context known: learner.context None) every context's test set is measured at each log point.

Continual evaluation (--eval-contexts): the chosen contexts' test sets are measured every --eval-every (= --acc-log)
iterations, trained yet or not, and the iteration at which each phase starts is kept (the switches), so that
eval.metrics.stability_gap can measure the drop after each switch. Each point is one forward pass over the first
--eval-n test samples of each chosen context, nothing else: the cost is that arithmetic.

Generative models: a component with a method `sample(n)` returning n images (n, channels, height, width) with values
in [0, 1] is drawn from every `--sample-log` iterations (visdom) and after every context (pdf): BI-R's model and
the Generative Classifier's VAEs have one.
"""
import time

import torch

from eval.evaluate import accuracy
from methods import shared_values
from methods.component import LOG_INTERVALS, Component
from utils.nn import eval_mode


class Monitor(Component):

    def __init__(self, args, learner, test_sets, plots=None):
        super().__init__(args, learner)
        self.test_sets, self.plots = test_sets, plots
        self.t = 0  # iterations so far
        # the log intervals: the options', or a method's (the Generative Classifier: once per context)
        decided = shared_values(args, learner.components)  # (the Generative Classifier: once per context)
        self.every = {flag: decided.get(flag, getattr(args, flag)) for flag in LOG_INTERVALS}
        self.sampler = next((c for c in reversed(learner.components) if callable(getattr(c, "sample", None))), None)
        # what was logged: loss terms and accuracies at their log points, samples after each context
        self.loss_iters, self.loss = [], {}          # loss[name] = [(iteration, value)]
        self.acc_iters, self.acc = [], []            # acc[k] = accuracy on contexts 0..upto at acc_iters[k]
        self.samples = {}                            # context -> images (cpu)
        self.chosen = args.eval_contexts             # None, "all" or context numbers from 1 (continual evaluation)
        self.switches = []                           # iterations done when each phase after the first started
        self.seconds = 0.0                           # time spent logging (evaluation, plots)

    def after_iteration(self, context, iteration, losses, batch, replayed):
        self.t += 1
        t = self.t
        every = self.every
        if t % every["loss_log"] == 0:
            self._log_loss(t, losses)
        if t % every["acc_log"] == 0:
            self._log_accuracy(t)
        if self.sampler is not None and self.plots is not None and t % every["sample_log"] == 0:
            start = time.perf_counter()
            self.plots.samples(t, self._sample())
            self.seconds += time.perf_counter() - start

    def before_context(self, context, dataset):
        if self.t > 0 and context is not None:
            self.switches.append(self.t)

    def after_context(self, context, dataset):
        if self.sampler is not None and self.args.pdf and context is not None:  # (not at each stream update)
            self.samples[context] = self._sample()

    # ---- the logging itself (only at log points) ----
    def _log_loss(self, t, losses):
        start = time.perf_counter()
        names = list(losses)
        device = self.learner.device
        values = torch.stack([torch.as_tensor(losses[n], dtype=torch.float32, device=device).detach().reshape(())
                              for n in names]).tolist()  # one device sync for all terms
        for name, value in zip(names, values):
            self.loss.setdefault(name, []).append((t, value))
        if self.plots is not None:
            self.plots.losses(t, dict(zip(names, values)))
        self.seconds += time.perf_counter() - start

    def _log_accuracy(self, t):
        start = time.perf_counter()
        upto = self.learner.context
        upto = len(self.test_sets) - 1 if upto is None else upto
        if isinstance(self.chosen, list):  # these contexts only, trained yet or not
            row = [accuracy(self.learner, s, upto, max_samples=self.args.acc_n) if c + 1 in self.chosen else None
                   for c, s in enumerate(self.test_sets)]
        else:
            row = [accuracy(self.learner, s, upto, max_samples=self.args.acc_n) for s in self.test_sets[:upto + 1]]
        self.acc_iters.append(t)
        self.acc.append(row)
        if self.plots is not None:
            self.plots.accuracies(t, row)
        self.seconds += time.perf_counter() - start

    @torch.no_grad()
    def _sample(self):
        with eval_mode(self.learner.model):
            return self.sampler.sample(self.args.sample_n).detach().float().clamp(0, 1).cpu()

    def history(self):
        """What was logged, for the results JSON: accuracy per context (None before it was trained) and losses."""
        n = len(self.test_sets)
        return {"acc_iterations": self.acc_iters, "switches": self.switches,
                "accuracy": [row + [None] * (n - len(row)) for row in self.acc],
                "loss": {name: {"iterations": [t for t, _ in points], "values": [v for _, v in points]}
                         for name, points in self.loss.items()}}
