"""Home Assistant's WebSocket API (``/api/websocket``) over the simulated site, on loopback.

Served next to :class:`~.ha_server.HomeAssistantServer` on its own port (the tiny HTTP server
does not do upgrades); the entities, token and fault switches are the REST server's, so the two
always agree. It speaks the real message flow: ``auth_required`` -> ``auth`` -> ``auth_ok`` or
``auth_invalid``; ``subscribe_events`` (state_changed), ``get_states``, ``ping``/``pong``. A
watcher compares the entities every ``poll_s`` and pushes a ``state_changed`` event for each
entity whose state or unit changed, as Home Assistant does.

Fault switches (besides the REST server's ``status``, ``hang``, ``garbage``, ``overrides``,
``units``): :meth:`drop` closes every open socket; ``refuse`` rejects new handshakes with 503.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .ha_server import HomeAssistantServer


class HomeAssistantWsServer:
    def __init__(self, ha: "HomeAssistantServer", host: str = "127.0.0.1", port: int = 0,
                 poll_s: float = 0.05) -> None:
        self.ha = ha
        self.host = host
        self.port = port
        self.poll_s = poll_s
        self.refuse = False
        self.connections = 0
        self._server = None
        self._conns: set = set()

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/api/websocket"

    async def start(self) -> "HomeAssistantWsServer":
        from websockets.asyncio.server import serve
        self._server = await serve(self._handle, self.host, self.port, process_request=self._process_request,
                                   ping_interval=None, compression=None)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 3)
            self._server = None

    async def drop(self) -> None:
        """Close every open WebSocket, as a Home Assistant restart would."""
        for ws in list(self._conns):
            with contextlib.suppress(Exception):
                await ws.close(1012, "restarting")

    def _process_request(self, connection, request):
        if self.refuse:
            return connection.respond(503, "refused by the simulator\n")
        if self.ha.status is not None:
            return connection.respond(self.ha.status, "simulated failure\n")
        if request.path != "/api/websocket":
            return connection.respond(404, "Not found\n")
        return None

    def _snapshot(self) -> dict[str, dict]:
        return {e: self.ha.entity_state(e) for e in self.ha.entities}

    async def _handle(self, ws) -> None:
        self._conns.add(ws)
        self.connections += 1
        subs: set[int] = set()
        watcher: asyncio.Task | None = None
        try:
            await ws.send(json.dumps({"type": "auth_required", "ha_version": "2026.5.0"}))
            msg = json.loads(await ws.recv())
            if msg.get("type") != "auth" or msg.get("access_token") != self.ha.token:
                await ws.send(json.dumps({"type": "auth_invalid", "message": "Invalid access token or password"}))
                await ws.close()
                return
            await ws.send(json.dumps({"type": "auth_ok", "ha_version": "2026.5.0"}))
            watcher = asyncio.create_task(self._watch(ws, subs))
            async for raw in ws:
                if self.ha.hang:
                    continue           # swallow everything: the client must notice by itself
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                mid, kind = msg.get("id"), msg.get("type")
                if kind == "subscribe_events":
                    subs.add(mid)
                    await ws.send(json.dumps({"id": mid, "type": "result", "success": True, "result": None}))
                elif kind == "unsubscribe_events":
                    subs.discard(msg.get("subscription"))
                    await ws.send(json.dumps({"id": mid, "type": "result", "success": True, "result": None}))
                elif kind == "get_states":
                    if self.ha.garbage:
                        await ws.send('{"id": %d, "type": "result", "result": [' % mid)
                        continue
                    states = [s for s in self._snapshot().values() if s is not None]
                    await ws.send(json.dumps({"id": mid, "type": "result", "success": True, "result": states}))
                elif kind == "ping":
                    await ws.send(json.dumps({"id": mid, "type": "pong"}))
                else:
                    await ws.send(json.dumps({"id": mid, "type": "result", "success": False,
                                              "error": {"code": "unknown_command", "message": "Unknown command."}}))
        except Exception:
            pass
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await watcher
            self._conns.discard(ws)

    async def _watch(self, ws, subs: set[int]) -> None:
        def key(s: dict | None):
            return None if s is None else (s["state"], s["attributes"].get("unit_of_measurement"))
        last = self._snapshot()
        while True:
            await asyncio.sleep(self.poll_s)
            if not subs or self.ha.hang:
                continue
            now = self._snapshot()
            for eid, st in now.items():
                old = last.get(eid)
                if key(st) == key(old):
                    continue
                if self.ha.garbage:
                    await ws.send('{"type": "event", "event": ')
                    continue
                for sid in list(subs):
                    await ws.send(json.dumps({"id": sid, "type": "event", "event": {
                        "event_type": "state_changed", "origin": "LOCAL", "time_fired": st["last_updated"],
                        "data": {"entity_id": eid, "old_state": old, "new_state": st}}}))
            last = now
