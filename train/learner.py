"""What the loop and every component share during one run: model, scenario, data preprocessing, components."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Batch:
    x: torch.Tensor        # network input (preprocessed)
    y: torch.Tensor        # global labels
    context: object        # int (all samples of one context) or LongTensor (per sample)


class Learner:
    def __init__(self, model, scenario, experiment, args, device):
        self.model, self.scenario, self.experiment, self.args = model, scenario, experiment, args
        self.device = device
        self.components = []
        self.context = 0  # the context being (or last) trained: units of contexts 0..context are "seen"

    def batch(self, dataset, index):
        context = dataset.batch_context(index)
        return Batch(self.experiment.preprocess(dataset.images[index], context), dataset.labels[index], context)

    def cross_entropy(self, scores, batch):
        active, targets = self.scenario.select(scores, batch.y, batch.context, self.context)
        return F.cross_entropy(active, targets)

    def criterion(self, scores, batch):
        for component in reversed(self.components):
            if component.criterion is not None:
                return component.criterion(scores, batch)
        return self.cross_entropy(scores, batch)

    def predict(self, x, context):
        for component in reversed(self.components):
            if component.predict is not None:
                return component.predict(x, context)
        return self.model(x, context)
