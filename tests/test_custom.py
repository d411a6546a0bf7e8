"""Your own data (--experiment=custom): an .npz file or an image folder, through ./main.py and ./compare.py, and one
line with exit code 1 for every kind of bad input."""
import json

import numpy as np
import pytest
from PIL import Image

import main
from data.benchmarks import custom
from tests.conftest import run_script
from utils.errors import run_cli

CLASSES = 4


def toy_images(labels, size=12, channels=None, rng=None):
    """A bright block per class on noise: learnable in a few iterations."""
    rng = rng or np.random.default_rng(0)
    shape = (len(labels), size, size) + ((channels,) if channels else ())
    x = rng.integers(0, 60, size=shape, dtype=np.uint8)
    for k, label in enumerate(labels):
        x[k, 2 * label:2 * label + 3, 2 * label:2 * label + 3] = 255
    return x


def write_npz(path, channels=None, float_images=False, **override):
    y_train, y_test = np.repeat(np.arange(CLASSES), 30), np.repeat(np.arange(CLASSES), 8)
    arrays = {"x_train": toy_images(y_train, channels=channels), "y_train": y_train,
              "x_test": toy_images(y_test, channels=channels), "y_test": y_test}
    if float_images:
        arrays["x_train"] = arrays["x_train"].astype(np.float32) / 255
        arrays["x_test"] = arrays["x_test"].astype(np.float32) / 255
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return str(path)


def write_folder(root, mode="L", size=12):
    for split, n in (("train", 12), ("test", 4)):
        for label in range(CLASSES):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for k, image in enumerate(toy_images([label] * n, size=size)):
                Image.fromarray(image, "L").convert(mode).save(folder / f"{k}.png")
    return str(root)


def options(tmp_path, *extra):
    return ["--experiment=custom", "--results-dir", str(tmp_path / "results"), "--iters=30", "--batch=16",
            "--fc-units=30", "--quiet", "--no-save", "--contexts=2", *extra]


def record(tmp_path):
    (path,) = (tmp_path / "results").glob("*.json")
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["nhwc-rgb", "nchw-float", "nhw"])
def test_npz_layouts_run_and_record_the_normalisation(tmp_path, layout):
    if layout == "nhwc-rgb":
        path = write_npz(tmp_path / "d.npz", channels=3)
    elif layout == "nchw-float":
        y = np.repeat(np.arange(CLASSES), 30)
        x = toy_images(y)[:, None].astype(np.float32) / 255
        yt = np.repeat(np.arange(CLASSES), 8)
        path = write_npz(tmp_path / "d.npz", x_train=x, y_train=y, x_test=toy_images(yt)[:, None] / 255.0,
                         y_test=yt)
    else:
        path = write_npz(tmp_path / "d.npz")
    assert run_cli(main.main, options(tmp_path, f"--data-file={path}", "--scenario=class")) == 0
    result = record(tmp_path)
    channels = 3 if layout == "nhwc-rgb" else 1
    assert len(result["normalisation"]["mean"]) == channels
    assert result["stamp"].startswith("custom2-d") and result["average_accuracy"] > 0.45  # learns (chance 0.25)


@pytest.mark.slow
def test_the_stamp_changes_with_the_data(tmp_path):
    a = write_npz(tmp_path / "d.npz")
    first = main.run(main.parse(options(tmp_path, f"--data-file={a}")))["stamp"]
    write_npz(tmp_path / "d.npz", y_test=np.repeat(np.arange(CLASSES), 8)[::-1].copy())
    second = main.run(main.parse(options(tmp_path, f"--data-file={a}")))["stamp"]
    assert first != second


@pytest.mark.slow
def test_image_folder_is_decoded_once_into_a_cache(tmp_path, monkeypatch):
    folder = write_folder(tmp_path / "imgs")
    assert run_cli(main.main, options(tmp_path, f"--image-folder={folder}", "--scenario=task")) == 0
    assert len(list((tmp_path / "imgs").glob(".cl-cache-*.pt"))) == 1
    custom.load.cache_clear()
    custom.describe.cache_clear()
    monkeypatch.setattr(custom, "decode", lambda *a: pytest.fail("decoded again"))
    assert run_cli(main.main, options(tmp_path / "again", f"--image-folder={folder}", "--scenario=task")) == 0
    monkeypatch.undo()
    Image.fromarray(toy_images([0])[0]).save(tmp_path / "imgs" / "train" / "class0" / "new.png")  # changed
    custom.load.cache_clear()
    decoded = []
    original = custom.decode
    monkeypatch.setattr(custom, "decode", lambda *a: decoded.append(1) or original(*a))
    assert run_cli(main.main, options(tmp_path / "third", f"--image-folder={folder}", "--scenario=task")) == 0
    assert decoded


def test_colour_images_give_three_channels(tmp_path):
    folder = write_folder(tmp_path / "imgs", mode="RGB")
    x_train = custom.load(folder, *custom.stat_key(folder))[0]
    assert x_train.shape[1:] == (3, 12, 12)


@pytest.mark.slow
def test_compare_runs_on_own_data(tmp_path):
    path = write_npz(tmp_path / "d.npz")
    out = run_script("compare.py", "--experiment=custom", f"--data-file={path}", "--contexts=2", "--iters=20",
                     "--batch=16", "--fc-units=20", "--methods=None,SI,ER", "--workers=1", "--no-save",
                     "--results-dir", str(tmp_path / "results"), "--plot-dir", str(tmp_path / "plots"))
    assert out.returncode == 0, out.stderr
    assert "None" in out.stdout and "ER" in out.stdout
    assert len(list((tmp_path / "results").glob("custom2-d*.json"))) == 3


def bad_npz(tmp_path, **override):
    return [f"--data-file={write_npz(tmp_path / 'bad.npz', **override)}"]


def bad_folder(tmp_path, damage):
    folder = write_folder(tmp_path / "imgs")
    damage(tmp_path / "imgs")
    return [f"--image-folder={folder}"]


def empty_class(root):
    for f in (root / "train" / "class2").iterdir():
        f.unlink()


def unreadable(root):
    (root / "train" / "class1" / "0.png").write_bytes(b"not a png")


def odd_size(root):
    Image.fromarray(np.zeros((12, 10), np.uint8)).save(root / "train" / "class1" / "odd.png")


def no_test_class(root):
    for f in (root / "test" / "class3").iterdir():
        f.unlink()
    (root / "test" / "class3").rmdir()


@pytest.mark.parametrize("make, line", [
    (lambda p: bad_npz(p, y_test=None), "bad.npz lacks y_test"),
    (lambda p: bad_npz(p, y_train=np.arange(5)), "x_train has 120 images but y_train 5 labels"),
    (lambda p: bad_npz(p, y_test=np.full(32, 7)), "labels must be 0..3"),
    (lambda p: bad_npz(p, y_test=np.repeat(np.arange(3), 8), x_test=toy_images(np.repeat(np.arange(3), 8))),
     "class 3 has no test images"),
    (lambda p: bad_folder(p, empty_class), "class2 holds no images"),
    (lambda p: bad_folder(p, unreadable), "cannot read image"),
    (lambda p: bad_folder(p, odd_size), "odd.png is 10x12 pixels"),
    (lambda p: bad_folder(p, no_test_class), "class class3 has no test images"),
])
def test_bad_input_is_one_line_naming_the_problem(tmp_path, capsys, make, line):
    custom.load.cache_clear()
    custom.describe.cache_clear()
    with pytest.raises(SystemExit) as exit_:
        run_cli(main.main, options(tmp_path, *make(tmp_path)))
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 1 and len(err) == 1 and line in err[0], err


def test_a_split_that_does_not_divide_the_classes_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(main.main, options(tmp_path, f"--data-file={write_npz(tmp_path / 'd.npz')}", "--contexts=3"))
    assert exit_.value.code == 2
    assert "--contexts=3 does not divide the 4 classes" in capsys.readouterr().err
