"""The built-in demo site: the simulated site served as Home Assistant on loopback, plus miners.

The site steps once a second of the clock, when it is read (not on a timer of its own: a second
wake-up every second in the console it runs in); the miners' real draw (whatever drives them) is
fed back into the grid reading, so the console sees its own decisions in the energy flow.
"""
from __future__ import annotations

import logging
from typing import Callable

from ..clock import Clock
from ..energy.config import EnergyConfig, EntityRef, HomeAssistantConfig
from ..config.types import Secret
from .ha_server import HomeAssistantServer
from .site import SimSite, SimSiteConfig
from .state import SiteState

log = logging.getLogger("edgemining_tui.demo")

# after a long gap (a suspended laptop) the site catches up in one long step, as the timer did
MAX_CATCH_UP = 120


def demo_ha_config(url: str, token: str) -> EnergyConfig:
    """How a user would configure these entities: the battery sensor is kW and + discharging."""
    return EnergyConfig(source="home_assistant", home_assistant=HomeAssistantConfig(
        url=url, token=Secret(token),
        pv=EntityRef("sensor.pv_power"), house=EntityRef("sensor.house_power"),
        grid=EntityRef("sensor.grid_power"), battery=EntityRef("sensor.battery_power", invert=True),
        soc=EntityRef("sensor.battery_soc"),
        forecast_power_now=EntityRef("sensor.solar_forecast_power_now"),
        forecast_energy_next_hour=EntityRef("sensor.solar_forecast_energy_next_hour"),
        forecast_energy_today_remaining=EntityRef("sensor.solar_forecast_energy_today_remaining")))


class DemoSite:
    def __init__(self, cfg: SimSiteConfig, clock: Clock, miners_w: Callable[[], dict[str, float]],
                 token: str = "demo-token", time_offset_s: float = 0.0, tick_s: float = 1.0,
                 tz_offset_s: float = 0.0) -> None:
        self.site = SimSite(cfg, tz_offset_s=tz_offset_s)
        self.clock = clock
        self.miners_w = miners_w
        self.time_offset_s = time_offset_s   # shifts the simulated day so the demo has sun
        self.tick_s = tick_s
        self.zones: dict[str, tuple[str, ...]] = {}
        self.server = HomeAssistantServer(self.current, token=token)

    def add_zone(self, name: str, miners: tuple[str, ...], room) -> str:
        """A simulated room heated by ``miners``; served as ``sensor.<name>_temperature``."""
        self.site.add_room(name, room)
        self.zones[name] = tuple(miners)
        entity = f"sensor.{name.lower().replace(' ', '_')}_temperature"
        self.server.entities[entity] = (f"{name} temperature", "°C", "temperature",
                                        lambda s, n=name: s.rooms_c.get(n, float("nan")))
        if self.site.state is not None:     # the room is in the state from now on, not after a tick
            self.step(self.site.state.ts)
        return entity

    def sim_time(self) -> float:
        return self.clock.now() + self.time_offset_s

    def current(self) -> SiteState:
        """The site as of now. Read at least half a tick after the last step, it steps up to now in
        strides of ``tick_s`` (the first as long as it must be, at most ``MAX_CATCH_UP`` in all), so a reader
        every 5 s sees the battery and rooms moved as a step every second moved them."""
        st = self.site.state
        if st is None:
            return self.step()
        now = self.sim_time()
        behind = now - st.ts
        if behind < 0.5 * self.tick_s and behind >= 0.0:
            return st
        strides = min(int(behind / self.tick_s), MAX_CATCH_UP) if behind > 0 else 0
        try:
            for k in range(strides - 1, 0, -1):
                self.step(now - k * self.tick_s)
            return self.step(now)
        except Exception:   # the demo's readings stay as they were; the console goes on
            log.exception("demo site step failed")
            return self.site.state or st

    def step(self, at: float | None = None) -> SiteState:
        try:
            per_miner = dict(self.miners_w())
        except Exception:
            per_miner = {}
        zone_w = {z: sum(per_miner.get(m, 0.0) for m in ms) for z, ms in self.zones.items()}
        return self.site.step(self.sim_time() if at is None else at, sum(per_miner.values()), zone_w)

    async def start(self) -> "DemoSite":
        self.step()
        await self.server.start()
        return self

    async def close(self) -> None:
        await self.server.close()

    @property
    def url(self) -> str:
        return self.server.url
