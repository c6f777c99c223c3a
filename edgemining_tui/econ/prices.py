"""The import and export price now: fixed, by time of use, or from a Home Assistant entity."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ..heat.config import parse_hhmm
from .config import PriceSource


def price_at(src: PriceSource | None, ts: float, tz: ZoneInfo, entity_values: dict[str, float | None]) -> float | None:
    if src is None:
        return None
    if src.fixed is not None:
        return src.fixed
    if src.entity is not None:
        return entity_values.get(src.entity)
    local = datetime.fromtimestamp(ts, tz)
    minute = local.hour * 60 + local.minute
    periods = sorted(src.time_of_use, key=lambda p: parse_hhmm(p.start))
    current = periods[-1]
    for p in periods:
        if parse_hhmm(p.start) <= minute:
            current = p
    return current.price
