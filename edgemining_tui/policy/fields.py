"""The fields a rule may name: which Edge Mining defines, which we add, which this site supplies.

A field is a dotted path into the decision context (``energy_state.battery.state_of_charge``).
Every path a policy names must be in this registry (or declared by the site, e.g. a price key);
anything else is a load error, never a silent false. A field that is defined but that this site
cannot supply (no battery, no forecast provider, no climate zone of that name) loads with a
warning and is *unknown* at run time, which never makes a rule fire.

Kinds decide which operators and values a field accepts:

- ``number``   float/int, ordered (units in ``unit``)
- ``duration`` seconds, a number (Edge Mining's timedeltas, which it could not compare)
- ``datetime`` aware datetime in the site timezone; compares with datetimes, dates and "HH:MM"
- ``string``   text (case-sensitive)
- ``status``   an enumeration compared case-insensitively against ``choices``
- ``bool``     true/false
- ``any``      site-declared value of no fixed kind (compared as it comes)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Iterable

NUMBER, DURATION, DATETIME, STRING, STATUS, BOOL, ANY = (
    "number", "duration", "datetime", "string", "status", "bool", "any")

EM, OURS, BOTH, SITE = "edge_mining", "edgemining_tui", "both", "site"

# Edge Mining's MinerStatus values (its enum names are the upper-case forms).
EM_MINER_STATUSES = ("unknown", "off", "on", "starting", "stopping", "error")
# Our MinerState values (edgemining_tui.miners.model.MinerState).
OUR_MINER_STATES = ("mining", "ramping", "paused", "offline", "unresponsive", "fault", "unknown")
PAYOUT_FREQUENCIES = ("unknown", "per_block", "hourly", "daily", "threshold")
LOAD_WINDOWS = ("next_1h", "next_2h", "next_4h", "next_6h", "next_8h", "next_12h", "next_24h",
                "last_1h", "last_4h", "last_12h", "last_24h")
LOAD_STATS = ("total_energy", "avg_energy", "avg_power", "peak_power")
DEVICE_CATEGORIES = ("controllable", "continuous", "seasonal", "occasional")

_PATH_RE = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")
NAME = "<name>"   # a wildcard segment in a pattern (zone name, device name, index)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field (or a family of fields when ``path`` contains ``<name>`` segments)."""

    path: str
    kind: str
    unit: str = ""
    defined_by: str = EM            # edge_mining | edgemining_tui | both | site
    source: str = "never"           # what the site must have for the value to exist; see SiteSupply
    description: str = ""
    choices: tuple[str, ...] = ()

    @property
    def edge_mining(self) -> bool:
        return self.defined_by in (EM, BOTH)


@dataclass(frozen=True)
class SiteSupply:
    """What this site can feed into the decision context. Built by whoever owns the site config.

    ``None`` instead of a SiteSupply means "not known": the loader then checks only that fields
    exist, and gives no supply warnings.
    """

    battery: bool = True                     # battery SoC / power readings configured
    battery_capacity: bool = False           # nominal capacity known (remaining_capacity)
    grid: bool = True                        # grid meter configured
    location: bool = True                    # latitude/longitude known (sun.*)
    forecast_keys: frozenset[str] = frozenset()   # keys of EnergySnapshot.forecast, e.g. "power_now"
    climate_zones: frozenset[str] = frozenset()   # zone names (climate.zones.<name>.*)
    outdoor_temperature: bool = False
    price_keys: frozenset[str] = frozenset()      # keys of the price dict (price.<key>)
    home_load: bool = False                  # the house load model feeds home_load.total_*
    home_load_devices: frozenset[str] = frozenset()   # per-device providers (home_load.devices.<name>.*)
    pool: bool = False                       # a pool tracker feeds mining_performance.*
    # which mining_performance.* paths (without the prefix) the pools fill; None: all of them
    pool_fields: frozenset[str] | None = None
    energy_source: frozenset[str] = frozenset()   # static energy_source.* paths known (without prefix)
    miner_limits: bool = True                # miner max power / max hashrate known (capabilities)
    miner_details: bool = True               # model, temperatures, fans, uptime (real miners; not the replay's)

    def supplies(self, spec: FieldSpec, path: str) -> bool:
        src = spec.source
        if src in ("always", "energy", "timestamp", "miner"):
            return True
        if src == "never":
            return False
        if src == "battery":
            return self.battery
        if src == "battery_capacity":
            return self.battery and self.battery_capacity
        if src == "grid":
            return self.grid
        if src == "sun":
            return self.location
        if src == "forecast":
            return path.split(".", 1)[1] in self.forecast_keys
        if src == "climate_zone":
            return path.split(".")[2] in self.climate_zones
        if src == "climate_any":
            return bool(self.climate_zones)
        if src == "outdoor":
            return self.outdoor_temperature
        if src == "price":
            return path.split(".", 1)[1] in self.price_keys
        if src == "home_load":
            return self.home_load
        if src == "home_load_device":
            return path.split(".")[2] in self.home_load_devices
        if src == "pool":
            return self.pool and (self.pool_fields is None or path.split(".", 1)[1] in self.pool_fields)
        if src == "energy_source":
            return path.split(".", 1)[1] in self.energy_source
        if src == "miner_limits":
            return self.miner_limits
        if src == "miner_detail":
            return self.miner_details
        return False


def _f(path, kind, unit="", by=EM, source="never", desc="", choices=()):
    return FieldSpec(path, kind, unit, by, source, desc, tuple(choices))


# --------------------------------------------------------------------------------------------
# The registry. Keep docs/rules.md in step with it (tests check every path is documented).
# --------------------------------------------------------------------------------------------
_SPECS: list[FieldSpec] = [
    # energy_state: Edge Mining's EnergyStateSnapshot, converted from our canonical snapshot.
    _f("energy_state.production", NUMBER, "W", EM, "energy", "PV production (pv_w)"),
    _f("energy_state.consumption", NUMBER, "W", OURS, "energy",
       "house load without the miners (house_w); shorthand for consumption.current_power"),
    _f("energy_state.consumption.current_power", NUMBER, "W", EM, "energy",
       "house load without the miners (house_w)"),
    _f("energy_state.net_production", NUMBER, "W", OURS, "energy", "production − consumption"),
    _f("energy_state.miners_power", NUMBER, "W", OURS, "energy", "what all miners draw now"),
    _f("energy_state.battery.state_of_charge", NUMBER, "%", EM, "battery", "battery SoC 0–100"),
    _f("energy_state.battery.current_power", NUMBER, "W", EM, "battery",
       "+ charging / − discharging (battery_charge_w)"),
    _f("energy_state.battery.charging_power", NUMBER, "W", EM, "battery", "max(current_power, 0)"),
    _f("energy_state.battery.discharging_power", NUMBER, "W", EM, "battery", "max(−current_power, 0)"),
    _f("energy_state.battery.remaining_capacity", NUMBER, "Wh", EM, "battery_capacity",
       "SoC × nominal capacity"),
    _f("energy_state.grid.current_power", NUMBER, "W", EM, "grid",
       "+ importing / − exporting (grid_import_w)"),
    _f("energy_state.grid.importing_power", NUMBER, "W", EM, "grid", "max(current_power, 0)"),
    _f("energy_state.grid.exporting_power", NUMBER, "W", EM, "grid", "max(−current_power, 0)"),
    _f("energy_state.external_source", NUMBER, "W", EM, "never", "always empty in Edge Mining too"),
    # energy_source: static description of the site
    _f("energy_source.name", STRING, "", EM, "energy_source"),
    _f("energy_source.type", STRING, "", EM, "energy_source", "solar, wind, grid, hydroelectric, other"),
    _f("energy_source.nominal_power_max", NUMBER, "W", EM, "energy_source"),
    _f("energy_source.storage.nominal_capacity", NUMBER, "Wh", EM, "energy_source"),
    _f("energy_source.grid.contracted_power", NUMBER, "W", EM, "energy_source"),
    # forecast: keys of EnergySnapshot.forecast
    _f("forecast.next_hour_power", NUMBER, "W", EM, "forecast", "avg PV power of the hour starting in 1 h"),
    _f("forecast.avg_next_4_hours_power", NUMBER, "W", EM, "forecast", "mean PV power over the next 4 h"),
    _f("forecast.next_hour_energy", NUMBER, "Wh", EM, "forecast", "PV energy in [now+1h, now+2h]"),
    _f("forecast.power_now", NUMBER, "W", OURS, "forecast", "expected PV power now"),
    _f("forecast.energy_next_hour", NUMBER, "Wh", OURS, "forecast", "PV energy in the next 60 min"),
    _f("forecast.energy_rest_of_day", NUMBER, "Wh", OURS, "forecast", "PV energy from now to sunset"),
    _f("forecast.energy_tomorrow", NUMBER, "Wh", OURS, "forecast", "PV energy expected tomorrow"),
    # timestamp: now, aware, in the site timezone
    _f("timestamp", DATETIME, "", EM, "timestamp", "now (site timezone)"),
    _f("timestamp.year", NUMBER, "", EM, "timestamp"),
    _f("timestamp.month", NUMBER, "", EM, "timestamp", "1–12"),
    _f("timestamp.day", NUMBER, "", EM, "timestamp", "1–31"),
    _f("timestamp.hour", NUMBER, "", EM, "timestamp", "0–23, site timezone"),
    _f("timestamp.minute", NUMBER, "", EM, "timestamp", "0–59"),
    _f("timestamp.second", NUMBER, "", EM, "timestamp", "0–59"),
    _f("timestamp.weekday", NUMBER, "", EM, "timestamp", "0 = Monday … 6 = Sunday (broken in Edge Mining)"),
    _f("timestamp.isoweekday", NUMBER, "", EM, "timestamp", "1 = Monday … 7 = Sunday"),
    _f("timestamp.minute_of_day", NUMBER, "min", OURS, "timestamp", "hour × 60 + minute"),
    # sun: from latitude/longitude via astral, for today's date in the site timezone
    *[_f(f"sun.{k}", DATETIME, "", EM, "sun", f"today's {k} (site timezone)")
      for k in ("dawn", "sunrise", "noon", "midnight", "sunset", "dusk")],
    *[_f(f"sun.{k}.{p}", NUMBER, "", OURS, "sun", f"{p} of today's {k}")
      for k in ("dawn", "sunrise", "noon", "sunset", "dusk") for p in ("hour", "minute")],
    _f("sun.azimuth", NUMBER, "°", EM, "sun", "degrees clockwise from north, now"),
    _f("sun.zenith", NUMBER, "°", EM, "sun", "degrees from straight up, now"),
    _f("sun.elevation", NUMBER, "°", EM, "sun", "degrees above the horizon, now"),
    _f("sun.daylight", DURATION, "s", EM, "sun", "sunset − sunrise"),
    _f("sun.night", DURATION, "s", EM, "sun", "24 h − daylight"),
    _f("sun.twilight", DURATION, "s", EM, "sun", "sunrise − dawn"),
    _f("sun.time_before_sunrise", DURATION, "s", EM, "sun", "until sunrise, 0 once past"),
    _f("sun.time_after_sunrise", DURATION, "s", EM, "sun", "since sunrise (negative before)"),
    _f("sun.time_before_sunset", DURATION, "s", EM, "sun", "until sunset, 0 once past"),
    _f("sun.time_after_sunset", DURATION, "s", EM, "sun", "since sunset (negative before)"),
    _f("sun.is_daylight", BOOL, "", OURS, "sun", "the sun is above the horizon"),
    # miner: Edge Mining's static Miner plus our live per-miner fields
    _f("miner.name", STRING, "", EM, "miner"),
    _f("miner.model", STRING, "", EM, "miner_detail"),
    _f("miner.active", BOOL, "", EM, "miner", "the miner is under automation"),
    _f("miner.power_consumption_max", NUMBER, "W", EM, "miner_limits"),
    _f("miner.hash_rate_max.value", NUMBER, "TH/s", EM, "never"),
    _f("miner.status", STATUS, "", OURS, "miner", "our MinerState", OUR_MINER_STATES),
    _f("miner.power", NUMBER, "W", OURS, "miner", "what it draws now"),
    _f("miner.power_limit", NUMBER, "W", OURS, "miner", "the power target it reports"),
    _f("miner.hashrate", NUMBER, "TH/s", OURS, "miner"),
    _f("miner.temperature", NUMBER, "°C", OURS, "miner_detail", "hottest board"),
    _f("miner.fan_rpm", NUMBER, "rpm", OURS, "miner_detail"),
    _f("miner.efficiency", NUMBER, "J/TH", OURS, "miner"),
    _f("miner.running_for_s", DURATION, "s", OURS, "miner", "time since it started mining; 0 when not"),
    _f("miner.stopped_for_s", DURATION, "s", OURS, "miner", "time since it stopped; 0 when mining"),
    _f("miner.level", STRING, "", OURS, "miner", "current power level/profile name"),
    # miner_state: Edge Mining's MinerStateSnapshot
    _f("miner_state.status", STATUS, "", EM, "miner", "Edge Mining's MinerStatus", EM_MINER_STATUSES),
    _f("miner_state.status.value", STATUS, "", EM, "miner", "same, as Edge Mining's enum value",
       EM_MINER_STATUSES),
    _f("miner_state.status.name", STATUS, "", EM, "miner", "same, as Edge Mining's enum name",
       EM_MINER_STATUSES),
    _f("miner_state.hash_rate.value", NUMBER, "TH/s", EM, "miner", "always TH/s here"),
    _f("miner_state.hash_rate.unit", STRING, "", EM, "miner", "always 'TH/s'"),
    _f("miner_state.power_consumption", NUMBER, "W", EM, "miner"),
    _f("miner_state.system_uptime", DURATION, "s", EM, "miner_detail"),
    _f("miner_state.blocks_found", NUMBER, "", EM, "never"),
    *[_f(f"miner_state.{k}_temperature.value", NUMBER, "°C", EM, "miner_detail",
         f"{k.replace('_', ' ')} temperature")
      for k in ("max_chip", "max_board", "avg_chip", "avg_board")],
    _f("miner_state.inlet_temperature.value", NUMBER, "°C", EM, "never"),
    _f("miner_state.outlet_temperature.value", NUMBER, "°C", EM, "never"),
    _f("miner_state.external_fan_speed.value", NUMBER, "rpm", EM, "never"),
    # climate: Edge Mining's ClimateStateSnapshot (zones by name) plus outdoor temperature
    _f(f"climate.zones.{NAME}.humidity", NUMBER, "%", EM, "never",
       "relative humidity (our zones read temperature only)"),
    *[_f(f"climate.zones.{NAME}.{k}", kind, unit, EM, "climate_zone", desc) for k, kind, unit, desc in (
        ("temperature_celsius", NUMBER, "°C", "room temperature"),
        ("target_temperature", NUMBER, "°C", "target from the zone's schedule (site timezone)"),
        ("hysteresis_celsius", NUMBER, "°C", "the zone's hysteresis"),
        ("timestamp", DATETIME, "", "when it was read"))],
    _f(f"climate.zones.{NAME}.heat_demand", BOOL, "", OURS, "climate_zone", "below its comfort band"),
    _f(f"climate.zones.{NAME}.target_low", NUMBER, "°C", OURS, "climate_zone", "target − hysteresis"),
    _f(f"climate.zones.{NAME}.target_min", NUMBER, "°C", OURS, "climate_zone", "comfort band low edge"),
    _f(f"climate.zones.{NAME}.target_max", NUMBER, "°C", OURS, "climate_zone", "comfort band high edge"),
    _f(f"climate.zones.{NAME}.state", STATUS, "", OURS, "climate_zone", "against the band",
       ("below", "inside", "above", "unknown")),
    _f("climate.min_temperature", NUMBER, "°C", EM, "climate_any", "coldest zone"),
    _f("climate.max_temperature", NUMBER, "°C", EM, "climate_any", "warmest zone"),
    _f("climate.avg_temperature", NUMBER, "°C", EM, "climate_any", "mean over zones"),
    _f("climate.outdoor_temperature", NUMBER, "°C", OURS, "outdoor", "outside air"),
    # price: ours (site-declared keys are accepted too)
    _f("price.import", NUMBER, "/kWh", OURS, "price", "grid import price now"),
    _f("price.export", NUMBER, "/kWh", OURS, "price", "feed-in tariff now"),
    _f("price.btc", NUMBER, "", OURS, "price", "bitcoin price in the site currency"),
    _f("price.hashprice", NUMBER, "/TH/day", OURS, "price", "revenue per TH/s per day"),
    # home_load: Edge Mining's HomeLoadsConsumption
    *[_f(f"home_load.{t}.{s}", NUMBER, "W" if "power" in s else "Wh", EM, "home_load")
      for t in ("total_history", "total_forecast") for s in LOAD_STATS],
    # a window looks back on the history and ahead on the forecast; the other way round is empty
    # (in Edge Mining too: its history has no next_* intervals, its forecast no last_* ones)
    *[_f(f"home_load.{t}.{w}.{s}", NUMBER, "W" if "power" in s else "Wh", EM,
         "home_load" if w.startswith("last_") == (t == "total_history") else "never")
      for t in ("total_history", "total_forecast") for w in LOAD_WINDOWS for s in LOAD_STATS],
    *[_f(f"home_load.devices.{NAME}.{t}.{s}", NUMBER, "W" if "power" in s else "Wh", EM, "home_load_device")
      for t in ("history", "forecast") for s in LOAD_STATS],
    *[_f(f"home_load.devices.{NAME}.{t}.{w}.{s}", NUMBER, "W" if "power" in s else "Wh", EM,
         "home_load_device") for t in ("history", "forecast") for w in LOAD_WINDOWS for s in LOAD_STATS],
    _f(f"home_load.devices.{NAME}.device_category", STATUS, "", EM, "home_load_device", "", DEVICE_CATEGORIES),
    # mining_performance: Edge Mining's pool tracker snapshot
    _f("mining_performance.current_hashrate.value", NUMBER, "TH/s", EM, "pool"),
    _f("mining_performance.current_hashrate.unit", STRING, "", EM, "pool"),
    *[_f(f"mining_performance.pool_stats.{k}.value", NUMBER, "TH/s", EM, "pool")
      for k in ("current_hashrate", "average_hashrate_24h", "average_hashrate_7d")],
    _f("mining_performance.pool_stats.unpaid_balance", NUMBER, "sat", EM, "pool"),
    _f("mining_performance.pool_stats.estimated_next_payout", NUMBER, "sat", EM, "pool"),
    _f("mining_performance.payout_schedule.frequency", STATUS, "", EM, "pool", "", PAYOUT_FREQUENCIES),
    _f("mining_performance.payout_schedule.threshold", NUMBER, "sat", EM, "pool"),
    _f("mining_performance.payout_schedule.next_payout_at", DATETIME, "", EM, "pool"),
]


class FieldRegistry:
    """Looks paths up: exact paths by dict, ``<name>`` families by pattern, site keys by namespace."""

    def __init__(self, specs: Iterable[FieldSpec]) -> None:
        self.specs: tuple[FieldSpec, ...] = tuple(specs)
        self._exact: dict[str, FieldSpec] = {}
        self._patterns: list[tuple[re.Pattern, FieldSpec]] = []
        for s in self.specs:
            if NAME in s.path:
                rx = "^" + re.escape(s.path).replace(re.escape(NAME), r"[A-Za-z0-9_]+") + "$"
                self._patterns.append((re.compile(rx), s))
            else:
                self._exact[s.path] = s

    def lookup(self, path: str, site: SiteSupply | None = None) -> FieldSpec | None:
        """The spec of ``path``, or None when nobody defines it (this site's declared keys count)."""
        s = self._exact.get(path)
        if s is not None:
            return s
        for rx, spec in self._patterns:
            if rx.match(path):
                return spec
        if site is not None:
            ns, _, key = path.partition(".")
            if ns == "forecast" and key in site.forecast_keys:
                return FieldSpec(path, NUMBER, "", SITE, "forecast", "declared by the site")
            if ns == "price" and key in site.price_keys:
                return FieldSpec(path, ANY, "", SITE, "price", "declared by the site")
        return None

    def suggest(self, path: str) -> list[str]:
        return get_close_matches(path, list(self._exact), n=3, cutoff=0.75)

    def paths(self) -> list[str]:
        return [s.path for s in self.specs]


REGISTRY = FieldRegistry(_SPECS)


def valid_path_syntax(path: object) -> bool:
    return isinstance(path, str) and bool(_PATH_RE.match(path))


def lookup(path: str, site: SiteSupply | None = None) -> FieldSpec | None:
    return REGISTRY.lookup(path, site)


__all__ = ["FieldSpec", "FieldRegistry", "SiteSupply", "REGISTRY", "lookup", "valid_path_syntax",
           "NUMBER", "DURATION", "DATETIME", "STRING", "STATUS", "BOOL", "ANY",
           "EM_MINER_STATUSES", "OUR_MINER_STATES"]
