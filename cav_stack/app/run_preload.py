"""What every campaign run needs before it starts, loaded once in the campaign's fork server.

:class:`cav_stack.app.campaign.ForkServerEngine` forks each run's process from a server that has
imported this module, so the imports (~1.5 s: the runner, the stack's nodes, CasADi, libsumo,
matplotlib) and the compiled ASN.1 specifications (~1 s) are paid once per campaign instead of
once per run. Every run still gets a process of its own (libsumo holds one simulation per
process) and nothing here starts a simulation, a solver or a thread.
"""
import matplotlib

matplotlib.use("Agg")

import casadi  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import sumolib  # noqa: E402,F401

from cav_stack.app import runner  # noqa: E402,F401
from cav_stack.nodes import mode_selector_node, mpc_controller_node, route_planner_node  # noqa: E402,F401
from cav_stack.v2x import codec, ieee1609dot2  # noqa: E402

try:
    import libsumo  # noqa: F401
except ImportError:  # the runner falls back to traci and says so
    pass

codec.compiled_modules()
ieee1609dot2.spec()
