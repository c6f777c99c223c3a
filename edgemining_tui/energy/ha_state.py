"""Reading one Home Assistant entity as a number: shared by prices, zone temperatures and setup."""
from __future__ import annotations

from typing import Any


def parse_number_state(body: Any) -> tuple[float | None, str | None]:
    """(value, None) or (None, why) from a Home Assistant state object; unavailable is never 0."""
    if not isinstance(body, dict):
        return None, "malformed reply"
    state = body.get("state")
    if state in (None, "", "unavailable", "unknown"):
        return None, f"entity is {state or 'empty'}"
    try:
        v = float(state)
    except (TypeError, ValueError):
        return None, f"state {str(state)[:20]!r} is not a number"
    if v != v or v in (float("inf"), float("-inf")):
        return None, "state is not a finite number"
    return v, None


async def fetch_state(client: Any, entity: str) -> tuple[dict | None, str | None]:
    """GET /api/states/<entity> through an ``httpx.AsyncClient`` (base_url, token, timeout set).

    Never raises: a failure is ``(None, why)`` naming the entity."""
    import httpx
    try:
        r = await client.get(f"/api/states/{entity}")
    except httpx.TimeoutException:
        return None, f"{entity}: Home Assistant did not answer in time"
    except httpx.HTTPError as e:
        return None, f"{entity}: cannot reach Home Assistant ({type(e).__name__})"
    if r.status_code == 401:
        return None, f"{entity}: Home Assistant refused the token (HTTP 401)"
    if r.status_code == 404:
        return None, f"{entity}: no such entity in Home Assistant"
    if r.status_code != 200:
        return None, f"{entity}: Home Assistant answered HTTP {r.status_code}"
    from .convert import decode_json
    body, err = decode_json(r.content, "Home Assistant", r.headers.get("content-type", ""))
    return (body, None) if err is None else (None, f"{entity}: {err}")
