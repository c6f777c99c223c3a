"""A Home Assistant-shaped REST API over the simulated site, on loopback.

It answers like Home Assistant does (``GET /api/states/<entity_id>``, bearer token, state as a
string, unit in the attributes), so the demo and the tests use the same adapter a user points at
their real Home Assistant. Entities carry vendor-style signs on purpose (battery + discharging, in
kW) so the adapter's conversion is exercised.

With ``websocket=True`` it also serves Home Assistant's WebSocket API on a second loopback port
(:mod:`.ha_websocket`), from the same entities and fault switches; ``ws_url`` says where.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Callable

from .http import HttpServer, Request, Response
from .state import SiteState

# entity id -> (friendly name, unit, device_class, how to read it from SiteState)
DEMO_ENTITIES: dict[str, tuple[str, str, str, Callable[[SiteState], float]]] = {
    "sensor.pv_power": ("PV power", "W", "power", lambda s: s.pv_w),
    "sensor.house_power": ("House consumption", "W", "power", lambda s: s.house_w),
    "sensor.grid_power": ("Grid power", "W", "power", lambda s: s.grid_import_w),
    # like many inverter integrations: kW, + while discharging
    "sensor.battery_power": ("Battery power", "kW", "power", lambda s: -s.battery_charge_w / 1000.0),
    "sensor.battery_soc": ("Battery state of charge", "%", "battery", lambda s: s.battery_soc_pct),
    "sensor.outdoor_temperature": ("Outdoor temperature", "°C", "temperature", lambda s: s.temp_out_c),
    "sensor.solar_forecast_power_now": ("Solar forecast power now", "W", "power", lambda s: s.pv_forecast_w),
    "sensor.solar_forecast_energy_next_hour": ("Solar forecast energy next hour", "kWh", "energy",
                                               lambda s: s.pv_forecast_next_hour_wh / 1000.0),
    "sensor.solar_forecast_energy_today_remaining": ("Solar forecast energy rest of today", "kWh", "energy",
                                                     lambda s: s.pv_forecast_rest_of_day_wh / 1000.0),
}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


class HomeAssistantServer:
    """Serves ``get_state()`` (called per request) as Home Assistant entities.

    Fault switches for tests: ``status`` forces an HTTP status for every request, ``entity_status``
    for one entity's REST requests, ``hang`` accepts
    and never answers, ``overrides`` replaces an entity's state string (e.g. "unavailable"),
    ``units`` replaces an entity's unit, ``garbage`` answers with malformed JSON.
    """

    def __init__(self, get_state: Callable[[], SiteState | None], token: str = "demo-token",
                 host: str = "127.0.0.1", port: int = 0,
                 extra: dict[str, tuple[str, str, str, Callable[[SiteState], float]]] | None = None,
                 websocket: bool = False, ws_port: int = 0) -> None:
        self.get_state = get_state
        self.token = token
        self.entities = dict(DEMO_ENTITIES)
        if extra:
            self.entities.update(extra)
        self.status: int | None = None
        self.hang = False
        self.garbage = False
        self.overrides: dict[str, str] = {}
        self.entity_status: dict[str, int] = {}   # entity id -> HTTP status for that entity only
        self.units: dict[str, str] = {}
        # entity id -> a recorded state object served verbatim (tests/data/energy/home_assistant)
        self.replay: dict[str, dict] | None = None
        self.requests = 0
        self._iso_for: tuple[float | None, str] = (None, "")
        self.http = HttpServer(self._handle, host, port)
        self.ws = None
        if websocket:
            from .ha_websocket import HomeAssistantWsServer
            self.ws = HomeAssistantWsServer(self, host, ws_port)

    @property
    def url(self) -> str:
        return self.http.url

    @property
    def ws_url(self) -> str | None:
        return self.ws.url if self.ws is not None else None

    async def start(self) -> "HomeAssistantServer":
        await self.http.start()
        if self.ws is not None:
            await self.ws.start()
        return self

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.http.close()

    def source_config(self, websocket: bool | None = None, **kw):
        """A HomeAssistantConfig pointing at this server's demo entities, signs as a user would set them."""
        from ..config.types import Secret
        from ..energy.config import EntityRef, HomeAssistantConfig
        use_ws = (self.ws is not None) if websocket is None else websocket
        args = dict(
            url=self.url, token=Secret(self.token),
            pv=EntityRef("sensor.pv_power"), house=EntityRef("sensor.house_power"),
            grid=EntityRef("sensor.grid_power"), battery=EntityRef("sensor.battery_power", invert=True),
            soc=EntityRef("sensor.battery_soc"),
            forecast_power_now=EntityRef("sensor.solar_forecast_power_now"),
            forecast_energy_next_hour=EntityRef("sensor.solar_forecast_energy_next_hour"),
            forecast_energy_today_remaining=EntityRef("sensor.solar_forecast_energy_today_remaining"),
            websocket=use_ws, websocket_url=self.ws_url if use_ws else None)
        args.update(kw)
        return HomeAssistantConfig(**args)

    def entity_state(self, entity_id: str) -> dict | None:
        spec = self.entities.get(entity_id)
        if spec is None:
            return None
        name, unit, dclass, read = spec
        st = self.get_state()
        if entity_id in self.overrides:
            value = self.overrides[entity_id]
        elif st is None:
            value = "unavailable"
        else:
            value = f"{read(st):.3f}" if unit in ("kW", "kWh") else f"{read(st):.1f}"
        when = st.ts if st else 0.0
        if self._iso_for[0] != when:      # the five entities of a cycle share one timestamp
            self._iso_for = (when, _iso(when))
        ts = self._iso_for[1]
        attrs = {"unit_of_measurement": self.units.get(entity_id, unit), "friendly_name": name}
        if dclass:
            attrs["device_class"] = dclass
            attrs["state_class"] = "measurement"
        return {"entity_id": entity_id, "state": value, "attributes": attrs,
                "last_changed": ts, "last_reported": ts, "last_updated": ts,
                "context": {"id": "sim", "parent_id": None, "user_id": None}}

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        if self.hang:
            await asyncio.sleep(3600)
        if self.status is not None:
            return Response.json({"message": "simulated failure"}, self.status)
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Response.text("401: Unauthorized", 401)
        if self.garbage:
            return Response(200, b'{"entity_id": "sensor.x", "state": ')
        if req.path in ("/api", "/api/"):
            return Response.json({"message": "API running."})
        if req.path == "/api/states":
            return Response.json([self.entity_state(e) for e in self.entities])
        if req.path.startswith("/api/states/"):
            eid = req.path[len("/api/states/"):]
            if eid in self.entity_status:
                return Response.json({"message": "simulated failure"}, self.entity_status[eid])
            body = self.replay.get(eid) if self.replay is not None else self.entity_state(eid)
            if body is None:
                return Response.json({"message": "Entity not found."}, 404)
            return Response.json(body)
        return Response.json({"message": "Not found"}, 404)
