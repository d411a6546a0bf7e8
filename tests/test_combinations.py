"""One place decides which methods combine (cli.options.check_combinations): every pair of the paper's methods is
accepted or refused with one message naming both, and two components claiming one hook are refused."""
import itertools

import pytest

from cli.options import check_combinations, parse
from methods.component import Component
from sweep.catalogue import PAPER_METHODS
from utils.errors import UsageError

METHODS = [m for m in PAPER_METHODS if m.flags]  # None has no flags to combine


def tokens(method):
    return [t for t in method.flags.split() if "{" not in t]


def outcome(a, b, scenario):
    """'accepted', or the refusal's message."""
    try:
        parse([*tokens(a), *tokens(b), f"--scenario={scenario}"])
        return "accepted"
    except UsageError as e:
        return str(e)


def sets_replay(method):
    return any(t.startswith("--replay=") for t in tokens(method))


PAIRS = [(a, b, s) for a, b in itertools.combinations(METHODS, 2)
         for s in a.scenarios if s in b.scenarios
         if not (sets_replay(a) and sets_replay(b))]  # '--replay=x --replay=y' is one flag given twice


@pytest.mark.parametrize("a,b,scenario", PAIRS, ids=[f"{a.name}+{b.name}-{s}" for a, b, s in PAIRS])
def test_every_pair_of_the_papers_methods_is_accepted_or_refused_naming_both(a, b, scenario):
    result = outcome(a, b, scenario)
    if result != "accepted":
        assert tokens(a)[0] in result and tokens(b)[0] in result, result
        assert "\n" not in result


def test_the_decisions_are_the_papers():
    by_name = {m.name: m for m in METHODS}
    refused = [("Generative Classifier", "EWC", "class"), ("FROMP", "ER", "class"), ("FROMP", "EWC", "class"),
               ("BI-R", "XdG", "task"), ("DGR", "Separate Networks", "task"), ("Joint", "ER", "class"),
               ("XdG", "Separate Networks", "task"), ("LwF", "A-GEM", "class"), ("BI-R", "LwF", "class"),
               ("EWC", "SI", "class"), ("FROMP", "iCaRL", "class")]
    accepted = [("EWC", "ER", "class"), ("SI", "XdG", "task"), ("BI-R", "SI", "class"), ("LwF", "EWC", "domain"),
                ("iCaRL", "SI", "class"), ("A-GEM", "XdG", "task")]
    for a, b, s in refused:
        assert outcome(by_name[a], by_name[b], s) != "accepted", (a, b)
    for a, b, s in accepted:
        assert outcome(by_name[a], by_name[b], s) == "accepted", (a, b)
    assert "--fromp" in outcome(by_name["FROMP"], by_name["iCaRL"], "class")  # not "its method is not installed"


class _Criterion(Component):
    @staticmethod
    def describe(args):
        return "--first"

    def criterion(self, scores, batch, context):
        return 0


class _OtherCriterion(_Criterion):
    @staticmethod
    def describe(args):
        return "--second"


def test_two_components_claiming_one_hook_are_refused_naming_both():
    args = parse([])
    with pytest.raises(UsageError, match=r"--first and --second cannot be combined: both replace the criterion"):
        check_combinations(args, [_Criterion, _OtherCriterion])
    check_combinations(args, [_Criterion])  # one claimant is fine


def test_a_component_outside_its_scenarios_is_refused():
    with pytest.raises(UsageError, match=r"--xdg can only be used with --scenario=task"):
        parse(["--xdg", "--scenario=class"])
