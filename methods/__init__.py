"""Every component the loop can use, in the order their hooks run. A new method adds one line here."""
from methods.baselines import Cumulative, Joint
from methods.buffer import MemoryBuffer
from methods.icarl import ICaRL
from methods.replay import Replay

COMPONENTS = [
    Joint,
    Cumulative,
    Replay,
    MemoryBuffer,
    ICaRL,
]
