"""Turn one vendor value into a canonical Reading: number check, unit scaling, sign, plausibility.

Every adapter goes through :func:`to_reading`, so "unavailable", a string state, "MW" or a
PV power of -3 kW all end up the same way: a Reading with ``value=None`` and the reason.
"""
from __future__ import annotations

import math

from .snapshot import Reading, UnitError, energy_to_wh, missing, power_to_w

# canonical field -> kind of quantity
KIND = {"pv_w": "power", "house_w": "power", "grid_import_w": "power", "battery_charge_w": "power",
        "battery_soc_pct": "percent", "power_now_w": "power", "energy_next_hour_wh": "energy",
        "energy_today_remaining_wh": "energy"}
FORECAST_KEYS = ("power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh")
# PV inverters draw a few watts at night and some report it as negative production; beyond this
# a negative PV or house power means the sign is configured wrong, and we say so.
NEGATIVE_TOLERANCE_W = 50.0
NONNEGATIVE = ("pv_w", "house_w", "power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh")
_EMPTY = ("unavailable", "unknown", "none", "null", "nan", "")


def to_number(raw: object) -> float:
    """A finite float from a number or a numeric string; ValueError with a short reason otherwise."""
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, (int, float)):
        value = float(raw)
    elif isinstance(raw, (str, bytes)):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        try:
            value = float(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()[:20]!r} is not a number") from None
    else:
        raise ValueError(f"a {type(raw).__name__} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number")
    return value


def to_reading(raw: object, field: str, *, ts: float, source: str, label: str,
               unit: str | None = None, invert: bool = False) -> Reading:
    """Convert ``raw`` (already in the canonical sign except for ``invert``) into a Reading.

    ``field`` is the canonical name (pv_w, grid_import_w, ..., or a forecast key); ``label`` names
    the vendor value in error messages (an entity id, a topic, a JSON key).
    """
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in _EMPTY):
        what = "no value" if raw is None else f"{raw.strip() or 'empty'}"
        return missing(ts, source, f"{label}: {what}")
    try:
        value = to_number(raw)
    except ValueError as e:
        return missing(ts, source, f"{label}: {e}")
    kind = KIND.get(field, "power")
    try:
        if kind == "power":
            value = power_to_w(value, unit)
        elif kind == "energy":
            value = energy_to_wh(value, unit)
        elif kind == "percent":
            if unit not in (None, "%", ""):
                raise UnitError(f"unsupported unit {unit!r} for a state of charge (expected %)")
            if not 0 <= value <= 100:
                return missing(ts, source, f"{label}: {value:g} % is outside 0..100")
    except UnitError as e:
        return missing(ts, source, f"{label}: {e}")
    if invert and kind != "percent":
        value = -value
    return plausible(Reading(value, ts, source), field, label)


def plausible(r: Reading, field: str, label: str = "") -> Reading:
    """Fields that cannot be negative: clamp standby noise to 0, refuse a clearly wrong sign."""
    if r.value is None or field not in NONNEGATIVE or r.value >= 0:
        return r
    if field.endswith("_w") and r.value >= -NEGATIVE_TOLERANCE_W:
        return Reading(0.0, r.ts, r.source, r.error)
    name = label or field
    return missing(r.ts, r.source, f"{name}: {r.value:g} is negative for {field}; wrong sign? (set invert)")


def with_error(r: Reading, error: str) -> Reading:
    """Keep the last value and its time, but mark it unusable (e.g. the connection is down)."""
    return Reading(r.value, r.ts, r.source, error if r.error is None else f"{error}; {r.error}", r.age_known)
