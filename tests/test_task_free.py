"""Task-free training (./main_task_free.py) through the one loop: the stream's wiring, what the learner may know
(no context label or boundary outside task-IL), the consolidation events, each supported method end to end, the
edge cases, and refusals."""
import json

import pytest
import torch

import main_task_free
from cli.options import parse
from data.experiments import build_experiment
from data.stream import StreamData
from methods.component import Component
from tests.conftest import tiny
from train.experiment import build_learner, schedule_of
from train.loop import train


def options(data_dir, tmp_path, *extra):
    """Tiny task-free runs: 5 contexts x 30 iterations of 32 samples, short ramps, an update every 10 iterations; one
    torch thread (seconds; two threads on a busy 2-core machine cost several times more)."""
    return tiny(data_dir, tmp_path, "--fuzziness", "5", "--update-every", "10", "--no-save", "--threads", "1", *extra)


def run(data_dir, tmp_path, *extra):
    argv = options(data_dir, tmp_path, *extra)
    assert main_task_free.main(argv) == 0
    files = list((tmp_path / "results").glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


class Spy(Component):
    """Records what every hook receives; appended after all methods, as a component would be."""

    def __init__(self, args, learner):
        super().__init__(args, learner)
        self.t, self.contexts, self.batch_contexts, self.events, self.terms = 0, set(), [], [], []
        self.replayed, self.indices, self.values = [], [], []

    def before_context(self, context, dataset):
        self.contexts.add(context)

    def replay_batch(self, batch, context):
        self.contexts.add(context)
        return None

    def losses(self, batch, scores, replayed, context):
        self.contexts.add(context)
        self.batch_contexts.append(batch.context)
        self.indices.append(batch.index)
        self.replayed.append([r.batch.context for r in replayed])
        return {}

    def after_iteration(self, context, iteration, losses, batch, replayed):
        self.t += 1
        self.terms.append(set(losses))
        self.values.append({name: float(value) for name, value in losses.items()})

    def after_context(self, context, dataset):
        self.contexts.add(context)
        self.events.append(self.t)


def learner_for(data_dir, tmp_path, *extra):
    args = parse(options(data_dir, tmp_path, *extra), prog="main_task_free", task_free=True)
    torch.manual_seed(0)
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu")
    learner = build_learner(args, experiment, torch.device("cpu"))
    spy = Spy(args, learner)
    learner.components.append(spy)
    plan, iters, _ = schedule_of(args, learner, experiment)
    return args, learner, spy, plan, iters


@pytest.mark.parametrize("scenario", ["class", "domain"])
def test_no_context_label_or_boundary_reaches_the_learner(data_dir, tmp_path, scenario):
    """The academic-setting stream switches context every 12 iterations; the updates come every 5. No hook sees a
    context, no batch (current or replayed) carries one, no event falls on a switch, and the data refuse to tell."""
    args, learner, spy, plan, iters = learner_for(
        data_dir, tmp_path, "--scenario", scenario, "--stream", "academic-setting", "--iters", "12",
        "--update-every", "5", "--replay=buffer")
    (context, data), = plan
    assert context is None and isinstance(data, StreamData) and iters == 60
    with pytest.raises(AttributeError):
        data.contexts
    train(learner, plan, iters, args.batch, args.update_every, quiet=True)
    assert spy.contexts == {None}
    assert all(c is None for c in spy.batch_contexts) and len(spy.batch_contexts) == 60
    assert any(spy.replayed) and all(c is None for r in spy.replayed for c in r)
    assert spy.events == list(range(5, 60, 5)) + [60]  # every 5 iterations and at the end, not at 12, 24, 36, 48
    assert not any(t % 12 == 0 and t % 5 != 0 for t in spy.events[:-1])


def test_task_il_sees_each_samples_context(data_dir, tmp_path):
    args, learner, spy, plan, iters = learner_for(data_dir, tmp_path, "--scenario", "task", "--iters", "10",
                                                   "--fuzziness", "3")
    (_, data), = plan
    train(learner, plan, iters, args.batch, args.update_every, quiet=True)
    assert spy.contexts == {None}
    for c in spy.batch_contexts:
        assert isinstance(c, torch.Tensor) and c.shape == (args.batch,)
    # the per-sample contexts are the samples' own, and the fuzzy stream mixes contexts within a batch
    assert any(len(set(c.tolist())) > 1 for c in spy.batch_contexts)
    assert all(torch.equal(c, data.contexts[i]) for c, i in zip(spy.batch_contexts, spy.indices))


def test_stream_batches_are_the_streams_draws(data_dir, tmp_path):
    """The loop trains on Stream.draw(0), draw(1), ... in order: the same global RNG draws them again."""
    args, learner, spy, plan, iters = learner_for(data_dir, tmp_path, "--iters", "4", "--fuzziness", "0")
    (_, data), = plan
    torch.manual_seed(3)
    first = [index.clone() for index in data.sampler(args.batch)]
    torch.manual_seed(3)
    again = [index.clone() for index in data.sampler(args.batch)]
    assert len(first) == 20 and all(torch.equal(a, b) for a, b in zip(first, again))
    contexts = [data._contexts[i] for i in first]
    assert all((c == 0).all() for c in contexts[:2]) and all((c == 1).all() for c in contexts[2:6])  # sharp


@pytest.mark.parametrize("flags,term", [("--si", "si"), ("--lwf", "replay"), ("--replay=buffer", "replay")])
# (A-GEM adds no loss term: tests/test_agem.py checks that it projects only after the first update)
def test_consolidating_methods_start_after_the_first_update(data_dir, tmp_path, flags, term):
    args, learner, spy, plan, iters = learner_for(data_dir, tmp_path, flags, "--iters", "10", "--fuzziness", "2",
                                                   "--update-every", "7")
    train(learner, plan, iters, args.batch, args.update_every, quiet=True)
    assert not any(term in names for names in spy.terms[:7])
    assert all(term in names for names in spy.terms[7:])
    after = [v[term] for v in spy.values[7:]]
    assert all(v == v and v >= 0 for v in after) and max(after) > 0  # the penalty / replay loss acts


@pytest.mark.parametrize("flags", [["--si", "--update-every", "100000"], ["--replay=buffer", "--update-every", "1000"]])
def test_no_update_within_the_stream_no_consolidation(data_dir, tmp_path, flags):
    """An update interval longer than the stream: one event, at its end; nothing to replay or anchor to before."""
    args, learner, spy, plan, iters = learner_for(data_dir, tmp_path, *flags)
    train(learner, plan, iters, args.batch, args.update_every, quiet=True)
    assert spy.events == [150] and iters == 150
    assert not any({"si", "replay"} & names for names in spy.terms) and not any(spy.replayed)


def test_replay_draws_from_the_buffer_as_at_the_last_update(data_dir, tmp_path):
    args, learner, spy, plan, iters = learner_for(data_dir, tmp_path, "--replay=buffer", "--iters", "10",
                                                   "--fuzziness", "2", "--update-every", "6", "--budget", "50")
    (_, data), = plan
    memory = learner.provider("memory")
    replay = next(c for c in learner.components if type(c).__name__ == "ER")
    seen = []

    class Check(Component):
        stored = None

        def after_context(self, context, dataset):
            self.stored = memory.reservoir.contents()[0].clone()

        def losses(self, batch, scores, replayed, context):
            own = [r.batch for r in replayed if r.source is replay]
            if own:
                b = own[0]
                rows = self.stored[b.index]  # the replayed rows, as indices into the stream's data
                x = learner.experiment.preprocess(data.images[rows], data.input_context(rows))
                assert torch.equal(b.x, x) and torch.equal(b.y, data.labels[rows])
                seen.append(not torch.equal(self.stored, memory.reservoir.contents()[0]))
            return {}

    learner.components.append(Check(args, learner))
    train(learner, plan, iters, args.batch, args.update_every, quiet=True)
    assert len(seen) == iters - 6 and any(seen)  # the buffer changed since, and replay still used the snapshot
    assert len(memory) == 50 and memory.version == iters * args.batch


@pytest.mark.parametrize("flags,floor", [
    (["--joint"], 0.8),                     # the random stream: no forgetting
    (["--replay=buffer", "--update-every", "1"], 0.5),
    (["--icarl", "--update-every", "1"], 0.5),
    (["--gen-classifier", "--gc-compare", "--eval-s", "5", "--acc-log", "150"], 0.8),
])
@pytest.mark.slow
def test_methods_that_remember_class_il(data_dir, tmp_path, flags, floor):
    none = run(data_dir, tmp_path / "none", "--stream", "academic-setting")["average_accuracy"]
    stream = [] if "--joint" in flags else ["--stream", "academic-setting"]
    result = run(data_dir, tmp_path / "m", *stream, *flags)
    assert none < 0.35  # fine-tuning on a sharp stream forgets
    assert result["average_accuracy"] > max(floor, none + 0.2), result["average_accuracy"]


def test_other_class_il_methods_change_training_only_once_consolidated(data_dir, tmp_path):
    """SI, LwF and A-GEM do not remember in class-IL (the paper's finding), but each changes training: the accuracy
    curve differs from fine-tuning's, same seed. SI without an update within the stream is fine-tuning, bit for
    bit: its penalty needs an anchor."""
    none = run(data_dir, tmp_path / "none")
    assert none["average_accuracy"] <= 0.2  # one context's worth, at most
    for flags in (["--si"], ["--lwf"], ["--agem"]):
        result = run(data_dir, tmp_path / flags[0], *flags)
        assert result["curve"]["accuracy"] != none["curve"]["accuracy"], flags
    never = run(data_dir, tmp_path / "never", "--si", "--update-every", "100000")
    assert never["curve"] == none["curve"] and never["accuracy_matrix"] == none["accuracy_matrix"]


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["--xdg"], ["--separate-networks"], ["--si"], ["--lwf"]])
def test_task_il_methods_learn(data_dir, tmp_path, flags):
    result = run(data_dir, tmp_path, "--scenario", "task", *flags)
    assert result["average_accuracy"] > 0.6, result["average_accuracy"]


def test_domain_il_replay_beats_fine_tuning(data_dir, tmp_path):
    none = run(data_dir, tmp_path / "none", "--scenario", "domain")["average_accuracy"]  # 0.7 (chance: 0.5)
    for flags in (["--replay=buffer"], ["--agem"]):
        result = run(data_dir, tmp_path / flags[0], "--scenario", "domain", *flags)
        assert result["average_accuracy"] > max(0.85, none + 0.1), (flags, result["average_accuracy"], none)


def test_results_json_curve_stamp_and_pdf(data_dir, tmp_path):
    result = run(data_dir, tmp_path, "--acc-log", "15", "--pdf", "--labels-per-batch")
    assert result["stream"] == {"stream": "fuzzy-boundaries", "fuzziness": 5, "labels_per_batch": True,
                                "update_every": 10, "iterations": 150}
    assert result["curve"]["iterations"] == list(range(15, 151, 15))
    assert all(len(row) == 5 for row in result["curve"]["accuracy"])
    assert "fuzzy5-lpb-ue10" in result["stamp"]
    for key in ("accuracy_matrix", "average_accuracy", "per_context", "seconds", "options", "versions"):
        assert key in result
    assert (tmp_path / "plots" / f"{result['stamp']}.pdf").stat().st_size > 1000


def test_get_stamp_names_the_record(data_dir, tmp_path, capsys):
    """(--test on a task-free run: tests/test_round_trip.py.)"""
    argv = tiny(data_dir, tmp_path, "--fuzziness", "5", "--icarl", "--no-save", "--threads", "1")
    assert main_task_free.main(argv + ["--get-stamp"]) == 0
    stamp = capsys.readouterr().out.strip()
    assert stamp.startswith("splitMNIST5-class--fuzzy5-ue100--")
    assert main_task_free.main(argv) == 0
    assert json.loads((tmp_path / "results" / f"{stamp}.json").read_text())["stamp"] == stamp


def _unseen_context_never_predicted(result):
    """5 batches of one context each cannot show all 5 contexts; a context none of whose classes was learned has no
    class mean (iCaRL) or no VAE (its classes score -inf): exactly 0, not chance."""
    assert 0.0 in result["per_context"]


def _last_context_remembered_best(result):
    """The fuzzy stream ends with context 1's second half (it wraps round): fine-tuning remembers that one best."""
    assert result["per_context"][0] == max(result["per_context"]) > 0.1


@pytest.mark.parametrize("extra,expect", [
    (["--iters", "1", "--fuzziness", "0"], None),
    (["--fuzziness", "0"], _last_context_remembered_best),
    (["--stream", "random", "--labels-per-batch", "--iters", "1", "--icarl"], _unseen_context_never_predicted),
    (["--stream", "random", "--labels-per-batch", "--iters", "1", "--gen-classifier", "--gc-compare", "--eval-s", "2"],
     _unseen_context_never_predicted),
    (["--scenario", "task", "--lwf", "--stream", "random", "--labels-per-batch", "--iters", "2", "--fuzziness", "0",
      "--update-every", "3"], None),
])
def test_edge_cases_run(data_dir, tmp_path, extra, expect):
    result = run(data_dir, tmp_path, *extra)
    iters = int(extra[extra.index("--iters") + 1]) if "--iters" in extra else 30
    assert len(result["per_context"]) == 5 and result["stream"]["iterations"] == 5 * iters
    if expect:
        expect(result)


def test_task_free_defaults():
    args = parse(["--si", "--replay=buffer"], prog="main_task_free", task_free=True)
    assert (args.stream, args.fuzziness, args.update_every, args.budget, args.si_c, args.reg_strength) == \
        ("fuzzy-boundaries", 500, 100, 1000, 10.0, 10.0)
    academic = parse(["--si", "--replay=buffer"])
    assert (academic.budget, academic.si_c) == (100, 5000.0) and not hasattr(academic, "stream")
