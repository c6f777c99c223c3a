"""The whole config file: site, energy, miners, policy, demo, ui. Each concern owns its section's types."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..econ.config import EconomicsConfig
from ..energy.config import EnergyConfig
from ..heat.config import HeatConfig
from ..miners.config import MinerConfig
from ..sim.site import SimSiteConfig
from .types import Duration
from ..store.config import HistoryConfig      # issue 9: history retention
from ..notify.config import NotifyConfig      # issue 9: notifications

try:  # the allocator's config lands with the policy package
    from ..policy.config import PolicyConfig
except ImportError:  # pragma: no cover - only while the policy package is incomplete
    @dataclass(frozen=True)
    class PolicyConfig:  # type: ignore[no-redef]
        mode: str = "surplus"
        headroom_w: float = 100.0


@dataclass(frozen=True)
class SiteConfig:
    name: str = "My site"
    timezone: str = "UTC"
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    cycle_interval: Duration = 5.0
    stale_after: Duration = 30.0
    data_dir: Optional[str] = None
    observe_only: bool = False

    def validate(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r} (expected e.g. Europe/Berlin)")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise ValueError("latitude: expected -90..90")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise ValueError("longitude: expected -180..180")
        if not 0.2 <= self.cycle_interval <= 600:
            raise ValueError("cycle_interval: expected between 0.2 s and 10 min")


@dataclass(frozen=True)
class DemoMiner:
    """A demo miner: an emulator speaking a real protocol, driven through pyasic."""

    name: str
    family: str = "braiins"       # braiins | luxos | avalon | bitaxe
    priority: int = 100
    max_w: float = 3250.0
    min_w: float = 1200.0
    efficiency_j_th: float = 29.5
    ramp: Duration = 60.0


@dataclass(frozen=True)
class DemoConfig:
    site: SimSiteConfig = field(default_factory=SimSiteConfig)
    miners: tuple[DemoMiner, ...] = ()
    ha_token: str = "demo-token"
    # start the simulated day at this local hour so the demo shows sun whenever it is run
    start_hour: Optional[float] = 11.0
    speed: float = 1.0            # >1 runs the simulated site faster than real time


@dataclass(frozen=True)
class UiConfig:
    theme: str = "edgemining-dark"
    refresh_interval: Duration = 1.0
    mouse: bool = True
    animations: bool = True
    keymap: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AppConfig:
    site: SiteConfig = field(default_factory=SiteConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    miners: tuple[MinerConfig, ...] = ()
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    heat: HeatConfig = field(default_factory=HeatConfig)
    economics: EconomicsConfig = field(default_factory=EconomicsConfig)
    demo: Optional[DemoConfig] = None
    ui: UiConfig = field(default_factory=UiConfig)
    # issue 9: reliability and security
    history: HistoryConfig = field(default_factory=HistoryConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    secrets_file: Optional[str] = None   # KEY=VALUE file for ${NAME}; read by config/__init__.py

    def validate(self) -> None:
        names = [m.name for m in self.miners]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"miners: duplicate miner name {sorted(dup)[0]!r}")
        known = set(names) | {m.name for m in (self.demo.miners if self.demo else ())}
        for z in self.heat.zones:
            for m in z.miners:
                if m not in known:
                    raise ValueError(f"heat: zone {z.name!r} names miner {m!r}, which is not configured")
            if z.sensor.kind == "home_assistant" and self.energy.home_assistant is None \
                    and self.energy.source != "demo":
                raise ValueError(f"heat: zone {z.name!r} reads Home Assistant, but energy.home_assistant "
                                 "is not configured")
        for where, vic in self.energy.victron_sections():
            if vic.keepalive > self.site.stale_after / 2:
                raise ValueError(f"{where}.keepalive: {vic.keepalive:g}s is more than half of site.stale_after "
                                 f"({self.site.stale_after:g}s): values would go stale between two full "
                                 f"publishes; set keepalive: {self.site.stale_after / 2:g}s or less")
        if self.policy.battery.reserve == "forecast":
            if self.site.latitude is None or self.site.longitude is None:
                raise ValueError("policy: battery.reserve: forecast needs site.latitude and site.longitude "
                                 "(it spreads the forecast between sunrise and sunset)")
            if not self.energy.gives_forecast_today():
                raise ValueError("policy: battery.reserve: forecast needs the PV forecast for the rest of "
                                 "today: set forecast_energy_today_remaining in energy.home_assistant (or "
                                 "mqtt), e.g. sensor.energy_production_today_remaining from Forecast.Solar")
        if self.energy.source == "demo" and self.demo is None:
            raise ValueError("energy: no energy source configured (set energy.source, e.g. home_assistant, "
                             "see config.example.yaml; or try --demo)")

    def data_dir(self) -> Path:
        if self.site.data_dir:
            return Path(os.path.expanduser(self.site.data_dir))
        return default_data_dir()


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "edgemining-tui" / "config.yaml"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "edgemining-tui"
