"""The parameter stamp: a name for a run made from every option that changes its result."""
from data.benchmarks import of
from methods import enabled_components, shared_values
from methods.component import num


def option(args, dest):
    """A shared option's value in this run: a method may decide it (the Generative Classifier's network and lr)."""
    return shared_values(args).get(dest, getattr(args, dest))


def problem_stamp(args):
    b = of(args)
    s = f"{args.experiment}{args.contexts}{b.stamp(args)}-{args.scenario}"
    if args.singlehead:
        s += "-sh"
    if args.scenario == "class" and args.active_classes != "all":
        s += f"-{args.active_classes}"
    return s + ("" if args.normalize or b.normalisation is None else "-noNorm")


def model_stamp(args):
    parts = []
    if args.depth > 0:
        conv = f"C{args.conv_type[0].upper()}{args.depth}x{args.channels}r{args.reducing_layers}"
        conv += ("b" + str(args.n_blocks) if args.conv_type == "resNet" else "")
        conv += ("-bn" if args.conv_bn == "yes" else "") + ("-lr" if args.conv_nl == "leakyrelu" else "")
        conv += ("-gp" if args.global_pooling else "")
        parts.append(conv)
    fc = f"F{option(args, 'fc_layers')}x{option(args, 'fc_units')}"
    fc += (f"-d{num(args.fc_drop)}" if args.fc_drop > 0 else "") + ("-bn" if args.fc_bn == "yes" else "")
    fc += ("" if args.fc_nl == "relu" else f"-{args.fc_nl}")
    parts.append(fc)
    return "-".join(parts)


def conv_init_stamp(args):
    """As the paper's: -pCvE[-<ltag>[-ps]] for pre-trained, -fCvE for frozen conv layers (only with conv layers)."""
    if args.depth == 0:
        return ""
    s = ""
    if args.pre_convE:
        s += "-pCvE" + ("" if args.convE_ltag == "none" else f"-{args.convE_ltag}" + ("-ps" if args.seed_to_ltag else ""))
    return s + ("-fCvE" if args.freeze_convE else "")


def train_stamp(args):
    s = f"i{args.iters}-lr{num(option(args, 'lr'))}-b{args.batch}{conv_init_stamp(args)}-{args.optimizer}"
    return s + (f"-m{num(args.momentum)}" if args.optimizer == "sgd" and args.momentum > 0 else "")


def stream_stamp(args):
    """Task-free: the stream (kind, fuzziness, a context per batch) and the interval of the consolidation events."""
    s = {"fuzzy-boundaries": f"fuzzy{args.fuzziness}", "academic-setting": "academic", "random": "random"}[args.stream]
    s += "-lpb" if args.labels_per_batch and args.stream != "academic-setting" else ""
    return s + f"-ue{args.update_every}"


def eval_stamp(args):
    """Continual evaluation (--eval-contexts): what is evaluated when, so that a record with its curve is never
    taken for one without (the training itself, and so the accuracy matrix, is the same)."""
    if args.eval_contexts is None:
        return ""
    which = "all" if args.eval_contexts == "all" else ".".join(map(str, args.eval_contexts))
    return f"ce{which}-e{args.acc_log}-n{args.acc_n}"


def param_stamp(args):
    methods = [c.stamp(args) for c in enabled_components(args)]
    parts = [problem_stamp(args)] + ([stream_stamp(args)] if args.task_free else [])
    parts += [model_stamp(args), train_stamp(args)] + [m for m in methods if m]
    parts += [eval_stamp(args)] if args.eval_contexts is not None else []
    return "--".join(parts) + f"-s{args.seed}"
