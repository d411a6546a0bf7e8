"""The Python entry point: README's example runs as written, keywords mean what the command line's options mean,
and a wrong keyword is refused with one line."""
import pathlib
import re

import pytest

import main
import main_task_free
from cli.options import argv_of, parse
from tests.conftest import tiny
from utils.errors import UsageError

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def readme_example():
    text = README.read_text()
    section = text[text.index("### From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_runs_as_written(monkeypatch, data_dir, tmp_path, capsys):
    monkeypatch.setenv("CL_DATA_DIR", data_dir)
    monkeypatch.chdir(tmp_path)  # the example writes under ./store
    exec(compile(readme_example(), "README.md", "exec"), {})
    stamp, average = capsys.readouterr().out.splitlines()[0].split()
    assert stamp.startswith("splitMNIST5-class--") and "-SI" in stamp and stamp.endswith("-s0")
    assert (tmp_path / "store" / "results" / f"{stamp}.json").exists()
    assert not (tmp_path / "store" / "models").exists()  # no_save=True
    assert 0 < float(average) <= 100


def test_keywords_are_the_command_lines_options():
    assert argv_of({"si": True, "fc_units": 400, "no_save": True, "save": False, "lwf": False}) == \
        ["--si", "--fc-units=400", "--no-save", "--no-save"]
    assert argv_of({"ewc_lambda": 1e9, "c": 5, "test": True}) == ["--lambda=1000000000.0", "--c=5", "--test"]
    assert argv_of({"update_every": 5}, prog="main_task_free", task_free=True) == ["--update-every=5"]


@pytest.mark.parametrize("options, line", [
    ({"sii": True}, "unknown option sii="),
    ({"si": "yes"}, "si= takes True or False"),
    ({"update_every": 5}, "unknown option update_every="),  # a task-free option, given to main.run
])
def test_a_wrong_keyword_is_one_line(options, line):
    with pytest.raises(UsageError, match=line):
        main.run(**options)


def test_the_record_is_the_results_json_and_equals_the_command_line_run(data_dir, tmp_path):
    argv = tiny(data_dir, tmp_path, "--contexts=2", "--iters=5", "--no-save", "--lwf", "--scenario=task")
    by_keywords = main.run(data_dir=data_dir, results_dir=str(tmp_path / "results"), iters=5, batch=32, fc_units=50,
                           quiet=True, cuda=False, contexts=2, save=False, lwf=True, scenario="task",
                           model_dir=str(tmp_path / "models"), plot_dir=str(tmp_path / "plots"))
    by_argv = main.run(parse(argv))
    assert by_keywords["stamp"] == by_argv["stamp"]
    assert by_keywords["accuracy_matrix"] == by_argv["accuracy_matrix"]


def test_task_free_keywords(data_dir, tmp_path):
    record = main_task_free.run(data_dir=data_dir, results_dir=str(tmp_path), iters=6, batch=16, fc_units=20,
                                fuzziness=2, update_every=3, replay="buffer", no_save=True, quiet=True)
    assert "-ue3--" in record["stamp"] and record["stream"]["update_every"] == 3
    assert len(record["accuracy_matrix"]) == 1
