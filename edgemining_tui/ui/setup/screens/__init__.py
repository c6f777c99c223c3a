"""The setup steps, one screen each. Escape goes back a step, ctrl+n goes forward after validating.

Screens read and write ``app.state`` (a SetupState); nothing touches the disk before ReviewScreen.
All network work (connection test, entity list, live reading, scan) runs in workers that report
back by updating the screen; a failure is text on the screen, never a crash.
"""
from .base import STEPS, StepScreen
from .energy import EnergyKindScreen, SourceFormScreen
from .energy_flow import FlowScreen
from .energy_ha import HaConnectScreen, HaEntitiesScreen, SearchInput
from .miners import MinerEditScreen, MinersScreen, MinerTable
from .policy import PolicyScreen, check_rules_file
from .review import DoneScreen, ReviewScreen
from .site import SiteScreen

__all__ = ["STEPS", "DoneScreen", "EnergyKindScreen", "FlowScreen", "HaConnectScreen", "HaEntitiesScreen",
           "MinerEditScreen", "MinerTable", "MinersScreen", "PolicyScreen", "ReviewScreen", "SearchInput",
           "SiteScreen", "SourceFormScreen", "StepScreen", "check_rules_file"]
