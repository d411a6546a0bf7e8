import copy
from types import SimpleNamespace

import pytest
import torch

import main
from data.experiments import build_experiment
from data.scenario import Scenario
from data.tensorset import ClassBalancedSampler, TensorSet
from train.experiment import build_learner
from methods.gen_classifier import GenerativeClassifier
from models.generative_classifier import GenerativeClassifier as GenerativeClassifierModel
from models.vae import VAE
from tests.conftest import CIFAR_CONV_UNITS, tiny, tiny_cifar
import train.loop as train_loop
from cli.stamp import param_stamp
from methods import shared_values
from train.loop import train
from train.monitor import Monitor
from cli.options import describe_defaults, parse

GC = ("--gen-classifier", "--gc-compare")  # the settings of the paper's comparisons


def make_learner(data_dir, tmp_path, *extra):
    args = parse(tiny(data_dir, tmp_path, *GC, "--fc-units-gc", "20", "--eval-s", "5", *extra))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    torch.manual_seed(0)
    return build_learner(args, experiment, torch.device("cpu")), experiment


def snapshot(model):
    return [torch.cat([p.detach().flatten().clone() for p in vae.parameters()]) for vae in model.vaes]


def test_defaults_stamp_and_architecture():
    args = parse([*GC])
    assert (args.fc_units_gc, args.fc_lay_gc, args.z_dim_gc, args.eval_s, args.lr_gc) == (85, 3, 5, 50, 0.001)
    perm = parse([*GC, "--experiment", "permMNIST"])
    assert (perm.fc_units_gc, perm.fc_lay_gc, perm.z_dim_gc, perm.lr_gc) == (85, 2, 20, 0.001)
    assert parse([*GC, "--lr", "0.01"]).lr_gc == 0.01
    assert GenerativeClassifier.stamp(args) == "GenC-z5-S50"
    model = GenerativeClassifier.build_model(args, _Exp(), _Sc())
    vae = model.vaes[0]
    assert len(model.vaes) == 10 and not model.trained.any()
    assert [m.out_features for m in vae.encoder.layers.modules() if isinstance(m, torch.nn.Linear)] == [85, 85]
    assert vae.z_dim == 5 and vae.to_pixels.out_features == 784


def test_the_shared_options_keep_their_values_and_the_run_uses_the_vaes():
    """The VAEs' lr and size are declared (shared_values), not written over --lr / --fc-units / --fc-layers / the
    log intervals: args (the record) keeps the benchmark's or the user's, the stamp names the VAEs'."""
    perm = parse([*GC, "--experiment", "permMNIST"])
    assert (perm.lr, perm.fc_units, perm.fc_layers, perm.loss_log, perm.acc_log) == (0.0001, 1000, 3, 5000, 5000)
    assert shared_values(perm) == {"lr": 0.001, "fc_units": 85, "fc_layers": 2, "loss_log": 500, "acc_log": 500,
                                   "sample_log": 500}
    assert param_stamp(perm) == "permMNIST10-class--F2x85--i5000-lr0.001-b128-adam--GenC-z20-S50-s0"
    given = parse([*GC, "--lr", "0.01", "--fc-units", "100", "--fc-layers", "2", "--loss-log", "7"])
    assert (given.lr, given.fc_units, given.fc_layers, given.loss_log) == (0.01, 100, 2, 7)
    assert param_stamp(given) == "splitMNIST5-class--F3x85--i2000-lr0.01-b128-adam--GenC-z5-S50-s0"
    assert "acc_log" in shared_values(given) and "loss_log" not in shared_values(given)
    free = parse([*GC, "--experiment", "permMNIST"], prog="main_task_free", task_free=True)
    assert shared_values(free) == {"lr": 0.001, "fc_units": 85, "fc_layers": 2}  # no contexts: logs as given
    assert (free.lr, free.fc_units) == (0.0001, 1000)


def test_main_py_means_the_paper_main_py_and_the_comparison_its_compare_py():
    """Issue 25: `./main.py --gen-classifier` is the paper's main.py experiment (each class's VAE --iters iterations,
    the general model's size and lr); `--gc-compare`, which the sweeps add, is its compare.py's (--iters / classes
    per context, 3 x 85, z 5, lr 0.001), with the stamp the comparison tables have always had."""
    args = parse(["--gen-classifier"])
    assert shared_values(args) == {} and args.fc_units_gc is None and args.lr_gc is None
    assert param_stamp(args) == "splitMNIST5-class--F3x400--i2000-lr0.001-b128-adam--GenC-itersPerClass-z100-S50-s0"
    vae = GenerativeClassifier.build_model(args, _Exp(), _Sc()).vaes[0]
    assert [m.out_features for m in vae.encoder.layers.modules() if isinstance(m, torch.nn.Linear)] == [400, 400]
    assert vae.z_dim == 100
    compared = parse([*GC])
    assert param_stamp(compared) == "splitMNIST5-class--F3x85--i2000-lr0.001-b128-adam--GenC-z5-S50-s0"
    cifar = parse(["--gen-classifier", "--experiment=CIFAR100", "--pre-convE", "--freeze-convE"])
    assert (cifar.lr, cifar.fc_units, cifar.fc_layers) == (0.0001, 2000, 3)  # the paper's main.py on CIFAR-100
    assert "F3x2000" in param_stamp(cifar) and "lr0.0001" in param_stamp(cifar)
    main_text = describe_defaults(["--gen-classifier", "--iters=500"])
    assert "as the paper's main.py: each class's VAE trains --iters = 500 iterations, 3 fc layers of 400 units, " \
           "latent 100" in main_text
    compare_text = describe_defaults([*GC, "--iters=500"])
    assert "(--gc-compare): each class's VAE trains --iters / 2 (classes per context) = 250 iterations, 3 fc " \
           "layers of 85 units, latent 5" in compare_text
    assert "--fc-units                 85             set by a method flag" in compare_text
    free = parse(["--gen-classifier"], prog="main_task_free", task_free=True)
    assert shared_values(free) == {} and "--F3x400--" in param_stamp(free) and param_stamp(free).endswith(
        "--GenC-z100-S50-s0")  # a stream has no iterations per class: nothing to mark
    assert param_stamp(parse([*GC], prog="main_task_free", task_free=True)).endswith("--F3x85--i2000-lr0.001-b128-"
                                                                                    "adam--GenC-z5-S50-s0")


def test_each_setting_trains_each_vae_its_iterations_and_the_two_agree_when_told_the_same(data_dir, tmp_path):
    """The main.py setting with --iters N per class and the comparison's sizes is the comparison's run with --iters
    N x classes per context: the same VAEs, the same steps, the same accuracies."""
    sizes = ["--eval-s", "3", "--lr", "0.001"]
    main_setting = main.run(parse(tiny(data_dir, tmp_path / "m", "--gen-classifier", "--iters", "15",
                                       "--fc-units", "20", "--fc-layers", "2", "--z-dim", "4", *sizes)))
    compared = main.run(parse(tiny(data_dir, tmp_path / "c", *GC, "--iters", "30", "--fc-units-gc", "20",
                                   "--fc-lay-gc", "2", "--z-dim-gc", "4", *sizes)))
    assert main_setting["accuracy_matrix"] == compared["accuracy_matrix"]
    assert main_setting["stamp"] != compared["stamp"]  # another command line: another --iters


def test_the_optimizer_and_the_monitor_use_the_vaes_values(data_dir, tmp_path, monkeypatch):
    learner, experiment = make_learner(data_dir, tmp_path, "--iters", "4")
    learner.args.lr = 0.5  # a shared --lr that is not the VAEs' (as permMNIST's 0.0001)
    assert Monitor(learner.args, learner, []).every == {"loss_log": 2, "acc_log": 2, "sample_log": 2}
    rates = []
    real = train_loop.make_optimizer
    monkeypatch.setattr(train_loop, "make_optimizer", lambda params, *a: rates.append(a[1]) or real(params, *a))
    train(learner, [(0, experiment.train[0])], 4, 8, quiet=True)
    assert rates == [0.001]


class _Exp:
    image_size, channels = 28, 1


class _Sc:
    n_outputs = 10


def test_class_balanced_sampler_draws_each_class_without_replacement():
    labels = torch.tensor([3] * 10 + [5] * 4 + [3] * 2)
    data = TensorSet.of_context(torch.zeros(16, 1, 2, 2, dtype=torch.uint8), labels, 0)
    sampler = ClassBalancedSampler(data, 6)
    assert sampler.blocks == [(3, 6), (5, 4)]
    first, second = next(sampler), next(sampler)
    for index in (first, second):
        assert labels[index].tolist() == [3] * 6 + [5] * 4
    assert len(set(first[:6].tolist()) | set(second[:6].tolist())) == 12  # one pass over class 3: no repeats


def test_each_vae_changes_only_in_its_own_context_and_only_from_its_class(data_dir, tmp_path):
    learner, experiment = make_learner(data_dir, tmp_path, "--iters", "6")
    model = learner.model
    before = snapshot(model)
    calls = []
    original = model.loss
    model.loss = lambda x, blocks: (calls.append(blocks), original(x, blocks))[1]
    model.forward = lambda *a, **k: pytest.fail("the classifier forward pass must be skipped in training")
    states = [before]
    train(learner, list(enumerate(experiment.train[:3])), 6, 8, after_context=lambda c: states.append(snapshot(model)),
          quiet=True)
    assert len(calls) == 3 * 3 and all(b == [(2 * c, 8), (2 * c + 1, 8)] for b, c in zip(calls, [0, 0, 0, 1, 1, 1,
                                                                                             2, 2, 2]))
    for c in range(3):
        for k in range(10):
            changed = not torch.equal(states[c][k], states[c + 1][k])
            assert changed == (k in (2 * c, 2 * c + 1)), (c, k)
    assert model.trained.tolist() == [True] * 6 + [False] * 4

    # one VAE's gradient does not depend on the other class's samples in the batch
    x = experiment.preprocess(experiment.train[0].images[:8], 0)
    grads = []
    for other in (x, torch.rand_like(x)):
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)
        original(torch.cat([x[:4], other[4:]]), [(0, 4), (1, 4)]).backward()
        grads.append([p.grad.clone() for p in model.vaes[0].parameters()])
        assert all(p.grad is None for k in range(2, 10) for p in model.vaes[k].parameters())
    assert all(torch.equal(a, b) for a, b in zip(*grads))


def test_joint_class_balanced_training_equals_training_each_vae_alone(data_dir, tmp_path, monkeypatch):
    """The paper: each class's VAE alone, --iters / 2 steps of --batch samples of its class. Here: both at once. With
    the reparameterisation noise fixed (zero) and a batch holding all of a class's samples, the steps are the same."""
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)
    learner, experiment = make_learner(data_dir, tmp_path, "--iters", "8", "--batch", "100")
    model, data = learner.model, experiment.train[0]
    initial = copy.deepcopy(model.vaes)
    train(learner, [(0, data)], 8, 100, quiet=True)
    for k in (0, 1):
        vae = initial[k]
        x = experiment.preprocess(data.images[data.labels == k], 0)
        assert x.shape[0] == 100
        opt = torch.optim.Adam(vae.parameters(), lr=learner.args.lr_gc, betas=(0.9, 0.999))
        for _ in range(4):  # --iters / classes per context
            opt.zero_grad()
            vae.loss(x).backward()
            opt.step()
        for a, b in zip(vae.parameters(), model.vaes[k].parameters()):
            assert torch.allclose(a, b, atol=1e-6, rtol=0)
        assert not torch.allclose(next(vae.parameters()), next(initial[2].parameters()))


def test_prediction_picks_the_class_whose_vae_finds_the_input_likeliest():
    torch.manual_seed(0)
    model = GenerativeClassifierModel(lambda: VAE(8, 1, fc_layers=2, fc_units=30, z_dim=2), 4)
    images = torch.zeros(2, 1, 8, 8)
    images[0, :, :4] = 1.0   # class 0: top half bright
    images[1, :, :, :4] = 1.0  # class 1: left half bright
    opts = [torch.optim.Adam(model.vaes[k].parameters(), lr=0.01) for k in range(2)]
    for _ in range(300):
        for k in range(2):
            x = (images[k:k + 1] + 0.05 * torch.rand(16, 1, 8, 8)).clamp(0, 1)
            opts[k].zero_grad()
            model.vaes[k].loss(x).backward()
            opts[k].step()
    model.trained[:2] = True
    test = (images.repeat_interleave(10, 0) + 0.05 * torch.rand(20, 1, 8, 8)).clamp(0, 1)
    with torch.no_grad():
        scores = model.log_likelihoods(test, S=10)
        assert scores.argmax(1).tolist() == [0] * 10 + [1] * 10
        assert torch.isinf(scores[:, 2:]).all() and torch.isfinite(scores[:, :2]).all()
        # the scores are the VAEs' own importance-sampled estimates under the Gaussian observation model
        torch.manual_seed(3)
        direct = model.vaes[1].log_likelihood(test, 10, "gaussian")
        torch.manual_seed(3)
        model.trained[0] = False
        assert torch.allclose(model.log_likelihoods(test, S=10)[:, 1], direct)


def test_end_to_end_learns_and_test_reloads_to_identical_predictions(data_dir, tmp_path):
    argv = tiny(data_dir, tmp_path, *GC, "--iters", "60", "--fc-units-gc", "30", "--eval-s", "5",
                "--lr", "0.01")
    result = main.run(parse(argv))
    final = result["accuracy_matrix"][-1]
    assert min(final) > 0.9  # synthetic classes are distinct bright blocks: every context is recognised
    # before the later contexts are trained, their classes score -inf: their test samples go to trained classes
    assert result["accuracy_matrix"][0][1:] == [0.0] * 4
    rng = torch.get_rng_state()
    tested = main.run(parse(argv + ["--test"]))
    assert tested["accuracy_matrix"] == [final]
    torch.set_rng_state(rng)


def test_compare_runs_it_in_class_il_only(tmp_path, capsys):
    from argparse import Namespace

    from sweep import applies, make_jobs, method as lookup
    method = lookup("Generative Classifier")
    assert [applies(method, s, Namespace()) for s in ("task", "domain", "class")] == [False, False, True]
    jobs = make_jobs((method.name,), method.flags.split(), ["--scenario=class"], [2], str(tmp_path))
    assert jobs[0].stamp == "splitMNIST5-class--F3x85--i2000-lr0.001-b128-adam--GenC-z5-S50-s2"  # as always
    assert make_jobs((method.name,), method.flags.split(), ["--experiment=CIFAR100"], [2], str(tmp_path)) is None
    assert "leaving out Generative Classifier" in capsys.readouterr().out  # conv layers that are not frozen
    cifar = ["--experiment=CIFAR100", "--pre-convE", "--freeze-convE", "--seed-to-ltag"]
    jobs = make_jobs((method.name,), [*method.flags.split(), "--eval-s=10000"], cifar, [2], str(tmp_path))
    assert jobs and "GenC-z20-S10000" in jobs[0].stamp and "F2x85" in jobs[0].stamp


def test_compare_passes_eval_s_to_the_generative_classifier_only(data_dir, tmp_path):
    import compare
    import sweep
    from sweep import method
    owned = [("--eval-s", ["Generative Classifier"])]
    s = sweep.setup(["--data-dir", data_dir, "--results-dir", str(tmp_path), "--eval-s=10000"], "compare", "",
                    compare.SWEEP.drops, owned)
    gc = method("Generative Classifier")
    assert "--eval-s" in gc.owns and sweep.owned_tokens(s.sweep, gc) == ["--eval-s=10000"]
    none = method("None")
    assert sweep.owned_tokens(s.sweep, none) == [] and "--eval-s=10000" not in s.shared


@pytest.mark.parametrize("S, cap", [(5, None), (10000, 32 * 125)])  # small S: one pass; the paper's CIFAR-100 S
def test_scores_every_class_on_features_with_passes_under_the_cap(S, cap, monkeypatch):
    """VAEs on conv features (32 units here; output 'none', as the paper's on normalised data), every class scored;
    with --eval-s=10000 and a cap of 125 samples per pass the scores are the unchunked ones, combined by log-sum-exp."""
    import models.generative_classifier as gc
    if cap is not None:
        monkeypatch.setitem(gc.ELEMENTS_PER_PASS, "cpu", cap)
    torch.manual_seed(0)
    model = GenerativeClassifierModel(lambda: VAE(2, 8, fc_layers=2, fc_units=12, z_dim=4, recon_loss="MSE",
                                                  output="none"), 10).double()
    model.trained[:] = True
    x = torch.randn(4, 32, dtype=torch.float64)
    sizes = []
    for vae in model.vaes:
        decode = vae.decode
        vae.decode = lambda z, decode=decode: sizes.append(z.shape[0] * 32) or decode(z)
    with torch.no_grad():
        torch.manual_seed(3)
        scores = model.log_likelihoods(x, S)
        passes = list(sizes)
        limit = gc.ELEMENTS_PER_PASS["cpu"]
        torch.manual_seed(3)  # the same draws: class after class, input chunk after input chunk
        inputs = max(1, limit // 32 // S)
        reference = torch.stack([torch.cat([vae.log_likelihood(x[i:i + inputs], S, "gaussian")
                                            for i in range(0, 4, inputs)]) for vae in model.vaes], dim=1)
    assert scores.shape == (4, 10) and torch.isfinite(scores).all()
    assert max(passes) <= limit and sum(passes) == 10 * 4 * S * 32  # every class, every sample, under the cap
    if S * 4 * 32 <= limit:
        assert torch.equal(scores, reference)
    else:
        assert torch.allclose(scores, reference, rtol=1e-12, atol=0)
    assert len(set(scores.argmax(1).tolist())) > 1  # the classes' VAEs differ: not one class wins everything


def test_on_cifar_each_class_has_a_vae_on_the_conv_features_and_every_class_scores(data_dir, tmp_path,
                                                                                 one_thread):
    """The paper's CIFAR architecture (1 hidden layer of 85 units, z 20, output 'none', MSE) on the frozen conv
    layers' features, computed once: after training, every class's VAE scores the test features (finite), and the
    scores are each VAE's own estimate on the features."""
    args = parse(tiny_cifar(data_dir, tmp_path, *GC, "--iters", "4", "--eval-s", "3"))
    experiment = build_experiment(args.experiment, args.contexts, data_dir, args.seed, "cpu", args.normalize)
    torch.manual_seed(0)
    learner = build_learner(args, experiment, torch.device("cpu"))
    model, experiment = learner.model, learner.experiment
    vae = model.vaes[0]
    assert len(model.vaes) == 10 and vae.shape == (CIFAR_CONV_UNITS,) and vae.z_dim == 20
    assert (vae.recon_loss, vae.logits) == ("MSE", False)
    assert [m.out_features for m in vae.encoder.modules() if isinstance(m, torch.nn.Linear)] == [85]
    assert model.conv.precomputed and experiment.train[0].images.shape[1:] == (CIFAR_CONV_UNITS,)
    assert learner.components[0].sample is None  # features, not images, to show
    train(learner, list(enumerate(experiment.train)), args.iters, args.batch, quiet=True)
    x = experiment.test[0].images
    with torch.no_grad():
        scores = learner.predict(x, 0)
        torch.manual_seed(5)
        direct = model.vaes[7].log_likelihood(x, 3, "gaussian")
        model.trained[:7] = False
        torch.manual_seed(5)
        assert torch.allclose(model.log_likelihoods(x, 3)[:, 7], direct)
    assert scores.shape == (x.shape[0], 10) and torch.isfinite(scores).all()


def test_on_cifar_end_to_end_and_test_reloads(data_dir, tmp_path):
    argv = tiny_cifar(data_dir, tmp_path, *GC, "--iters", "4", "--eval-s", "3")
    result = main.run(parse(argv))
    assert len(result["accuracy_matrix"]) == 5 and "GenC-z20-S3" in result["stamp"]
    assert main.run(parse(argv + ["--test"]))["accuracy_matrix"] == [result["accuracy_matrix"][-1]]


def test_a_comparison_record_made_before_gc_compare_existed_is_still_its_result(data_dir, tmp_path):
    """Records stored before --gc-compare have no such option: a sweep lays them over its own run's options (which
    have it), so they still make their stamp and are reused, not run again."""
    import json

    from sweep import stored
    argv = tiny(data_dir, tmp_path, *GC, "--iters", "4", "--fc-units-gc", "10", "--eval-s", "2")
    result = main.run(parse(argv))
    path = tmp_path / "results" / f"{result['stamp']}.json"
    record = json.loads(path.read_text())
    del record["options"]["gc_compare"]
    path.write_text(json.dumps(record))
    assert stored.inspect(str(path), result["stamp"], {}, parse(argv))[0] == "done"
    main_setting = parse(tiny(data_dir, tmp_path, "--gen-classifier", "--iters", "4", "--eval-s", "2"))
    assert stored.inspect(str(path), result["stamp"], {}, main_setting)[0] == "rerun"  # another experiment


@pytest.mark.parametrize("flags, parameters", [(GC, 150134), (("--gen-classifier",), 1069684)])
def test_each_class_vae_has_the_papers_parameter_count(flags, parameters):
    """The paper's code's VAE for the same flags (3 fc layers of 85 units and z 5 for its comparisons; of 400 and z
    100 for its main.py) has this many parameters: its log-variance head has no bias (fc_layer_split)."""
    args = parse(["--experiment", "splitMNIST", "--scenario", "class", *flags])
    model = GenerativeClassifier.build_model(args, SimpleNamespace(image_size=28, channels=1), Scenario("class", 5, 2))
    assert [sum(p.numel() for p in vae.parameters()) for vae in model.vaes] == [parameters] * 10
    assert model.vaes[0].to_logvar.bias is None and model.vaes[0].to_mu.bias is not None


def test_test_refuses_a_model_saved_with_the_earlier_vae_in_one_line(data_dir, tmp_path, capsys):
    """A model file saved before the VAEs lost their log-variance bias (issue 25) does not fit this architecture:
    --test says so in one line instead of loading part of it."""
    from utils.errors import run_cli
    argv = tiny(data_dir, tmp_path, *GC, "--iters", "4", "--fc-units-gc", "10", "--eval-s", "2")
    main.run(parse(argv))
    model = next((tmp_path / "models").iterdir())
    saved = torch.load(model, weights_only=False)
    saved["model"]["vaes.0.to_logvar.bias"] = torch.zeros(saved["model"]["vaes.0.to_logvar.weight"].shape[0])
    torch.save(saved, model)
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_cli(main.main, argv + ["--test"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 1
    assert len(err.splitlines()) == 1 and "not a model saved for these options by this code's architecture" in err
