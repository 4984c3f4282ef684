"""OpenSCENARIO 1.x (ASAM) scenarios, simulator-free: parameters and ``${...}`` expressions, catalogs,
the storyboard model, the reader of concrete scenarios and the expansion of logical ones.

Executing a storyboard in a simulator is :mod:`cav_stack.sim.storyboard_runner`; converting the
OpenDRIVE road for SUMO is :mod:`cav_stack.sim.network_build`.
"""
from cav_stack.world.openscenario.reader import (OpenScenarioError, UnsupportedElementError, read_scenario)

__all__ = ["OpenScenarioError", "UnsupportedElementError", "read_scenario"]
