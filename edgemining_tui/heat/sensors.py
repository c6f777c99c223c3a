"""Reading zone temperatures: a Home Assistant entity, or a simulated room."""
from __future__ import annotations

from typing import Awaitable, Callable

import httpx

TempReader = Callable[[], Awaitable[tuple[float | None, str | None]]]


def parse_temperature(body: object) -> tuple[float | None, str | None]:
    """(°C, None) or (None, why) from a Home Assistant state object."""
    if not isinstance(body, dict):
        return None, "malformed reply"
    state = body.get("state")
    if state in (None, "", "unavailable", "unknown"):
        return None, f"sensor is {state or 'empty'}"
    try:
        v = float(state)
    except (TypeError, ValueError):
        return None, f"state {str(state)[:20]!r} is not a number"
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
        try:
            r = await client_factory().get(f"/api/states/{entity}")
        except httpx.HTTPError as e:
            return None, f"{entity}: cannot reach Home Assistant ({type(e).__name__})"
        if r.status_code != 200:
            return None, f"{entity}: Home Assistant answered HTTP {r.status_code}"
        try:
            body = r.json()
        except ValueError:
            return None, f"{entity}: malformed JSON"
        v, err = parse_temperature(body)
        return v, (f"{entity}: {err}" if err else None)
    return read


def sim_reader(get: Callable[[], float | None]) -> TempReader:
    async def read() -> tuple[float | None, str | None]:
        v = get()
        return (v, None) if v is not None else (None, "simulated room not running")
    return read
