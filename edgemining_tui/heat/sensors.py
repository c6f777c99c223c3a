"""Reading zone temperatures: a Home Assistant entity, or a simulated room."""
from __future__ import annotations

from typing import Awaitable, Callable

import httpx

from ..energy.ha_state import fetch_state, parse_number_state

TempReader = Callable[[], Awaitable[tuple[float | None, str | None]]]


def parse_temperature(body: object) -> tuple[float | None, str | None]:
    """(°C, None) or (None, why) from a Home Assistant state object."""
    v, err = parse_number_state(body)
    if err:
        return None, err
    unit = ((body.get("attributes") or {}).get("unit_of_measurement") or "°C").strip()
    if unit in ("°F", "F"):
        v = (v - 32.0) * 5.0 / 9.0
    elif unit not in ("°C", "C"):
        return None, f"unsupported temperature unit {unit!r}"
    if not -50 <= v <= 80:
        return None, f"{v:.1f} °C is not a plausible room temperature"
    return v, None


def ha_reader(client_factory: Callable[[], httpx.AsyncClient], entity: str) -> TempReader:
    async def read() -> tuple[float | None, str | None]:
        body, err = await fetch_state(client_factory(), entity)
        if err:
            return None, err
        v, err = parse_temperature(body)
        return v, (f"{entity}: {err}" if err else None)
    return read


def sim_reader(get: Callable[[], float | None]) -> TempReader:
    async def read() -> tuple[float | None, str | None]:
        v = get()
        return (v, None) if v is not None else (None, "simulated room not running")
    return read
