"""Each method's flags mean something only in its own file: a component reads its own flags, the shared options of
cli.options, and the other components' flags it lists in `reads` (each declared by exactly one component).
`expand` is exempt: a convenience flag sets (and checks) the flags it stands for."""
import ast
import inspect
import textwrap

import methods
from cli.options import Parser, build_parser
from methods.component import Component


def declared(component):
    """The dests of the flags the component's own add_*args functions declare."""
    parser = Parser("x", add_help=False)
    for name, value in vars(component).items():
        if name.startswith("add_") and name.endswith("args") and isinstance(value, staticmethod):
            value.__func__(parser)
    return {a.dest for a in parser._actions}


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


def test_no_component_reads_another_components_flag_unless_it_declares_it_in_reads():
    all_dests = {a.dest for a in build_parser(task_free=True)._actions}
    component_dests = set().union(*(declared(c) for c in methods.COMPONENTS))
    shared = (all_dests - component_dests) | {"task_free"}
    for c in methods.COMPONENTS:
        classes = [k for k in c.__mro__ if k not in (Component, object)]
        own = set().union(*(declared(k) for k in classes))
        reads = set().union(*(option_reads(k) for k in classes))
        foreign = reads - own - shared - set(c.reads)
        assert not foreign, f"{c.__name__} reads {sorted(foreign)} without declaring them in `reads`"
        assert set(c.reads) <= component_dests, f"{c.__name__}: {set(c.reads) - component_dests} are no flags"


def test_the_stream_methods_are_the_components_that_support_the_stream():
    listed = methods.stream_methods()
    for c in methods.COMPONENTS:
        if c.stream_label:
            assert (c.stream_label in listed) == c.supports_stream
    assert listed.startswith("None (no method flag)") and "--si" in listed and "--ewc" not in listed
