"""Config of the energy sources (which vendor, which entities or topics, which signs and units).

Two forms:

- simple: ``source: fronius`` plus a ``fronius:`` section (one source gives everything);
- composed: ``sources: {name: {<kind>: {...}}}`` plus ``use: {pv: name, grid: name, ...}``, so PV
  may come from the inverter, the grid from a Shelly meter and the forecast from Home Assistant.

Every adapter converts its vendor's native signs into the canonical ones (see snapshot.py);
``invert`` on a value flips it once more for installations that differ from the vendor default
(a CT clamp mounted the other way round, an integration that reports + export).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Literal

from ..config.types import Duration, Secret, bounded
from .local_config import (
    EnphaseConfig, HomeWizardConfig, OpenDtuConfig, PowerwallConfig, SmaEmConfig, SonnenConfig, SunSpecConfig,
    _check_url,
)

Timeout = bounded(Duration, 0.1, 60)
Backoff = bounded(Duration, 0, 3600, above=True)

KINDS = ("home_assistant", "fronius", "shelly", "mqtt", "victron", "homewizard", "opendtu", "enphase",
         "powerwall", "sonnen", "sunspec", "sma_em", "sim")
# the local HTTP(S) APIs (local_apis.py), each a section of its own
PV_ONLY_KINDS = ("opendtu",)     # no grid reading: never the site's only source
LOCAL_KINDS = ("homewizard", "opendtu", "enphase", "powerwall", "sonnen", "sunspec", "sma_em")
# canonical snapshot field -> the short name used in config
FIELD_KEYS = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid",
              "battery_charge_w": "battery", "battery_soc_pct": "soc"}


@dataclass(frozen=True)
class EntityRef:
    """One value read from one entity. ``invert`` flips the vendor's sign into ours."""

    entity: str
    invert: bool = False
    unit: str | None = None      # force a unit when the entity has none

    @classmethod
    def from_scalar(cls, value: str) -> "EntityRef":
        return cls(entity=value)


@dataclass(frozen=True)
class Invert:
    """Per-value sign flips on top of the vendor's documented convention."""

    pv: bool = False
    house: bool = False
    grid: bool = False
    battery: bool = False

    def __getitem__(self, key: str) -> bool:
        return bool(getattr(self, key, False))


@dataclass(frozen=True)
class HomeAssistantConfig:
    url: str
    token: Secret
    pv: EntityRef | None = None
    house: EntityRef | None = None
    grid: EntityRef | None = None            # canonical: + import, - export
    battery: EntityRef | None = None         # canonical: + charging, - discharging
    soc: EntityRef | None = None
    forecast_power_now: EntityRef | None = None
    forecast_energy_next_hour: EntityRef | None = None
    forecast_energy_today_remaining: EntityRef | None = None
    timeout: Timeout = 3.0
    # push: subscribe to state_changed over /api/websocket; REST stays the fallback while it is down
    websocket: bool = False
    websocket_url: str | None = None         # default: derived from url (ws://host:port/api/websocket)
    ping_interval: bounded(Duration, 0, 300, above=True) = 5.0            # a subscription is trusted only while pings are answered
    reconnect_max: Backoff = 30.0           # backoff ceiling between reconnect attempts

    def validate(self) -> None:
        _check_url(self.url)
        if self.grid is None and (self.pv is None or self.house is None):
            raise ValueError("grid: a grid entity is required unless both pv and house are given")
        if self.websocket_url is not None and not self.websocket_url.startswith(("ws://", "wss://")):
            raise ValueError("websocket_url: expected a ws:// or wss:// address")
        if self.ping_interval <= 0:
            raise ValueError("ping_interval: must be above 0")

    @property
    def ws_url(self) -> str:
        if self.websocket_url:
            return self.websocket_url
        base = self.url.rstrip("/")
        scheme, rest = base.split("://", 1)
        return ("wss://" if scheme == "https" else "ws://") + rest + "/api/websocket"


@dataclass(frozen=True)
class FroniusConfig:
    """Fronius Solar API v1, GetPowerFlowRealtimeData (GEN24, Symo with Datamanager)."""

    url: str
    timeout: Timeout = 3.0
    inverter: str = "1"                      # key under Body.Data.Inverters that carries SOC
    invert: Invert = field(default_factory=Invert)
    # Fronius sends P_PV null while the inverter sleeps (night): that is its way of saying 0 W.
    # Set false to keep such a null as "unknown" instead.
    pv_null_is_zero_when_asleep: bool = True
    # add Body.Data.SecondaryMeters that are generators (a second PV inverter, MLoc 3..255) to pv_w;
    # sub-load meters (heat pump, MLoc >= 256) are already inside P_Load
    include_secondary_meters: bool = False

    def validate(self) -> None:
        _check_url(self.url)


SHELLY_PROFILES = ("em", "em1", "gen1")


@dataclass(frozen=True)
class ShellyConfig:
    """A Shelly energy meter as the grid meter, + import.

    ``profile``: ``em`` (Pro 3EM triphase, ``EM.GetStatus`` total_act_power), ``em1`` (Pro EM, Pro
    3EM monophase: ``EM1.GetStatus`` act_power of channel ``id``), ``gen1`` (Shelly 3EM / EM Gen1:
    ``/status`` sum of the emeters' power)."""

    url: str
    id: bounded(int, 0, 255) = 0
    profile: str = "em"
    timeout: Timeout = 3.0
    invert: bool = False                     # CT clamps mounted the other way round
    # device authentication: Gen2 uses digest auth with the fixed user "admin"; Gen1 basic auth
    username: str | None = None
    password: Secret | None = None

    def validate(self) -> None:
        _check_url(self.url)
        if self.profile not in SHELLY_PROFILES:
            raise ValueError(f"profile: expected one of {', '.join(SHELLY_PROFILES)}, got {self.profile!r}")
        if self.id < 0:
            raise ValueError("id: expected 0 or more (the EM/EM1 channel)")
        if self.username is not None and self.password is None:
            raise ValueError("password: needed when username is given")


@dataclass(frozen=True)
class MqttValue:
    """One value from one topic: a plain number, or a JSON document and a dotted ``path`` into it."""

    topic: str
    path: str | None = None                  # e.g. "ENERGY.Power", "value", "phases.0.power"
    invert: bool = False
    unit: str | None = None                  # W or kW (power), Wh or kWh (energy), % (soc)

    @classmethod
    def from_scalar(cls, value: str) -> "MqttValue":
        return cls(topic=value)

    def validate(self) -> None:
        if not self.topic or any(c in self.topic for c in "+#"):
            raise ValueError("topic: expected a plain topic name (no wildcards)")


@dataclass(frozen=True)
class MqttTls:
    """TLS to the broker. No ``ca_file``: the system's CAs. ``insecure``: accept any certificate
    (a GX or a home broker with a self-signed one) -- still encrypted, but not authenticated."""

    ca_file: str | None = None
    cert_file: str | None = None             # client certificate (brokers with require_certificate)
    key_file: str | None = None              # its key, when not in cert_file
    insecure: bool = False

    def validate(self) -> None:
        import os
        for key in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, key)
            if path is not None and not os.access(path, os.R_OK):
                raise ValueError(f"{key}: cannot read {path}")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file: give cert_file too (the client certificate the key belongs to)")


def mqtt_tls(value: "bool | MqttTls | None") -> MqttTls | None:
    """``tls: true`` is TLS with the system's CAs; a mapping gives the details."""
    if isinstance(value, MqttTls):
        return value
    return MqttTls() if value else None


def _check_mqtt_link(cfg) -> None:
    if not 0 < cfg.port < 65536:
        raise ValueError("port: expected 1..65535")


@dataclass(frozen=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883                         # 8883 for TLS, by convention
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    tls: bool | MqttTls | None = None
    pv: MqttValue | None = None
    house: MqttValue | None = None
    grid: MqttValue | None = None            # canonical: + import, - export
    battery: MqttValue | None = None         # canonical: + charging, - discharging
    soc: MqttValue | None = None
    forecast_power_now: MqttValue | None = None
    forecast_energy_next_hour: MqttValue | None = None
    forecast_energy_today_remaining: MqttValue | None = None
    # a broker that comes back is found again within this (plus jitter): values refresh in < 5 s
    reconnect_max: Backoff = 3.0

    def validate(self) -> None:
        _check_mqtt_link(self)
        if all(getattr(self, k) is None for k in FIELD_KEYS.values()):
            raise ValueError("grid: give at least one value (pv, house, grid, battery, soc)")


@dataclass(frozen=True)
class VictronConfig:
    """Victron Venus OS (GX) MQTT: N/<portal_id>/system/0/..., kept alive with R/<portal_id>/keepalive."""

    portal_id: str
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: Secret | None = None
    client_id: str | None = None
    tls: bool | MqttTls | None = None
    # how often to ask the GX to (re)publish everything; each full publish refreshes every value's
    # age, so this is at most half of site.stale_after (30 s) -- the config check enforces that
    keepalive: Duration = 10.0
    invert: Invert = field(default_factory=Invert)
    reconnect_max: Backoff = 3.0

    def validate(self) -> None:
        if not self.portal_id or any(c in self.portal_id for c in "/+#"):
            raise ValueError("portal_id: expected the GX's portal id (VRM id), e.g. c0619ab12345")
        _check_mqtt_link(self)
        if not 0 < self.keepalive <= 60:
            raise ValueError("keepalive: must be above 0 and at most 60s (the GX stops after 60s)")


@dataclass(frozen=True)
class SimConfig:
    """The simulated site itself (demo and backtest); the runner hands the site in."""

    name: str = "sim"


@dataclass(frozen=True)
class SourceConfig:
    """One named source in ``sources:``: exactly one of the kind sections."""

    home_assistant: HomeAssistantConfig | None = None
    fronius: FroniusConfig | None = None
    shelly: ShellyConfig | None = None
    mqtt: MqttConfig | None = None
    victron: VictronConfig | None = None
    homewizard: HomeWizardConfig | None = None
    opendtu: OpenDtuConfig | None = None
    enphase: EnphaseConfig | None = None
    powerwall: PowerwallConfig | None = None
    sonnen: SonnenConfig | None = None
    sunspec: SunSpecConfig | None = None
    sma_em: SmaEmConfig | None = None
    sim: SimConfig | None = None

    def validate(self) -> None:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of: {', '.join(KINDS)} (got {', '.join(given) or 'none'})")

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def section(self):
        return getattr(self, self.kind)


@dataclass(frozen=True)
class UseConfig:
    """Which named source gives which value. ``soc`` defaults to the battery's source."""

    pv: str | None = None
    house: str | None = None
    grid: str | None = None
    battery: str | None = None
    soc: str | None = None
    forecast: str | None = None

    def for_field(self, field_name: str) -> str | None:
        key = FIELD_KEYS[field_name]
        name = getattr(self, key)
        if name is None and key == "soc":
            name = self.battery
        return name


@dataclass(frozen=True)
class EnergyConfig:
    source: Literal["home_assistant", "fronius", "shelly", "mqtt", "victron", "homewizard", "opendtu",
                    "enphase", "powerwall", "sonnen", "sunspec", "sma_em", "sim", "demo",
                    "composite"] = "demo"
    home_assistant: HomeAssistantConfig | None = None
    fronius: FroniusConfig | None = None
    shelly: ShellyConfig | None = None
    mqtt: MqttConfig | None = None
    victron: VictronConfig | None = None
    homewizard: HomeWizardConfig | None = None
    opendtu: OpenDtuConfig | None = None
    enphase: EnphaseConfig | None = None
    powerwall: PowerwallConfig | None = None
    sonnen: SonnenConfig | None = None
    sunspec: SunSpecConfig | None = None
    sma_em: SmaEmConfig | None = None
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    use: UseConfig | None = None
    house_includes_miners: bool = False      # many house sensors measure everything behind the meter

    @property
    def composed(self) -> bool:
        return bool(self.sources)

    def victron_sections(self) -> list[tuple[str, "VictronConfig"]]:
        """Every Victron section with the config path that names it (for cross-section checks)."""
        out = [(f"energy.sources.{n}.victron", sc.victron) for n, sc in self.sources.items() if sc.victron]
        if self.victron is not None:
            out.append(("energy.victron", self.victron))
        return out

    def gives_forecast_today(self) -> bool:
        """Does the configured source report the PV forecast for the rest of today?"""
        def of(sec) -> bool:
            if getattr(sec, "sim", None) is not None:
                return True
            for kind in ("home_assistant", "mqtt"):
                c = getattr(sec, kind, None)
                if c is not None:
                    return getattr(c, "forecast_energy_today_remaining", None) is not None
            return False
        if self.sources:
            use = self.use or UseConfig()
            name = use.forecast or (next(iter(self.sources)) if len(self.sources) == 1 else None)
            return name is not None and of(self.sources[name])
        if self.source in ("demo", "sim"):
            return True
        return of(self)

    def forecast_keys(self) -> frozenset[str]:
        """The snapshot forecast keys the configured source delivers (power_now_w, ...)."""
        every = frozenset({"power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh"})
        names = {"power_now_w": "forecast_power_now", "energy_next_hour_wh": "forecast_energy_next_hour",
                 "energy_today_remaining_wh": "forecast_energy_today_remaining"}

        def of(sec) -> frozenset[str]:
            if getattr(sec, "sim", None) is not None:
                return every
            for kind in ("home_assistant", "mqtt"):
                c = getattr(sec, kind, None)
                if c is not None:
                    return frozenset(k for k, attr in names.items() if getattr(c, attr, None) is not None)
            return frozenset()
        if self.sources:
            use = self.use or UseConfig()
            name = use.forecast or (next(iter(self.sources)) if len(self.sources) == 1 else None)
            return of(self.sources[name]) if name is not None else frozenset()
        if self.source in ("demo", "sim"):
            return every
        return of(self)

    def validate(self) -> None:
        if self.sources:
            if self.source not in ("demo", "composite"):
                raise ValueError(f"source: leave it out (or say composite) when sources: is given, "
                                 f"not {self.source!r}")
            use = self.use or UseConfig()
            for f in fields(UseConfig):
                name = getattr(use, f.name)
                if name is not None and name not in self.sources:
                    raise ValueError(f"use: {f.name} names source {name!r}, which is not in sources "
                                     f"({', '.join(self.sources)})")
            if len(self.sources) > 1 and self.use is None:
                raise ValueError("use: say which source gives which value (pv, house, grid, battery, soc, forecast)")
            grid = use.grid or (next(iter(self.sources)) if len(self.sources) == 1 else None)
            if grid is not None and self.sources[grid].kind in PV_ONLY_KINDS:
                raise ValueError(f"use: grid: source {grid!r} is {self.sources[grid].kind}, which measures PV only; "
                                 "the console decides on the grid reading: name a grid meter's source")
            return
        if self.use is not None:
            raise ValueError("use: only meaningful together with sources:")
        if self.source in ("home_assistant", "fronius", "shelly", "mqtt", "victron") + LOCAL_KINDS \
                and getattr(self, self.source) is None:
            raise ValueError(f"{self.source}: required when source is {self.source}")
        if self.source in PV_ONLY_KINDS:
            # it ran with the grid stale forever (the fail-safe holding every miner) and check said OK
            raise ValueError(f"source: {self.source} measures PV only, and the console decides on the grid "
                             f"reading: add a grid meter, as sources: {{dtu: {{{self.source}: ...}}, meter: ...}} "
                             "with use: {pv: dtu, grid: meter} (docs/energy-sources.md)")
