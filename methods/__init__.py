"""Every component the loop can use, in the order their hooks run. A new method adds one line here."""
from methods.baselines import Cumulative, Joint
from methods.buffer import MemoryBuffer
from methods.fromp import FROMP

COMPONENTS = [
    Joint,
    Cumulative,
    MemoryBuffer,
    FROMP,
]
