"""The decision context: a read-only mapping of dotted field paths to values, built lazily.

Built once per cycle for the site (``build_context``) and cheaply specialised per miner
(``ctx.for_miner(sample)``); each path is computed on first use and cached, so a backtest that
evaluates a policy every simulated minute pays only for the fields its rules name.

Edge Mining's own fields keep Edge Mining's meaning, converted from our canonical snapshot:

- ``energy_state.battery.current_power``: + charging / − discharging  (= ``battery_charge_w``)
- ``energy_state.grid.current_power``:    + importing / − exporting   (= ``grid_import_w``)
- ``importing_power`` / ``exporting_power`` / ``charging_power`` / ``discharging_power`` >= 0
- ``energy_state.production`` = ``pv_w``; ``energy_state.consumption.current_power`` = ``house_w``
- ``miner_state.status`` uses Edge Mining's vocabulary (unknown/off/on/starting/stopping/error)
- ``timestamp`` is aware and in the *site* timezone (Edge Mining used the container's clock).

A value that is missing, invalid or stale is ``None``: the evaluator treats it as unknown.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone, tzinfo
from enum import Enum
from typing import Any, Callable, Iterator

from ..energy.snapshot import EnergySnapshot
from ..miners.model import Capabilities, MinerSample, MinerState
from .fields import REGISTRY
from .sun import SunCalculator

_MISS = object()

# our MinerState -> Edge Mining's MinerStatus value
EM_STATUS: dict[MinerState, str] = {
    MinerState.MINING: "on",
    MinerState.RAMPING: "starting",
    MinerState.PAUSED: "off",
    MinerState.FAULT: "error",
    MinerState.OFFLINE: "unknown",
    MinerState.UNRESPONSIVE: "unknown",
    MinerState.UNKNOWN: "unknown",
}


def em_status(state: MinerState | str | None) -> str:
    """Edge Mining's status word for one of our states (or an EM status word, normalised)."""
    if state is None:
        return "unknown"
    if isinstance(state, MinerState):
        return EM_STATUS[state]
    if isinstance(state, Enum):
        state = state.value if isinstance(state.value, str) else state.name
    s = str(state).lower()
    try:
        return EM_STATUS[MinerState(s)]
    except ValueError:
        return s


class DecisionContext(Mapping):
    """``ctx["energy_state.battery.state_of_charge"]`` -> 96.0; ``None`` when the value is unknown.

    Paths nobody defines raise ``KeyError`` from ``[]`` and give ``None`` from ``get``.
    """

    __slots__ = ("ts", "tz", "_now", "snapshot", "forecast", "sun", "climate", "price", "home_load",
                 "mining_performance", "energy_source", "battery_capacity_wh", "miners_w", "max_age_s",
                 "sample", "capabilities", "running_since", "stopped_since", "status_override",
                 "_shared", "_own")

    def __init__(self, ts: float, tz: tzinfo, *, now: datetime | None = None,
                 snapshot: EnergySnapshot | None = None, forecast: Mapping | None = None,
                 sun: SunCalculator | None = None, climate: Mapping | None = None,
                 price: Mapping | None = None, home_load: Mapping | None = None,
                 mining_performance: Mapping | None = None, energy_source: Mapping | None = None,
                 battery_capacity_wh: float | None = None, miners_w: float | None = None,
                 max_age_s: float | None = None) -> None:
        self.ts = ts
        self.tz = tz
        self._now = now
        self.snapshot = snapshot
        self.forecast = forecast if forecast is not None else (snapshot.forecast if snapshot else None)
        self.sun = sun
        self.climate = climate
        self.price = price
        self.home_load = home_load
        self.mining_performance = mining_performance
        self.energy_source = energy_source
        self.battery_capacity_wh = battery_capacity_wh
        self.miners_w = miners_w
        self.max_age_s = max_age_s
        self.sample: MinerSample | None = None
        self.capabilities: Capabilities | None = None
        self.running_since: float | None = None
        self.stopped_since: float | None = None
        self.status_override: str | None = None
        self._shared: dict[str, Any] = {}
        self._own: dict[str, Any] = {}

    # -- construction ----------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        n = self._now
        if n is None:
            n = self._now = datetime.fromtimestamp(self.ts, self.tz)
        return n

    def for_miner(self, sample: MinerSample | None, *, capabilities: Capabilities | None = None,
                  running_since: float | None = None, stopped_since: float | None = None,
                  status: str | MinerState | None = None) -> "DecisionContext":
        """The same site context seen by one miner. Site fields computed once are shared.

        ``status`` overrides the status the rules see (e.g. "stopping" while a stop is being
        verified); ``running_since``/``stopped_since`` (epoch s) give ``miner.running_for_s``.
        """
        c = object.__new__(DecisionContext)
        for name in DecisionContext.__slots__:
            if name != "_own":
                object.__setattr__(c, name, getattr(self, name))
        c.sample = sample
        c.capabilities = capabilities
        c.running_since = running_since
        c.stopped_since = stopped_since
        c.status_override = None if status is None else em_status(status)
        c._own = {}
        return c

    # -- mapping protocol ------------------------------------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        v = self._shared.get(path, _MISS)
        if v is _MISS:
            v = self._own.get(path, _MISS)
            if v is _MISS:
                v = self._resolve(path)
        return v

    def __getitem__(self, path: str) -> Any:
        v = self.get(path, _MISS)
        if v is None and not self._known(path):
            raise KeyError(path)
        return v

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._known(path)

    def __iter__(self) -> Iterator[str]:
        yield from _SITE
        yield from _MINER
        for prefix, src in (("forecast.", self.forecast), ("price.", self.price)):
            for k in (src or {}):
                p = prefix + str(k)
                if p not in _SITE:
                    yield p
        for zone in _zones(self.climate):
            for k in _ZONE_KEYS:
                yield f"climate.zones.{zone}.{k}"
        for prefix, src in (("home_load.", self.home_load),
                            ("mining_performance.", self.mining_performance),
                            ("energy_source.", self.energy_source)):
            yield from (prefix + p for p in _flatten(src))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def as_dict(self) -> dict[str, Any]:
        """Every path this context can answer, with its value (for the UI and debugging)."""
        return {p: self.get(p) for p in self}

    def _known(self, path: str) -> bool:
        return path in _SITE or path in _MINER or REGISTRY.lookup(path) is not None or \
            path.split(".", 1)[0] in _DYNAMIC

    # -- resolution ------------------------------------------------------------------------
    def _resolve(self, path: str) -> Any:
        fn = _SITE.get(path)
        if fn is not None:
            v = fn(self)
            self._shared[path] = v
            return v
        fn = _MINER.get(path)
        if fn is not None:
            v = fn(self)
            self._own[path] = v
            return v
        ns, _, rest = path.partition(".")
        dyn = _DYNAMIC.get(ns)
        v = dyn(self, rest) if (dyn is not None and rest) else None
        self._shared[path] = v
        return v

    def energy(self, name: str) -> float | None:
        """A canonical snapshot value, or None when missing, invalid or older than max_age_s."""
        s = self.snapshot
        if s is None:
            return None
        r = getattr(s, name)
        if r.value is None or r.error is not None:
            return None
        if self.max_age_s is not None and self.ts - r.ts > self.max_age_s:
            return None
        return r.value


def build_context(now: datetime | float, *, tz: tzinfo | None = None,
                  snapshot: EnergySnapshot | None = None, forecast: Mapping | None = None,
                  sun: SunCalculator | None = None, climate: Mapping | None = None,
                  price: Mapping | None = None, home_load: Mapping | None = None,
                  mining_performance: Mapping | None = None, energy_source: Mapping | None = None,
                  battery_capacity_wh: float | None = None, miners_w: float | None = None,
                  max_age_s: float | None = None,
                  miner: MinerSample | None = None, **miner_kw: Any) -> DecisionContext:
    """Build the site context for one instant.

    ``now`` is an aware datetime or epoch seconds (the injected clock's ``now()``); ``tz`` is the
    site timezone (default: now's own tzinfo, else UTC). A naive datetime is refused.
    ``climate`` = ``{"zones": {name: {temperature_celsius, humidity, target_temperature,
    hysteresis_celsius, timestamp}}, "outdoor_temperature": °C}``; ``price`` = ``{key: value}``;
    ``home_load``/``mining_performance``/``energy_source`` = nested or flat-dotted mappings in
    Edge Mining's shape. ``miner`` (+ ``for_miner`` keywords) gives a per-miner context directly.
    """
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("the decision context needs an aware datetime (got a naive one)")
        tz = tz or now.tzinfo
        dt: datetime | None = now.astimezone(tz)
        ts = now.timestamp()
    else:
        tz = tz or timezone.utc
        dt = None
        ts = float(now)
    ctx = DecisionContext(ts, tz, now=dt, snapshot=snapshot, forecast=forecast, sun=sun,
                          climate=climate, price=price, home_load=home_load,
                          mining_performance=mining_performance, energy_source=energy_source,
                          battery_capacity_wh=battery_capacity_wh, miners_w=miners_w,
                          max_age_s=max_age_s)
    if miner is not None or miner_kw:
        return ctx.for_miner(miner, **miner_kw)
    return ctx


# ------------------------------------------------------------------------------------------
# resolvers
# ------------------------------------------------------------------------------------------
def _pos(v: float | None) -> float | None:
    return None if v is None else max(0.0, v)


def _neg(v: float | None) -> float | None:
    return None if v is None else max(0.0, -v)


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _soc_wh(c: DecisionContext) -> float | None:
    soc = c.energy("battery_soc_pct")
    cap = c.battery_capacity_wh
    return None if soc is None or cap is None else soc / 100.0 * cap


def _sun_event(name: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        return None if c.sun is None else getattr(c.sun.today(c.now), name)
    return fn


def _sun_part(name: str, part: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        t = c.get(f"sun.{name}")
        return None if t is None else getattr(t, part)
    return fn


def _sun_day(attr: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        return None if c.sun is None else getattr(c.sun.today(c.now), attr)
    return fn


def _sun_pos(fn_name: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        return None if c.sun is None else getattr(c.sun, fn_name)(c.now)
    return fn


def _before(event: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        s = None if c.sun is None else c.sun.seconds_until(c.now, event)
        return None if s is None else max(0.0, s)
    return fn


def _after(event: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        s = None if c.sun is None else c.sun.seconds_until(c.now, event)
        return None if s is None else -s
    return fn


_SITE: dict[str, Callable[[DecisionContext], Any]] = {
    "energy_state.production": lambda c: c.energy("pv_w"),
    "energy_state.consumption": lambda c: c.energy("house_w"),
    "energy_state.consumption.current_power": lambda c: c.energy("house_w"),
    "energy_state.net_production": lambda c: _sub(c.energy("pv_w"), c.energy("house_w")),
    "energy_state.miners_power": lambda c: c.miners_w,
    "energy_state.battery.state_of_charge": lambda c: c.energy("battery_soc_pct"),
    "energy_state.battery.current_power": lambda c: c.energy("battery_charge_w"),
    "energy_state.battery.charging_power": lambda c: _pos(c.energy("battery_charge_w")),
    "energy_state.battery.discharging_power": lambda c: _neg(c.energy("battery_charge_w")),
    "energy_state.battery.remaining_capacity": _soc_wh,
    "energy_state.grid.current_power": lambda c: c.energy("grid_import_w"),
    "energy_state.grid.importing_power": lambda c: _pos(c.energy("grid_import_w")),
    "energy_state.grid.exporting_power": lambda c: _neg(c.energy("grid_import_w")),
    "energy_state.external_source": lambda c: None,
    "timestamp": lambda c: c.now,
    "timestamp.year": lambda c: c.now.year,
    "timestamp.month": lambda c: c.now.month,
    "timestamp.day": lambda c: c.now.day,
    "timestamp.hour": lambda c: c.now.hour,
    "timestamp.minute": lambda c: c.now.minute,
    "timestamp.second": lambda c: c.now.second,
    "timestamp.weekday": lambda c: c.now.weekday(),
    "timestamp.isoweekday": lambda c: c.now.isoweekday(),
    "timestamp.minute_of_day": lambda c: c.now.hour * 60 + c.now.minute,
    **{f"sun.{k}": _sun_event(k) for k in ("dawn", "sunrise", "noon", "midnight", "sunset", "dusk")},
    **{f"sun.{k}.{p}": _sun_part(k, p) for k in ("dawn", "sunrise", "noon", "sunset", "dusk")
       for p in ("hour", "minute")},
    "sun.azimuth": _sun_pos("azimuth"),
    "sun.zenith": _sun_pos("zenith"),
    "sun.elevation": _sun_pos("elevation"),
    "sun.daylight": _sun_day("daylight_s"),
    "sun.night": _sun_day("night_s"),
    "sun.twilight": _sun_day("twilight_s"),
    "sun.time_before_sunrise": _before("sunrise"),
    "sun.time_after_sunrise": _after("sunrise"),
    "sun.time_before_sunset": _before("sunset"),
    "sun.time_after_sunset": _after("sunset"),
    "sun.is_daylight": lambda c: None if c.sun is None else c.sun.is_daylight(c.now),
    "climate.min_temperature": lambda c: _zone_stat(c, min),
    "climate.max_temperature": lambda c: _zone_stat(c, max),
    "climate.avg_temperature": lambda c: _zone_stat(c, lambda t: sum(t) / len(t)),
    "climate.outdoor_temperature": lambda c: _num(_get(c.climate, "outdoor_temperature")),
}


def _status(c: DecisionContext) -> str:
    if c.status_override is not None:
        return c.status_override
    return em_status(c.sample.state if c.sample is not None else None)


def _s(attr: str) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        return None if c.sample is None else getattr(c.sample, attr)
    return fn


def _running_for(c: DecisionContext) -> float | None:
    s = c.sample
    if s is None:
        return None
    if not s.running:
        return 0.0
    return None if c.running_since is None else max(0.0, c.ts - c.running_since)


def _stopped_for(c: DecisionContext) -> float | None:
    s = c.sample
    if s is None:
        return None
    if s.running:
        return 0.0
    return None if c.stopped_since is None else max(0.0, c.ts - c.stopped_since)


def _boards(attr: str, agg: Callable) -> Callable[[DecisionContext], Any]:
    def fn(c: DecisionContext) -> Any:
        if c.sample is None:
            return None
        vals = [getattr(b, attr) for b in c.sample.boards if getattr(b, attr) is not None]
        if not vals:
            return c.sample.temp_c if (attr == "temp_c" and agg is max) else None
        return agg(vals)
    return fn


def _avg(vals: list[float]) -> float:
    return round(sum(vals) / len(vals), 1)


_MINER: dict[str, Callable[[DecisionContext], Any]] = {
    "miner.name": _s("name"),
    "miner.model": _s("model"),
    "miner.active": lambda c: None if c.sample is None else True,
    "miner.power_consumption_max": lambda c: (c.capabilities.highest_w or None) if c.capabilities else None,
    "miner.hash_rate_max.value": lambda c: None,
    "miner.status": lambda c: None if c.sample is None else c.sample.state.value,
    "miner.power": _s("power_w"),
    "miner.power_limit": _s("power_limit_w"),
    "miner.hashrate": _s("hashrate_ths"),
    "miner.temperature": _s("temp_c"),
    "miner.fan_rpm": _s("fan_rpm"),
    "miner.efficiency": lambda c: None if c.sample is None else c.sample.efficiency_j_th,
    "miner.level": _s("level"),
    "miner.running_for_s": _running_for,
    "miner.stopped_for_s": _stopped_for,
    "miner_state.status": _status,
    "miner_state.status.value": _status,
    "miner_state.status.name": lambda c: _status(c).upper(),
    "miner_state.hash_rate.value": _s("hashrate_ths"),
    "miner_state.hash_rate.unit": lambda c: None if c.sample is None or c.sample.hashrate_ths is None else "TH/s",
    "miner_state.power_consumption": _s("power_w"),
    "miner_state.system_uptime": _s("uptime_s"),
    "miner_state.blocks_found": lambda c: None,
    "miner_state.max_chip_temperature.value": _boards("chip_temp_c", max),
    "miner_state.max_board_temperature.value": _boards("temp_c", max),
    "miner_state.avg_chip_temperature.value": _boards("chip_temp_c", _avg),
    "miner_state.avg_board_temperature.value": _boards("temp_c", _avg),
    "miner_state.inlet_temperature.value": lambda c: None,
    "miner_state.outlet_temperature.value": lambda c: None,
    "miner_state.external_fan_speed.value": lambda c: None,
}


# -- dynamic namespaces -------------------------------------------------------------------
_ZONE_KEYS = ("temperature_celsius", "humidity", "target_temperature", "hysteresis_celsius",
              "timestamp", "heat_demand", "target_low", "target_min", "target_max", "state")


def _get(obj: Any, key: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _walk(obj: Any, dotted: str) -> Any:
    """Flat key first (``{"total_forecast.next_2h.avg_power": 1200}``), else nested walk."""
    if obj is None:
        return None
    if isinstance(obj, Mapping) and dotted in obj:
        return _plain(obj[dotted])
    for part in dotted.split("."):
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            obj = obj.get(part)
        elif isinstance(obj, (list, tuple)) and part.isdigit():
            i = int(part)
            obj = obj[i] if i < len(obj) else None
        else:
            obj = getattr(obj, part, None)
            if callable(obj):       # never call anything found in data (Edge Mining's weekday trap)
                return None
    return _plain(obj)


def _plain(v: Any) -> Any:
    if isinstance(v, Enum):
        return v.value
    return v


def _flatten(obj: Any, prefix: str = "") -> Iterator[str]:
    if not isinstance(obj, Mapping):
        return
    for k, v in obj.items():
        p = f"{prefix}{k}"
        if isinstance(v, Mapping):
            yield from _flatten(v, p + ".")
        else:
            yield p


def _zones(climate: Any) -> Mapping:
    """Zones by name: ``climate["zones"]``, or a plain ``{name: {...}}`` mapping."""
    z = _get(climate, "zones")
    if isinstance(z, Mapping):
        return z
    if isinstance(climate, Mapping):
        return {k: v for k, v in climate.items() if isinstance(v, Mapping) and k != "status"}
    return {}


def _zone_value(zone: Any, key: str) -> Any:
    """One zone field, in Edge Mining's names, also from our heat module's names.

    Our comfort band [target_min, target_max] maps onto Edge Mining's target/hysteresis as
    target_temperature = target_max, hysteresis_celsius = target_max − target_min (so
    target_low = target_min): "below target" means "not yet warm", "below target_low" asks for heat.
    """
    v = _get(zone, key)
    if v is not None:
        return _plain(v)
    if key == "temperature_celsius":
        return _num(_get(zone, "temperature"))
    if key == "target_temperature":
        return _num(_get(zone, "target_max"))
    if key == "hysteresis_celsius":
        hi, lo = _num(_get(zone, "target_max")), _num(_get(zone, "target_min"))
        return None if hi is None or lo is None else hi - lo
    if key in ("target_low", "target_min"):
        t, h = _num(_zone_value(zone, "target_temperature")), _num(_zone_value(zone, "hysteresis_celsius"))
        return None if t is None else t - (h or 0.0)
    if key == "target_max":
        return _num(_zone_value(zone, "target_temperature"))
    if key == "heat_demand":
        temp = _num(_zone_value(zone, "temperature_celsius"))
        low = _zone_value(zone, "target_low")
        return None if temp is None or low is None else temp < low
    return None


def _zone_stat(c: DecisionContext, agg: Callable) -> float | None:
    temps = [t for t in (_num(_zone_value(z, "temperature_celsius")) for z in _zones(c.climate).values())
             if t is not None]
    return agg(temps) if temps else None


def _climate(c: DecisionContext, rest: str) -> Any:
    parts = rest.split(".")
    if len(parts) == 3 and parts[0] == "zones":
        zone = _zones(c.climate).get(parts[1])
        if zone is None:
            return None
        key = parts[2]
        v = _zone_value(zone, key)
        if key == "timestamp":
            return _aware(v, c.tz)
        if key == "heat_demand" and v is not None:
            return bool(v)
        return v
    return _walk(c.climate, rest)


def _aware(v: Any, tz: tzinfo) -> Any:
    if isinstance(v, datetime):
        return v.replace(tzinfo=tz) if v.tzinfo is None else v.astimezone(tz)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, tz)
    return v


def _forecast(c: DecisionContext, key: str) -> Any:
    f = c.forecast
    return None if f is None else _plain(f.get(key))


def _price(c: DecisionContext, key: str) -> Any:
    p = c.price
    return None if p is None else _plain(p.get(key))


def _perf(c: DecisionContext, rest: str) -> Any:
    v = _walk(c.mining_performance, rest)
    return _aware(v, c.tz) if rest.endswith("next_payout_at") else v


_DYNAMIC: dict[str, Callable[[DecisionContext, str], Any]] = {
    "climate": _climate,
    "forecast": _forecast,
    "price": _price,
    "home_load": lambda c, rest: _walk(c.home_load, rest),
    "mining_performance": _perf,
    "energy_source": lambda c, rest: _walk(c.energy_source, rest),
}

__all__ = ["DecisionContext", "build_context", "em_status", "EM_STATUS"]
