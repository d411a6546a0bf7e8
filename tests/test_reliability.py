"""Reliability promises (issue 14): no result lost or silently wrong, sweeps that mean the same whatever ran them,
diverged runs reported, nothing hangs, Ctrl-C stops, and one line for every bad input."""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

import compare
import main
import sweep
from sweep import Method, stored
from tests.conftest import ROOT, run_script, tiny
from utils.errors import Diverged, run_cli
from utils.nn import LossWatch

DIVERGING = "--optimizer=sgd --lr=1e12"  # plain SGD at an absurd rate: the loss is inf/NaN within a few steps


def small(data_dir, base, *extra):
    """A seconds-long split MNIST task-IL run on 2 contexts."""
    return tiny(data_dir, base, "--scenario=task", "--contexts", "2", "--iters", "10", "--fc-units", "20", *extra)


def one_line(capsys, call, code):
    """Run `call` (a script's run_cli) and check: SystemExit(code), exactly one line on stderr, no traceback."""
    with pytest.raises(SystemExit) as e:
        call()
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert e.value.code == code, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---- results are never lost or overwritten ----------------------------------------------------------------------

@pytest.mark.slow
def test_model_that_cannot_be_saved_still_writes_results_one_line_nonzero(data_dir, tmp_path):
    """A real write failure from the OS: the process may not write files over 64 KiB (EFBIG, as a full disk
    gives ENOSPC); the results JSON is small, the model is not."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
    args = small(data_dir, tmp_path, "--fc-units", "100")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), *args], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, preexec_fn=limit)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert "model was not saved" in lines[0] and "mM-" in lines[0] and "results are in" in lines[0]
    (record,) = (tmp_path / "results").glob("*.json")
    result = json.loads(record.read_text())
    assert result["model_saved"] is False and result["status"] == "finished" and len(result["accuracy_matrix"]) == 2
    assert not list((tmp_path / "models").glob("*"))  # no half-written model, no temporary file


def test_written_json_is_strict():
    from utils import io
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"strict-{os.getpid()}.json")
    try:
        io.write_json(path, {"a": float("nan"), "b": [float("inf"), 1.5], "c": torch.tensor(2.0).item()})
        text = open(path).read()
        assert "NaN" not in text and "Infinity" not in text
        assert json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {"a": None, "b": [None, 1.5], "c": 2.0}
        with open(path, "w") as f:
            f.write('{"a": NaN}')
        with pytest.raises(ValueError):
            io.read_json(path)
    finally:
        os.remove(path)


# ---- diverged runs ------------------------------------------------------------------------------------------------

def test_loss_watch_names_the_first_bad_iteration_without_changing_anything():
    watch = LossWatch(4)
    watch.start(2)
    for i in range(3):
        watch.add(torch.tensor(1.0), i)
    watch.check()  # all finite: nothing
    watch.add(torch.tensor(1.0), 3)
    watch.check()  # iteration 3 only: finite
    for i, v in enumerate([float("nan"), float("inf"), 2.0, 3.0], start=4):
        watch.add(torch.tensor(v), i)
    with pytest.raises(Diverged) as e:
        watch.check()  # iterations 4-7, the buffer full
    assert (e.value.context, e.value.iteration) == (2, 5)  # iteration index 4, counted from 1
    watch.start(3)
    watch.check()  # a new context with no iteration yet: nothing to check


@pytest.mark.slow
def test_nan_loss_stops_the_run_and_is_left_out_of_a_sweep(data_dir, tmp_path, capsys):
    r = run_script("main.py", *small(data_dir, tmp_path / "main", *DIVERGING.split()))
    assert r.returncode == 3
    lines = r.stderr.strip().splitlines()
    assert lines == [lines[0]] and "Traceback" not in r.stderr
    assert lines[0].startswith("error: training diverged at context 1, iteration ") and "smaller --lr" in lines[0]
    (record,) = (tmp_path / "main" / "results").glob("*.json")
    result = json.loads(record.read_text(), parse_constant=lambda c: pytest.fail(c))
    assert result["status"] == "diverged" and result["diverged"]["context"] == 1
    assert "average_accuracy" not in result

    methods = [sweep.method("None"), Method("Diverging", DIVERGING)]
    argv = [*small(data_dir, tmp_path / "sweep"), "--methods", "None,Diverging", "--workers", "1"]
    assert compare.main(argv, methods=methods) == 1
    out = capsys.readouterr().out
    assert "FAILED Diverging (seed 0): training diverged at context 1" in out
    table = out.split("SUMMARY")[1]
    assert "None " in table and "Diverging" not in table
    rows, = [json.loads(p.read_text())["rows"] for p in (tmp_path / "sweep" / "results").glob("summary-*.json")]
    assert [r["method"] for r in rows] == ["None"]
    # again: the stored diverged run is a failed run, not rerun and not a result
    assert compare.main(argv, methods=methods) == 1
    out = capsys.readouterr().out
    assert "2 runs: 2 already done, 0 to run" in out and "FAILED Diverging" in out and "stored result" in out


# ---- a sweep means the same whatever ran it -----------------------------------------------------------------------

@pytest.mark.slow
def test_stored_results_are_reused_only_when_complete_and_made_the_same_way(data_dir, tmp_path, capsys):
    """Many bad stored results, one per seed: each is rerun with a note (never summarised, never a crash); a
    folder in the place of a result fails that run only."""
    argv = [*small(data_dir, tmp_path), "--methods", "None", "--workers", "1", "--n-seeds", "13"]
    assert compare.main(argv) == 0
    capsys.readouterr()
    files = sorted((tmp_path / "results").glob("splitMNIST*.json"), key=lambda p: int(p.stem.rsplit("-s", 1)[1]))
    good = json.loads(files[0].read_text())

    def edited(**change):
        return json.dumps({**good, **change})
    variants = [
        "",                                                   # empty file
        files[1].read_text()[:200],                           # truncated
        "[]",                                                 # not a record
        "{}",                                                 # no field at all
        json.dumps({k: v for k, v in good.items() if k != "average_accuracy"}),
        edited(accuracy_matrix=[[0.5, 0.5]]),                 # 1 x 2 for a 2-context run
        edited(accuracy_matrix=[[0.5, 1.5], [0.5, 0.5]]),     # not accuracies
        files[7].read_text().replace(str(json.loads(files[7].read_text())["average_accuracy"]), "NaN", 1),
        edited(record="test"),                                # a --test record
        edited(threads=good["threads"] + 1),                  # made another way
        edited(status="running"),
        edited(stamp="someone-else-s0"),
    ]
    for path, text in zip(files[1:], variants):
        path.write_text(text)
    os.remove(files[12])
    os.mkdir(files[12])  # a folder where the result should be
    code = compare.main(argv)
    out = capsys.readouterr().out
    assert code == 1
    assert out.count("note: rerunning None") == 12 and "13 runs: 1 already done, 12 to run" in out
    assert out.count(" done None") == 11 and "FAILED None (seed 12)" in out
    for path in files[1:12]:
        assert stored.inspect(str(path), path.stem, {})[0] == "done"
    assert "Traceback" not in out


def test_claim_is_exclusive_released_on_exit_and_stale_claims_are_taken_over(tmp_path):
    result = str(tmp_path / "run-s0.json")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from sweep.stored import Claim; "
                               f"assert Claim({result!r}).acquire(); print('held', flush=True); time.sleep(60)"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        mine = stored.Claim(result)
        assert not mine.acquire()  # held by a live process
        assert mine.holder().split()[0] == str(holder.pid)
        holder.kill()  # dies without releasing: the lock file stays, the kernel lock goes
        holder.wait()
        assert os.path.exists(mine.path)
        assert mine.acquire() and mine.stale.split()[0] == str(holder.pid)
        assert not stored.Claim(result).acquire()
        mine.release()
        assert not os.path.exists(mine.path)
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.slow
def test_two_concurrent_sweeps_on_one_folder_run_each_job_once(data_dir, tmp_path):
    argv = [sys.executable, os.path.join(ROOT, "compare.py"),
            *small(data_dir, tmp_path, "--iters", "100"), "--methods", "None,Joint", "--n-seeds", "2",
            "--workers", "1"]
    procs = [subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    computed = [line for out, _ in outs for line in out.splitlines() if line.startswith(" done ")]
    assert len(computed) == 4 and len(set(computed)) == 4, computed  # every run once, by one of the two
    summaries = list((tmp_path / "results").glob("summary-*.json"))
    assert len(summaries) == 1 and not list((tmp_path / "results").glob("*.lock"))
    tables = [out.split("SUMMARY")[1] for out, _ in outs]
    assert tables[0] == tables[1]


# ---- nothing hangs, Ctrl-C stops ----------------------------------------------------------------------------------

def test_silent_visdom_server_costs_seconds_and_one_warning(capsys):
    from eval.visdom_log import VisdomPlots
    with socket.socket() as server:  # accepts connections (the kernel does) and never answers
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        start = time.time()
        plots = VisdomPlots("http://127.0.0.1", server.getsockname()[1], env="silent")
        for t in range(3):
            plots.losses(t, {"current": 1.0})
            plots.accuracies(t, [0.5, 0.5])
        elapsed = time.time() - start
    assert plots.flush(timeout=10)  # plots are sent in the background: wait for the sender to give up
    err = capsys.readouterr().err
    assert elapsed < 10 and plots.vis is None
    assert err.count("warning: no visdom server") == 1 and "no answer within" in err


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if int(fields[1]) == pid and b"multiprocessing" in cmd and b"resource_tracker" not in cmd:
                out.append(int(entry))
    return out


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def default_sigint():
    """In the child before exec: Ctrl-C's default action. A suite started with SIGINT ignored (`nohup pytest &`, a
    background job of a non-interactive shell) would pass SIG_IGN on, and Python keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _busy_sweep(data_dir, base):
    """A --workers 2 sweep of 4 long runs, started in its own process group; returns it once both workers run."""
    argv = [sys.executable, os.path.join(ROOT, "compare.py"),
            *small(data_dir, base, "--iters", "20000"), "--methods", "None", "--n-seeds", "4", "--workers", "2"]
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True, preexec_fn=default_sigint)
    deadline = time.time() + 120
    while len(list((base / "results").glob("*.lock"))) < 2 or len(_children(p.pid)) < 2:
        assert p.poll() is None and time.time() < deadline, p.stderr.read() if p.poll() is not None else "slow"
        time.sleep(0.1)
    time.sleep(1.0)  # the workers are inside their runs
    return p, _children(p.pid)


@pytest.mark.slow
@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_every_worker_with_a_true_message(data_dir, tmp_path, presses):
    p, workers = _busy_sweep(data_dir, tmp_path)
    for k in range(presses):
        os.killpg(p.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
        time.sleep(0.05)
    out, err = p.communicate(timeout=90)  # seconds normally; a heavily loaded machine is slower
    assert p.returncode == 130, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    if presses == 1:
        assert err.startswith("interrupted: stopped 2 running run(s) (not written) and 2 not started"), err
    else:  # the second press came while stopping ('interrupted again: stopped at once') or after the first line
        assert lines[0].startswith("interrupted"), err
    deadline = time.time() + 10
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    assert not list((tmp_path / "results").glob("splitMNIST*.json"))  # nothing started after, nothing half-written
    assert " done " not in out


@pytest.mark.slow
def test_workers_exit_when_the_sweep_process_dies(data_dir, tmp_path):
    p, workers = _busy_sweep(data_dir, tmp_path)
    p.kill()  # kill -9: no cleanup in the parent at all
    p.communicate()
    deadline = time.time() + 15
    while any(_alive(w) for w in workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)


def test_closed_output_pipe_ends_quietly(data_dir, tmp_path):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written, as `| head` after its lines
    try:
        r = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "--get-stamp"], cwd=ROOT,
                           stdout=write, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write)
    assert r.returncode == 141 and r.stderr == ""


# ---- issue 24: side outputs, stdout, full disks, self-contradicting records, temporary files ----------------------

def _full_disk(monkeypatch, match):
    """Writes (os.write, os.fsync: where a full disk shows) fail with ENOSPC for open files whose path `match`es."""
    import errno

    def failing(real):
        def call(fd, *rest):
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                path = ""
            if match(path):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return real(fd, *rest)
        return call
    monkeypatch.setattr(os, "write", failing(os.write))
    monkeypatch.setattr(os, "fsync", failing(os.fsync))


def _default_signals():
    """Children get the default SIGINT/SIGTERM handlers, however the tests were started (nohup, a background job)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_report_that_cannot_be_written_keeps_the_record(data_dir, tmp_path, capsys, monkeypatch):
    """Defect 1: the pdf fails after training (its disk filled up): one line, exit 1, the record written and
    marked."""
    _full_disk(monkeypatch, lambda path: path.endswith(".pdf"))
    line = one_line(capsys, lambda: run_cli(main.main, small(data_dir, tmp_path, "--pdf")), 1)
    assert line.startswith("error: the report was not written: could not write ") and "results are in" in line
    (record,) = (tmp_path / "results").glob("*.json")
    result = json.loads(record.read_text())
    assert result["report_saved"] is False and result["status"] == "finished" and len(result["accuracy_matrix"]) == 2
    assert "report" in result["seconds"] and not list((tmp_path / "plots").glob("*"))


def test_a_sweep_counts_a_run_whose_model_was_not_saved_on_every_call(data_dir, tmp_path, capsys, monkeypatch):
    """Defect 1: a full --model-dir: the runs are results on the first call (with a note) and on the second."""
    _full_disk(monkeypatch, lambda path: path.endswith(".pt"))
    argv = [*small(data_dir, tmp_path), "--methods", "None", "--workers", "1", "--n-seeds", "2"]
    assert compare.main(argv) == 0
    first = capsys.readouterr().out
    assert first.count("the model was not saved") == 2 and first.count(" done None") == 2 and "FAILED" not in first
    assert compare.main(argv) == 0
    second = capsys.readouterr().out
    assert "2 runs: 2 already done, 0 to run" in second
    assert first.split("SUMMARY")[1] == second.split("SUMMARY")[1]
    for record in (tmp_path / "results").glob("splitMNIST*.json"):
        assert json.loads(record.read_text())["model_saved"] is False


def test_a_full_results_disk_after_training_shows_the_table_and_writes_elsewhere(data_dir, tmp_path, capsys,
                                                                                  monkeypatch):
    results = str(tmp_path / "results")
    _full_disk(monkeypatch, lambda path: path.startswith(results) and path.endswith(".json"))
    with pytest.raises(SystemExit) as e:
        run_cli(main.main, small(data_dir, tmp_path))
    out, err = capsys.readouterr()
    assert e.value.code == 1 and "average accuracy over all 2 contexts" in out and "=> results:" not in out
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: could not write {results}/") and "the results are in " in line
    fallback = line.split("the results are in ")[1].split(" instead")[0]
    assert fallback.startswith(str(tmp_path / "models")) and json.loads(open(fallback).read())["results_saved"] is False
    assert not list((tmp_path / "results").glob("*.json"))


def test_a_results_folder_too_long_for_its_files_is_refused_before_training(data_dir, tmp_path, capsys):
    long = str(tmp_path) + "".join(f"/{k:02d}" + "x" * 197 for k in range(21))[:4050 - len(str(tmp_path))]
    line = one_line(capsys, lambda: run_cli(main.main, [*small(data_dir, tmp_path), "--results-dir", long]), 1)
    assert "--results-dir is too long a path" in line and not (tmp_path / "models").exists()
    line = one_line(capsys, lambda: run_cli(compare.main, [*small(data_dir, tmp_path), "--results-dir", long,
                                                           "--methods", "None", "--workers", "1"]), 1)
    assert "--results-dir is too long a path" in line


def test_a_sweep_on_a_full_results_disk_stops_before_any_run(data_dir, tmp_path, capsys, monkeypatch):
    """Defect 3: one line, no run, no lock file (the up-front check writes bytes)."""
    results = str(tmp_path / "results")
    _full_disk(monkeypatch, lambda path: path.startswith(results))
    line = one_line(capsys, lambda: run_cli(compare.main, [*small(data_dir, tmp_path), "--methods", "None",
                                                           "--workers", "1"]), 1)
    assert line.startswith(f"error: cannot write in --results-dir {results}") and "No space left" in line
    assert not [p for p in (tmp_path / "results").iterdir()]


def test_a_claim_that_cannot_be_written_leaves_no_lock(tmp_path, monkeypatch):
    from utils.errors import OutputError
    _full_disk(monkeypatch, lambda path: path.endswith(".lock"))
    with pytest.raises(OutputError, match="could not write the claim"):
        stored.Claim(str(tmp_path / "run-s0.json")).acquire()
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_closed_or_full_stdout_one_line_records_kept(data_dir, tmp_path):
    """Defect 2: `>&-` and `>/dev/full`, for ./main.py and ./compare.py."""
    def run(script, stdout, *args, close=False):
        def child():
            _default_signals()
            if close:
                os.close(1)
        return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=ROOT, stdout=stdout,
                              stderr=subprocess.PIPE, text=True, timeout=300, preexec_fn=child)
    sweep_args = [*small(data_dir, tmp_path / "sweep"), "--methods", "None", "--workers", "1"]
    with open("/dev/full", "w") as full:
        for r in (run("main.py", subprocess.DEVNULL, "--get-stamp", close=True),
                  run("compare.py", subprocess.DEVNULL, *sweep_args, close=True),
                  run("main.py", full, *small(data_dir, tmp_path / "main")),
                  run("compare.py", full, *sweep_args)):
            assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert r.stderr.startswith("error: ") and "standard output" in r.stderr
    assert len(list((tmp_path / "main" / "results").glob("*.json"))) == 1  # the run's record, kept
    assert not (tmp_path / "sweep" / "results").exists() or not list((tmp_path / "sweep" / "results").iterdir())


def test_stored_records_that_contradict_themselves_are_rerun(data_dir, tmp_path, capsys):
    """Defect 4: an average that is not the matrix's, options that are not the stamp's, conv layers without the
    paper's biases: each rerun with a note."""
    argv = [*small(data_dir, tmp_path), "--methods", "None", "--workers", "1", "--n-seeds", "3"]
    assert compare.main(argv) == 0
    capsys.readouterr()
    files = sorted((tmp_path / "results").glob("splitMNIST*.json"), key=lambda p: int(p.stem.rsplit("-s", 1)[1]))
    good = [json.loads(p.read_text()) for p in files]
    files[1].write_text(json.dumps({**good[1], "average_accuracy": 0.99}))
    files[2].write_text(json.dumps({**good[2], "options": {**good[2]["options"], "lr": 0.5}}))
    assert compare.main(argv) == 0
    out = capsys.readouterr().out
    assert "3 runs: 1 already done, 2 to run" in out
    assert "its average accuracy (0.99) is not what its accuracy matrix gives" in out
    assert "its options are not the ones its name says (they make splitMNIST2-task--F3x20--i10-lr0.5-" in out
    assert "99.00" not in out.split("SUMMARY")[1]
    conv = {**good[0], "options": {**good[0]["options"], "depth": 5}}
    files[0].write_text(json.dumps(conv))
    state, reason = stored.inspect(str(files[0]), files[0].stem, {})
    assert state == "rerun" and "before the conv layers had the paper's biases" in reason
    files[0].write_text(json.dumps({**conv, "conv_bias": True}))
    assert stored.inspect(str(files[0]), files[0].stem, {})[0] == "done"


def test_temporary_files_of_dead_writers_are_removed_live_ones_kept(data_dir, tmp_path, capsys):
    """Defect 5: a writer killed between its temporary file and the move leaves `.tmp-<pid>-<host>-...`; the next
    run in that folder removes it if that writer is gone, never a live writer's."""
    from utils import io
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "results"
    folder.mkdir()
    host = io.temporary_prefix().split("-")[2]
    left = folder / f".tmp-{dead.pid}-{host}-abcd1234run-s0.json"
    live = folder / f".tmp-{os.getppid()}-{host}-abcd1234run-s1.json"
    other_host = folder / f".tmp-{dead.pid}-0badf00d-abcd1234run-s2.json"
    for f in (left, live, other_host):
        f.write_text("{")
    assert io.temporary_prefix().startswith(f".tmp-{os.getpid()}-")
    run_cli(main.main, small(data_dir, tmp_path))
    capsys.readouterr()
    assert not left.exists() and live.exists() and other_host.exists()


def test_divergence_names_the_options_this_run_raised(data_dir, tmp_path, capsys):
    from cli.options import divergence_hint, parse
    line = one_line(capsys, lambda: run_cli(main.main, small(data_dir, tmp_path, "--ewc", "--lambda=1e300")), 3)
    assert line.startswith("error: training diverged at context 2")
    assert "try a smaller --lambda (this run: 1e+300" in line
    assert "--lr" not in line
    gen = ["--replay=generative", "--lr-gen=1e30"]
    assert divergence_hint(parse(gen), gen) == "try a smaller --lr-gen (this run: 1e+30, default 0.001)"
    assert divergence_hint(parse(["--lr=1e-5"]), ["--lr=1e-5"]) == "try a smaller --lr"


@pytest.mark.slow
def test_training_seconds_exclude_logging_and_threads_are_set_and_restored(data_dir, tmp_path, capsys,
                                                                          monkeypatch):
    """The monitor's accuracies at 30 log points take 0.2 s each: "logging", not "train" (which would then count
    them twice: train + logging would exceed the whole run's wall time)."""
    import train.monitor
    from utils import runtime
    real = train.monitor.accuracy

    def slow(*args, **kwargs):
        time.sleep(0.2)
        return real(*args, **kwargs)
    monkeypatch.setattr(train.monitor, "accuracy", slow)
    monkeypatch.setattr(runtime, "cores", lambda: 1)
    before = torch.get_num_threads()
    start = time.perf_counter()
    run_cli(main.main, small(data_dir, tmp_path, "--pdf", "--acc-log=1", "--threads=2"))
    wall = time.perf_counter() - start
    err = capsys.readouterr().err
    assert "warning: --threads=2 is more than the 1 CPU core(s)" in err and torch.get_num_threads() == before
    (record,) = (tmp_path / "results").glob("*.json")
    seconds = json.loads(record.read_text())["seconds"]
    assert seconds["logging"] >= 30 * 0.2 and seconds["train"] + seconds["logging"] < wall
    assert abs(sum(seconds["train_per_phase"]) - seconds["train"]) < 1e-9


@pytest.mark.slow
def test_sigterm_stops_a_sweep_like_ctrl_c_exit_143(data_dir, tmp_path):
    argv = [sys.executable, os.path.join(ROOT, "compare.py"), *small(data_dir, tmp_path, "--iters", "20000"),
            "--methods", "None", "--n-seeds", "2", "--workers", "1"]
    p = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_default_signals)
    deadline = time.time() + 120
    while not list((tmp_path / "results").glob("*.lock")):
        assert p.poll() is None and time.time() < deadline, p.stderr.read() if p.poll() is not None else "slow"
        time.sleep(0.1)
    time.sleep(1.0)
    p.terminate()
    out, err = p.communicate(timeout=90)
    assert p.returncode == 143, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("terminated: stopped the running run"), err
    assert not list((tmp_path / "results").glob("*.lock")) and not list((tmp_path / "results").glob("*.json"))


SCRIPTS = ["main.py", "main_task_free.py", "main_pretrain.py", "plan_all.py", "compare.py", "compare_replay.py",
           "compare_hyperParams.py", "compare_task_free.py", "compare_hyperParams_task_free.py",
           "ICLRblogpost/compare_FI.py", "NeurIPStutorial/compare_for_tutorial.py",
           "StabilityGap/stability_gap_example.py", "report.py"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_guards_its_start_before_its_slow_imports(script):
    """starting() runs before any import of the project or torch (which take seconds to load)."""
    import ast
    tree = ast.parse(open(os.path.join(ROOT, script)).read())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    guard = next(i for i, n in enumerate(body) if isinstance(n, ast.If) and "starting()" in ast.unparse(n))
    before = [n for n in body[:guard] if isinstance(n, (ast.Import, ast.ImportFrom))]
    names = [a.name for n in before if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in before if isinstance(n, ast.ImportFrom)]
    assert names and all(name in sys.stdlib_module_names or name == "utils.errors" for name in names), names


@pytest.mark.parametrize("signum,code,word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_while_starting_is_one_line(signum, code, word):
    program = ("from utils.errors import starting\nstarting()\nimport os, time\n"
               f"os.kill(os.getpid(), {int(signum)})\ntime.sleep(30)\n")
    r = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert r.returncode == code and r.stderr == f"{word} while starting: nothing was run\n", r.stderr


def test_starting_leaves_an_ignored_sigint_ignored_and_run_cli_restores_ctrl_c():
    from utils import errors
    before = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        errors.starting()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a background job's
        signal.signal(signal.SIGINT, signal.default_int_handler)
        errors.starting()
        assert signal.getsignal(signal.SIGINT) is errors._stop_while_starting
        assert run_cli(lambda argv: signal.getsignal(signal.SIGINT) is signal.default_int_handler) is True
    finally:
        signal.signal(signal.SIGINT, before)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
