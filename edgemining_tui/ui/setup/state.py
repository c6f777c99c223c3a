"""What the setup wizard has gathered so far. Plain data; the screens edit it, yaml_writer renders it."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# the five energy roles, in the order the wizard asks for them: role -> (label, what it means)
ROLES: dict[str, tuple[str, str]] = {
    "pv": ("PV", "solar production, ≥ 0"),
    "house": ("House", "house load without the miners, ≥ 0"),
    "grid": ("Grid", "+ import / − export"),
    "battery": ("Battery", "+ charging / − discharging"),
    "soc": ("Battery SoC", "state of charge, %"),
}
POWER_ROLES = ("pv", "house", "grid", "battery")
# the optional pick after the five roles (Home Assistant only): the PV forecast for the rest of today,
# written as energy.home_assistant.forecast_energy_today_remaining; the "forecast" policy needs it
FORECAST_PICK = "forecast"
FORECAST_LABEL = ("PV forecast", "energy remaining today, kWh")

ENERGY_KINDS: dict[str, str] = {
    "home_assistant": "Home Assistant (REST API, long-lived token)",
    "fronius": "Fronius inverter (Solar API v1)",
    "shelly": "Shelly Pro 3EM grid meter",
    "mqtt": "MQTT topics (Tasmota, openDTU, any broker)",
    "victron": "Victron GX (Venus OS MQTT)",
    "sunspec": "Modbus TCP / SunSpec inverter (SolarEdge, Fronius, SMA, Kostal)",
    "homewizard": "HomeWizard P1 grid meter (local API)",
    "opendtu": "OpenDTU (Hoymiles microinverters, PV only)",
    "enphase": "Enphase IQ Gateway (Envoy)",
    "powerwall": "Tesla Powerwall 2 gateway",
    "sonnen": "sonnenBatterie",
    "sma_em": "SMA Energy Meter / Home Manager 2.0 grid meter (Speedwire)",
    "demo": "Demo site (simulated house and miners, nothing real)",
}
# kinds whose house value is everything behind the meter, miners included (Fronius P_Load, Victron
# Ac/Consumption, the gateways' load meters and totals: docs/energy-sources.md); the console must
# take the miners' draw off it, or the house shows their power twice and the balance check trips
HOUSE_COUNTS_MINERS = frozenset({"fronius", "victron", "enphase", "powerwall", "sonnen"})
# (kind, form field) -> the secrets.env name a secret field is kept under
SECRET_NAMES: dict[tuple[str, str], str] = {
    ("mqtt", "password"): "MQTT_PASSWORD", ("homewizard", "token"): "P1_TOKEN", ("enphase", "token"): "ENVOY_TOKEN",
    ("powerwall", "password"): "POWERWALL_PASSWORD", ("sonnen", "token"): "SONNEN_TOKEN",
}
# what each single-purpose device measures (the flow check reads only these)
MEASURES: dict[str, tuple[str, ...]] = {
    "shelly": ("grid",), "homewizard": ("grid",), "opendtu": ("pv",), "sunspec": ("pv", "grid"),
    "enphase": ("pv", "grid"), "powerwall": ("pv", "grid"), "sonnen": ("pv", "grid"), "sma_em": ("grid",),
}

POLICY_CHOICES: dict[str, str] = {
    "surplus": "Follow surplus: mine with what would go to the grid",
    "battery": "Surplus, battery first until a state of charge",
    "rules": "Edge Mining rules file (start_rules / stop_rules)",
    "heat": "Heat first for a climate zone",
    "forecast": "Surplus, battery filled by sunset from the PV forecast",
}
FORECAST_TRUST_PCT = 100.0      # the share of the forecast the "forecast" policy counts on at sunset
FORECAST_TRUST_SUNRISE_PCT = 75.0   # ... and at sunrise (the morning's forecast is the least certain)
FORECAST_LEARNED_PCT = 50.0     # once 3 days are known: the recent days' median miss (docs/allocator.md)


@dataclass
class FoundMiner:
    """One miner that answered a scan, and what the user decided about it."""

    host: str
    family: str = "auto"            # braiins | luxos | avalon | bitaxe | antminer | ... | auto
    model: str = ""
    firmware: str = ""
    control: str = ""               # one line: "power target 1200–3300 W step 50", "levels ...", "on/off"
    min_w: float | None = None
    max_w: float | None = None
    monitor_only: bool = False
    # user choices
    name: str = ""
    manage: bool = True
    priority: int = 100
    limit_min_w: float | None = None   # set when the user overrides the detected range
    limit_max_w: float | None = None

    @property
    def range_text(self) -> str:
        lo = self.limit_min_w if self.limit_min_w is not None else self.min_w
        hi = self.limit_max_w if self.limit_max_w is not None else self.max_w
        if not hi:
            return "—"
        if lo and lo != hi:
            return f"{lo:.0f}–{hi:.0f} W"
        return f"≤ {hi:.0f} W"


@dataclass
class SetupState:
    config_path: Path
    # site
    site_name: str = "Home"
    timezone: str = "UTC"
    latitude: float | None = None
    longitude: float | None = None
    # energy
    energy_kind: str = "home_assistant"
    fields: dict[str, str] = field(default_factory=dict)       # per-kind form values (url, host, ...)
    entities: dict[str, str | None] = field(default_factory=lambda: {r: None for r in ROLES})
    inverts: dict[str, bool] = field(default_factory=lambda: {r: False for r in POWER_ROLES})
    flow_confirmed: bool = False
    flow_text: str = ""                                          # the line the user confirmed
    house_includes_miners: bool = False   # besides the kinds that always do (HOUSE_COUNTS_MINERS)
    # the PV forecast entity (energy remaining today): None = not decided yet (a guess may fill it
    # in), "" = left empty on purpose
    forecast_entity: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)       # NAME -> value; written to secrets.env only
    # miners
    subnet: str = ""
    found: list[FoundMiner] = field(default_factory=list)
    scanned: bool = False
    # policy
    policy: str = "surplus"
    headroom_w: float | None = None          # None: auto (policy/headroom.py)
    priority_soc: float = 50.0
    rules_file: str = ""
    heat: dict[str, str] = field(default_factory=dict)          # zone, sensor, min_c, max_c
    battery_capacity_kwh: float | None = None                    # usable; the forecast reserve
    pv_peak_kwp: float | None = None                             # the array, for the built-in forecast

    @property
    def forecast_ref(self) -> str | None:
        """The forecast entity the config will name, or None (none picked, or not Home Assistant)."""
        if self.energy_kind != "home_assistant":
            return None
        return self.forecast_entity or None

    def forecast_policy_missing(self) -> str:
        """Why the "forecast" policy cannot be chosen with these answers ('' when it can). Without a
        forecast entity the built-in forecast (forecast/builtin.py) gives it."""
        if self.latitude is None or self.longitude is None:
            return "no latitude/longitude given in step 1"
        return ""

    @property
    def secrets_path(self) -> Path:
        return secrets_path_for(self.config_path)

    @property
    def managed(self) -> list[FoundMiner]:
        if self.energy_kind == "demo":   # the demo drives its own emulated fleet: a real miner never
            return []                    # follows a simulated house
        return sorted((m for m in self.found if m.manage), key=lambda m: (m.priority, m.host))

    def env(self) -> dict[str, str]:
        """The environment a load of the new config sees: ours win over stale ones."""
        return {**os.environ, **self.secrets}


def secrets_path_for(config_path: Path) -> Path:
    """secrets.env lives beside the config (for the default path: ~/.config/edgemining-tui/secrets.env)."""
    return Path(config_path).parent / "secrets.env"


def detect_timezone() -> str:
    """The machine's IANA zone name, or UTC."""
    from zoneinfo import ZoneInfo
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        candidates.append(Path("/etc/timezone").read_text().strip())
    except OSError:
        pass
    try:
        link = os.readlink("/etc/localtime")
        if "zoneinfo/" in link:
            candidates.append(link.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for c in candidates:
        if c and "/" in c:
            try:
                ZoneInfo(c)
                return c
            except Exception:  # noqa: BLE001 - any bad name: try the next
                continue
    return "UTC"
