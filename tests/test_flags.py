"""Each method's flags mean something only in its own file: a component reads its own flags, the general options of
cli.options, and the common options (methods/common.py) it lists in `common_options`; never another component's
flag. `expand` is exempt: a convenience flag sets (and checks) the flags it stands for."""
import ast
import inspect
import textwrap
from collections import Counter

import methods
from cli.options import Parser, build_parser
from methods.component import CommonOptions, Component


def declared(component):
    """The dests of the flags (and of the flagless options, set_defaults) the component's own add_*args declare."""
    parser = Parser("x", add_help=False)
    for name, value in vars(component).items():
        if name.startswith("add_") and name.endswith("args") and isinstance(value, (staticmethod, classmethod)):
            getattr(component, name)(parser)
    return {a.dest for a in parser._actions} | set(parser._defaults)


def option_reads(cls):
    """Names read as args.<name>, self.args.<name> or getattr(args, "<name>") in the class body, outside expand."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    found = set()

    def visit(node):
        if isinstance(node, ast.FunctionDef) and node.name == "expand":
            return
        if isinstance(node, ast.Attribute):
            base = node.value
            if (isinstance(base, ast.Name) and base.id == "args") or (isinstance(base, ast.Attribute)
                                                                      and base.attr == "args"):
                found.add(node.attr)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == "args"
                and isinstance(node.args[1], ast.Constant)):
            found.add(node.args[1].value)
        for child in ast.iter_child_nodes(node):
            visit(child)
    visit(tree)
    return found


def own_classes(c):
    return [k for k in c.__mro__ if k not in (Component, CommonOptions, object)]


def kinds(components):
    """(the components proper, the dests of the common options, the dests of the general options)."""
    proper = [c for c in components if not issubclass(c, CommonOptions)]
    common = set().union(*(declared(c) for c in components if issubclass(c, CommonOptions)))
    owned = set().union(*(declared(c) for c in proper))
    general = {a.dest for a in build_parser(task_free=True)._actions} - owned - common
    return proper, common, general | {"task_free"}


def foreign_reads(c, common, general):
    """The options `c` reads that are neither its own, general, nor common options it lists in common_options."""
    own = set().union(*(declared(k) for k in own_classes(c)))
    reads = set().union(*(option_reads(k) for k in own_classes(c)))
    return reads - own - general - (set(c.common_options) & common)


def test_no_component_reads_another_components_flag():
    proper, common, general = kinds(methods.COMPONENTS)
    for c in proper:
        foreign = foreign_reads(c, common, general)
        assert not foreign, (f"{c.__name__} reads {sorted(foreign)}: another component's flags (ask it through what "
                             "it declares, or move the flag), or common options missing from its common_options")
        assert set(c.common_options) <= common, f"{c.__name__}: {set(c.common_options) - common} are not common"


def test_the_check_catches_a_component_reading_another_components_flag():
    class Peeking(Component):
        @staticmethod
        def stamp(args):
            return f"{args.ewc_lambda}-{args.budget}"  # EWC's own flag; a common option it does not list

    _, common, general = kinds(methods.COMPONENTS + [Peeking])
    assert foreign_reads(Peeking, common, general) == {"ewc_lambda", "budget"}
    Peeking.common_options = ("budget",)
    assert foreign_reads(Peeking, common, general) == {"ewc_lambda"}


def test_each_option_is_declared_once_and_a_common_option_is_used_by_several_components():
    counts = Counter(d for c in methods.COMPONENTS for d in declared(c))
    assert not [d for d, n in counts.items() if n > 1]
    proper, common, _ = kinds(methods.COMPONENTS)
    users = Counter(d for c in proper for d in c.common_options)
    assert {d for d in common if users[d] < 2} == set(), "a common option only one component uses is its own flag"
    parsing = {"title", "listed_whole", "add_args", "expand", "set_defaults", "validate"}
    for c in methods.COMPONENTS:
        if issubclass(c, CommonOptions):  # a declaration: parsing only, never on (no hooks, no stamp)
            assert {k for k in vars(c) if not k.startswith("__")} <= parsing, c.__name__


def test_the_stream_methods_are_the_components_that_support_the_stream():
    listed = methods.stream_methods()
    for c in methods.COMPONENTS:
        if c.stream_label:
            assert (c.stream_label in listed) == c.supports_stream
    assert listed.startswith("None (no method flag)") and "--si" in listed and "--ewc" not in listed


def test_a_provider_reads_none_of_its_users_flags():
    """The memory buffers are switched on by what ER and iCaRL need (Component.needs), not by reading their flags."""
    args = build_parser().parse_args(["--replay", "buffer", "--prototypes"])
    users = [c for c in methods.COMPONENTS if "memory" in c.needs(args)]
    assert {c.__name__ for c in users} == {"ER", "ICaRL"}
    flags = set().union(*(declared(c) for c in users + [methods.ReplayOptions]))
    for buffer in (methods.MemoryBuffer, methods.ReservoirBuffer):
        read = set().union(*(option_reads(k) for k in own_classes(buffer))) | set(buffer.common_options)
        assert not read & flags, f"{buffer.__name__} reads {sorted(read & flags)}"
