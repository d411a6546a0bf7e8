"""Command-line options: shared groups as in the paper's code, plus each component's own group.

Parsing is one step: parse, expand convenience flags, fill the paper's defaults, validate, all before any data is
loaded, so a bad command fails in a fraction of a second with one line.
"""
import argparse
import importlib.util
import math
import sys
from contextlib import contextmanager

import methods
from data.benchmarks import BENCHMARKS, of
from data.stream import STREAMS, check_stream
from utils import argtypes as t
from methods.component import CommonOptions
from utils.errors import Diverged, UsageError


class Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def add_general(parser, store="./store", pretrain=False):
    g = parser.add_argument_group("General")
    if not pretrain:
        g.add_argument("--get-stamp", action="store_true", help="print the parameter stamp and exit")
        g.add_argument("--print-defaults", action="store_true",
                       help="print every hyper-parameter this run would use and where its value comes from, and exit")
    g.add_argument("--seed", type=t.seed, default=0, help="random seed (for every random module; 0 to 2^32-1)")
    g.add_argument("--threads", type=t.count, metavar="N",
                   help="torch threads on the CPU (default: torch's, one per core). Recorded in the results; the "
                        "same number gives bit-identical results, another number differs by float rounding")
    g.add_argument("--no-gpus", action="store_false", dest="cuda", help="don't use GPUs")
    g.add_argument("--no-save", action="store_false", dest="save", help="don't save the trained model")
    if pretrain:
        g.add_argument("--full-stag", metavar="STAG", default="none", help="tag for saving the full model")
        g.add_argument("--convE-stag", dest="convE_stag", metavar="STAG", default="none",
                       help="tag for saving the conv layers (the paper's: e100)")
        g.add_argument("--seed-to-stag", action="store_true", help="add the seed to the tag for saving the conv layers")
    else:
        g.add_argument("--test", action="store_false", dest="train", help="evaluate a previously saved model")
    g.add_argument("--data-dir", dest="data_dir", help="data folder (default: $CL_DATA_DIR, else ./store/datasets)")
    g.add_argument("--model-dir", dest="model_dir", default=f"{store}/models", help="default: %(default)s")
    if not pretrain:
        g.add_argument("--plot-dir", dest="plot_dir", default=f"{store}/plots", help="default: %(default)s")
        g.add_argument("--results-dir", dest="results_dir", default=f"{store}/results", help="default: %(default)s")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


def add_problem(parser):
    g = parser.add_argument_group("Problem Specification")
    g.add_argument("--experiment", default="splitMNIST", choices=list(BENCHMARKS))
    g.add_argument("--scenario", default="class", choices=["task", "domain", "class"])
    g.add_argument("--contexts", type=t.count, metavar="N", help="number of contexts")
    g.add_argument("--iters", type=t.count, help="# iterations (mini-batches) per context")
    g.add_argument("--batch", type=t.count, help="mini-batch size (# samples per iteration)")
    g.add_argument("--no-norm", action="store_false", dest="normalize", help="don't normalise images (CIFAR)")
    for b in BENCHMARKS.values():  # a benchmark's own options (rotated MNIST's --rotations)
        b.add_args(g)


def add_model(parser, pretrain=False):
    g = parser.add_argument_group("Parameters Main Model")
    g.add_argument("--reducedResNet", action="store_true", dest="reducedResNet",
                   help="the paper's 'reduced ResNet-18' preset (Hess et al. 2023): ResNet conv layers, 5 of them "
                        "(3 reducing) with 20 channels, global pooling, one fc layer; given options still win")
    g.add_argument("--conv-type", default="standard", choices=["standard", "resNet"])
    g.add_argument("--n-blocks", type=t.count, default=2, help="# blocks per conv-layer (only for 'resNet')")
    g.add_argument("--depth", type=t.integer(0), help="# conv-layers (0 = only fc-layers; default 5 for CIFAR)")
    g.add_argument("--reducing-layers", type=t.integer(0), dest="reducing_layers",
                   help="# conv-layers with stride 2 (image halved, channels doubled; default depth-1)")
    g.add_argument("--channels", type=t.count, help="# channels of the 1st conv-layer (default 16)")
    g.add_argument("--conv-bn", default="yes", choices=["yes", "no"], help="batch-norm in the conv-layers")
    g.add_argument("--conv-nl", default="relu", choices=["relu", "leakyrelu"])
    g.add_argument("--global-pooling", action="store_true", help="average global pooling after the conv-layers")
    g.add_argument("--fc-layers", type=t.count, dest="fc_layers", help="# fc-layers (incl. output layer; default 3)")
    g.add_argument("--fc-units", type=t.count, metavar="N", help="# units in the hidden fc-layers")
    g.add_argument("--fc-drop", type=t.probability, default=0.0, help="dropout probability for the fc-layers")
    g.add_argument("--fc-bn", default="no", choices=["yes", "no"], help="batch-norm in the fc-layers")
    g.add_argument("--fc-nl", default="relu", choices=["relu", "leakyrelu", "none"])
    if not pretrain:
        g.add_argument("--z-dim", type=t.count, default=100, dest="z_dim",
                       help="size of latent representation (if used, def=100)")
        g.add_argument("--singlehead", action="store_true",
                       help="for task-IL: a 'single-headed' output layer instead of a 'multi-headed' one")


def add_conv_init(g):
    """Pre-trained conv layers (models/pretrained.py), in the paper's 'Training Parameters' group."""
    g.add_argument("--pre-convE", dest="pre_convE", action="store_true",
                   help="use pre-trained conv layers (made by ./main_pretrain.py)")
    g.add_argument("--convE-ltag", dest="convE_ltag", metavar="LTAG", default="e100",
                   help="tag of the pre-trained conv layers to load (default: %(default)s)")
    g.add_argument("--seed-to-ltag", action="store_true", help="add the seed to that tag (one pre-training per seed)")
    g.add_argument("--freeze-convE", dest="freeze_convE", action="store_true",
                   help="freeze the conv layers (no gradient; batch-norm kept in eval mode)")


def add_training(parser):
    g = parser.add_argument_group("Training Parameters")
    g.add_argument("--lr", type=t.positive, help="learning rate (a finite positive number)")
    g.add_argument("--optimizer", default="adam", choices=["adam", "adam_reset", "sgd"])
    g.add_argument("--momentum", type=t.non_negative, default=0.0, help="momentum (SGD)")
    g.add_argument("--active-classes", default="all", choices=["all", "all-so-far", "current"],
                   dest="active_classes", help="for class-IL: which output units are active in training")
    add_conv_init(g)


def add_evaluation(parser):
    g = parser.add_argument_group("Evaluation Parameters")
    g.add_argument("--time", action="store_true", help="report total training time")
    g.add_argument("--pdf", action="store_true", help="write a pdf report of the run in --plot-dir")
    g.add_argument("--visdom", action="store_true", help="live plots in a running visdom server")
    g.add_argument("--visdom-server", dest="visdom_server", default="http://localhost", help="default: %(default)s")
    g.add_argument("--visdom-port", dest="visdom_port", type=t.port, default=8097, help="default: %(default)s")
    g.add_argument("--loss-log", dest="loss_log", type=t.count, metavar="N",
                   help="# iters after which to plot loss (default: # iters)")
    g.add_argument("--acc-log", "--eval-every", dest="acc_log", type=t.count, metavar="N",
                   help="# iters after which to plot accuracy (default: # iters)")
    g.add_argument("--acc-n", "--eval-n", type=t.count, default=1024,
                   help="# test samples for accuracies logged during training")
    g.add_argument("--eval-contexts", dest="eval_contexts", type=context_list, metavar="LIST",
                   help="continual evaluation: test these contexts (e.g. 1 or 1,2; 'all') every --eval-every "
                        "iterations on the first --eval-n test samples; the curve and each switch's stability "
                        "gap go into the results")
    g.add_argument("--sample-log", dest="sample_log", type=t.count, metavar="N",
                   help="# iters after which to plot samples of a generative model (default: # iters)")
    g.add_argument("--sample-n", dest="sample_n", type=t.count, default=64, help="# images to show")


def context_list(text):
    """--eval-contexts: 'all', or comma-separated context numbers from 1 (checked against --contexts later)."""
    if text == "all":
        return "all"
    try:
        numbers = sorted({int(n) for n in text.split(",")})
    except ValueError:
        numbers = []
    if not numbers or numbers[0] < 1:
        raise argparse.ArgumentTypeError(f"invalid list of contexts: '{text}' (e.g. 1 or 1,2 or all)")
    return numbers


def add_stream(parser):
    g = parser.add_argument_group("Stream Options (task-free)")
    g.add_argument("--stream", choices=STREAMS, help="how the contexts follow each other (default: fuzzy-boundaries)")
    g.add_argument("--fuzziness", type=int, default=500, metavar="ITERS",
                   help="fuzzy-boundaries: a transition lasts 2 x ITERS iterations (default: %(default)s)")
    g.add_argument("--labels-per-batch", action="store_true", dest="labels_per_batch",
                   help="one context per mini-batch instead of one per sample")
    g.add_argument("--update-every", type=int, default=100, metavar="N", dest="update_every",
                   help="iterations between consolidation events (SI, LwF, replay; default: %(default)s)")


TASK_FREE = "Task-free continual learning: one experiment on a stream without known context boundaries."


def build_parser(prog="main", description="Continual learning: one experiment in the academic setting.",
                 task_free=False):
    if task_free and description.startswith("Continual learning: one experiment in the academic"):
        description = TASK_FREE
    parser = Parser(f"./{prog}.py", description=description, allow_abbrev=False)  # --si must not mean --singlehead
    for add in (add_general, add_problem, add_model, add_training, add_evaluation):
        add(parser)
    if task_free:
        add_stream(parser)
    for component in methods.COMPONENTS:
        component.add_args(parser)
    return parser


def set_defaults(args):
    b = of(args)
    args.normalize = args.normalize and b.normalisation is not None
    b.set_defaults(args)
    args.contexts = b.contexts if args.contexts is None else args.contexts
    set_conv_defaults(args, b.depth)
    for flag, value in b.protocol.items():
        if getattr(args, flag) is None:
            setattr(args, flag, value)
    for flag in ("loss_log", "acc_log", "sample_log"):  # log once per context unless told otherwise, as the paper
        if getattr(args, flag) is None:
            setattr(args, flag, args.iters)


# --reducedResNet: the paper's 'reduced ResNet-18' preset (its set_default_values). It forces the first two; the
# counts it only fills in, so a given --depth, --reducing-layers, --channels or --fc-layers still wins.
REDUCED_RESNET = {"conv_type": "resNet", "global_pooling": True, "depth": 5, "reducing_layers": 3, "channels": 20,
                  "fc_layers": 1}


def set_conv_defaults(args, depth):
    """--depth (default `depth`), --reducing-layers (default depth - 1), --channels (16), --fc-layers (3), or
    with --reducedResNet the values of REDUCED_RESNET."""
    if args.reducedResNet:
        args.conv_type, args.global_pooling = "resNet", True
        for flag, value in REDUCED_RESNET.items():
            setattr(args, flag, value if getattr(args, flag) is None else getattr(args, flag))
    args.depth = depth if args.depth is None else args.depth
    args.reducing_layers = max(args.depth - 1, 0) if args.reducing_layers is None else args.reducing_layers
    args.channels = 16 if args.channels is None else args.channels
    args.fc_layers = 3 if args.fc_layers is None else args.fc_layers


def validate_training(args, at_least_one):
    """The checks main.py and main_pretrain.py share: counts of at least 1 (unset ones skipped), a positive
    learning rate, a dropout probability, and the conv layers."""
    for flag in at_least_one:
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1")
    if args.lr <= 0:
        raise UsageError("--lr must be positive")
    if not 0 <= args.fc_drop < 1:
        raise UsageError("--fc-drop must be in [0, 1)")
    validate_conv(args)


def validate_conv(args):
    if args.depth < 0 or not 0 <= args.reducing_layers <= args.depth:
        raise UsageError("--reducing-layers must be between 0 and --depth (and --depth at least 0)")


def own_options(b):
    """The option destinations a benchmark declares for itself."""
    probe = Parser("x", add_help=False)
    b.add_args(probe)
    return [a.dest for a in probe._actions]


def validate(args):
    b = of(args)
    for other in BENCHMARKS.values():
        given = [d for d in own_options(other) if other.name != b.name and getattr(args, d, None) is not None]
        if given:
            raise UsageError(f"--{given[0].replace('_', '-')} only applies to --experiment={other.name}")
    if args.contexts < 1:
        raise UsageError("--contexts must be at least 1")
    if b.split and args.contexts > b.classes:
        raise UsageError(f"--contexts={args.contexts}: {args.experiment} has only {b.classes} classes "
                         f"(at most {b.classes} contexts)")
    b.validate(args)
    validate_training(args, ("iters", "batch", "fc_layers", "fc_units", "z_dim", "channels", "n_blocks", "loss_log",
                             "acc_log", "acc_n", "sample_log", "sample_n"))
    if isinstance(args.eval_contexts, list) and args.eval_contexts[-1] > args.contexts:
        raise UsageError(f"--eval-contexts: there are only {args.contexts} contexts")
    if args.singlehead and args.scenario != "task":
        raise UsageError("--singlehead only applies to --scenario=task")
    if args.active_classes != "all" and args.scenario != "class":
        raise UsageError("--active-classes only applies to --scenario=class")
    if not 0 < args.visdom_port < 65536:
        raise UsageError("--visdom-port must be between 1 and 65535")
    if args.visdom and importlib.util.find_spec("visdom") is None:
        raise UsageError("--visdom needs the visdom package (see README: Set-up)")


def check_finite(parser, args):
    """Every float option (also the methods' own, e.g. --lambda) must be a finite number: NaN or inf would train
    on nonsense or never stop."""
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.type is float and isinstance(value, float) and not math.isfinite(value):
            parser.error(f"argument {'/'.join(action.option_strings)}: invalid finite number value: '{value}'")


def validate_stream(args, components):
    """What a task-free run needs: a possible stream, and only methods that work without context boundaries."""
    for c in components:
        if not c.streams(args):
            raise UsageError(f"{methods.describe(c, args, components)} is not supported in task-free experiments, "
                             f"which support: {methods.stream_methods()}")
    for flag, bad in (("--active-classes", args.active_classes != "all"),
                      ("--optimizer=adam_reset", args.optimizer == "adam_reset")):
        if bad:
            raise UsageError(f"{flag} needs context boundaries, which a task-free stream does not have")
    args.stream = args.stream or "fuzzy-boundaries"
    check_stream(args.stream, args.iters, args.contexts, args.fuzziness)
    if args.update_every < 1:
        raise UsageError("--update-every must be at least 1")


def check_combinations(args, components):
    """The one place that decides which enabled components go together: each one's scenarios, the exclusions
    either declares, and the CLAIMED hooks, which at most one component may define."""
    def name(c):
        return methods.describe(c, args, components)
    for c in components:
        if args.scenario not in c.scenarios:
            raise UsageError(f"{name(c)} can only be used with --scenario={'/'.join(c.scenarios)}"
                             f"{c.scenario_note}")
    claimed = {}
    for i, a in enumerate(components):
        for b in components[i + 1:]:
            for first, second in ((a, b), (b, a)):
                if second.__name__ in first.excludes:
                    reason = first.excludes[second.__name__]
                    raise UsageError(f"{name(first)} cannot be combined with {name(second)}"
                                     + (f" ({reason})" if reason else ""))
        for hook in sorted(a.claims(args)):
            if hook in claimed:
                raise UsageError(f"{name(claimed[hook])} and {name(a)} cannot be combined: both "
                                 f"replace the {hook.replace('_', ' ')} (hook '{hook}')")
            claimed[hook] = a


def parse(argv=None, prog="main", components=None, steps=None, task_free=False):
    """Parse, expand convenience flags, fill the paper's defaults, check (components: methods.COMPONENTS as it is at
    the call); `steps` (a dict) receives copies of the options after each of the first three steps (for
    --print-defaults). task_free: ./main_task_free.py's options (the stream's besides)."""
    components = methods.COMPONENTS if components is None else components
    parser = build_parser(prog, task_free=task_free)
    args = parser.parse_args(argv)
    args.task_free = task_free  # the mode: ./main_task_free.py's stream, or the academic setting's contexts
    check_finite(parser, args)
    if steps is not None:
        steps["parsed"] = dict(vars(args))
    for component in components:
        component.expand(args)
    if steps is not None:
        steps["expanded"] = dict(vars(args))
    set_defaults(args)
    for component in components:
        component.set_defaults(args)
    validate(args)
    enabled = methods.enabled_components(args, components)
    if task_free:
        validate_stream(args, enabled)
    check_combinations(args, enabled)
    for component in components:
        component.validate(args)
        if component in enabled:
            component.validate_enabled(args)
    return args


def raised_options(args, argv, prog="main", task_free=False, components=None):
    """[(flag, value, default)] of the float options given in `argv` (probabilities aside) whose value is above
    their default for this run (the parser's, else the one the paper's defaults fill in): the step sizes and loss
    weights that may have made a run diverge. Found through the parser's actions: no method's flag by name."""
    components = methods.COMPONENTS if components is None else components
    parser = build_parser(prog, task_free=task_free)
    quiet = build_parser(prog, task_free=task_free)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
    try:
        given = vars(quiet.parse_known_args(argv)[0])
    except SystemExit:
        return []
    found = []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.dest not in given or not isinstance(value, float) or action.type is t.probability:
            continue
        default = action.default
        if default is None:  # filled by the paper's defaults: what they give without this option
            plain = argparse.Namespace(**{**vars(args), action.dest: None})
            try:
                set_defaults(plain)
                for component in components:
                    component.set_defaults(plain)
            except Exception:  # a default that needs this option: none to compare with
                continue
            default = getattr(plain, action.dest)
        if isinstance(default, (int, float)) and value > default:
            found.append((action.option_strings[0], value, default))
    return found


def divergence_hint(args, argv, prog="main", task_free=False):
    """What a diverged run's line suggests: smaller values of the options this run raised, else a smaller --lr."""
    raised = raised_options(args, argv, prog, task_free)
    if not raised:
        return "try a smaller --lr"
    named = [f"{flag} (this run: {value:g}, default {default:g})" for flag, value, default in raised]
    return f"try a smaller {named[0]}" if len(named) == 1 else f"try smaller values of {', '.join(named)}"


@contextmanager
def hinting_divergence(args, argv, prog="main", task_free=False):
    """Inside the block, a Diverged error's hint names the options this run raised (divergence_hint)."""
    try:
        yield
    except Diverged as e:
        e.hint = divergence_hint(args, sys.argv[1:] if argv is None else argv, prog, task_free)
        raise


def argv_of(options, prog="main", task_free=False):
    """Keyword options (the Python entry point) as the command line would give them. A key is an option's name with
    '_' for '-' (si=True, fc_units=400, no_save=True) or its destination (ewc_lambda=1e9, save=False); a flag is
    given when its value is the one the flag sets (si=True, save=False), left out when it is the other boolean."""
    names = {}
    for action in build_parser(prog, task_free=task_free)._actions:
        if action.dest != "help":
            names.setdefault(action.dest, (action, False))
            for flag in action.option_strings:
                names[flag.lstrip("-").replace("-", "_")] = (action, True)
    argv = []
    for key, value in options.items():
        if key not in names:
            raise UsageError(f"unknown option {key}= (keywords are the options of ./{prog}.py with '_' for '-')")
        action, by_flag = names[key]
        flag = action.option_strings[0]
        if action.nargs == 0:  # a switch: store_true, store_false
            if not isinstance(value, bool):
                raise UsageError(f"{key}= takes True or False ({flag} is a switch)")
            if value == (True if by_flag else action.const):
                argv.append(flag)
        else:
            argv.append(f"{flag}={value}")
    return argv


NOT_HYPER = {"get_stamp", "print_defaults", "train", "data_dir", "model_dir", "plot_dir", "results_dir", "quiet",
             "time", "pdf", "visdom", "visdom_server", "visdom_port", "cuda", "save"}


def describe_defaults(argv, prog="main", components=None, task_free=False):
    """Every hyper-parameter of the run `argv` describes, with where its value comes from: the command line, a
    convenience flag (e.g. --ewc), the paper's default for this experiment and scenario, or the option's default.
    Lists the shared options and those of the enabled components. Returns the text."""
    components = methods.COMPONENTS if components is None else components
    steps = {}
    args = parse(argv, prog, components, steps, task_free)
    parser = build_parser(prog, task_free=task_free)
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    given = set(vars(parser.parse_args(argv)))
    enabled = methods.enabled_components(args, components)
    # the values the run uses: a method may decide a shared option (Component.shared_values), at the step of parsing
    # where it is known (the Generative Classifier's --lr when it expands, its network once defaults are filled)
    steps = {step: {**values, **methods.shared_values(argparse.Namespace(**values), enabled)}
             for step, values in steps.items()}
    decided = methods.shared_values(args, enabled)
    used = {**vars(args), **decided}
    groups = []
    probe = build_parser(prog, task_free=task_free)
    for group in probe._action_groups[2:]:  # after argparse's own 'positional' and 'options' groups
        groups.append((group.title, [(a.dest, a.option_strings[0]) for a in group._group_actions
                                     if a.dest not in NOT_HYPER]))
    shared_titles = {"General", "Problem Specification", "Parameters Main Model", "Training Parameters",
                     "Evaluation Parameters", "Stream Options (task-free)"}
    b = of(args)
    foreign = {d for other in BENCHMARKS.values() if other.name != b.name for d in own_options(other)}
    # defaults that the paper does not give for this benchmark: where they come from instead
    label = "paper default" if b.published else "no published value"  # what fills a default on this benchmark
    notes = {}
    shown = set()

    def declared(c):
        sub = Parser("x", add_help=False)
        c.add_args(sub)
        return {a.dest for a in sub._actions}
    # a group of common options listed whole while an enabled component uses one of them (methods/common.py)
    whole = [(declared(c), dict(groups)[c.title]) for c in components
             if issubclass(c, CommonOptions) and c.listed_whole]
    for c in enabled:  # the flags a component declares, and the common options it uses (Component.common_options)
        shown |= declared(c) | set(c.common_options)
        shown |= {d for options, group in whole if options & set(c.common_options) for d, _ in group}
        notes.update(c.unpublished(args))  # a method's fallback for a benchmark the paper never ran
    names = [methods.describe(c, args, enabled) for c in enabled]  # (a provider is named as its user)
    lines = [f"Options of this run ({args.experiment}, {args.scenario}-incremental; "
             f"methods: {', '.join(dict.fromkeys(names)) or 'None (fine-tuning)'}):"]
    for title, dests in groups:
        dests = [(d, flag) for d, flag in dests if (title in shared_titles or d in shown) and d not in foreign]
        if not dests:
            continue
        lines.append(title)
        for d, flag in dests:
            value = used[d]
            if d in given:
                source = "command line"
            elif d in notes:
                source = notes[d]
            elif steps["expanded"][d] != steps["parsed"][d] or d in decided:
                source = "set by a method flag"
            elif args.reducedResNet and d in REDUCED_RESNET:
                source = "set by --reducedResNet"
            elif steps["expanded"][d] != value:  # (filled in: from None, or a flag's default)
                source = f"{b.origin.get(d, label)} ({args.experiment}, {args.scenario})"
            else:
                source = "default"
            lines.append(f"  {flag:26s} {str(value):14s} {source}")
    lines += [line for line in (c.settings(args) for c in enabled) if line]
    return "\n".join(lines)

