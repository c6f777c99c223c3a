"""Value types with units that config fields may declare, and their parsers."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Range:
    """A bound on a number, used in ``Annotated[...]`` hints: the loader refuses values outside it.

    ``Annotated[Power, Range(0, 100_000)]``: 0 W .. 100 kW. ``above``: the low end is excluded."""

    lo: float | None = None
    hi: float | None = None
    above: bool = False
    unit: str = ""

    def problem(self, x: float) -> str | None:
        low_ok = self.lo is None or (x > self.lo if self.above else x >= self.lo)
        if low_ok and (self.hi is None or x <= self.hi):
            return None
        u = self.unit
        if self.lo == 0 and x < 0 and not self.above:
            return f"cannot be negative, got {x:g}{u}"
        if self.lo is not None and self.hi is not None:
            want = f"{'above ' if self.above else ''}{self.lo:g}{u} .. {self.hi:g}{u}"
        elif self.lo is not None:
            want = f"{'above' if self.above else 'at least'} {self.lo:g}{u}"
        else:
            want = f"at most {self.hi:g}{u}"
        return f"expected {want}, got {x:g}{u}"


def bounded(tp, lo=None, hi=None, above: bool = False, unit: str | None = None):
    """``tp`` limited to lo..hi (the unit shown in messages follows the type: W, Wh, s, %)."""
    if unit is None:
        meta = getattr(tp, "__metadata__", ())
        unit = {POWER: " W", ENERGY: " Wh", DURATION: " s", PERCENT: " %"}.get(meta[0] if meta else None, "")
    return Annotated[tp, Range(lo, hi, above, unit)]


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
        _finite(v)
        if v < 0:
            raise ValueError("a duration cannot be negative")
        return float(v)
    if isinstance(v, str):
        _not_other_unit(v, "a duration like 90s, 5m or 1h")
        m = _DUR_RE.match(v)
        if m and any(m.groups()):
            h, mi, s = (float(x) if x else 0.0 for x in m.groups())
            return h * 3600 + mi * 60 + s
    raise ValueError(f"expected a duration like 90s, 5m or 1h, got {v!r}")


def parse_power(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a power like 1500W or 1.5kW")
    if isinstance(v, (int, float)):
        return _finite(v)
    if isinstance(v, str):
        _not_other_unit(v, "a power like 1500W or 1.5kW", POWER)
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
        if _finite(v) < 0:
            raise ValueError("an energy cannot be negative")
        return float(v)
    if isinstance(v, str):
        _not_other_unit(v, "an energy like 10kWh or 500Wh", ENERGY)
        m = _ENERGY_RE.match(v)
        if m:
            mult = {"Wh": 1.0, "kWh": 1000.0, "MWh": 1e6}[m.group(2) or "Wh"]
            return float(m.group(1)) * mult
    raise ValueError(f"expected an energy like 10kWh or 500Wh, got {v!r}")


def parse_percent(v: object) -> float:
    if isinstance(v, bool):
        raise ValueError("expected a percentage 0..100")
    if isinstance(v, (int, float)):
        x = _finite(v)
    elif isinstance(v, str) and _PCT_RE.match(v):
        x = float(_PCT_RE.match(v).group(1))
    else:
        raise ValueError(f"expected a percentage 0..100, got {v!r}")
    if not 0 <= x <= 100:
        raise ValueError(f"expected a percentage 0..100, got {v!r}")
    return x


_ANY_UNIT = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z%°/€$]+(?:/[A-Za-z]+)?)\s*$")
_UNIT_KIND = {"W": POWER, "kW": POWER, "MW": POWER, "Wh": ENERGY, "kWh": ENERGY, "MWh": ENERGY}


def _finite(v: float) -> float:
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {v!r}")
    return x


def _not_other_unit(v: str, want: str, kind: str | None = None) -> None:
    """"3 kWh" where a power is expected: say it is an energy, not just "bad value"."""
    if v.strip().lower() in ("nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        raise ValueError(f"expected a finite number, got {v!r}")
    m = _ANY_UNIT.match(v)
    if m and kind is not None and _UNIT_KIND.get(m.group(1)) not in (None, kind):
        other = "an energy" if _UNIT_KIND[m.group(1)] == ENERGY else "a power"
        raise ValueError(f"{v!r} is {other} ({m.group(1)}); expected {want}")


PARSERS = {DURATION: parse_duration, POWER: parse_power, ENERGY: parse_energy, PERCENT: parse_percent}
