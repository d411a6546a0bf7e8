"""The interface between the shared training loop and a continual-learning method.

A method is one or more Components. A Component declares its own flags and is switched on by them; the loop then
calls its hooks at fixed points. Every hook is optional: the defaults here do nothing. The loop never knows a
method by name, so `--ewc --replay=buffer --xdg` is three components in one loop.

Order of calls in `train.loop.train`, for each context c:
    dataset = training_set(c, dataset)          # e.g. cumulative data, adding the memory buffer
    before_context(c, dataset)
    for each of context_iters(c, iters) iterations, batches from batch_sampler(dataset, batch) (default: random):
        extra = replay_batch(batch)                 # samples to pass through the model with the batch, or None
        scores = model(batch.x, batch.context)      # (one pass over both where that is the same; extra.scores)
                                                    # (skipped, scores None, when a component has needs_scores False)
        losses = {"current": criterion(scores, batch)} | losses(batch, scores)   # extra loss terms
        total = current_weight(c) * losses["current"] + sum(other losses)
        backward; before_step(); optimizer.step(); after_step(); after_iteration(c, it, losses)
    after_context(c, dataset)                   # e.g. Fisher, memory buffer, copy of the model
At test time `predict(x, context)` gives the scores (the last component defining it wins; default: the model).
"""


class Component:
    name = "component"

    # ---- declared on the class: flags, defaults, validation, parameter stamp (used before any data is loaded) ----
    @staticmethod
    def add_args(parser):
        """Add this component's own flags (in its own argument group)."""

    @staticmethod
    def expand(args):
        """Turn convenience flags (e.g. --ewc) into the component flags they stand for."""

    @staticmethod
    def set_defaults(args):
        """Fill flags left at None with the paper's value for this experiment and scenario."""

    @staticmethod
    def enabled(args):
        return False

    @staticmethod
    def validate(args):
        """Raise utils.errors.UsageError for an impossible combination."""

    @staticmethod
    def stamp(args):
        """Short text naming this component and its hyper-parameters in the run's parameter stamp."""
        return ""

    pixel_input = False  # True: needs the images themselves, so --freeze-convE cannot use features computed once
    build_model = None  # optional staticmethod (args, experiment, scenario) -> model replacing the classifier

    # ---- per run ----
    def __init__(self, args, learner):
        self.args, self.learner = args, learner

    def training_set(self, context, dataset):
        return dataset

    def context_iters(self, context, iters):
        """How many iterations to train on this context (`iters`: the number so far, --iters unless an earlier
        component changed it). E.g. the Generative Classifier: --iters / classes per context, one VAE per class."""
        return iters

    batch_sampler = None  # optional method (dataset, batch_size) -> endless iterator of index tensors into dataset
    #                       (default: data.tensorset.BatchSampler, random batches; the last component defining it wins)
    needs_scores = True   # False: the criterion computes its loss from the batch alone, so the loop skips the
    #                       model's forward pass and passes scores=None to the criterion and every losses hook

    def before_context(self, context, dataset):
        pass

    def replay_batch(self, batch):
        """A Batch to run through the model together with the current one; the loop sets its `.scores` before
        calling losses(). One forward pass over both is cheaper than two (train.learner.Learner.forward)."""
        return None

    def current_weight(self, context):
        """Weight of the loss on the current data (replay weighs it against the replayed loss)."""
        return 1.0

    def losses(self, batch, scores):
        """Extra named loss terms (already weighted) for this batch."""
        return {}

    def before_step(self):
        """Gradients are in p.grad; a component may change them (gradient projection)."""

    def after_step(self):
        pass

    def after_iteration(self, context, iteration, losses):
        pass

    def after_context(self, context, dataset):
        pass

    predict = None    # optional method (x, context) -> scores over all output units
    criterion = None  # optional method (scores, batch) -> loss on the current batch, replacing cross-entropy

    def state_dict(self):
        """What must be saved with the model for `--test` to predict as after training."""
        return {}

    def load_state_dict(self, state):
        pass
