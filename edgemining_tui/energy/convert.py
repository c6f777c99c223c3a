"""Turn one vendor value into a canonical Reading: number check, unit scaling, sign, plausibility.

Every adapter goes through :func:`to_reading`, so "unavailable", a string state, "MW" or a
PV power of -3 kW all end up the same way: a Reading with ``value=None`` and the reason.
"""
from __future__ import annotations

import math
from typing import Any

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
# Beyond these a value is a unit or scaling fault (a kW value read as W, a register 100x off), not
# a home: a 3 x 63 A connection carries ~44 kW. Such a value is refused, never used in a decision.
PLAUSIBLE_MAX = {"power": 100_000.0, "energy": 1_000_000.0}
_EMPTY = ("unavailable", "unknown", "none", "null", "")


def _neg(x: Any) -> Any:
    """The opposite sign of a vendor value, leaving anything that is not a number to to_reading."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return x
    return -x


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
    """Refuse a value beyond a home's bounds; for fields that cannot be negative, clamp standby
    noise to 0 and refuse a clearly wrong sign."""
    if r.value is None:
        return r
    kind = KIND.get(field, "power")
    bound = PLAUSIBLE_MAX.get(kind)
    if bound is not None and not abs(r.value) <= bound:      # `not <=` also catches NaN
        unit = "W" if kind == "power" else "Wh"
        return missing(r.ts, r.source, f"{label or field}: {r.value:g} {unit} is beyond the plausible "
                       f"{bound:g} {unit} for a home (unit or scaling fault?)")
    if field not in NONNEGATIVE or r.value >= 0:
        return r
    if field.endswith("_w") and r.value >= -NEGATIVE_TOLERANCE_W:
        return Reading(0.0, r.ts, r.source, r.error)
    name = label or field
    return missing(r.ts, r.source, f"{name}: {r.value:g} is negative for {field}; wrong sign? (set invert)")


def with_error(r: Reading, error: str) -> Reading:
    """Keep the last value and its time, but mark it unusable (e.g. the connection is down)."""
    return Reading(r.value, r.ts, r.source, error if r.error is None else f"{error}; {r.error}", r.age_known)


def decode_json(content: bytes, vendor: str, content_type: str = "") -> tuple[object, str | None]:
    """(document, None) or (None, why) for an HTTP body that should be JSON.

    The one place every HTTP adapter turns bytes into a document, so an empty 200, an HTML error
    page from a proxy or a captive portal, and a reply cut off mid-way each get their own reason.
    """
    import json
    text = content.decode("utf-8", "replace").strip()
    if not text:
        return None, f"empty reply from {vendor} (HTTP 200 with no body)"
    try:
        # the body decides: some devices label their JSON text/html or text/javascript
        return json.loads(text), None
    except json.JSONDecodeError as e:
        if text.startswith("<") or "html" in content_type.lower():
            return None, f"{vendor} answered with an HTML page, not JSON (wrong address, or a proxy error page?)"
        if _unclosed(text):
            return None, f"malformed JSON from {vendor}: truncated (cut off after {len(text)} bytes)"
        return None, f"malformed JSON from {vendor}: {e.msg} at byte {e.pos}"


def _unclosed(text: str) -> bool:
    """Does the text stop inside a string, an object or a list (a reply cut off mid-way)?"""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
    return in_string or depth > 0
