"""Plain supervised training over epochs, for pre-training (./main_pretrain.py).

Not continual learning: one data set, no contexts, no components, so not train/loop.py. Like the paper's
train_standard with a shuffling, drop_last data loader: every epoch is a new random order of the training set in
full batches; the batch is an index into the tensors, augmented on the device.
"""
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from utils.nn import eval_mode

LOG_EVERY = 25  # iterations between progress-bar updates (reading a value syncs the device)


@torch.no_grad()
def accuracy(model, dataset, preprocess, n=None, chunk=1000):
    n = len(dataset) if n is None else min(n, len(dataset))
    correct = torch.zeros((), dtype=torch.long, device=dataset.device)
    with eval_mode(model):
        for start in range(0, n, chunk):
            index = torch.arange(start, min(start + chunk, n), device=dataset.device)
            correct += (model(preprocess(dataset.images[index], 0)).argmax(1) == dataset.labels[index]).sum()
    return correct.item() / max(n, 1)


def train_epochs(model, optimizer, dataset, preprocess, batch_size, iters, augment=None, after_epoch=None,
                 quiet=False):
    """`iters` optimizer steps on batches of `dataset` (a TensorSet), reshuffled every epoch; `augment(images)`
    transforms the raw images of a batch. Calls after_epoch(epoch, mean training loss, seconds) after every epoch."""
    n = len(dataset)
    batch_size = min(batch_size, n)
    per_epoch = n // batch_size
    epochs = -(-iters // per_epoch)
    done = 0
    for epoch in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(n, device=dataset.device)
        steps = min(per_epoch, iters - done)
        loss_sum = torch.zeros((), device=dataset.device)
        model.train()
        bar = tqdm(range(steps), desc=f"epoch {epoch + 1}/{epochs}", disable=quiet or None, leave=False,
                   dynamic_ncols=True)
        for step in bar:
            index = order[step * batch_size:(step + 1) * batch_size]
            images = dataset.images[index]
            x = preprocess(augment(images) if augment is not None else images, 0)
            y = dataset.labels[index]
            scores = model(x)
            loss = F.cross_entropy(scores, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
            if not bar.disable and step % LOG_EVERY == 0:
                acc = (scores.argmax(1) == y).float().mean()
                loss_value, acc_value = torch.stack([loss.detach(), acc]).tolist()
                bar.set_postfix(loss=f"{loss_value:.3g}", acc=f"{acc_value:.3g}", refresh=False)
        bar.close()
        done += steps
        mean_loss = loss_sum.item() / steps  # waits for the device, so the seconds below are complete
        if after_epoch is not None:
            after_epoch(epoch, mean_loss, time.perf_counter() - start)
    return done
