"""--threads above the CPU cores this process may use: one warning (a run 30x slower otherwise goes unexplained)."""
import os

import torch

from utils import runtime


def test_more_threads_than_cores_warns_once(capsys, monkeypatch):
    monkeypatch.setattr(runtime, "_WARNED_THREADS", set())
    monkeypatch.setattr(runtime, "cores", lambda: 2)
    before = torch.get_num_threads()
    try:
        assert runtime.set_threads(2) == before and torch.get_num_threads() == 2
        assert capsys.readouterr().err == ""  # as many threads as cores: nothing to say
        for _ in range(3):  # e.g. each run of a sweep in one process
            runtime.set_threads(64)
        assert torch.get_num_threads() == 64
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("warning: --threads=64 ") and "2 CPU core(s)" in err[0]
        runtime.set_threads(None)  # no --threads: torch's default, left as it is
        assert torch.get_num_threads() == 64 and capsys.readouterr().err == ""
    finally:
        torch.set_num_threads(before)


def test_cores_is_this_process_share():
    assert 1 <= runtime.cores() <= (os.cpu_count() or 1)
