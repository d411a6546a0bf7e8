"""The pdf report of one run (`--pdf`): `<plot-dir>/<stamp>.pdf`, written atomically.

Pages, in order (those without data are left out):
  1. test accuracy of each context over training (on --acc-n samples, at every --acc-log iterations; with
     --eval-contexts the chosen contexts, the context switches marked)
  2. average test accuracy over the contexts trained so far, over training
  3. the final accuracy matrix R[i][j] (full test sets) as a heat-map
  4. training loss of each loss term over training (every --loss-log iterations)
  5. for a generative model, one page of its samples after each context
A task-free run starts with the stream page: the test accuracy of each context over the stream, with each context's
probability over the stream drawn beneath it.
Figures are drawn with matplotlib's object interface (no pyplot, so no display or GUI backend is involved).
"""
import io

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from utils import io as atomic_io

SIZE = (8, 5.5)


def _lines(title, xlabel, ylabel, series, ylim=None, switches=()):
    """One figure, one line per entry name: (xs, ys) of `series`; dashed vertical lines at `switches`."""
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=name)
    for k, x in enumerate(switches):
        ax.axvline(x, color="grey", linestyle="--", linewidth=1, label="context switch" if k == 0 else None)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return fig


def accuracy_pages(monitor, n_contexts, title):
    if not monitor.acc_iters:
        return []
    x = np.asarray(monitor.acc_iters)
    acc = np.full((len(x), n_contexts), np.nan)
    for k, row in enumerate(monitor.acc):
        acc[k, :len(row)] = [np.nan if a is None else a for a in row]
    per_context = {f"context {j + 1}": (x, acc[:, j]) for j in range(n_contexts) if not np.isnan(acc[:, j]).all()}
    average = {"average over contexts so far": (x, np.nanmean(acc, axis=1))}
    return [_lines(f"test accuracy per context\n{title}", "iteration", "test accuracy", per_context, (0, 1.02),
                   monitor.switches if monitor.chosen is not None else ()),
            _lines(f"average test accuracy\n{title}", "iteration", "test accuracy", average, (0, 1.02))]


def stream_page(monitor, probs, title):
    """Accuracy per context over the stream (top) above each context's probability at every iteration (bottom)."""
    fig = Figure(figsize=(8, 7))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    t = np.arange(1, probs.shape[0] + 1)
    for j in range(probs.shape[1]):
        color = f"C{j % 10}"
        if monitor is not None and monitor.acc_iters:
            top.plot(monitor.acc_iters, [row[j] for row in monitor.acc], color=color, label=f"context {j + 1}",
                     marker="o" if len(monitor.acc_iters) < 30 else None)
        bottom.plot(t, probs[:, j], color=color)
    top.set(title=f"test accuracy per context over the stream\n{title}", ylabel="test accuracy", ylim=(0, 1.02))
    top.grid(alpha=0.3)
    if top.lines:
        top.legend(fontsize="small")
    bottom.set(xlabel="iteration", ylabel="probability of context", ylim=(-0.02, 1.02))
    bottom.grid(alpha=0.3)
    return fig


def matrix_page(matrix, title):
    R = 100 * np.asarray(matrix, dtype=float)
    fig = Figure(figsize=SIZE)
    ax = fig.add_subplot()
    image = ax.imshow(R, vmin=0, vmax=100, cmap="viridis", aspect="auto")
    fig.colorbar(image, ax=ax, label="test accuracy (%)")
    ax.set(title=f"accuracy matrix R[i][j] (after phase i, on context j)\n{title}", xlabel="context j",
           ylabel="after phase i")
    ax.set_xticks(range(R.shape[1]), [str(j + 1) for j in range(R.shape[1])])
    ax.set_yticks(range(R.shape[0]), [str(i + 1) for i in range(R.shape[0])])
    if R.size <= 400:
        for (i, j), a in np.ndenumerate(R):
            ax.text(j, i, f"{a:.1f}", ha="center", va="center", fontsize="small",
                    color="black" if a > 60 else "white")
    return fig


def loss_page(monitor, title):
    if not monitor.loss:
        return None
    series = {name: ([t for t, _ in pts], [v for _, v in pts]) for name, pts in monitor.loss.items()}
    return _lines(f"training loss\n{title}", "iteration", "training loss", series)


def grid(images):
    """(n, c, h, w) in [0, 1] -> one (H, W, c) array, images in a square grid with 1-pixel gaps."""
    images = np.asarray(images)
    n, c, h, w = images.shape
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    out = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1, c))
    for k in range(n):
        r, q = divmod(k, cols)
        out[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + q * (w + 1):1 + q * (w + 1) + w] = images[k].transpose(1, 2, 0)
    return out


def sample_pages(monitor, title):
    pages = []
    for context, images in monitor.samples.items():
        fig = Figure(figsize=SIZE)
        ax = fig.add_subplot()
        g = grid(images.numpy())
        ax.imshow(g[..., 0] if g.shape[2] == 1 else g, cmap="gray", vmin=0, vmax=1, interpolation="none")
        ax.set(title=f"samples after context {context + 1}\n{title}")
        ax.axis("off")
        pages.append(fig)
    return pages


def build_pages(matrix, stamp, n_contexts, monitor=None, stream_probs=None):
    pages = [] if stream_probs is None else [stream_page(monitor, stream_probs, stamp)]
    if monitor is not None:
        pages += accuracy_pages(monitor, n_contexts, stamp)
    pages.append(matrix_page(matrix, stamp))
    if monitor is not None:
        pages += [p for p in [loss_page(monitor, stamp)] if p is not None]
        pages += sample_pages(monitor, stamp)
    return pages


def write_pdf(path, pages, title):
    """Write the figures `pages` as one pdf to `path`, complete or not at all."""
    buffer = io.BytesIO()
    with PdfPages(buffer, metadata={"Title": title}) as pdf:
        for fig in pages:
            fig.tight_layout()
            pdf.savefig(fig)
    atomic_io.write_atomic(path, lambda f: f.write(buffer.getvalue()))


def write_report(path, matrix, stamp, n_contexts, monitor=None, stream_probs=None):
    """Write the report to `path` (complete or not at all); returns the number of pages. stream_probs: [iterations,
    contexts] probability of each context over a task-free stream."""
    pages = build_pages(matrix, stamp, n_contexts, monitor, stream_probs)
    write_pdf(path, pages, f"Continual learning: {stamp}")
    return len(pages)
