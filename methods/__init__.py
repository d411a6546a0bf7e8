"""Every component the loop can use, in the order their hooks run. A new method adds one line here."""
from methods.baselines import Cumulative, Joint
from methods.separate_networks import SeparateNetworks
from methods.xdg import XdG

COMPONENTS = [
    Joint,
    Cumulative,
    XdG,
    SeparateNetworks,
]
