"""Every component the loop can use, in the order their hooks run. A new method adds one line here."""
from methods.baselines import Cumulative, Joint
from methods.ewc import FisherImportance
from methods.param_reg import ParamReg
from methods.precondition import Precondition
from methods.separate_networks import SeparateNetworks
from methods.si import SI
from methods.xdg import XdG

COMPONENTS = [
    Joint,
    Cumulative,
    XdG,
    SeparateNetworks,
    ParamReg,
    FisherImportance,
    SI,
    Precondition,
]
