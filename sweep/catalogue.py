"""The methods of the paper's comparisons, as a user selects them on ./main.py's command line.

A method whose flags ./main.py does not (yet) accept is left out of a sweep with one printed note, so the lists can
name methods before they are implemented.
"""
from dataclasses import dataclass

SCENARIOS = ("task", "domain", "class")


@dataclass(frozen=True)
class Method:
    """One entry of a comparison.

    flags: what follows ./main.py to select the method, as a user types it. '{name}' fields are filled from the
    parsed shared options (plus 'iters_all' = iters x contexts, and 'value' / 'budget' in grids).
    owns: options of compare.py that go only to this method's runs (e.g. EWC's --lambda).
    drop: the compare.py option that leaves it out (e.g. 'no_reg' for --no-reg).
    """
    name: str
    flags: str = ""
    scenarios: tuple = SCENARIOS
    drop: str = None
    owns: tuple = ()
    color: str = "C0"


# The paper's comparison (GMvandeVen/continual-learning, compare.py), in its order.
PAPER_METHODS = [
    Method("None", "", color="grey"),
    Method("Joint", "--joint --iters={iters_all}", color="black"),
    Method("Separate Networks", "--separate-networks", ("task",), "no_context_spec", color="dodgerblue"),
    Method("XdG", "--xdg", ("task",), "no_context_spec", color="deepskyblue"),
    Method("EWC", "--ewc", drop="no_reg", owns=("--lambda",), color="darkgreen"),
    Method("SI", "--si", drop="no_reg", owns=("--c",), color="yellowgreen"),
    Method("LwF", "--lwf", color="gold"),
    Method("FROMP", "--fromp", drop="no_fromp", owns=("--tau",), color="goldenrod"),
    Method("DGR", "--replay=generative", color="indianred"),
    Method("BI-R", "--brain-inspired", drop="no_bir", color="lightcoral"),
    Method("ER", "--replay=buffer", color="red"),
    Method("A-GEM", "--agem", drop="no_agem", color="orangered"),
    Method("iCaRL", "--icarl --active-classes=all-so-far", ("class",), color="purple"),
    Method("Generative Classifier", "--gen-classifier", ("class",), owns=("--eval-s",), color="indigo"),
]

# The paper's task-free comparison (its compare_task_free.py), as ./main_task_free.py flags, in its order. Joint is
# the random stream; ER, A-GEM and iCaRL update their replay source every --replay-update iterations (the paper's
# default 1), the other methods every --update-every.
TASK_FREE_METHODS = [
    Method("None", "", color="grey"),
    Method("Joint", "--joint", color="black"),
    Method("Separate Networks", "--separate-networks", ("task",), "no_context_spec", color="dodgerblue"),
    Method("XdG", "--xdg", ("task",), "no_context_spec", color="deepskyblue"),
    Method("SI", "--si", drop="no_si", owns=("--c",), color="yellowgreen"),
    Method("LwF", "--lwf", color="gold"),
    Method("ER", "--replay=buffer --update-every={replay_update}", color="red"),
    Method("A-GEM", "--agem --update-every={replay_update}", drop="no_agem", color="orangered"),
    Method("iCaRL", "--icarl --update-every={replay_update}", ("class",), color="purple"),
    Method("Generative Classifier", "--gen-classifier", ("class",), color="indigo"),
]

DROP_HELP = {
    "no_context_spec": "no XdG or Separate Networks",
    "no_xdg": "no XdG",
    "no_reg": "no EWC or SI",
    "no_si": "no SI",
    "no_fromp": "no FROMP",
    "no_bir": "no BI-R",
    "no_agem": "no A-GEM",
}


def applies(method, scenario, sweep_args):
    chosen = getattr(sweep_args, "methods", None)
    return (scenario in method.scenarios and not (method.drop and getattr(sweep_args, method.drop, False))
            and (not chosen or method.name in chosen))
