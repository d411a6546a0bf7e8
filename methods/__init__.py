"""Every component the loop can use, in the order their hooks run. A new method adds one line here."""
from methods.baselines import Cumulative, Joint
from methods.bir import BrainInspired
from methods.buffer import MemoryBuffer
from methods.ewc import FisherImportance
from methods.fromp import FROMP
from methods.gen_classifier import GenerativeClassifier
from methods.generative import GenerativeReplay
from methods.icarl import ICaRL
from methods.param_reg import ParamReg
from methods.precondition import Precondition
from methods.replay import Replay
from methods.reservoir import ReservoirBuffer
from methods.separate_networks import SeparateNetworks
from methods.si import SI
from methods.xdg import XdG

COMPONENTS = [
    Joint,
    Cumulative,
    XdG,
    SeparateNetworks,
    Replay,
    GenerativeReplay,  # its generator trains after the classifier's step, on the same batch
    BrainInspired,  # replay through feedback: the classifier is also the generator
    MemoryBuffer,  # after Replay, before ICaRL: the buffer is updated before iCaRL's class means
    ReservoirBuffer,  # (task-free experiments' buffer) after Replay: it snapshots at an update before Replay reads it
    ICaRL,
    ParamReg,
    FisherImportance,
    SI,
    Precondition,
    FROMP,
    GenerativeClassifier,
]


def enabled_components(args, components=None):
    """The components the parsed options `args` switch on, in hook order (of COMPONENTS as it is at the call)."""
    return [c for c in (COMPONENTS if components is None else components) if c.enabled(args)]
