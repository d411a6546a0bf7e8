"""Test accuracy per context, with the learner's prediction rule and the scenario's active outputs."""
import torch

from utils.nn import eval_mode


@torch.no_grad()
def accuracy(learner, dataset, upto, chunk=2048, max_samples=None):
    n = len(dataset) if max_samples is None else min(max_samples, len(dataset))
    correct = torch.zeros((), dtype=torch.long, device=dataset.device)
    with eval_mode(learner.model):
        for start in range(0, n, chunk):
            index = torch.arange(start, min(start + chunk, n), device=dataset.device)
            batch = learner.batch(dataset, index)
            scores = learner.predict(batch.x, batch.context)
            active, targets = learner.scenario.select(scores, batch.y, batch.context, upto, train=False)
            correct += (active.argmax(1) == targets).sum()
    return correct.item() / max(n, 1)


def accuracy_row(learner, test_sets, upto, max_samples=None):
    """Accuracy on every context's test set (also those not trained yet) after training up to `upto`."""
    return [accuracy(learner, s, upto, max_samples=max_samples) for s in test_sets]
