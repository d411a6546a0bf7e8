"""The one training loop. It knows no method by name: methods act through the hooks of methods.component."""
import time

import torch
from tqdm import tqdm

from methods import shared_values
from methods.component import Component, Replayed
from utils.nn import LossWatch, make_optimizer

LOG_EVERY = 25  # iterations between progress-bar updates (reading a loss value syncs the device)


@torch.no_grad()
def progress(learner, batch, scores, total, losses):
    """What the progress bar shows: total loss, each loss term when there are several, accuracy on this batch.

    One device sync for all of them, and only when the bar is shown."""
    terms = {"loss": total} | (losses if len(losses) > 1 else {})
    if scores is not None:
        active, targets = learner.scenario.select(scores, batch.y, batch.context, learner.context)
        terms["acc"] = (active.argmax(1) == targets).float().mean()
    values = torch.stack([torch.as_tensor(v, dtype=torch.float32, device=total.device).detach().reshape(())
                          for v in terms.values()]).tolist()
    return {name: f"{value:.3g}" for name, value in zip(terms, values)}


def context_schedule(components, context, iters, batch_size):
    """(iterations, batch size) on `context`: --iters and --batch as the components' context_iters and
    context_batch hooks change them."""
    for component in components:
        iters = component.context_iters(context, iters)
        batch_size = component.context_batch(context, batch_size)
    return iters, batch_size


def finish_context(components, context, dataset, hook_seconds=None):
    """Every component's after_context. The seconds of each component that defines one (e.g. EWC's Fisher
    estimate, SI's importance) are appended to hook_seconds[its class name], one entry per call."""
    for component in components:
        start = time.perf_counter()
        component.after_context(context, dataset)
        if hook_seconds is not None and type(component).after_context is not Component.after_context:
            hook_seconds.setdefault(type(component).__name__, []).append(time.perf_counter() - start)


def consolidate(components, context, dataset, hook_seconds=None):
    """The consolidation event inside a task-free stream: to every component as the end of one context and the
    start of the next (SI's importance, the frozen copy of the model, the buffer as it stands), with no context."""
    finish_context(components, context, dataset, hook_seconds)
    for component in components:
        component.before_context(context, dataset)


def train(learner, plan, iters, batch_size, update_every=None, after_context=None, quiet=False, hook_seconds=None):
    """Train on `plan`, a list of (context id, TensorSet); call `after_context(context)` after each.
    hook_seconds: a dict that receives the seconds of the components' after_context hooks (finish_context).

    A task-free stream is one entry (None, data.stream.StreamData): `iters` iterations of the stream's batches,
    with the consolidation event every `update_every` iterations and at the end (None: at the end of each entry
    only, as at the end of a context in the academic setting).

    Returns the seconds spent training each entry of the plan.
    """
    model, components, args = learner.model, learner.components, learner.args
    lr = shared_values(args, components).get("lr", args.lr)  # --lr, or the one a method decides
    optimizer = make_optimizer(model.parameters(), args.optimizer, lr, args.momentum)
    seconds = []
    watch = LossWatch(LOG_EVERY)  # a non-finite loss stops the run (utils.errors.Diverged)
    needs_scores = all(c.needs_scores for c in components)
    for step, (context, dataset) in enumerate(plan):
        start = time.perf_counter()
        learner.context = context
        for component in components:
            dataset = component.training_set(context, dataset)
        for component in components:
            component.before_context(context, dataset)
        if args.optimizer == "adam_reset" and step > 0:
            optimizer = make_optimizer(model.parameters(), args.optimizer, lr, args.momentum)
        n, batch = context_schedule(components, context, iters, batch_size)
        sampler = learner.batch_sampler(dataset, batch, context)
        bar = tqdm(range(n), desc=f"context {step + 1}/{len(plan)}" if update_every is None else "stream",
                   disable=quiet or None, leave=False, dynamic_ncols=True)
        model.train()
        watch.start(step + 1)
        for iteration in bar:
            batch = learner.batch(dataset, next(sampler))
            replayed = [(c, b) for c in components if (b := c.replay_batch(batch, context)) is not None]
            shared = [b for _, b in replayed if b.shared]
            if needs_scores:
                scores, *shared_scores = learner.forward([batch] + shared)
            else:
                scores, shared_scores = None, [None] * len(shared)
            scored = dict(zip(map(id, shared), shared_scores))
            replayed = [Replayed(c, b, scored.get(id(b))) for c, b in replayed]
            losses = {"current": learner.criterion(scores, batch, context)}
            weight = 1.0
            for component in components:
                losses.update(component.losses(batch, scores, replayed, context))
                weight *= component.current_weight(context)
            total = weight * losses["current"]
            for name, value in losses.items():
                if name != "current":
                    total = total + value
            watch.add(total, iteration)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            for component in components:
                component.before_step(context)
            optimizer.step()
            for component in components:
                component.after_step(context)
                losses.update(component.after_iteration(context, iteration, losses, batch, replayed) or {})
            if not bar.disable and iteration % LOG_EVERY == 0:
                bar.set_postfix(progress(learner, batch, scores, total, losses), refresh=False)
            if (iteration + 1) % LOG_EVERY == 0:
                watch.check()
            if update_every is not None and (iteration + 1) % update_every == 0 and iteration + 1 < n:
                consolidate(components, context, dataset, hook_seconds)
        bar.close()
        watch.check()
        finish_context(components, context, dataset, hook_seconds)
        seconds.append(time.perf_counter() - start)
        if after_context is not None:
            after_context(context)
    return seconds
