"""The canonical energy snapshot: the one place that owns signs and units.

Inside the engine there is one convention, carried by the field names:

- ``pv_w`` >= 0, ``house_w`` >= 0 (house load without the miners), ``miners_w`` >= 0
- ``grid_import_w``: + import, - export
- ``battery_charge_w``: + charging, - discharging; ``battery_soc_pct`` 0..100
- power in W (float), energy in Wh, temperature in degC, time in seconds since the epoch.

Adapters convert from their vendor's sign and unit at the boundary with the helpers here.
A missing or unavailable value is ``None``, never 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Iterable

POWER_FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w")
ALL_FIELDS = POWER_FIELDS + ("battery_soc_pct",)
# the readings as a user names them: reasons and panels never show the field names
READING_WORDS = {"pv_w": "PV", "house_w": "house", "grid_import_w": "grid", "battery_charge_w": "battery",
                 "battery_soc_pct": "SoC"}


def reading_names(keys: Iterable[str]) -> str:
    """Reading keys in words ("grid, SoC"), not the engine's field names (grid_import_w)."""
    return ", ".join(READING_WORDS.get(k, k) for k in keys)

# Unit scaling into the canonical unit. Anything else is refused, never guessed.
POWER_UNITS = {"W": 1.0, "w": 1.0, "kW": 1000.0, "kw": 1000.0, "KW": 1000.0}
ENERGY_UNITS = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1_000_000.0}
PERCENT_UNITS = {"%": 1.0, "": 1.0}


class UnitError(ValueError):
    pass


def power_to_w(value: float, unit: str | None) -> float:
    """Scale a power value from ``unit`` to watts; an unknown unit is an error, not a guess."""
    u = (unit or "W").strip()
    if u not in POWER_UNITS:
        raise UnitError(f"unsupported power unit {unit!r} (expected W or kW)")
    return float(value) * POWER_UNITS[u]


def energy_to_wh(value: float, unit: str | None) -> float:
    u = (unit or "Wh").strip()
    if u not in ENERGY_UNITS:
        raise UnitError(f"unsupported energy unit {unit!r} (expected Wh, kWh or MWh)")
    return float(value) * ENERGY_UNITS[u]


def number(v: object) -> float | None:
    """A vendor's number (a JSON number or a numeric string) as a float; None for anything else,
    booleans, NaN and infinities included."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def signed(value: float, invert: bool) -> float:
    return -value if invert else value


@dataclass(frozen=True, slots=True)
class Reading:
    """One value with the time it was measured and, when it is unusable, why."""

    value: float | None
    ts: float
    source: str = ""
    error: str | None = None
    # False when the value's time is not known (an MQTT retained message): ``ts`` is then only
    # when it reached us, and the value is never fresh (it carries an error too)
    age_known: bool = True
    # True when the thing measured does not exist at this site (no battery): no value, the reason in
    # ``error``, but not missing data — it never makes a snapshot stale
    absent: bool = False

    def age(self, now: float) -> float:
        return max(0.0, now - self.ts)

    @property
    def ok(self) -> bool:
        return self.value is not None and self.error is None


def missing(ts: float, source: str, error: str) -> Reading:
    # the error text comes from exceptions (URLs, headers) and reaches the UI and the history
    from ..secrets import redact
    return Reading(None, ts, source, redact(error))


def absent(ts: float, source: str, why: str) -> Reading:
    """A value the site does not have (no battery): shown with its reason, never stale."""
    return Reading(None, ts, source, why, True, True)


@dataclass(frozen=True, slots=True)
class EnergySnapshot:
    """The site's energy flows at one moment, in canonical signs. Miners' own draw is separate."""

    ts: float
    pv_w: Reading
    house_w: Reading
    grid_import_w: Reading
    battery_charge_w: Reading
    battery_soc_pct: Reading
    forecast: dict[str, float | None] = field(default_factory=dict)

    def readings(self) -> dict[str, Reading]:
        return {name: getattr(self, name) for name in ALL_FIELDS}

    def value(self, name: str) -> float | None:
        r: Reading = getattr(self, name)
        return r.value if r.error is None else None

    def ages(self, now: float) -> dict[str, float]:
        return {name: r.age(now) for name, r in self.readings().items()}

    def stale_fields(self, now: float, max_age_s: float, required: Iterable[str]) -> list[str]:
        """Required fields that are missing, invalid or older than ``max_age_s``."""
        out = []
        for name in required:
            r: Reading = getattr(self, name)
            if r.absent:
                continue
            if r.value is None or r.error is not None or r.age(now) > max_age_s:
                out.append(name)
        return out

    @property
    def grid_export_w(self) -> float | None:
        g = self.value("grid_import_w")
        return None if g is None else max(0.0, -g)

    def with_values(self, **kw: Reading) -> "EnergySnapshot":
        return replace(self, **kw)

    @staticmethod
    def empty(ts: float, source: str = "", error: str = "no data yet") -> "EnergySnapshot":
        m = missing(ts, source, error)
        return EnergySnapshot(ts, m, m, m, m, m)


def balance_error_w(pv_w: float, house_w: float, miners_w: float, grid_import_w: float,
                    battery_charge_w: float) -> float:
    """pv + import = house + miners + charge; returns how far a set of flows is from balancing."""
    return pv_w + grid_import_w - (house_w + miners_w + battery_charge_w)
