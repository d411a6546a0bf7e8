"""The layers point down and nothing imports in a circle: a test that walks every import of the project (also those
inside functions) and fails on an upward import or a cycle."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
# top to bottom; a module may import its own package and those below it
LAYERS = ["scripts", "sweep", "cli", "train", "methods", "models", "data", "eval", "utils"]
PACKAGES = set(LAYERS) - {"scripts"}


def layer_of(module):
    top = module.split(".")[0]
    return top if top in PACKAGES else "scripts"


def project_modules():
    """{module name: path} for the project's code (packages, top-level scripts, benchmarks), not its tests."""
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".git", "store") or rel.parts[0].startswith("."):
            continue
        name = ".".join(rel.with_suffix("").parts)
        out[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


def imports_of(path, modules):
    """The project modules that the file at `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from package import module` depends on that module (a package's own __init__ is not an edge)
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                     for a in node.names]
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def graph():
    modules = project_modules()
    return {m: imports_of(p, modules) - {m} for m, p in modules.items()}


def test_layers_point_down():
    upward = [f"{m} imports {d}" for m, deps in graph().items() for d in deps
              if LAYERS.index(layer_of(d)) < LAYERS.index(layer_of(m))]
    assert not upward, "upward imports:\n" + "\n".join(sorted(upward))


def find_cycle(g):
    """One import cycle of the graph `g` as a list of modules, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                cycle = visit(d)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(g):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_can_fail():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert LAYERS.index(layer_of("utils.io")) > LAYERS.index(layer_of("methods.replay"))
    assert layer_of("main") == layer_of("bench.bench_loop") == "scripts"
