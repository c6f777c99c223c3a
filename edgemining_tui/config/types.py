"""Value types with units that config fields may declare, and their parsers."""
from __future__ import annotations

import re
from typing import Annotated

# Marker objects used in Annotated[...] hints; the loader dispatches on them.
DURATION = "duration"
POWER = "power"
SECRET = "secret"
ENERGY = "energy"
PERCENT = "percent"

Duration = Annotated[float, DURATION]     # seconds; "90s", "5m", "1h30m", or a number of seconds
Power = Annotated[float, POWER]           # watts; "1500W", "1.5kW", or a number of watts
Energy = Annotated[float, ENERGY]         # watt-hours; "10kWh", "500Wh", or a number
Percent = Annotated[float, PERCENT]       # 0..100


class Secret(str):
    """A string that never shows itself in repr, logs or screens."""

    def __repr__(self) -> str:
        return "Secret('***')"

    @property
    def redacted(self) -> str:
        return "***" if self else ""


_DUR_RE = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?!s))?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")
_POWER_RE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(W|kW|MW)?\s*$")
_ENERGY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Wh|kWh|MWh)?\s*$")
_PCT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_duration(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a duration like 90s, 5m or 1h")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError("a duration cannot be negative")
        return float(v)
    if isinstance(v, str):
        m = _DUR_RE.match(v)
        if m and any(m.groups()):
            h, mi, s = (float(x) if x else 0.0 for x in m.groups())
            return h * 3600 + mi * 60 + s
    raise ValueError(f"expected a duration like 90s, 5m or 1h, got {v!r}")


def parse_power(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a power like 1500W or 1.5kW")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        m = _POWER_RE.match(v)
        if m:
            unit = m.group(2) or "W"
            if unit == "MW":
                raise ValueError(f"unit MW is not a plausible home power, use W or kW (got {v!r})")
            return float(m.group(1)) * (1000.0 if unit == "kW" else 1.0)
    raise ValueError(f"expected a power like 1500W or 1.5kW, got {v!r}")


def parse_energy(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected an energy like 10kWh")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        m = _ENERGY_RE.match(v)
        if m:
            mult = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1e6}[m.group(2) or "Wh"]
            return float(m.group(1)) * mult
    raise ValueError(f"expected an energy like 10kWh or 500Wh, got {v!r}")


def parse_percent(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a percentage 0..100")
    if isinstance(v, (int, float)):
        x = float(v)
    elif isinstance(v, str) and _PCT_RE.match(v):
        x = float(_PCT_RE.match(v).group(1))
    else:
        raise ValueError(f"expected a percentage 0..100, got {v!r}")
    if not 0 <= x <= 100:
        raise ValueError(f"expected a percentage 0..100, got {v!r}")
    return x


PARSERS = {DURATION: parse_duration, POWER: parse_power, ENERGY: parse_energy, PERCENT: parse_percent}
