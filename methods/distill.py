"""Loss functions shared by replay, LwF, iCaRL and (later) generative replay.

Knowledge distillation (Hinton et al. 2015; as used in LwF, Li & Hoiem 2017): the targets are the temperature-scaled
outputs of a frozen copy of the model. When the current model has more active units than the model that made the
targets (new classes in class-IL with --active-classes all-so-far), the targets get zero probability on the extra
units, as in the paper's code. Losses are summed over units and averaged over the batch; no T^2 factor.
"""
import torch
import torch.nn.functional as F


def pad_targets(targets, width):
    """Append zero columns to `targets` [batch, k] to make it [batch, width] (targets for units the old model lacks)."""
    extra = width - targets.shape[1]
    return targets if extra <= 0 else F.pad(targets, (0, extra))


def kd_loss(scores, target_scores, temp=2.0):
    """Softmax distillation: cross-entropy between softmax(target/T) (zero-padded) and softmax(scores/T)."""
    log_p = F.log_softmax(scores / temp, dim=1)
    targets = pad_targets(F.softmax(target_scores / temp, dim=1), scores.shape[1])
    return -(targets * log_p).sum(1).mean()


def kd_loss_binary(scores, target_scores, temp=2.0):
    """Binary distillation: per-unit binary cross-entropy between sigmoid(target/T) (zero-padded) and
    sigmoid(scores/T), summed over units."""
    targets = pad_targets(torch.sigmoid(target_scores / temp), scores.shape[1])
    return F.binary_cross_entropy_with_logits(scores / temp, targets, reduction="none").sum(1).mean()


def bce_loss(scores, targets, old_targets=None):
    """Binary cross-entropy of the active `scores` against one-hot `targets` (indices), summed over units and
    averaged over the batch. `old_targets` [batch, k] replaces the targets of the first k units (iCaRL's
    distillation of the old classes)."""
    onehot = F.one_hot(targets, scores.shape[1]).to(scores.dtype)
    if old_targets is not None and old_targets.shape[1] > 0:
        onehot = torch.cat([old_targets.to(scores.dtype), onehot[:, old_targets.shape[1]:]], dim=1)
    return F.binary_cross_entropy_with_logits(scores, onehot, reduction="none").sum(1).mean()
