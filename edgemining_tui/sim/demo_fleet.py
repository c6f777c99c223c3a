"""Starts the demo: the simulated site behind a Home Assistant-shaped API, and the demo's miners.

Miners are emulators speaking their real protocols (driven through pyasic) when the emulator
package is present; otherwise in-process simulated miners. Either way the site sees their draw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..clock import Clock
from ..energy.config import EnergyConfig
from ..miners.config import MinerConfig, SimulatedSpec
from .demo import DemoSite, demo_ha_config


@dataclass
class DemoRuntime:
    site: DemoSite
    energy_cfg: EnergyConfig
    miner_cfgs: tuple[MinerConfig, ...]
    closers: list[Callable] = field(default_factory=list)
    emulators: Any = None

    async def close(self) -> None:
        for c in reversed(self.closers):
            try:
                await c()
            except Exception:
                pass


async def start_demo(cfg, clock: Clock, rt_offset: float = 0.0, tz_offset: float = 0.0) -> DemoRuntime:
    demo = cfg.demo
    power_fn: list[Callable[[], dict[str, float]]] = [lambda: {}]
    site = DemoSite(demo.site, clock, lambda: power_fn[0](), token=demo.ha_token,
                    time_offset_s=rt_offset, tz_offset_s=tz_offset)
    miner_cfgs: tuple[MinerConfig, ...]
    emulators = None
    try:
        from ..emulators.launcher import start_demo_emulators
    except ImportError:
        start_demo_emulators = None
    if start_demo_emulators is not None and demo.miners:
        emulators = await start_demo_emulators(demo.miners, clock)
        miner_cfgs = tuple(emulators.miner_configs)
        power_fn[0] = emulators.power_by_miner
    else:
        miner_cfgs = tuple(
            MinerConfig(name=m.name, driver="simulated", priority=m.priority,
                        simulated=SimulatedSpec(max_w=m.max_w, min_w=m.min_w, efficiency_j_th=m.efficiency_j_th,
                                                ramp=m.ramp, control="power_target" if m.min_w < m.max_w else "on_off"))
            for m in demo.miners)
    await site.start()
    rt = DemoRuntime(site, demo_ha_config(site.url, demo.ha_token), miner_cfgs, emulators=emulators)
    rt.closers.append(site.close)
    if emulators is not None:
        rt.closers.append(emulators.close)
    return rt

    
def bind_fleet_power(rt: DemoRuntime, fleet: Any) -> None:
    """Without emulators, the site learns the miners' draw from the fleet's latest samples."""
    if rt.emulators is None:
        rt.site.miners_w = lambda: {n: (s.power_w or 0.0) for n, s in fleet.samples.items()}
