"""Loopback stand-ins for smart plugs: a Shelly Plus/Pro relay (Gen2 RPC) and a Home Assistant
``switch.*`` entity with its power sensor. They answer in the shape of the recorded replies in
tests/data/plugs/ (Shelly's Switch.GetStatus / Switch.Set, Home Assistant's state object and
service-call reply).

The load behind the plug is a :class:`PlugLoad`: what it draws ``t`` seconds after power on
(a miner: fans while it boots, then its mining power). ``on_change(on)`` tells a test when the
relay switches (e.g. to take an emulated pyasic miner off the network and reboot it).

Fault switches (StandInServer): ``status``, ``hang``, ``garbage``; Shelly: ``password`` (answers
401 as a plug with authentication enabled does); Home Assistant: ``unavailable``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from ..clock import Clock
from .http import Request, Response, StandInServer


@dataclass
class PlugLoad:
    """Draw behind a relay: ``boot_w`` for ``boot_s`` after power on, then ``run_w``."""

    run_w: float = 1400.0
    boot_w: float = 80.0
    boot_s: float = 60.0

    def power_w(self, on: bool, on_for_s: float) -> float:
        if not on:
            return 0.0
        return self.boot_w if on_for_s < self.boot_s else self.run_w


class _Relay:
    def __init__(self, clock: Clock, load: PlugLoad, on: bool, on_change: Callable[[bool], object] | None) -> None:
        self.clock = clock
        self.load = load
        self.on = on
        self.on_since = clock.now() if on else None
        self.on_change = on_change
        self.switched = 0            # how many times the relay changed state (relay wear)
        self.energy_wh = 0.0
        self._last = clock.now()

    def _integrate(self) -> float:
        now = self.clock.now()
        p = self.power_w(self._last)
        self.energy_wh += p * max(0.0, now - self._last) / 3600.0
        self._last = now
        return now

    def power_w(self, at: float | None = None) -> float:
        at = self.clock.now() if at is None else at
        return self.load.power_w(self.on, at - self.on_since if self.on_since is not None else 0.0)

    async def set(self, on: bool) -> bool:
        now = self._integrate()
        was = self.on
        if on != was:
            self.on = on
            self.on_since = now if on else None
            self.switched += 1
            if self.on_change is not None:
                r = self.on_change(on)
                if hasattr(r, "__await__"):
                    await r
        return was


class ShellySwitchServer(StandInServer):
    """``GET /rpc/Switch.GetStatus?id=N``, ``GET /rpc/Switch.Set?id=N&on=true|false``,
    ``POST /rpc`` (JSON-RPC with the same methods), ``GET /shelly``."""

    GARBAGE = b'{"id":0,"source":"http","output":'

    def __init__(self, clock: Clock, load: PlugLoad | None = None, on: bool = False, switch_id: int = 0,
                 on_change: Callable[[bool], object] | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.relay = _Relay(clock, load or PlugLoad(), on, on_change)
        self.switch_id = switch_id
        self.password: str | None = None
        self.source = "init"
        self.requests = 0

    def plug_config(self, **kw):
        from ..miners.config import PlugConfig
        return PlugConfig(kind="shelly", host=self.url, switch_id=self.switch_id, **kw)

    def switch_status(self) -> dict:
        r = self.relay
        r._integrate()
        p = round(r.power_w(), 1)
        v = 230.4
        return {"id": self.switch_id, "source": self.source, "output": r.on, "apower": p, "voltage": v,
                "current": round(p / v, 3), "aenergy": {"total": round(r.energy_wh, 3), "by_minute": [0, 0, 0],
                                                        "minute_ts": int(r.clock.now() // 60 * 60)},
                "temperature": {"tC": 41.2, "tF": 106.2}}

    def _error(self, code: int, message: str) -> Response:
        # Gen2 answers a failed RPC over HTTP with a non-200 status and {code, message}
        return Response.json({"code": code, "message": message}, 500 if code != 401 else 401)

    async def _call(self, method: str, params: dict) -> Response:
        m = method.lower()
        if m not in ("switch.getstatus", "switch.set"):
            return self._error(-114, f"Method {method} failed: No handler for {method}")
        sid = params.get("id")
        try:
            sid = int(sid)
        except (TypeError, ValueError):
            return self._error(-103, "Invalid argument 'id': Argument 'id' is required")
        if sid != self.switch_id:
            return self._error(-105, f"Argument 'id', value {sid} not found!")
        if m == "switch.getstatus":
            return Response.json(self.switch_status())
        on = params.get("on")
        if isinstance(on, str):
            on = {"true": True, "false": False}.get(on.lower())
        if not isinstance(on, bool):
            return self._error(-103, "Invalid argument 'on': Argument 'on' is required")
        self.source = "HTTP_in"
        was = await self.relay.set(on)
        return Response.json({"was_on": was})

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if self.garbage:
            return self.garbage_reply()
        if self.password is not None:
            return Response.json({"code": 401, "message": "Unauthorized"}, 401)
        if req.path == "/shelly":
            return Response.json({"name": None, "id": "shellyplusplugs-sim", "model": "SNPL-00112EU", "gen": 2,
                                  "fw_id": "sim", "ver": "1.4.4", "app": "PlusPlugS", "auth_en": False})
        if req.path.startswith("/rpc/"):
            params = {k: v[-1] for k, v in req.query.items()}
            return await self._call(req.path[len("/rpc/"):], params)
        if req.path == "/rpc" and req.method == "POST":
            try:
                body = req.json()
                method, params, rid = body["method"], body.get("params") or {}, body.get("id")
            except (ValueError, KeyError, TypeError):
                return self._error(-32700, "Invalid request")
            resp = await self._call(method, params)
            import json
            payload = json.loads(resp.body)
            frame = {"id": rid, "src": "shellyplusplugs-sim"}
            frame.update({"result": payload} if resp.status == 200 else {"error": payload})
            return Response.json(frame)
        return Response.json({"code": 404, "message": "Not Found"}, 404)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat()


class HomeAssistantSwitchServer(StandInServer):
    """A Home Assistant with one switch entity and its power sensor: ``GET /api/states/<id>``,
    ``POST /api/services/<domain>/turn_on|turn_off|toggle``."""

    GARBAGE = b'{"entity_id": "switch.x", "state": '

    def __init__(self, clock: Clock, token: str = "ha-token", entity: str = "switch.miner_socket",
                 power_entity: str = "sensor.miner_socket_power", load: PlugLoad | None = None, on: bool = False,
                 on_change: Callable[[bool], object] | None = None, power_unit: str = "W",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.relay = _Relay(clock, load or PlugLoad(), on, on_change)
        self.token = token
        self.entity = entity
        self.power_entity = power_entity
        self.power_unit = power_unit
        self.unavailable = False
        self.changed_ts = clock.now()
        self.requests = 0

    def plug_config(self, **kw):
        from ..config.types import Secret
        from ..miners.config import PlugConfig
        kw.setdefault("power_entity", self.power_entity)
        return PlugConfig(kind="home_assistant", url=self.url, token=Secret(self.token), entity=self.entity, **kw)

    def _switch_state(self, user_id: str | None = None) -> dict:
        ts = _iso(self.changed_ts)
        state = "unavailable" if self.unavailable else ("on" if self.relay.on else "off")
        return {"entity_id": self.entity, "state": state,
                "attributes": {"device_class": "outlet", "friendly_name": "Miner socket"},
                "last_changed": ts, "last_reported": ts, "last_updated": ts,
                "context": {"id": "sim", "parent_id": None, "user_id": user_id}}

    def _power_state(self) -> dict:
        now = self.relay.clock.now()
        p = self.relay.power_w(now)
        value = "unavailable" if self.unavailable else (
            f"{p / 1000:.3f}" if self.power_unit == "kW" else f"{p:.1f}")
        ts = _iso(now)
        return {"entity_id": self.power_entity, "state": value,
                "attributes": {"unit_of_measurement": self.power_unit, "device_class": "power",
                               "state_class": "measurement", "friendly_name": "Miner socket power"},
                "last_changed": ts, "last_reported": ts, "last_updated": ts,
                "context": {"id": "sim", "parent_id": None, "user_id": None}}

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Response.text("401: Unauthorized", 401)
        if self.garbage:
            return self.garbage_reply()
        if req.path.startswith("/api/states/"):
            eid = req.path[len("/api/states/"):]
            if eid == self.entity:
                return Response.json(self._switch_state())
            if eid == self.power_entity:
                return Response.json(self._power_state())
            return Response.json({"message": "Entity not found."}, 404)
        if req.path.startswith("/api/services/") and req.method == "POST":
            domain, _, service = req.path[len("/api/services/"):].partition("/")
            try:
                body = req.json() or {}
            except ValueError:
                return Response.json({"message": "Data should be valid JSON."}, 400)
            if domain != self.entity.split(".")[0] or service not in ("turn_on", "turn_off", "toggle"):
                return Response.json({"message": f"Service {domain}.{service} not found."}, 400)
            if body.get("entity_id") != self.entity:
                return Response.json([])          # nothing changed: HA answers an empty list
            on = {"turn_on": True, "turn_off": False}.get(service, not self.relay.on)
            was = await self.relay.set(on)
            if was == on or self.unavailable:
                return Response.json([])
            self.changed_ts = self.relay.clock.now()
            # the changed state's context carries the user the token belongs to
            return Response.json([self._switch_state(user_id="sim-user")])
        return Response.json({"message": "Not found"}, 404)


__all__ = ["PlugLoad", "ShellySwitchServer", "HomeAssistantSwitchServer"]
