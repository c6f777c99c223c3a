"""The import and export price now: fixed, by time of use, or from a Home Assistant entity.

Time-of-use periods are local times in the site's time zone; a period runs until the next one
starts, and the last one of the day runs on past midnight until the first one (so a 22:00 night
tariff covers 03:00). Home Assistant entities are read over the same REST API as the energy source
(``GET /api/states/<entity_id>``); ``unavailable``/``unknown`` is ``None``, never 0.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from ..heat.config import parse_hhmm
from ..energy.ha_state import fetch_state, parse_number_state
from .config import EconomicsConfig, Price, PriceSource, as_source


def price_at(src: Price | None, ts: float, tz: ZoneInfo, entity_values: Mapping[str, float | None]) -> float | None:
    src = as_source(src)
    if src is None:
        return None
    if src.fixed is not None:
        return src.fixed
    if src.entity is not None:
        v = entity_values.get(src.entity)
        return None if v is None else v * src.scale
    local = datetime.fromtimestamp(ts, tz)
    minute = local.hour * 60 + local.minute
    periods = sorted(src.time_of_use, key=lambda p: parse_hhmm(p.start))
    current = periods[-1]          # before the first start of the day: yesterday's last period
    for p in periods:
        if parse_hhmm(p.start) <= minute:
            current = p
    return current.price


def prices_at(cfg: EconomicsConfig, ts: float, tz: ZoneInfo | str,
              entity_values: Mapping[str, float | None] | None = None) -> dict[str, float | None]:
    """``{"import": ..., "export": ...}`` at ``ts`` (None where unknown)."""
    z = ZoneInfo(tz) if isinstance(tz, str) else tz
    ev = entity_values or {}
    return {"import": price_at(cfg.import_source, ts, z, ev), "export": price_at(cfg.export_source, ts, z, ev)}


def parse_price_state(body: Any) -> tuple[float | None, str | None]:
    """(value, None) or (None, why) from a Home Assistant state object."""
    return parse_number_state(body)


async def read_ha_price(client: Any, entity: str) -> tuple[float | None, str | None]:
    """Read one price entity through an ``httpx.AsyncClient``. Never raises: a failure is ``(None, why)``."""
    body, err = await fetch_state(client, entity)
    if err:
        return None, err
    v, err = parse_number_state(body)
    return v, (f"{entity}: {err}" if err else None)


__all__ = ["price_at", "prices_at", "parse_price_state", "read_ha_price", "PriceSource"]
