"""Home Assistant over its WebSocket API: changes arrive as they happen, REST is the fallback.

Protocol (developers.home-assistant.io, "WebSocket API"): the server sends ``auth_required``, we
send ``auth`` with the token and get ``auth_ok`` / ``auth_invalid``; then ``subscribe_events``
(``state_changed``) and ``get_states`` for the initial picture; ``ping`` is answered by ``pong``.

Time stamps: Home Assistant only sends a state when it changes, so a steady value is still
current while the subscription is known to be alive. A reading's ``ts`` is therefore the last
moment the connection proved alive (any message, including a pong) -- pings go out every
``ping_interval``. When the socket drops or stops answering, :meth:`read` falls back to REST
polling until the subscription is back; reconnects back off from 0.5 s up to ``reconnect_max``.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random

from ..clock import Clock
from .config import HomeAssistantConfig
from .homeassistant import HomeAssistantSource, assemble, configured, parse_for
from .snapshot import EnergySnapshot, Reading, missing
from .source import PushListener

log = logging.getLogger("edgemining_tui.energy.ha_ws")


class AuthInvalid(Exception):
    pass


class HomeAssistantWsSource:
    def __init__(self, cfg: HomeAssistantConfig, clock: Clock, name: str = "home_assistant") -> None:
        try:
            import websockets.asyncio.client  # noqa: F401
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise RuntimeError("the Home Assistant WebSocket source needs the 'websockets' package: "
                               "pip install 'edgemining-tui[websocket]' (or set websocket: false)") from e
        self.cfg = cfg
        self.clock = clock
        self.name = name
        self.rest = HomeAssistantSource(cfg, clock, name)
        self.entities = configured(cfg)
        self._by_entity: dict[str, list[str]] = {}
        for key, ref in self.entities.items():
            self._by_entity.setdefault(ref.entity, []).append(key)
        self._states: dict[str, dict | None] = {}   # entity id -> latest state object (None: removed)
        self._ready = False                          # subscribed and initial states loaded
        self._alive_ts: float | None = None          # clock time of the last message received
        self._last_error: str | None = None
        self._task: asyncio.Task | None = None
        self._ws = None
        self.connects = 0                            # how many times a subscription came up
        self.fallback_reads = 0
        self._push: PushListener | None = None

    def set_push_listener(self, listener: PushListener | None) -> None:
        self._push = listener

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.rest.start()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-websocket")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.rest.close()

    @property
    def connected(self) -> bool:
        return self._ready

    # --- the subscription ------------------------------------------------------------------------
    async def _run(self) -> None:
        delay = 0.5
        logged: str | None = None
        seen = self.connects
        auth = self.rest.auth                 # one backoff for REST and WebSocket logins
        while True:
            while auth.blocked(self.clock.now()) is not None:
                await asyncio.sleep(0.5)      # the clock may be virtual: look again, do not oversleep
            try:
                await self._session()
                delay = 0.5
            except asyncio.CancelledError:
                raise
            except AuthInvalid as e:
                self._last_error = f"Home Assistant refused the token ({e})"
                auth.failed(self.clock.now(), self._last_error)
            except Exception as e:
                self._last_error = f"Home Assistant WebSocket: {type(e).__name__}: {str(e)[:80]}"
            finally:
                self._ready = False
                self._ws = None
            if self.connects != seen:          # it was up in between: a new outage gets its line
                seen, logged = self.connects, None
            if self._last_error != logged and auth.refused is None:   # AuthBackoff logs its own
                log.info("%s: %s; reconnecting (every %.0f s at most)", self.name, self._last_error,
                         self.cfg.reconnect_max)
            logged = self._last_error
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(self.cfg.reconnect_max, delay * 2)

    async def _session(self) -> None:
        from websockets.asyncio.client import connect

        async with connect(self.cfg.ws_url, open_timeout=self.cfg.timeout, max_size=2**24,
                           ping_interval=None) as ws:
            self._ws = ws
            first = await self._recv(ws)
            if first.get("type") != "auth_required":
                raise ConnectionError(f"expected auth_required, got {first.get('type')!r}")
            await ws.send(json.dumps({"type": "auth", "access_token": str(self.cfg.token)}))
            reply = await self._recv(ws)
            if reply.get("type") == "auth_invalid":
                raise AuthInvalid(reply.get("message") or "auth_invalid")
            if reply.get("type") != "auth_ok":
                raise ConnectionError(f"expected auth_ok, got {reply.get('type')!r}")
            self.rest.auth.accepted()
            await ws.send(json.dumps({"id": 1, "type": "subscribe_events", "event_type": "state_changed"}))
            await ws.send(json.dumps({"id": 2, "type": "get_states"}))
            pinger = asyncio.create_task(self._pinger(ws))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max(2 * self.cfg.ping_interval, self.cfg.timeout)
            try:
                while True:
                    msg = await self._recv(ws)
                    self._handle(msg)
                    if not self._ready and loop.time() > deadline:
                        # pongs alone do not make a subscription: the states never came
                        raise ConnectionError("Home Assistant did not answer get_states")
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pinger

    async def _recv(self, ws) -> dict:
        # nothing for two ping intervals means the other side is gone (or hangs)
        raw = await asyncio.wait_for(ws.recv(), timeout=max(2 * self.cfg.ping_interval, self.cfg.timeout))
        try:
            msg = json.loads(raw)
        except (TypeError, ValueError):
            raise ConnectionError("malformed JSON on the WebSocket") from None
        if not isinstance(msg, dict):
            raise ConnectionError("unexpected message on the WebSocket")
        self._alive_ts = self.clock.now()
        return msg

    async def _pinger(self, ws) -> None:
        n = 1000
        while True:
            await asyncio.sleep(self.cfg.ping_interval)
            n += 1
            await ws.send(json.dumps({"id": n, "type": "ping"}))

    def _handle(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "result" and msg.get("id") == 1 and not msg.get("success", False):
            raise ConnectionError(f"subscribe_events failed: {msg.get('error')}")
        if kind == "result" and msg.get("id") == 2:
            if not msg.get("success", False):
                raise ConnectionError(f"get_states failed: {msg.get('error')}")
            seen = {}
            for st in msg.get("result") or []:
                if isinstance(st, dict) and st.get("entity_id") in self._by_entity:
                    seen[st["entity_id"]] = st
            # entities Home Assistant does not have are remembered as removed
            self._states = {e: seen.get(e) for e in self._by_entity}
            self._ready = True
            self._last_error = None
            self.connects += 1
            return
        if kind == "event":
            ev = msg.get("event") or {}
            if ev.get("event_type") != "state_changed":
                return
            data = ev.get("data") or {}
            eid = data.get("entity_id")
            if eid in self._by_entity:
                self._states[eid] = data.get("new_state")
                if self._push is not None:
                    for key in self._by_entity[eid]:
                        if not key.startswith("forecast."):
                            r = parse_for(key, data.get("new_state"), self.entities[key], self.clock.now(),
                                          self.name)
                            self._push(key, r.value if r.error is None else None)

    # --- reading ---------------------------------------------------------------------------------
    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        if not self._ready:
            # REST keeps the console going while the subscription is (re)connecting
            await self.start()
            self.fallback_reads += 1
            return await self.rest.read()
        ts = self._alive_ts if self._alive_ts is not None else now
        results: dict[str, Reading] = {}
        for key, ref in self.entities.items():
            st = self._states.get(ref.entity)
            if st is None:
                results[key] = missing(ts, self.name, f"{ref.entity}: no such entity in Home Assistant")
            else:
                results[key] = parse_for(key, st, ref, ts, self.name)
        return assemble(results, now, self.name)
