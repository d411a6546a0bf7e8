"""ICLRblogpost/compare_FI.py (the Fisher study) and --reducedResNet: the plan (1 + 5 x 14 runs per seed), the Fisher
options each variant passes, the read-out (table, figure), the preset's network, and a tiny real sweep."""
import json
import os

import pytest
import torch

import sweep
from cli.options import parse
from cli.stamp import param_stamp
from models.classifier import build_conv
from sweep import script
from sweep.fisher_study import fisher_seconds
from tests.conftest import ROOT, tiny

STUDY = script.load(os.path.join(ROOT, "ICLRblogpost", "compare_FI.py"))
VARIANTS = ["EXACT", "EXACT (n=500)", "SAMPLE", "EMPIRICAL", "BATCHED (b=128)"]


def options(data_dir, base, *extra):
    return tiny(data_dir, base, "--experiment=splitMNIST", "--scenario=task", "--contexts", "2", "--iters", "20",
                "--fc-units", "20", *extra)


def planned(argv):
    """The runs of the study's plan (it stops at its plan, printing it)."""
    with pytest.raises(sweep.Planned) as stop:
        STUDY.main([*argv, "--plan"])
    return [job for job, _, _ in stop.value.survey.runs]


def test_is_found_as_a_sweep_script_outside_a_package():
    assert "ICLRblogpost/compare_FI.py" in script.find(ROOT)
    assert not os.path.exists(os.path.join(ROOT, "ICLRblogpost", "__init__.py"))


def test_plan_counts_none_and_five_fishers_at_fourteen_lambdas_per_seed(data_dir, tmp_path, capsys):
    jobs = planned([*options(data_dir, tmp_path), "--seed=1", "--n-seeds=2"])
    assert len(jobs) == 2 * (1 + 5 * 14)
    keys = list(dict.fromkeys(j.key for j in jobs))
    assert keys[0] == ("None",) and [k for k in keys[1:] if k[1] == 1.0] == [(v, 1.0) for v in VARIANTS]
    assert sorted({k[1] for k in keys[1:]}) == [10.0 ** k for k in range(14)]
    assert ": 142 runs, 0 done, 142 to run" in capsys.readouterr().out


def test_each_variant_passes_its_fisher_options(data_dir, tmp_path):
    jobs = planned([*options(data_dir, tmp_path), "--lambdas=1e2,1e5"])
    assert len(jobs) == 1 + 5 * 2
    fisher = {j.key: (j.args.fisher_labels, j.args.fisher_n, j.args.fisher_batch) for j in jobs if j.key[0] != "None"}
    assert fisher == {(v, lam): options for lam in (1e2, 1e5) for v, options in zip(VARIANTS, [
        ("all", None, 1), ("all", 500, 1), ("sample", None, 1), ("true", None, 1), ("true", None, 128)])}
    for j in jobs[1:]:  # the paper's compare_FI: weight penalty with Fisher importance, Online EWC with gamma 1
        assert j.args.weight_penalty and j.args.importance_weighting == "fisher" and j.args.reg_strength == j.key[1]
        assert not j.args.offline and j.args.gamma == 1.0
    assert not jobs[0].args.weight_penalty
    assert len({j.stamp for j in jobs}) == len(jobs)

    offline = planned([*options(data_dir, tmp_path), "--lambdas=1e2", "--offline", "--fisher-n-all=50"])
    assert [j.key[0] for j in offline] == ["None", "EXACT", "EXACT (n=50)", "SAMPLE", "EMPIRICAL", "BATCHED (b=128)"]
    assert all(j.args.offline for j in offline[1:]) and offline[2].args.fisher_n == 50
    assert offline[0].stamp == jobs[0].stamp  # None's run is the same with or without --offline


def fake_result(accuracy, fisher=None):
    """A record as far as the read-out reads it; fisher: the seconds of each Fisher estimate (None: no EWC)."""
    hooks = {} if fisher is None else {"FisherImportance": list(fisher)}
    return {"average_accuracy": accuracy, "seconds": {"train": 2.0, "after_context": hooks}}


def test_read_out_best_lambda_table_figure_and_fisher_seconds(data_dir, tmp_path, capsys):
    s = sweep.setup([*options(data_dir, tmp_path), "--lambdas=1,100,1e4"], STUDY.SWEEP.prog, "", (),
                    add_args=STUDY.add_args)
    base, curves = STUDY.SWEEP.collect(s)
    base[0].result = fake_result(0.6)
    for i, (grid, _, values, jobs) in enumerate(curves):
        for job in jobs:  # variant i peaks at lambda 100 (EXACT: at 1e4); seconds grow with i
            peak = 1e4 if i == 0 else 100
            job.result = fake_result(0.9 - 0.01 * i - (0.1 if job.key[1] != peak else 0), (0.5 * (i + 1), 0.0))
    curves[4][3][0].result = {"average_accuracy": 0.5, "seconds": {"train": 1.0}}  # a record from before the seconds
    every = base + [j for c in curves for j in c[3]]
    assert STUDY.SWEEP.conclude(s, base, curves, every, 0) == 0
    out = capsys.readouterr().out
    assert "EWC  --  EXACT\n param list (lambda): [1.0, 100.0, 10000.0]" in out
    assert "---> lambda = 10000     --    90.00" in out and "---> lambda = 100     --    89.00" in out
    table = [" ".join(line.split()) for line in out[out.index("AT ITS BEST LAMBDA"):].splitlines()]
    assert "None 60.00 1" in table and "EXACT 10000 90.00 1 0.50" in table and "EXACT (n=500) 100 89.00 1 1.00" in table
    assert "BATCHED (b=128) 100 86.00 1 2.50" in table  # the mean of its runs that have the seconds
    summaries = list((tmp_path / "results").glob("FI-splitMNIST2-task-*.json"))
    assert len(summaries) == 1
    rows = json.loads(summaries[0].read_text())["rows"]
    assert len(rows) == 1 + 5 * 3 and rows[0]["method"] == "None" and rows[0]["fisher_seconds"] is None
    best = {r["method"]: r["lambda"] for r in rows if r["best"]}
    assert best == {"EXACT": 1e4, **{v: 100.0 for v in VARIANTS[1:]}}
    assert rows[-3]["fisher_seconds"] is None and rows[-2]["fisher_seconds"] == 2.5
    assert summaries[0].with_suffix(".csv").exists()
    pypdf = pytest.importorskip("pypdf")
    pdf = tmp_path / "plots" / (summaries[0].stem + ".pdf")
    assert len(pypdf.PdfReader(str(pdf)).pages) == 3  # accuracy vs lambda; best accuracies; Fisher seconds


def test_fisher_seconds_of_a_record():
    assert fisher_seconds(fake_result(0.5, (1.0, 2.0, 0.0))) == 3.0
    assert fisher_seconds({"seconds": {"train": 1.0}}) is None


def test_reduced_resnet_is_the_papers_preset_and_changes_no_other_stamp():
    args = parse(["--experiment=CIFAR10", "--scenario=task", "--reducedResNet", "--iters=2000", "--lr=0.001"])
    assert (args.conv_type, args.depth, args.reducing_layers, args.channels, args.global_pooling, args.fc_layers) \
        == ("resNet", 5, 3, 20, True, 1)
    assert param_stamp(args) == "CIFAR105-task--CR5x20r3b2-bn-gp-F1x2000--i2000-lr0.001-b256-adam-s0"
    given = parse(["--experiment=CIFAR10", "--reducedResNet", "--channels=8", "--fc-layers=2", "--conv-type=standard"])
    assert (given.channels, given.fc_layers, given.conv_type) == (8, 2, "resNet")  # counts given win; the type not
    assert param_stamp(parse(["--scenario=task", "--ewc"])) == \
        "splitMNIST5-task--F3x400--i2000-lr0.001-b128-adam--PReg100000-FIdiagNAll-offline-s0"
    assert param_stamp(parse(["--experiment=CIFAR10", "--scenario=task"])) == \
        "CIFAR105-task--CS5x16r4-bn-F3x2000--i5000-lr0.0001-b256-adam-s0"


def test_reduced_resnet_network_shape_and_forward():
    args = parse(["--experiment=CIFAR10", "--scenario=task", "--reducedResNet"])
    conv = build_conv(args, 3)
    assert conv.out_channels == 160  # 20 channels, doubled by each of the 3 reducing layers
    assert len(conv.layers) == 5 and all(len(block) == 2 for block in conv.layers[1:])  # a conv, 4 x 2 ResNet blocks
    strides = [m.stride[0] for m in conv.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] == 3]
    assert strides.count(2) == 3
    out = conv.eval()(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 160)  # global pooling


@pytest.mark.slow
def test_a_tiny_study_runs_and_records_fisher_seconds(data_dir, tmp_path, capsys):
    argv = [*options(data_dir, tmp_path), "--lambdas=1,1e6", "--workers", "1", "--threads", "1"]
    assert STUDY.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("---> lambda = ") == 5 and "BEST LAMBDA" in out
    records = [json.loads(p.read_text()) for p in (tmp_path / "results").glob("splitMNIST*.json")]
    assert len(records) == 1 + 5 * 2
    ewc = [r for r in records if r["options"]["weight_penalty"]]
    assert all(len(r["seconds"]["after_context"]["FisherImportance"]) == 2 for r in ewc)  # one per context
    assert all(fisher_seconds(r) > 0 for r in ewc)
    rows = json.loads(next((tmp_path / "results").glob("FI-*.json")).read_text())["rows"]
    assert all(r["fisher_seconds"] > 0 for r in rows if r["method"] != "None")
    assert STUDY.main(argv) == 0 and "11 already done, 0 to run" in capsys.readouterr().out  # resumes
