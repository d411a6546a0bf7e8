"""The pages of a sweep's pdf summary, drawn with matplotlib's object interface (no pyplot, as eval/report.py) and
written atomically by eval.report.write_pdf."""
import contextlib

from matplotlib.figure import Figure

from eval.report import write_pdf


@contextlib.contextmanager
def pdf_pages(path, title="Continual learning: summary"):
    """A list to append figures to; on leaving the block they become the pdf at `path` (complete or not at all)."""
    pages = []
    yield pages
    write_pdf(path, pages, title)


def new_figure(title, xlabel, ylabel):
    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def save_page(pages, fig):
    pages.append(fig)
