"""Build the right driver for a miner's config."""
from __future__ import annotations

from ..clock import Clock
from .config import MinerConfig
from .model import MinerDriver


def build_driver(cfg: MinerConfig, clock: Clock) -> MinerDriver:
    if cfg.driver == "simulated":
        from .simulated import SimulatedDriver
        return SimulatedDriver(cfg, clock)
    if cfg.driver == "pyasic":
        # pyasic_driver imports pyasic lazily, on the first read
        from .pyasic_driver import PyasicDriver
        return PyasicDriver(cfg, clock)
    raise ValueError(f"unknown miner driver {cfg.driver!r}")


def build_fleet(configs, clock: Clock, **fleet_options):
    """A Fleet of the enabled miners, in priority order (lower priority number first)."""
    from .fleet import Fleet
    enabled = sorted((c for c in configs if c.enabled), key=lambda c: (c.priority, c.name))
    return Fleet([build_driver(c, clock) for c in enabled], clock, **fleet_options)
