"""Home Assistant REST adapter: GET /api/states/<entity_id> with a bearer token, over httpx."""
from __future__ import annotations

import asyncio
import json

import httpx

from ..clock import Clock
from .config import EntityRef, HomeAssistantConfig
from .snapshot import EnergySnapshot, Reading, UnitError, energy_to_wh, missing, power_to_w

# canonical field -> config attribute
FIELDS = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid",
          "battery_charge_w": "battery", "battery_soc_pct": "soc"}
FORECASTS = {"power_now_w": "forecast_power_now", "energy_next_hour_wh": "forecast_energy_next_hour",
             "energy_today_remaining_wh": "forecast_energy_today_remaining"}


def parse_state(body: object, ref: EntityRef, kind: str, ts: float, source: str) -> Reading:
    """Turn one entity's JSON into a canonical Reading; anything odd becomes a Reading with an error."""
    if not isinstance(body, dict) or "state" not in body:
        return missing(ts, source, f"{ref.entity}: malformed reply (no state)")
    state = body.get("state")
    if state in ("unavailable", "unknown", None, ""):
        return missing(ts, source, f"{ref.entity} is {state or 'empty'}")
    try:
        value = float(state)
    except (TypeError, ValueError):
        return missing(ts, source, f"{ref.entity}: state {str(state)[:20]!r} is not a number")
    attrs = body.get("attributes") or {}
    unit = ref.unit or (attrs.get("unit_of_measurement") if isinstance(attrs, dict) else None)
    try:
        if kind == "power":
            value = power_to_w(value, unit)
        elif kind == "energy":
            value = energy_to_wh(value, unit)
        elif kind == "percent":
            if unit not in (None, "%"):
                raise UnitError(f"unsupported unit {unit!r} for a state of charge (expected %)")
            if not 0 <= value <= 100:
                return missing(ts, source, f"{ref.entity}: {value} % is outside 0..100")
    except UnitError as e:
        return missing(ts, source, f"{ref.entity}: {e}")
    if ref.invert:
        value = -value
    return Reading(value, ts, source)


class HomeAssistantSource:
    """Polls each configured entity concurrently; one bad entity never spoils the others."""

    def __init__(self, cfg: HomeAssistantConfig, clock: Clock, name: str = "home_assistant") -> None:
        self.cfg = cfg
        self.clock = clock
        self.name = name
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.cfg.url.rstrip("/"), timeout=self.cfg.timeout,
                headers={"Authorization": f"Bearer {self.cfg.token}", "Content-Type": "application/json"})

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _get(self, ref: EntityRef, kind: str) -> Reading:
        assert self._client is not None
        now = self.clock.now()
        try:
            r = await self._client.get(f"/api/states/{ref.entity}")
        except httpx.TimeoutException:
            return missing(now, self.name, f"{ref.entity}: Home Assistant did not answer in {self.cfg.timeout:g} s")
        except httpx.HTTPError as e:
            return missing(now, self.name, f"{ref.entity}: cannot reach Home Assistant ({type(e).__name__})")
        if r.status_code == 401:
            return missing(now, self.name, "Home Assistant refused the token (401)")
        if r.status_code == 404:
            return missing(now, self.name, f"{ref.entity}: no such entity (404)")
        if r.status_code != 200:
            return missing(now, self.name, f"{ref.entity}: Home Assistant answered HTTP {r.status_code}")
        try:
            body = r.json()
        except (json.JSONDecodeError, ValueError):
            return missing(now, self.name, f"{ref.entity}: malformed JSON from Home Assistant")
        # a successful read is current as of now: HA's last_updated only moves when the value changes
        return parse_state(body, ref, kind, self.clock.now(), self.name)

    async def read(self) -> EnergySnapshot:
        await self.start()
        now = self.clock.now()
        jobs: dict[str, asyncio.Future] = {}
        for field, attr in FIELDS.items():
            ref = getattr(self.cfg, attr)
            if ref is not None:
                kind = "percent" if field == "battery_soc_pct" else "power"
                jobs[field] = asyncio.ensure_future(self._get(ref, kind))
        for key, attr in FORECASTS.items():
            ref = getattr(self.cfg, attr)
            if ref is not None:
                jobs["forecast." + key] = asyncio.ensure_future(
                    self._get(ref, "power" if key.endswith("_w") else "energy"))
        results = dict(zip(jobs, await asyncio.gather(*jobs.values()))) if jobs else {}
        values: dict[str, Reading] = {}
        for field, attr in FIELDS.items():
            values[field] = results.get(field) or missing(now, self.name, f"no {attr} entity configured")
        forecast = {k.split(".", 1)[1]: (r.value if r.error is None else None)
                    for k, r in results.items() if k.startswith("forecast.")}
        return EnergySnapshot(ts=now, forecast=forecast, **values)
