"""Home Assistant connection test and entity listing, over httpx (no Textual here).

``probe`` gives one clear verdict; ``list_entities`` returns the sensors the wizard offers for the
energy roles, each with its live value, unit and device class.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import httpx

Verdict = Literal["ok", "wrong_token", "unreachable", "not_home_assistant", "bad_url"]

VERDICT_TEXT: dict[str, str] = {
    "ok": "OK: Home Assistant answered and accepted the token",
    "wrong_token": "Wrong token: Home Assistant refused it (make a long-lived access token in your profile)",
    "unreachable": "Unreachable: nothing answered at that address",
    "not_home_assistant": "Not Home Assistant: something answered, but not its API",
    "bad_url": "Not a URL: expected http://host:8123",
}


@dataclass(frozen=True)
class ProbeResult:
    verdict: Verdict
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"

    @property
    def text(self) -> str:
        return VERDICT_TEXT[self.verdict] + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Entity:
    entity_id: str
    name: str
    state: str
    unit: str
    device_class: str

    @property
    def value_text(self) -> str:
        if self.state in ("unavailable", "unknown", ""):
            return self.state or "—"
        return f"{self.state} {self.unit}".strip()

    def matches(self, query: str) -> bool:
        q = query.strip().lower()
        return not q or all(part in f"{self.entity_id} {self.name}".lower() for part in q.split())


def _client(url: str, token: str, timeout: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout, follow_redirects=False,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


async def probe(url: str, token: str, timeout: float = 5.0) -> ProbeResult:
    """GET /api/ with the token: HA answers 200 {"message": "API running."} or 401."""
    url = url.strip()
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        return ProbeResult("bad_url")
    try:
        async with _client(url, token, timeout) as c:
            r = await c.get("/api/")
    except httpx.TimeoutException:
        return ProbeResult("unreachable", f"no answer within {timeout:g} s")
    except httpx.ConnectError as e:
        return ProbeResult("unreachable", _short(e) or "connection refused")
    except httpx.HTTPError as e:
        return ProbeResult("unreachable", f"{type(e).__name__}: {_short(e)}")
    if r.status_code in (401, 403):
        # 403 after too many bad tokens: HA bans the address for a while (ip_ban_enabled)
        return ProbeResult("wrong_token", "HTTP 403: this address may be banned after failed logins"
                           if r.status_code == 403 else "HTTP 401")
    if r.status_code != 200:
        return ProbeResult("not_home_assistant", f"HTTP {r.status_code} for /api/")
    try:
        body = r.json()
    except (json.JSONDecodeError, ValueError):
        return ProbeResult("not_home_assistant", "the answer is not JSON")
    if not isinstance(body, dict) or "message" not in body:
        return ProbeResult("not_home_assistant", "unexpected answer for /api/")
    return ProbeResult("ok")


async def list_entities(url: str, token: str, timeout: float = 10.0) -> list[Entity]:
    """Every entity from GET /api/states (raises httpx.HTTPError / ValueError on failure)."""
    async with _client(url, token, timeout) as c:
        r = await c.get("/api/states")
    r.raise_for_status()
    data = r.json()
    if not isinstance(data, list):
        raise ValueError("GET /api/states did not return a list")
    out = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("entity_id"), str):
            continue
        attrs = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
        out.append(Entity(entity_id=item["entity_id"], name=str(attrs.get("friendly_name") or ""),
                          state=str(item.get("state") if item.get("state") is not None else ""),
                          unit=str(attrs.get("unit_of_measurement") or ""),
                          device_class=str(attrs.get("device_class") or "")))
    return sorted(out, key=lambda e: e.entity_id)


POWER_UNITS = {"W", "kW"}
ENERGY_UNITS = {"Wh", "kWh"}
# the PV forecast pick: the entity names a forecast or "what remains", and is not another horizon
_FORECAST_WORDS = ("forecast", "remaining", "solcast", "rest of", "rest_of")
_FORECAST_VETO = ("tomorrow", "next_hour", "next hour", "this_hour", "this hour", "peak", "battery")


def candidates(entities: list[Entity], role: str) -> list[Entity]:
    """Entities that fit a role: power (W/kW, device_class power), SoC (%, device_class battery) or
    the PV forecast of energy remaining today (Wh/kWh, named like a forecast, e.g. Forecast.Solar's
    sensor.energy_production_today_remaining or Solcast's ..._forecast_remaining_today)."""
    if role == "forecast":
        out = []
        for e in entities:
            text = f"{e.entity_id} {e.name}".lower()
            if e.unit in ENERGY_UNITS and any(w in text for w in _FORECAST_WORDS) \
                    and not any(v in text for v in _FORECAST_VETO):
                out.append(e)
        return out
    if role == "soc":
        return [e for e in entities if e.device_class == "battery" or (not e.device_class and e.unit == "%")]
    return [e for e in entities if e.device_class == "power" or (not e.device_class and e.unit in POWER_UNITS)]


_HINTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # role -> (words that suggest it, words that rule it out)
    "pv": (("pv", "solar", "photovoltaic", "production", "inverter"), ("forecast", "battery", "grid")),
    "house": (("house", "home", "load", "consumption"), ("forecast", "grid", "battery")),
    "grid": (("grid", "meter", "net"), ("forecast",)),
    "battery": (("battery", "batt", "storage"), ("soc", "forecast")),
    "soc": (("soc", "state_of_charge", "battery"), ()),
    # only guessed when it says what remains today (a whole-day total is not that)
    "forecast": (("remaining", "rest of", "rest_of", "forecast", "solcast", "today", "production"),
                 ("grid", "house", "consumption")),
}


def guess(entities: list[Entity], role: str) -> str | None:
    """A likely entity for a role by name (the user confirms or changes it)."""
    words, veto = _HINTS[role]
    best, score = None, 0
    for e in candidates(entities, role):
        text = f"{e.entity_id} {e.name}".lower()
        if any(v in text for v in veto):
            continue
        if role == "forecast" and not any(w in text for w in ("remaining", "rest of", "rest_of")):
            continue
        s = sum(1 for w in words if w in text)
        if s > score:
            best, score = e.entity_id, s
    return best


def _short(e: BaseException, n: int = 80) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return s[:n]
