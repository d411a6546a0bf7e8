"""The three scenarios: which output units are active for a sample, and what its target is.

Labels are stored globally (context c owns labels c*cpc ... (c+1)*cpc-1). A scenario maps them:
- task:   one head per context (the context's units of a shared output layer); target = label within context.
          With --singlehead there is one head of cpc units shared by all contexts.
- domain: one head of cpc units; target = label within context.
- class:  one output unit per class; which units are active in training is --active-classes (all,
          all-so-far, current); at test time all units are active, or those seen so far.
"""


class Scenario:
    def __init__(self, name, n_contexts, classes_per_context, singlehead=False, active_classes="all"):
        self.name, self.n_contexts, self.cpc = name, n_contexts, classes_per_context
        self.singlehead, self.active_classes = singlehead, active_classes
        self.multihead = name == "task" and not singlehead

    @property
    def per_context(self):
        """Whether a sample trains on its own context's output units only (task-IL heads; class-IL with
        --active-classes current); unlabelled replay then goes through each past context's units in turn."""
        return self.multihead or (self.name == "class" and self.active_classes == "current")

    def is_last(self, context):
        """Whether `context` is the last one: what is computed after a context for later ones is skipped there."""
        return context >= self.n_contexts - 1

    @property
    def n_outputs(self):
        return self.cpc if (self.name == "domain" or (self.name == "task" and self.singlehead)) \
            else self.cpc * self.n_contexts

    def _head(self, scores, y, context):
        cpc = self.cpc
        if isinstance(context, int):
            return scores[:, context * cpc:(context + 1) * cpc], y - context * cpc
        heads = scores.view(scores.shape[0], -1, cpc)
        index = context.view(-1, 1, 1).expand(-1, 1, cpc)
        return heads.gather(1, index).squeeze(1), y - context * cpc

    def select(self, scores, y, context, upto, train=True):
        """Restrict `scores` to the active units for samples of `context` (int or per-sample tensor) after the
        model has seen contexts 0..upto; returns (active scores, targets among them)."""
        if self.multihead:
            return self._head(scores, y, context)
        if self.name in ("task", "domain"):
            return scores, y % self.cpc
        if self.active_classes == "all":
            return scores, y
        if train and self.active_classes == "current":
            return self._head(scores, y, context)
        return scores[:, :(upto + 1) * self.cpc], y

    def active_units(self, context, upto, train=True):
        """The active output units (a slice) for one context, e.g. for distillation targets or the Fisher."""
        cpc = self.cpc
        if self.per_context if train else self.multihead:
            return slice(context * cpc, (context + 1) * cpc)
        if self.name != "class" or self.active_classes == "all":
            return slice(0, self.n_outputs)
        return slice(0, (upto + 1) * cpc)
