"""Option types that check their range as they parse, so every bad value is refused by argparse with one line
naming the option (`argument --lr: invalid positive number value: 'nan'`), before anything runs.

Each is a function of the text; its __name__ is what argparse prints after 'invalid'.
"""
import math

SEED_MAX = 2 ** 32 - 1  # numpy's seeds are 32-bit


def _named(name, check):
    check.__name__ = name
    return check


def integer(low=None, high=None):
    """An int in [low, high] (either end open when None)."""
    what = ("integer" if low is None and high is None else
            f"integer >= {low}" if high is None else f"integer in [{low}, {high}]")

    def parse(text):
        value = int(text)
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(text)
        return value
    return _named(what, parse)


def number(low=None, high=None, low_open=False, high_open=False):
    """A finite float in the interval (ends open or closed; None = unbounded)."""
    def parse(text):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        if low is not None and (value < low or (low_open and value == low)):
            raise ValueError(text)
        if high is not None and (value > high or (high_open and value == high)):
            raise ValueError(text)
        return value
    left = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
    right = "" if high is None else f"{high:g}" + (")" if high_open else "]")
    name = ("finite number" if low is None and high is None else
            "positive number" if (low, low_open, high) == (0, True, None) else
            "number >= 0" if (low, low_open, high) == (0, False, None) else f"number in {left}, {right}")
    return _named(name, parse)


count = integer(1)                          # iterations, units, layers, samples
seed = integer(0, SEED_MAX)
port = integer(1, 65535)
positive = number(0, low_open=True)         # learning rates, temperatures
non_negative = number(0)                    # strengths of a penalty, momentum
probability = number(0, 1, high_open=True)  # dropout, shares of units
