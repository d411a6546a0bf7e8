"""Every component the loop can use. A new method adds one line to COMPONENTS.

COMPONENTS is also the order in which the loop calls each hook (methods/component.py), the order of the parts of
the parameter stamp, and the order in which `expand` runs and in which check_combinations meets pairs. Position
matters where two components use the same hook and one needs the other's result, or where the order of random
draws or of summed loss terms fixes the numbers:
- Joint, Cumulative first: their training_set / plan decide what the others see.
- LwF and A-GEM before ER: a refusal involving --agem or --lwf names that flag (pairs are met in this order), and
  A-GEM's before_step (the projection) runs before FROMP's clipping and the preconditioning.
- ER, GenerativeReplay (DGR), BrainInspired: the replay sources, in the order they draw their replayed batches
  (replay_batch) and add their terms; DGR's generator takes its step in after_iteration, after the classifier's.
- MemoryBuffer (switched on by --add-buffer or by ER's and iCaRL's need of "memory") after the replay sources and
  before ICaRL: it is filled at the end of a context (after_context) before iCaRL computes its class means from
  it; ReservoirBuffer after ER: it adds the batch in after_iteration, after the step, and snapshots at a
  consolidation event before ER reads it in before_context.
- FisherImportance before Precondition: NCL preconditions with the Fisher estimated at the end of the last context.
  ParamReg (no hooks) after SI, FisherImportance and Precondition: its set_defaults gives --reg-strength its fallback
  after theirs gave --si's or --ewc's strength; its stamp segment lands in the same place (theirs are empty).
- The common options (methods/common.py) where their groups stand in --help, each before the components that add
  their own flags to its group (MemoryBuffer's --add-buffer; the Fisher's and SI's flags).
- FROMP after the penalties (its before_step clips the total gradient); GenerativeClassifier last.
"""
from methods.agem import AGEM
from methods.baselines import Cumulative, Joint
from methods.bir import BrainInspired
from methods.buffer import MemoryBuffer
from methods.common import MemoryOptions, ParamRegOptions, ReplayOptions
from methods.er import ER
from methods.ewc import FisherImportance
from methods.fromp import FROMP
from methods.gen_classifier import GenerativeClassifier
from methods.generative import GenerativeReplay
from methods.icarl import ICaRL
from methods.lwf import LwF
from methods.param_reg import ParamReg
from methods.precondition import Precondition
from methods.reservoir import ReservoirBuffer
from methods.separate_networks import SeparateNetworks
from methods.si import SI
from methods.xdg import XdG

COMPONENTS = [
    Joint,
    Cumulative,
    XdG,
    SeparateNetworks,
    ReplayOptions,  # (common options, methods/common.py: never enabled, here for the place of their --help group)
    LwF,
    AGEM,
    ER,
    GenerativeReplay,
    BrainInspired,
    MemoryOptions,
    MemoryBuffer,
    ReservoirBuffer,
    ICaRL,
    ParamRegOptions,
    FisherImportance,
    SI,
    Precondition,
    ParamReg,
    FROMP,
    GenerativeClassifier,
]


def enabled_components(args, components=None):
    """The components the parsed options `args` switch on, and for what they need (Component.needs) the first
    provider that runs in this mode (academic or task-free); in hook order (of COMPONENTS as it is at the call),
    without those an enabled component `replaces`."""
    components = COMPONENTS if components is None else components
    on = [c for c in components if c.enabled(args)]
    for need in dict.fromkeys(n for c in on for n in c.needs(args)):
        if not any(need in c.provides for c in on):
            on += [c for c in components if need in c.provides and runs_in_mode(c, args)][:1]
    replaced = {name for c in on for name in c.replaces}
    return [c for c in components if c in on and c.__name__ not in replaced]


def runs_in_mode(component, args):
    """Whether `component` runs in this run's mode: a task-free stream (Component.streams) or the academic
    setting (Component.supports_academic)."""
    return component.streams(args) if args.task_free else component.supports_academic


def describe(component, args, enabled):
    """How a usage message names an enabled component: as the first enabled component that needs what it provides
    (the memory buffer: as --icarl or --replay=buffer), else by its own flags (Component.describe)."""
    users = [c for c in enabled if set(c.needs(args)) & set(component.provides)]
    return users[0].describe(args) if users else component.describe(args)


def shared_values(args, components=None):
    """{dest: value} of the shared options whose value an enabled component decides (Component.shared_values;
    components: those enabled, default: by `args`), the first deciding one's where several would."""
    components = enabled_components(args) if components is None else components
    values = {}
    for c in components:
        values = {**{d: v for d, v in c.shared_values(args).items() if v is not None}, **values}
    return values


def record_marks(args, components=None):
    """{field: value} a record of a run with these options carries (Component.record_marks of the components it
    enables, default: by `args`)."""
    components = enabled_components(args) if components is None else components
    return {k: v for c in components for k, v in c.record_marks.items()}


def stream_methods(components=None):
    """What ./main_task_free.py accepts, for its usage messages: the components that declare a stream_label."""
    labels = [c.stream_label for c in (COMPONENTS if components is None else components)
              if c.supports_stream and c.stream_label]
    return ", ".join(["None (no method flag)"] + labels)
