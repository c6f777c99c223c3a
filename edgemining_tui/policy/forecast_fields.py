"""The PV forecast as the rules read it: Edge Mining's ``forecast.*`` fields from any forecast.

Our forecast sources deliver a few figures in the snapshot (``EnergySnapshot.forecast``, canonical
keys with units); Edge Mining's rules name others. This module maps one onto the other:

===============================  =====================================  =================================
snapshot key (ours)              rule field (Edge Mining's names)       how
===============================  =====================================  =================================
``power_now_w``                  ``forecast.power_now``                 as delivered
``energy_next_hour_wh``          ``forecast.energy_next_hour``          as delivered (next 60 min)
``energy_today_remaining_wh``    ``forecast.energy_rest_of_day``        as delivered
``energy_tomorrow_wh``           ``forecast.energy_tomorrow``           as delivered
—                                ``forecast.next_hour_power``           curve: mean W of the clock hour
                                                                        holding now + 1 h (Edge Mining's
                                                                        hourly interval containing it)
``power_next_4h_avg_w``          ``forecast.avg_next_4_hours_power``    as delivered (the built-in forecast),
                                                                        else curve: Wh in [now, now + 4 h] / 4 h
—                                ``forecast.next_hour_energy``          curve: Wh in [now + 1 h, now + 2 h]
===============================  =====================================  =================================

The last three need the forecast's *shape*, a curve ``energy_wh(start, end)``. A forecast service
that only gives totals (Forecast.Solar's or Solcast's "remaining today" sensor) gets the clear-sky
shape: the remaining energy spread over a sine from sunrise to sunset (the same shape as the
battery reserve, policy/reserve.py), so it needs the site's location. A forecast that knows its own
curve (the replay's, the built-in PV forecast) implements :class:`PVForecastProducer` and gives it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Protocol

from ..energy.snapshot import number

# snapshot key -> rule key (forecast.<key>)
SNAPSHOT_KEYS: dict[str, str] = {
    "power_now_w": "power_now",
    "energy_next_hour_wh": "energy_next_hour",
    "energy_today_remaining_wh": "energy_rest_of_day",
    "energy_tomorrow_wh": "energy_tomorrow",
    "power_next_4h_avg_w": "avg_next_4_hours_power",
}
CURVE_KEYS = ("next_hour_power", "avg_next_4_hours_power", "next_hour_energy")
_RULE_KEYS = tuple(dict.fromkeys((*SNAPSHOT_KEYS.values(), *CURVE_KEYS)))
HOUR = 3600.0

EnergyCurve = Callable[[float, float], "float | None"]   # Wh of PV in [start, end) (epoch s)


@dataclass(frozen=True, slots=True)
class PVForecast:
    """One forecast at one instant. ``curve``: Wh in [a, b); None when only totals are known."""

    ts: float
    power_now_w: float | None = None
    energy_next_hour_wh: float | None = None
    energy_rest_of_day_wh: float | None = None
    energy_tomorrow_wh: float | None = None
    curve: EnergyCurve | None = None
    avg_next_4h_w: float | None = None


class PVForecastProducer(Protocol):
    """A PV forecast the rules (and the UI) can read: the configured source, the replay's, or a
    built-in one. ``keys``: the ``forecast.<key>`` fields it can fill (for the load-time check)."""

    keys: frozenset[str]

    def pv_forecast(self, now: float, snapshot_forecast: Mapping | None) -> PVForecast | None: ...


class ForecastFields(Mapping):
    """``forecast.<key>`` values for one instant, each worked out on first use. ``fc`` may be a
    function returning the forecast (None: no forecast), called only when a rule asks."""

    __slots__ = ("fc", "tz", "_cache")

    def __init__(self, fc: "PVForecast | Callable[[], PVForecast | None]", tz) -> None:
        self.fc = fc
        self.tz = tz
        self._cache: dict[str, float | None] = {}

    def __getitem__(self, key: str) -> float | None:
        if key in self._cache:
            return self._cache[key]
        v = self._compute(key)
        self._cache[key] = v
        return v

    def get(self, key: str, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        yield from _RULE_KEYS

    def __len__(self) -> int:
        return len(_RULE_KEYS)

    def _compute(self, key: str) -> float | None:
        fc = self.fc
        if callable(fc):
            fc = self.fc = fc()
        if key not in _RULE_KEYS:
            raise KeyError(key)
        if fc is None:
            return None
        if key == "power_now":
            return fc.power_now_w
        if key == "energy_next_hour":
            return fc.energy_next_hour_wh
        if key == "energy_rest_of_day":
            return fc.energy_rest_of_day_wh
        if key == "energy_tomorrow":
            return fc.energy_tomorrow_wh
        curve, now = fc.curve, fc.ts
        if key not in CURVE_KEYS:
            raise KeyError(key)
        if key == "avg_next_4_hours_power":
            if fc.avg_next_4h_w is not None:
                return fc.avg_next_4h_w
            if curve is None:
                return None
            e = curve(now, now + 4 * HOUR)
            return None if e is None else e / 4.0
        if curve is None:
            return None
        if key == "next_hour_energy":
            return curve(now + HOUR, now + 2 * HOUR)
        # next_hour_power: the clock hour (site time) that holds now + 1 h
        t = datetime.fromtimestamp(now + HOUR, self.tz)
        start = t.replace(minute=0, second=0, microsecond=0).timestamp()
        return curve(start, start + HOUR)


def sine_curve(remaining_wh: float, now: float, sunrise: float, sunset: float) -> EnergyCurve:
    """``remaining_wh`` still to come today spread over p(u) = P sin(pi u), u = (t - sunrise) / day:
    the clear-sky shape of a day, for a forecast that gives totals only. Zero outside daylight."""
    length = sunset - sunrise
    x0 = min(max((now - sunrise) / length, 0.0), 1.0) if length > 0 else 1.0
    tail = 1.0 + math.cos(math.pi * x0)           # ∝ energy left in the curve from x0

    def energy(a: float, b: float) -> float | None:
        if length <= 0 or tail <= 1e-9 or remaining_wh <= 0:
            return 0.0
        xa = min(max((a - sunrise) / length, x0), 1.0)
        xb = min(max((b - sunrise) / length, x0), 1.0)
        if xb <= xa:
            return 0.0
        return remaining_wh * (math.cos(math.pi * xa) - math.cos(math.pi * xb)) / tail
    return energy


class SnapshotForecast:
    """The configured forecast source (Home Assistant sensors, MQTT, the demo): its snapshot keys,
    and the sine shape of what remains today when the site's sun times are known."""

    def __init__(self, sun=None, tz=None) -> None:
        self.sun = sun
        self.tz = tz if tz is not None else getattr(sun, "tz", None)
        base = {"power_now", "energy_next_hour", "energy_rest_of_day"}
        self.keys = frozenset(base | (set(CURVE_KEYS) if sun is not None else set()))

    def _sun_span(self, now: float) -> tuple[float, float] | None:
        if self.sun is None:
            return None
        day = self.sun.today(datetime.fromtimestamp(now, self.sun.tz))
        if day.sunrise is None or day.sunset is None:
            return None
        return day.sunrise.timestamp(), day.sunset.timestamp()

    def pv_forecast(self, now: float, snapshot_forecast: Mapping | None) -> PVForecast | None:
        f = snapshot_forecast
        if not f:
            return None
        rest = number(f.get("energy_today_remaining_wh"))
        curve = None
        if rest is not None:
            span = self._sun_span(now)
            if span is not None:
                curve = sine_curve(rest, now, span[0], span[1])
        return PVForecast(now, number(f.get("power_now_w")), number(f.get("energy_next_hour_wh")), rest,
                          number(f.get("energy_tomorrow_wh")), curve, number(f.get("power_next_4h_avg_w")))




__all__ = ["PVForecast", "PVForecastProducer", "ForecastFields", "SnapshotForecast", "sine_curve",
           "SNAPSHOT_KEYS", "CURVE_KEYS"]
