"""The demo's entry point: start emulators for the config's ``demo.miners`` in the running loop.

    emus = await start_demo_emulators(cfg.demo.miners, clock)
    emus.miner_configs      # MinerConfigs for real PyasicDrivers (direct mode, ephemeral ports)
    emus.power_by_miner()   # {name: watts drawn now}, for the simulated site's meter
    await emus.close()
"""
from __future__ import annotations

from typing import Any

from ..clock import Clock
from ..miners.config import MinerConfig
from .fleet import EmulatedFleet, EmulatorSpec, start_emulators


class DemoEmulators:
    def __init__(self, handle: EmulatedFleet, clock: Clock) -> None:
        self.handle = handle
        self.clock = clock

    @property
    def miner_configs(self) -> list[MinerConfig]:
        return list(self.handle.configs)

    @property
    def miners(self):
        """name → emulator, for fault switches from the demo (e.g. a "pull the plug" key)."""
        return self.handle.miners

    def power_by_miner(self) -> dict[str, float]:
        now = self.clock.now()
        out: dict[str, float] = {}
        for name, emu in self.handle.miners.items():
            emu.model.step(now)
            out[name] = emu.model.power_w
        return out

    async def close(self) -> None:
        await self.handle.stop()


def _spec(m: Any, host: str) -> EmulatorSpec:
    family = getattr(m, "family", "braiins")
    kw: dict = {"ramp_s": float(getattr(m, "ramp", 60.0))}
    model_kw: dict = {}
    max_w = float(getattr(m, "max_w", 3250.0))
    min_w = float(getattr(m, "min_w", 1200.0))
    if family == "braiins":
        kw.update(max_w=max_w, min_w=min_w, efficiency_j_th=float(getattr(m, "efficiency_j_th", 29.5)))
    elif family == "luxos":
        # four profiles spread over the configured range, named like LuxOS presets
        step = (max_w - min_w) / 3 if max_w > min_w else 0.0
        model_kw["levels"] = tuple((n, round(min_w + i * step)) for i, n in enumerate(("-4", "-2", "default", "+2")))
        kw["efficiency_j_th"] = float(getattr(m, "efficiency_j_th", 29.5))
    # avalon and bitaxe keep their own envelopes (levels of an Avalon Q, ~18 W Bitaxe)
    return EmulatorSpec(m.name, family, host, priority=int(getattr(m, "priority", 100)),
                        model_kw=model_kw, **kw)


async def start_demo_emulators(demo_miners, clock: Clock, host: str = "127.0.0.1") -> DemoEmulators:
    handle = await start_emulators([_spec(m, host) for m in demo_miners], clock)
    return DemoEmulators(handle, clock)
