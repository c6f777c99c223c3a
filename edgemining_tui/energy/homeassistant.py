"""Home Assistant REST adapter: GET /api/states/<entity_id> with a bearer token, over httpx.

Home Assistant has no global sign convention: each entity's sign is whatever its integration
chose, so each EntityRef carries its own ``invert`` and (optionally) ``unit``.
"""
from __future__ import annotations

import asyncio

import httpx

from ..clock import Clock
from .config import EntityRef, HomeAssistantConfig
from .convert import KIND, decode_json, to_reading
from .snapshot import EnergySnapshot, Reading, missing

# canonical field -> config attribute
FIELDS = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid",
          "battery_charge_w": "battery", "battery_soc_pct": "soc"}
FORECASTS = {"power_now_w": "forecast_power_now", "energy_next_hour_wh": "forecast_energy_next_hour",
             "energy_today_remaining_wh": "forecast_energy_today_remaining"}
_KIND_FIELD = {"power": "grid_import_w", "energy": "energy_next_hour_wh", "percent": "battery_soc_pct"}


def parse_state(body: object, ref: EntityRef, kind: str, ts: float, source: str,
                field: str | None = None) -> Reading:
    """Turn one entity's JSON into a canonical Reading; anything odd becomes a Reading with an error.

    ``kind`` is power, energy or percent; ``field`` (a canonical name) adds the plausibility check
    of that field (PV and house cannot be negative).
    """
    if not isinstance(body, dict) or "state" not in body:
        return missing(ts, source, f"{ref.entity}: malformed reply (no state)")
    attrs = body.get("attributes") or {}
    unit = ref.unit or (attrs.get("unit_of_measurement") if isinstance(attrs, dict) else None)
    state = body.get("state")
    if state in ("unavailable", "unknown", None, ""):
        return missing(ts, source, f"{ref.entity} is {state or 'empty'}")
    if not isinstance(state, str):
        # Home Assistant always sends the state as a string; anything else is not Home Assistant
        return missing(ts, source, f"{ref.entity}: state {state!r} is not a string")
    return to_reading(state, field or _KIND_FIELD.get(kind, "grid_import_w"), ts=ts, source=source,
                      label=ref.entity, unit=unit, invert=ref.invert)


def configured(cfg: HomeAssistantConfig) -> dict[str, EntityRef]:
    """Canonical key (a snapshot field or ``forecast.<key>``) -> the entity configured for it."""
    out: dict[str, EntityRef] = {}
    for fld, attr in FIELDS.items():
        if getattr(cfg, attr) is not None:
            out[fld] = getattr(cfg, attr)
    for key, attr in FORECASTS.items():
        if getattr(cfg, attr) is not None:
            out["forecast." + key] = getattr(cfg, attr)
    return out


def parse_for(key: str, body: object, ref: EntityRef, ts: float, source: str) -> Reading:
    fld = key.split(".", 1)[1] if key.startswith("forecast.") else key
    return parse_state(body, ref, KIND[fld], ts, source, fld)


def assemble(results: dict[str, Reading], now: float, source: str) -> EnergySnapshot:
    values: dict[str, Reading] = {}
    for fld, attr in FIELDS.items():
        values[fld] = results.get(fld) or missing(now, source, f"no {attr} entity configured")
    forecast = {k.split(".", 1)[1]: (r.value if r.error is None else None)
                for k, r in results.items() if k.startswith("forecast.")}
    return EnergySnapshot(ts=now, forecast=forecast, **values)


class HomeAssistantSource:
    """Polls each configured entity concurrently; one bad entity never spoils the others."""

    def __init__(self, cfg: HomeAssistantConfig, clock: Clock, name: str = "home_assistant") -> None:
        self.cfg = cfg
        self.clock = clock
        self.name = name
        self.entities = configured(cfg)
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

    async def _get(self, key: str, ref: EntityRef) -> Reading:
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
        body, err = decode_json(r.content, "Home Assistant", r.headers.get("content-type", ""))
        if err is not None:
            return missing(now, self.name, f"{ref.entity}: {err}")
        # a successful read is current as of now: HA's last_updated only moves when the value changes
        return parse_for(key, body, ref, self.clock.now(), self.name)

    async def read_all(self) -> dict[str, Reading]:
        await self.start()
        keys = list(self.entities)
        got = await asyncio.gather(*(self._get(k, self.entities[k]) for k in keys))
        return dict(zip(keys, got))

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        return assemble(await self.read_all(), now, self.name)
