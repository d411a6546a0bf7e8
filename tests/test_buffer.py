import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from data.tensorset import TensorSet
from methods.buffer import SELECTIONS, MemoryBuffer, herding_order, samples_per_class
from tests.conftest import run_script, tiny
from utils.errors import UsageError
from cli.options import parse


def brute_force_herding(feats, n):
    """Rebuffi et al.'s herding, written directly: at step k try every unchosen sample."""
    feats = feats.double().numpy()
    mu = feats.mean(0)
    mu = mu / np.linalg.norm(mu)
    chosen = []
    for _ in range(n):
        best, best_d = None, None
        for i in range(len(feats)):
            if i in chosen:
                continue
            d = np.linalg.norm(feats[chosen + [i]].mean(0) - mu)
            if best_d is None or d < best_d:
                best, best_d = i, d
        chosen.append(best)
    return chosen


def test_herding_matches_brute_force_greedy_selection():
    torch.manual_seed(0)
    feats = F.normalize(torch.randn(40, 6, dtype=torch.float64) + torch.tensor([1.0, 0, 0, 0, 0, 0]), dim=1)
    order = herding_order(feats, 12).tolist()
    assert order == brute_force_herding(feats, 12)
    assert len(set(order)) == 12
    # the chosen mean is closer to the class mean than the mean of a random set of the same size
    mu = F.normalize(feats.mean(0), dim=0)
    herd = (feats[order].mean(0) - mu).norm()
    rand = np.mean([(feats[torch.randperm(40)[:12]].mean(0) - mu).norm().item() for _ in range(50)])
    assert herd < rand


def test_herding_never_repeats_and_stops_at_class_size():
    feats = F.normalize(torch.randn(5, 3), dim=1)
    order = herding_order(feats, 10)
    assert sorted(order.tolist()) == [0, 1, 2, 3, 4]


def test_budget_rules():
    assert [samples_per_class(100, 5, c, False) for c in range(5)] == [100] * 5
    assert [samples_per_class(100, 5, c, True) for c in range(5)] == [500, 250, 166, 125, 100]
    assert samples_per_class(10, 10, 2, True) == 33


def _context_set(context, per_class=300, cpc=2):
    labels = torch.arange(context * cpc, (context + 1) * cpc).repeat_interleave(per_class)
    images = torch.randint(0, 256, (len(labels), 1, 4, 4), dtype=torch.uint8)
    images[:, 0, 0, 0] = torch.arange(len(labels)) % 256  # make samples distinguishable
    return TensorSet.of_context(images, labels, context)


def _buffer(full_capacity, budget=100, contexts=5):
    args = SimpleNamespace(task_free=False, budget=budget, contexts=contexts, use_full_capacity=full_capacity,
                           sample_selection="random", add_buffer=True)
    return MemoryBuffer(args, learner=None)


def test_buffer_budget_per_class_and_total():
    torch.manual_seed(0)
    buffer = _buffer(False)
    for c in range(5):
        data = _context_set(c)
        buffer.update(c, data)
        assert sorted(buffer.sets) == list(range(2 * (c + 1)))
        assert all(len(s) == 100 for s in buffer.sets.values())
        # stored samples are samples of their own class, without repeats
        for label in (2 * c, 2 * c + 1):
            s = buffer.sets[label]
            assert (s.labels == label).all() and (s.contexts == c).all()
            assert len({tuple(img.flatten().tolist()) for img in s.images}) == 100
    assert len(buffer) == 1000


def test_full_capacity_fills_the_total_budget_and_cuts_sets_to_their_first_samples():
    torch.manual_seed(0)
    buffer = _buffer(True)
    before = None
    for c in range(5):
        buffer.update(c, _context_set(c, per_class=600))
        m = 100 * 5 // (c + 1)
        assert all(len(s) == m for s in buffer.sets.values())
        assert len(buffer) <= 100 * 10
        if before is not None:  # an old set is the first m samples of what it was
            assert torch.equal(buffer.sets[0].images, before[:m])
        before = buffer.sets[0].images.clone()
    assert len(buffer) == 1000


def test_add_buffer_extends_the_training_set():
    buffer = _buffer(False, budget=10)
    first = _context_set(0)
    assert buffer.training_set(0, first) is first
    buffer.update(0, first)
    second = _context_set(1)
    extended = buffer.training_set(1, second)
    assert len(extended) == len(second) + 20 and extended.context is None
    assert (extended.contexts[-20:] == 0).all()


@pytest.mark.slow
def test_replay_buffer_runs_end_to_end(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--replay=buffer", "--budget", "20", "--use-full-capacity",
                                    "--sample-selection", "herding", "--add-buffer"))
    assert r.returncode == 0, r.stderr
    result = json.loads(next((tmp_path / "results").glob("*.json")).read_text())
    assert "b20fc-herding-add" in result["stamp"]
    assert result["average_accuracy"] > 0.3  # class-IL with replay on the learnable synthetic data


def test_bad_budget_is_a_usage_error(data_dir, tmp_path):
    r = run_script("main.py", *tiny(data_dir, tmp_path, "--replay=buffer", "--budget", "0"))
    assert r.returncode == 2 and "--budget" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    if "fromp" not in SELECTIONS:
        with pytest.raises(UsageError):
            parse(["--replay=buffer", "--sample-selection", "fromp"])


def test_buffer_defaults():
    assert parse(["--replay=buffer"]).budget == 100
    assert parse(["--replay=buffer", "--experiment", "permMNIST"]).budget == 10
    assert parse(["--replay=buffer"]).sample_selection == "random"


@pytest.mark.parametrize("argv, task_free, expected", [
    (["--replay=buffer"], False, ["ER", "MemoryBuffer"]),
    (["--agem"], False, ["AGEM", "ER", "MemoryBuffer"]),
    (["--prototypes"], False, ["MemoryBuffer", "ICaRL"]),
    (["--icarl"], False, ["MemoryBuffer", "ICaRL"]),
    (["--add-buffer"], False, ["MemoryBuffer"]),
    (["--replay=all"], False, ["ER"]),
    (["--bce"], False, ["ICaRL"]),
    (["--replay=buffer"], True, ["ER", "ReservoirBuffer"]),
    (["--icarl"], True, ["ER", "ReservoirBuffer", "ICaRL"]),
    (["--prototypes"], True, ["ReservoirBuffer", "ICaRL"]),
    (["--agem"], True, ["AGEM", "ER", "ReservoirBuffer"]),
])
def test_the_buffer_for_the_mode_is_enabled_by_what_er_and_icarl_need(argv, task_free, expected):
    """ER's --replay=buffer and iCaRL's --prototypes need "memory": the run enables the memory buffer (task-free:
    the reservoir) in COMPONENTS order, i.e. hook order."""
    from methods import enabled_components
    args = parse(argv, prog="main_task_free" if task_free else "main", task_free=task_free)
    assert [c.__name__ for c in enabled_components(args)] == expected


@pytest.mark.parametrize("argv, message", [
    (["--icarl", "--fromp"], "--icarl cannot be combined with --fromp (FROMP keeps its own memorable points)"),
    (["--fromp", "--replay=buffer"], "--fromp cannot be combined with --replay=buffer"),
    (["--fromp", "--add-buffer"], "--add-buffer cannot be combined with --fromp"),
    (["--icarl", "--gen-classifier"], "--gen-classifier cannot be combined with --icarl"),
    (["--replay=buffer", "--sample-selection", "fromp"], "--sample-selection=fromp is FROMP's choice"),
    (["--prototypes", "--sample-selection", "fromp"], "--sample-selection=fromp is FROMP's choice"),
])
def test_the_buffer_is_named_as_its_user_in_usage_messages(argv, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(argv)
