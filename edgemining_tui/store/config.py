"""The ``history:`` section: how long raw samples and their rollups are kept.

Example (the defaults)::

    history:
      raw_for: 7d          # every cycle's energy row and miner samples
      minute_for: 90d      # per-minute averages (energy_minute, miner_minute)
      hour_for: 5y         # per-hour averages (energy_hour, miner_hour); null keeps them forever
      events_for: 1y       # events, commands, decisions ("why was it off?"), applied observer requests
      events_max_rows: 100000  # and never more events than this (the oldest go first): ~10 MB
      maintain_every: 10m  # how often the owner rolls up and prunes (never every cycle)
      write_every: 5s      # energy rows and samples are written this often (events, commands and
                           # decisions at once); a crash loses at most this much of them

Durations here accept days, weeks and years as well: ``36h``, ``7d``, ``12w``, ``5y``
(a year is 365 days). With the defaults, 10 miners at a 5 s cycle need about the size
``benchmarks/db_size.py`` prints (see docs/reliability.md).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Optional

from ..config.types import PARSERS, Duration

RETENTION = "retention"
_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0,
          "y": 365 * 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(min|s|m|h|d|w|y)")


def parse_retention(v: object) -> float:
    """``7d``, ``90d``, ``5y``, ``12w``, ``1y6w``, ``36h`` or a number of seconds."""
    if isinstance(v, bool):
        raise ValueError("expected a period like 7d, 90d or 5y")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError("a period cannot be negative")
        return float(v)
    if isinstance(v, str):
        text = v.strip().replace(" ", "")
        pos, total = 0, 0.0
        for m in _PART.finditer(text):
            if m.start() != pos:
                break
            total += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if pos == len(text) and pos > 0:
            return total
    raise ValueError(f"expected a period like 7d, 90d or 5y, got {v!r}")


# the loader dispatches Annotated markers through PARSERS: register ours once, at import
PARSERS.setdefault(RETENTION, parse_retention)
Period = Annotated[float, RETENTION]

DAY = 86400.0
YEAR = 365 * DAY


@dataclass(frozen=True)
class HistoryConfig:
    raw_for: Period = 7 * DAY
    minute_for: Optional[Period] = 90 * DAY
    hour_for: Optional[Period] = 5 * YEAR
    events_for: Optional[Period] = YEAR
    # a bound whatever happens (issue 16): ~100 bytes a row, so the events table stays ≤ ~10 MB
    events_max_rows: int = 100_000
    maintain_every: Duration = 600.0
    # one transaction per write, not per cycle: at a 1 s cycle that is a fifth of the writes
    write_every: Duration = 5.0

    def validate(self) -> None:
        if self.raw_for < 3600:
            raise ValueError("raw_for: keep raw samples at least 1h (rollups are built from them)")
        if self.minute_for is not None and self.minute_for < self.raw_for:
            raise ValueError(f"minute_for: {_fmt(self.minute_for)} is shorter than raw_for "
                             f"{_fmt(self.raw_for)} (rollups must outlive the raw rows)")
        if self.hour_for is not None and self.minute_for is not None and self.hour_for < self.minute_for:
            raise ValueError(f"hour_for: {_fmt(self.hour_for)} is shorter than minute_for "
                             f"{_fmt(self.minute_for)}")
        if self.hour_for is not None and self.minute_for is None:
            raise ValueError("hour_for: set minute_for too (or leave both unset to keep rollups forever)")
        if self.events_for is not None and self.events_for < DAY:
            raise ValueError("events_for: keep events at least 1d (they answer \"why was it off?\")")
        if isinstance(self.events_max_rows, bool) or not 1000 <= self.events_max_rows <= 10_000_000:
            raise ValueError("events_max_rows: expected between 1000 and 10000000")
        if not 60 <= self.maintain_every <= 86400:
            raise ValueError("maintain_every: expected between 1m and 24h")
        if not 0 <= self.write_every <= 60:
            raise ValueError("write_every: expected between 0s (every cycle) and 1m")


def _fmt(s: float) -> str:
    for unit, mult in (("y", YEAR), ("d", DAY), ("h", 3600.0), ("m", 60.0)):
        if s >= mult and s % mult == 0:
            return f"{s / mult:g}{unit}"
    return f"{s:g}s"
