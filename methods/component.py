"""The interface between the shared training loop and a continual-learning method.

A method is one or more Components. A Component declares its own flags and is switched on by them; the loop then
calls its hooks at fixed points. Every hook is optional: the defaults here do nothing. The loop never knows a
method by name, so `--ewc --replay=buffer --xdg` is three components in one loop.

Next to its flags a component declares which scenarios it supports (`scenarios`) and which other components it
cannot be combined with (`excludes`); the hooks that only one component may define (CLAIMED) are claimed by
defining them. cli.options checks all of this once, before any data is loaded (check_combinations), so a run never
has two components silently competing for one hook.

Order of calls in train.loop.train, for each (context c, dataset) of the plan (plan(train_sets), default: one entry
per context); "each" means each enabled component in the order of methods.COMPONENTS:
    dataset = training_set(c, dataset)          # each in turn, e.g. cumulative data, adding the memory buffer
    before_context(c, dataset)
    for each of context_iters(c, iters) iterations, batches of context_batch(c, batch) samples from
    batch_sampler(dataset, batch, c) (default: random):
        replayed = [replay_batch(batch, c) of each component, if not None]   # samples to replay with this batch
        scores = model(batch.x, batch.context)  # one pass with the replayed batches that ask for it (Batch.shared)
                                                # (skipped, scores None, when a component has needs_scores False)
        losses = {"current": criterion(scores, batch, c)} | losses(batch, scores, replayed, c)   # extra terms
        total = current_weight(c) * losses["current"] + sum(other losses)    # (products and sums in that order)
        backward; before_step(c) of each; optimizer.step()
        for each component: after_step(c); losses |= after_iteration(c, it, losses, batch, replayed)
                                                # (interleaved: component k's after_step runs after component
                                                #  k-1's after_iteration, e.g. the generator's own step)
    after_context(c, dataset)                   # e.g. Fisher, memory buffer, copy of the model
`replayed` is a list of Replayed(source, batch, scores): every component sees every replayed batch with the scores
the shared pass gave it (None when not scored there). At test time `predict(x, context)` gives the scores.

Task-free (./main_task_free.py, `args.task_free`): the plan is one entry, the stream (data.stream.StreamData), with
context None at every hook: no context is known. Every --update-every iterations the loop fires the consolidation
event, which a component sees as after_context then before_context, just as at a boundary of the academic setting.
Batches carry a per-sample context only in task-IL. Components that work there say so with `supports_stream`, and
where they support only some of their options, with `streams(args)`; `stream_label` names them in the usage message
(methods.stream_methods).

A component reads only its own flags, the general options of cli.options, and the options several methods have in
common (methods/common.py: the replay source, the memory budget, the parameter regularisation's switches), which it
lists in `common_options`; never another component's flag (tests/test_flags.py). For another component's behaviour
it asks through what that component declares: `provides` (Learner.provider), a declared attribute (e.g.
`binary_loss` of the criterion's owner), a function of its file (e.g. methods.ewc.fisher_options), or `expand` (a
convenience flag sets the flags it stands for). A component that needs another's service declares it in `needs`
(iCaRL and ER need "memory"): the run then enables the provider for its mode (the memory buffer, or task-free the
reservoir), which so never reads its users' flags. A general option whose value a component decides (the Generative
Classifier's learning rate, network and log intervals) is declared in `shared_values`, never overwritten in args.
"""
from collections import namedtuple

SCENARIOS = ("task", "domain", "class")
CLAIMED = ("plan", "build_model", "batch_sampler", "criterion", "predict")  # at most one component defines each

Replayed = namedtuple("Replayed", "source batch scores")  # source: the Component that produced the batch
LOG_INTERVALS = ("loss_log", "acc_log", "sample_log")  # shared options (cli.options): train.monitor's intervals


def num(x):
    """A number as the parameter stamp writes it (as the paper's code: '%g')."""
    return f"{x:g}"


def option_group(parser, title):
    """The argument group `title` of `parser`, made at its first use: e.g. a group of common options
    (methods/common.py) to which a component adds its own flags, as the paper's --help shows them (the buffer's
    --add-buffer)."""
    for group in parser._action_groups:
        if group.title == title:
            return group
    return parser.add_argument_group(title)


def unpublished_note(args, table, flags, fallback):
    """{flag: note} for the `flags` a component fills from a per-benchmark `table` of the paper's values when this
    run's benchmark is not in it: the value is the component's stated `fallback`, and --print-defaults says so."""
    if args.experiment in table:
        return {}
    return dict.fromkeys(flags, f"no published value ({args.experiment}): {fallback}")


class Component:
    # ---- declared on the class: flags, defaults, validation, parameter stamp (used before any data is loaded) ----
    scenarios = SCENARIOS   # the scenarios this component supports
    scenario_note = ""      # why, shown after "--flag can only be used with --scenario=..."
    excludes = {}           # names of components it cannot be combined with -> reason ("" for none)
    provides = ()           # what it offers other components through Learner.provider(name), e.g. "memory"
    replaces = ()           # names of components it takes the place of when both would be enabled (BI-R: DGR)
    common_options = ()     # the common options (dests, methods/common.py) it reads: --print-defaults lists them
    supports_academic = True  # whether it runs in the academic setting (contexts with known boundaries)
    supports_stream = False  # whether it runs in a task-free stream (context None, consolidation every N iterations)
    stream_label = ""       # how ./main_task_free.py's usage message names it among the stream methods ("": not)
    record_marks = {}       # {field: value} every record of a run with it carries: which of its architectures made
                            # it; a sweep reruns a stored record without them (made before that architecture)

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
        """Whether its own flags switch it on (a provider is also switched on by what enabled components need)."""
        return False

    @staticmethod
    def needs(args):
        """What it asks other components for through Learner.provider with these options, e.g. ("memory",): the
        run enables a provider of each for its mode (methods.enabled_components), which so needs no switch of its
        own reading its users' flags."""
        return ()

    @staticmethod
    def shared_values(args):
        """{dest: value} of general options (cli.options) whose value this component decides while it is enabled,
        e.g. the Generative Classifier's learning rate and network size. It does not overwrite them in `args`,
        which keeps (and the record shows) the value given or the benchmark's; the loop, the stamp and
        --print-defaults ask methods.shared_values. None: not decided (yet: --print-defaults asks after each step)."""
        return {}

    @staticmethod
    def describe(args):
        """The flag(s) that switch this component on, as a usage message names them."""
        return ""

    @classmethod
    def streams(cls, args):
        """Whether it runs in a task-free stream with these options (a component supporting only part of the mode
        refuses the rest here, e.g. parameter regularisation: SI only)."""
        return cls.supports_stream

    @classmethod
    def claims(cls, args):
        """The CLAIMED hooks this component defines (with these options)."""
        return {hook for hook in CLAIMED if getattr(cls, hook) is not None}

    @staticmethod
    def validate(args):
        """Raise utils.errors.UsageError for an impossible value of this component's own flags (called whether it
        is enabled or not, since its flags may be given without it; after check_combinations)."""

    @staticmethod
    def validate_enabled(args):
        """As validate, for values impossible only while it is enabled (called only then, right after validate;
        for a provider switched on by what others need, e.g. the memory buffer's --sample-selection)."""

    @staticmethod
    def unpublished(args):
        """{flag destination: note} for the defaults this component gave from a fallback, not from the paper's
        value for this benchmark (methods.component.unpublished_note), shown by --print-defaults."""
        return {}

    @staticmethod
    def settings(args):
        """One line for --print-defaults on what this run's options mean for this component, where the list of
        options alone would not say ("": nothing to add; the Generative Classifier: which of the paper's settings)."""
        return ""

    @staticmethod
    def stamp(args):
        """Short text naming this component and its hyper-parameters in the run's parameter stamp."""
        return ""

    plan = None         # optional staticmethod (train_sets) -> [(context, TensorSet)]: the phases to train
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

    def context_batch(self, context, batch):
        """The mini-batch size on this context (`batch`: --batch unless an earlier component changed it). E.g.
        cumulative training with --grow-batch: --batch samples per context so far."""
        return batch

    batch_sampler = None  # optional method (dataset, batch_size, context) -> endless iterator of index tensors
    #                       (default: data.tensorset.BatchSampler, random batches)
    needs_scores = True   # False: the criterion computes its loss from the batch alone, so the loop skips the
    #                       model's forward pass and passes scores=None to the criterion and every losses hook

    def before_context(self, context, dataset):
        pass

    def replay_batch(self, batch, context):
        """A Batch to replay in this iteration, or None. With `shared` set, the loop scores it in the current batch's
        forward pass (one pass over both is cheaper than two: train.learner.Learner.forward)."""
        return None

    def current_weight(self, context):
        """Weight of the loss on the current data (replay weighs it against the replayed loss)."""
        return 1.0

    def losses(self, batch, scores, replayed, context):
        """Extra named loss terms (already weighted) for this batch; `replayed`: this iteration's Replayed batches."""
        return {}

    def before_step(self, context):
        """Gradients of the total loss are in p.grad; a component may change them (A-GEM's projection, FROMP's
        clipping, preconditioning), in COMPONENTS order."""

    def after_step(self, context):
        pass

    def after_iteration(self, context, iteration, losses, batch, replayed):
        """After the optimizer step. May return named values (detached) to log with the losses."""
        return None

    def after_context(self, context, dataset):
        pass

    predict = None    # optional method (x, context) -> scores over all output units
    criterion = None  # optional method (scores, batch, context) -> loss on the current batch, replacing cross-entropy

    def state_dict(self):
        """What must be saved with the model for `--test` to predict as after training."""
        return {}

    def load_state_dict(self, state):
        pass


class CommonOptions(Component):
    """Declares options several components have in common (methods/common.py), in its argument group `title`: their
    parsing, defaults and checks. Never enabled, no hooks; in methods.COMPONENTS at the place of its group in --help.
    listed_whole: --print-defaults lists the whole group while an enabled component uses any of its options."""
    title = ""
    listed_whole = False
