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

    def provider(self, name):
        """The component that `provides` `name` (e.g. "memory": the buffer; "generative": replayed samples of a
        generator), or None: how components find each other's data without importing each other's classes."""
        return next((c for c in self.components if name in c.provides), None)

    def owner(self, hook):
        """The component that defines the CLAIMED `hook` (cli.options.check_combinations made it unique), or None."""
        return next((c for c in self.components if hook in type(c).claims(self.args)), None)

    def batch(self, dataset, index):
        """The Batch at `index` of `dataset`; its context is what the learner may know (None in a task-free stream
        outside task-IL), while the input is made with the samples' own contexts (data.stream.StreamData)."""
        x = self.experiment.preprocess(dataset.images[index], dataset.input_context(index))
        return Batch(x, dataset.labels[index], dataset.batch_context(index), index=index)

    def forward(self, batches):
        """The model's scores for each of `batches`: one forward pass over all of them when that computes the same
        function (a 256-sample pass costs less than two of 128), else one pass each. Batch-norm in training mode
        would mix the batches' statistics, which the paper's separate passes do not."""
        if len(batches) == 1 or any(isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training
                                    for m in self.model.modules()):
            return [self.model(b.x, b.context) for b in batches]
        contexts = [b.context for b in batches]
        if all(isinstance(c, int) or c is None for c in contexts) and len(set(contexts)) == 1:
            context = contexts[0]  # one context for all, or none known (a task-free stream)
        else:
            context = torch.cat([torch.full((b.x.shape[0],), b.context, dtype=torch.long, device=b.x.device)
                                 if isinstance(b.context, int) else b.context for b in batches])
        scores = self.model(torch.cat([b.x for b in batches]), context)
        return list(scores.split([b.x.shape[0] for b in batches]))

    def cross_entropy(self, scores, batch):
        active, targets = self.scenario.select(scores, batch.y, batch.context, self.context)
        return F.cross_entropy(active, targets)

    def criterion(self, scores, batch, context):
        owner = self.owner("criterion")
        return owner.criterion(scores, batch, context) if owner else self.cross_entropy(scores, batch)

    def predict(self, x, context):
        owner = self.owner("predict")
        return owner.predict(x, context) if owner else self.model(x, context)

    def plan(self, train_sets):
        """The phases to train: (context, TensorSet) per context, unless a component plans otherwise (--joint)."""
        owner = self.owner("plan")
        return owner.plan(train_sets) if owner else list(enumerate(train_sets))

    def batch_sampler(self, dataset, batch_size, context):
        """Batches to train on: the dataset's own (random without replacement; a task-free stream's in order),
        unless a component samples otherwise."""
        owner = self.owner("batch_sampler")
        return owner.batch_sampler(dataset, batch_size, context) if owner else dataset.sampler(batch_size)
