"""Build the right driver for a miner's config."""
from __future__ import annotations

from ..clock import Clock
from .config import MinerConfig
from .model import MinerDriver


def build_driver(cfg: MinerConfig, clock: Clock) -> MinerDriver:
    if cfg.driver == "simulated":
        from .simulated import SimulatedDriver
        return SimulatedDriver(cfg, clock)
    if cfg.driver == "plug":
        from .plug import PlugDriver
        return PlugDriver(cfg, clock)
    if cfg.driver == "pyasic":
        # pyasic_driver imports pyasic lazily, on the first read
        from .pyasic_driver import PyasicDriver
        driver: MinerDriver = PyasicDriver(cfg, clock)
        if cfg.power_switch is not None:
            from .plug import PlugTiming, SwitchedDriver, build_switch
            ps = cfg.power_switch
            driver = SwitchedDriver(driver, build_switch(ps, cfg.name, clock),
                                    PlugTiming(ps.boot_time, ps.standby_cut_after), clock)
        return driver
    raise ValueError(f"unknown miner driver {cfg.driver!r}")


def build_fleet(configs, clock: Clock, **fleet_options):
    """A Fleet of the enabled miners, in priority order (lower priority number first)."""
    from .fleet import Fleet
    enabled = sorted((c for c in configs if c.enabled), key=lambda c: (c.priority, c.name))
    return Fleet([build_driver(c, clock) for c in enabled], clock, **fleet_options)
