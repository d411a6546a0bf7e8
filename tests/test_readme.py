"""README's worked example ("Adding a method") works when pasted in as written, and --print-defaults tells where
each value comes from."""
import pathlib
import re

import main
import methods
from cli.options import describe_defaults, parse
from cli.stamp import param_stamp
from tests.conftest import tiny
from utils.errors import run_cli

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def readme_example():
    text = README.read_text()
    section = text[text.index("## Adding a method"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_adding_a_method_example_runs_as_written(monkeypatch, data_dir, tmp_path, capsys):
    namespace = {}
    exec(compile(readme_example(), "README.md", "exec"), namespace)
    L2 = namespace["L2"]
    monkeypatch.setattr(methods, "COMPONENTS", [*methods.COMPONENTS, L2])  # "add L2 to COMPONENTS"
    args = parse(["--l2=0.01"])
    assert "L2-0.01" in param_stamp(args)
    argv = tiny(data_dir, tmp_path, "--l2=0.01", "--contexts=2", "--iters=5", "--no-save")
    assert run_cli(main.main, argv) == 0
    assert any("L2-0.01" in p.name for p in (tmp_path / "results").glob("*.json"))
    seen = []
    original = L2.losses
    monkeypatch.setattr(L2, "losses", lambda self, *a: seen.append(1) or original(self, *a))
    assert run_cli(main.main, argv) == 0 and seen  # its hook was called in the loop


def test_print_defaults_names_each_values_source():
    text = describe_defaults(["--ewc", "--scenario=task", "--iters=100"])
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "100000.0" in lines["--lambda"] and "paper default (splitMNIST, task)" in lines["--lambda"]
    assert lines["--iters"].endswith("command line") and "100" in lines["--iters"]
    assert lines["--weight-penalty"].endswith("set by a method flag")
    assert lines["--lr"].split()[1] == "0.001"
    assert "--tau" not in lines  # FROMP is not part of this run
    assert "--tau" in describe_defaults(["--fromp"])
