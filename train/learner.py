"""What the loop and every component share during one run: model, scenario, data preprocessing, components."""
import torch
import torch.nn.functional as F
from torch import nn

from data.tensorset import Batch


class Learner:
    def __init__(self, model, scenario, experiment, args, device):
        self.model, self.scenario, self.experiment, self.args = model, scenario, experiment, args
        self.device = device
        self.components = []
        self.context = 0  # the context being (or last) trained: units of contexts 0..context are "seen"

    def batch(self, dataset, index):
        context = dataset.batch_context(index)
        return Batch(self.experiment.preprocess(dataset.images[index], context), dataset.labels[index], context)

    def forward(self, batches):
        """The model's scores for each of `batches`: one forward pass over all of them when that computes the same
        function (a 256-sample pass costs less than two of 128), else one pass each. Batch-norm in training mode
        would mix the batches' statistics, which the paper's separate passes do not."""
        if len(batches) == 1 or any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
                                    for m in self.model.modules()):
            return [self.model(b.x, b.context) for b in batches]
        contexts = [b.context for b in batches]
        if all(isinstance(c, int) for c in contexts) and len(set(contexts)) == 1:
            context = contexts[0]
        else:
            context = torch.cat([torch.full((b.x.shape[0],), b.context, dtype=torch.long, device=b.x.device)
                                 if isinstance(b.context, int) else b.context for b in batches])
        scores = self.model(torch.cat([b.x for b in batches]), context)
        return list(scores.split([b.x.shape[0] for b in batches]))

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
