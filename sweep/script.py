"""What a sweep script is: a file that declares `SWEEP = <a Sweep>` and runs it from `main(argv)`. Nothing else names
the script: plan_all.py recognises a sweep by its SWEEP (find, load), and the output tail (conclude) is shared."""
import ast
import dataclasses
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Callable

from sweep.execute import report_failures
from sweep.plots import pdf_pages
from sweep.summary import summary_name, write_table

SKIP = ("tests", "store", "__pycache__")  # folders that hold no sweep script


@dataclass(frozen=True)
class Sweep:
    """The declaration of a sweep script: ./<prog>.py; drops: its --no-... options (sweep.catalogue.DROP_HELP);
    add_args(group) adds its own options; task_free: its runs are ./main_task_free.py's."""
    prog: str
    description: str
    drops: tuple = ()
    add_args: Callable = None
    task_free: bool = False

    def run(self, argv=None, **changes):
        """The sweep on a command line (None: sys.argv); changes replace fields first (tests give their own
        methods). Returns the exit code."""
        return (dataclasses.replace(self, **changes) if changes else self).sweep(argv)

    def sweep(self, argv):
        raise NotImplementedError


def conclude(s, prefix, rows, jobs, failed, show, draw):
    """The tail of every sweep: show() prints its summary; the rows become <results-dir>/<name>.csv/.json and
    draw(pdf_pages) the pages of <plot-dir>/<name>.pdf, <name> being <prefix>-<problem>-<seeds>-<runs' hash>."""
    show()
    name = summary_name(prefix + ("-task-free" if s.task_free else ""), s.args, jobs)
    if rows:
        stem = os.path.join(s.args.results_dir, name)
        write_table(rows, stem, jobs)
        pdf = os.path.join(s.args.plot_dir, name + ".pdf")
        with pdf_pages(pdf) as pages:
            draw(pages)
        print(f"=> table: {stem}.csv (.json)\n=> plot: {pdf}")
    return report_failures(failed)


def declares_sweep(path):
    """True if the Python file assigns SWEEP at its top level (read, not run)."""
    try:
        tree = ast.parse(open(path).read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SWEEP" for t in node.targets)
               for node in tree.body)


def find(root):
    """The sweep scripts under root (relative paths, sorted): at the top and in folders that are not packages."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d in SKIP
                                           or os.path.exists(os.path.join(folder, d, "__init__.py")))]
        found += [os.path.relpath(os.path.join(folder, f), root) for f in files
                  if f.endswith(".py") and declares_sweep(os.path.join(folder, f))]
    return sorted(found)


def load(path):
    """The module of the sweep script at `path` (run once per process), or None if it declares no Sweep."""
    path = os.path.abspath(path)
    name = "sweep_script_" + os.path.splitext(os.path.basename(path))[0]
    module = sys.modules.get(name)
    if module is None or getattr(module, "__file__", None) != path:
        if not declares_sweep(path):
            return None
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return module if isinstance(getattr(module, "SWEEP", None), Sweep) else None
