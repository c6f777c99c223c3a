"""The whole config file: site, energy, miners, policy, demo, ui. Each concern owns its section's types."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..econ.config import EconomicsConfig
from ..energy.config import EnergyConfig
from ..forecast.solar import PvArray
from ..heat.config import HeatConfig
from ..miners.config import MinerConfig
from ..sim.site import SimSiteConfig
from .types import Duration, Power, bounded
from ..store.config import HistoryConfig      # issue 9: history retention
from ..notify.config import NotifyConfig      # issue 9: notifications
from ..homebus.config import MqttPublishConfig   # the site and fleet on an MQTT broker

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
    stale_after: bounded(Duration, 0, 3600, above=True) = 30.0
    # a pushed value (Home Assistant WebSocket, MQTT) that moves by this much decides at once,
    # not at the next cycle; 0 turns it off
    push_threshold: bounded(Power, 0, 1_000_000) = 150.0
    data_dir: Optional[str] = None
    observe_only: bool = False
    # the PV array, for the built-in forecast (forecast/builtin.py): peak (kWp), tilt, azimuth;
    # unset keys are learnt from what the site produces
    pv_array: Optional[PvArray] = None
    # the grid connection's contracted power, for Edge Mining's energy_source.grid.contracted_power
    contracted_power: Optional[bounded(Power, 0, 10_000_000, above=True)] = None
    # a request from an observer (the inbox) older than this is dropped, never applied (issue 16)
    request_expiry: bounded(Duration, 5, 86400) = 120.0

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
    priority: bounded(int, -1_000_000, 1_000_000) = 100
    max_w: bounded(float, 0, 100_000, above=True, unit=" W") = 3250.0
    min_w: bounded(float, 0, 100_000, unit=" W") = 1200.0
    efficiency_j_th: bounded(float, 1, 1000) = 29.5
    ramp: bounded(Duration, 0, 3600) = 60.0

    def validate(self) -> None:
        if self.min_w > self.max_w:
            raise ValueError(f"min_w: {self.min_w:g} W is above max_w {self.max_w:g} W")


@dataclass(frozen=True)
class DemoConfig:
    site: SimSiteConfig = field(default_factory=SimSiteConfig)
    miners: tuple[DemoMiner, ...] = ()
    ha_token: str = "demo-token"
    # start the simulated day at this local hour so the demo shows sun whenever it is run
    start_hour: Optional[bounded(float, 0, 24)] = 11.0
    speed: bounded(float, 0, 10_000, above=True) = 1.0            # >1 runs the simulated site faster than real time


@dataclass(frozen=True)
class UiConfig:
    theme: str = "edgemining-dark"
    refresh_interval: bounded(Duration, 0.1, 60) = 1.0
    mouse: bool = True
    animations: bool = True
    keymap: dict[str, str] = field(default_factory=dict)
    # sites to watch through the broker named in mqtt_publish (their owners publish there);
    # S switches between them
    sites: tuple[str, ...] = ()


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
    mqtt_publish: MqttPublishConfig = field(default_factory=MqttPublishConfig)
    secrets_file: Optional[str] = None   # KEY=VALUE file for ${NAME}; read by config/__init__.py

    def problems(self):
        """Every problem between sections, as (path, message): names and hosts used twice, and
        references to miners, sources and pools that are not configured."""
        names = [m.name for m in self.miners]
        seen: dict[str, int] = {}
        for i, n in enumerate(names):
            if n in seen:
                yield ("miners", i, "name"), f"duplicate miner name {n!r} (also miners[{seen[n]}])"
            seen.setdefault(n, i)
        hosts: dict[tuple, int] = {}
        for i, m in enumerate(self.miners):
            if m.driver != "pyasic" or not m.host:
                continue
            ports = m.ports
            key = (m.host, ports.rpc if ports else None, ports.grpc if ports else None, ports.web if ports else None)
            if key in hosts:
                yield ("miners", i, "host"), (f"{m.host} is also miners[{hosts[key]}] "
                                               f"({self.miners[hosts[key]].name!r}): two miners on one host "
                                               "would both command the same machine")
            hosts.setdefault(key, i)
        demo_names = [m.name for m in (self.demo.miners if self.demo else ())]
        for i, n in enumerate(demo_names):
            if n in seen:
                yield ("demo", "miners", i, "name"), f"miner name {n!r} is used by miners[{seen[n]}] too"
            elif demo_names.index(n) != i:
                yield ("demo", "miners", i, "name"), f"duplicate demo miner name {n!r}"
        known = set(names) | set(demo_names)
        known_txt = ", ".join(sorted(known)) or "no miners are configured"
        for section in ("groups", "miners"):
            for name in getattr(self.policy, section):
                if name not in known:
                    yield ("policy", section, name), f"names miner {name!r}, which is not configured ({known_txt})"
        for name in self.economics.miner_efficiency:
            if name not in known:
                yield ("economics", "miner_efficiency", name), \
                    f"names miner {name!r}, which is not configured ({known_txt})"
        for i, z in enumerate(self.heat.zones):
            for j, m in enumerate(z.miners):
                if m not in known:
                    yield ("heat", "zones", i, "miners", j), \
                        f"zone {z.name!r} names miner {m!r}, which is not configured ({known_txt})"
            if z.sensor.kind == "home_assistant" and self.energy.home_assistant is None \
                    and self.energy.source != "demo":
                yield ("heat", "zones", i, "sensor"), (f"zone {z.name!r} reads Home Assistant, but "
                                                       "energy.home_assistant is not configured")
        for i, m in enumerate(self.miners):
            for key in ("plug", "power_switch"):
                pc = getattr(m, key)
                if pc is not None and pc.kind == "home_assistant" and not (pc.url and pc.token) \
                        and self.energy.home_assistant is None:
                    yield ("miners", i, key), (f"miner {m.name!r}: a Home Assistant plug needs url and token "
                                               "(or energy.home_assistant to borrow them from)")
        for where, vic in self.energy.victron_sections():
            if vic.keepalive > self.site.stale_after / 2:
                yield tuple(where.split(".")) + ("keepalive",), (
                    f"{vic.keepalive:g}s is more than half of site.stale_after ({self.site.stale_after:g}s): "
                    f"values would go stale between two full publishes; set keepalive: "
                    f"{self.site.stale_after / 2:g}s or less")
        if self.policy.battery.reserve == "forecast":
            if self.site.latitude is None or self.site.longitude is None:
                yield ("policy", "battery", "reserve"), ("forecast needs site.latitude and site.longitude "
                                                         "(it spreads the forecast between sunrise and sunset)")
            # without a forecast sensor the built-in forecast (forecast/builtin.py) gives it
        if self.energy.source == "demo" and not self.energy.composed and self.demo is None:
            yield ("energy",), ("no energy source configured (set energy.source, e.g. home_assistant, "
                                "see config.example.yaml; or try --demo)")

    def warnings(self):
        """What works but is probably not meant, as (path, message); ``check --strict`` refuses it."""
        modes = {self.policy.mode, *self.policy.groups.values()}
        if "rules" in modes and not self.policy.rules_file:
            yield (("policy", "mode") if self.policy.mode == "rules" else ("policy", "groups"),
                   "miners in rules mode are left alone (not automated): no policy.rules_file is given")
        for i, z in enumerate(self.heat.zones):
            if z.sensor.kind == "mqtt":
                yield ("heat", "zones", i, "sensor"), (f"zone {z.name!r}: MQTT temperature sensors are not read "
                                                       "yet, so its temperature stays unknown")
            elif z.sensor.kind == "simulated" and self.demo is None:
                yield ("heat", "zones", i), (f"zone {z.name!r} has no sensor (simulated runs only in the demo "
                                             "and the backtest): its temperature stays unknown")

    def start_problems(self):
        """What a live start would refuse when it builds the energy source (energy/factory.py); not
        asked of a backtest, whose energy is the simulated site."""
        import importlib.util
        e = self.energy
        if e.source == "composite" and not e.sources:
            yield ("energy", "source"), "composite needs sources: (named sources and use:)"
        kinds = {n: sc.kind for n, sc in e.sources.items()} if e.sources else {e.source: e.source}
        for name, kind in kinds.items():
            where = ("energy", "sources", name) if e.sources else ("energy", "source")
            if kind == "sim" and self.demo is None:
                yield where, "the simulated site runs only in the demo and the backtest (add demo: or use --demo)"
            if kind in ("mqtt", "victron") and importlib.util.find_spec("aiomqtt") is None:
                yield where, f"{kind} needs the 'aiomqtt' package: pip install 'edgemining-tui[mqtt]'"
        has = [e.home_assistant] if not e.sources else [sc.home_assistant for sc in e.sources.values()]
        if any(h is not None and h.websocket for h in has) and importlib.util.find_spec("websockets") is None:
            yield ("energy",), ("home_assistant.websocket needs the 'websockets' package: "
                                "pip install 'edgemining-tui[websocket]' (or set websocket: false)")

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
