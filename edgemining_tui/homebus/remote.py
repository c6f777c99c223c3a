"""A console watching sites through the broker: each site keeps its own owner, which publishes its
whole state under its prefix (publisher.py); this link reads it, and sends the console's actions
to the site's request topic, where the owner validates them exactly as its own console's.

It has the ObserverLink's shape (role, send, force_cycle, poll_state, poll_events), so the console
renders a remote site like a local one, and ``switch()`` moves between the configured sites.
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Callable

from ..engine import actions as A
from ..engine.events import EngineState
from ..engine.serialize import state_from_dict
from .broker import BrokerSettings, cancel_and_wait, client as broker_client
from .topics import Topics

log = logging.getLogger("edgemining_tui.sites")


class SiteView:
    """What the broker last said about one site."""

    def __init__(self, prefix: str) -> None:
        self.topics = Topics(prefix)
        self.prefix = prefix
        self.state: dict | None = None
        self.status: str | None = None     # online | offline | None (never heard of it)
        self.status_ts: float | None = None
        self.events: list[dict] = []        # the newest 500, each with a running "seq"
        self.event_seq = 0
        self.version = 0

    @property
    def label(self) -> str:
        return self.prefix.rsplit("/", 1)[-1]


class MqttSitesLink:
    role = "observer"

    def __init__(self, broker: BrokerSettings, prefixes: list[str], now: Callable[[], float],
                 timeout_s: float = 30.0) -> None:
        if not prefixes:
            raise ValueError("no sites to watch")
        self.broker = broker
        self.sites = {p: SiteView(p) for p in prefixes}
        self.current = prefixes[0]
        self.now = now
        self.timeout_s = timeout_s
        self.connected = False
        self.last_error: str | None = None
        self._client: Any = None
        self._task: asyncio.Task | None = None
        self._results: dict[str, asyncio.Future] = {}
        self._seen_version: int = -1
        self._event_cursor: dict[str, int] = {}   # site -> the last event seq handed out

    # ---- the connection ----
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt-sites")

    async def close(self) -> None:
        await cancel_and_wait(self._task)

    async def wait_connected(self, timeout_s: float = 10.0) -> bool:
        for _ in range(int(timeout_s / 0.05)):
            if self.connected:
                return True
            await asyncio.sleep(0.05)
        return self.connected

    async def _run(self) -> None:
        delay = 1.0
        while True:
            try:
                async with broker_client(self.broker, identifier=f"edgemining-console-{uuid.uuid4().hex[:8]}") as c:
                    self._client = c
                    for site in self.sites.values():
                        tp = site.topics
                        for t in (tp.full_state, tp.status, tp.result, tp.events):
                            await c.subscribe(t, qos=1)
                    self.connected = True
                    self.last_error = None
                    delay = 1.0
                    async for msg in c.messages:
                        self._on_message(str(msg.topic), bytes(msg.payload or b""))
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                why = f"{type(e).__name__}: {e}"
                if why != self.last_error:
                    log.warning("sites: broker %s:%s unreachable (%s)", self.broker.host, self.broker.port, why)
                    self.last_error = why
            finally:
                self.connected = False
                self._client = None
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    def _on_message(self, topic: str, payload: bytes) -> None:
        for site in self.sites.values():
            tp = site.topics
            try:
                if topic == tp.full_state:
                    site.state = json.loads(payload)
                    site.version += 1
                elif topic == tp.status:
                    site.status = payload.decode("utf-8", "replace")
                    site.status_ts = self.now()
                    site.version += 1
                elif topic == tp.events:
                    ev = json.loads(payload)
                    site.event_seq += 1
                    ev["seq"] = site.event_seq
                    site.events.append(ev)
                    del site.events[:-500]
                elif topic == tp.result:
                    d = json.loads(payload)
                    fut = self._results.pop(str(d.get("id")), None)
                    if fut is not None and not fut.done():
                        fut.set_result(d)
            except ValueError:
                log.warning("sites: unreadable message on %s", topic)

    # ---- the console's link ----
    @property
    def site(self) -> SiteView:
        return self.sites[self.current]

    def switch(self, step: int = 1) -> SiteView:
        names = list(self.sites)
        self.current = names[(names.index(self.current) + step) % len(names)]
        self._seen_version = -1
        self._event_cursor.pop(self.current, None)
        return self.site

    def describe(self) -> str:
        site = self.site
        n = len(self.sites)
        where = f"site {site.label} ({list(self.sites).index(self.current) + 1}/{n}) via broker"
        if not self.connected:
            return f"{where} · broker unreachable"
        if site.status == "offline":
            return f"{where} · its owner is offline"
        if site.status is None:
            return f"{where} · nothing heard yet"
        return where

    def owner_gone(self, last_state_ts: float | None = None) -> str:
        """'' while the shown site's owner is online; else why actions cannot go there now."""
        site = self.site
        if not self.connected:
            return "the broker is not reachable"
        if site.status == "online":
            return ""
        if site.status is None:
            return f"nothing heard from {site.label} yet"
        if last_state_ts is None:
            return f"the owner of {site.label} is offline"
        from ..format import duration
        return f"the owner of {site.label} stopped {duration(self.now() - last_state_ts)} ago"

    async def send(self, action: str, args: dict) -> str:
        site = self.site
        if self._client is None or not self.connected:
            return "refused: the broker is not reachable, nothing was sent"
        if site.status != "online":
            return f"refused: the owner of {site.label} is offline, nothing was sent"
        rid = uuid.uuid4().hex
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        self._results[rid] = fut
        body = {"id": rid, "action": action, "args": dict(args), "ts": round(self.now(), 3)}
        await self._client.publish(site.topics.request, json.dumps(body), qos=1)
        try:
            res = await asyncio.wait_for(fut, self.timeout_s)
        except asyncio.TimeoutError:
            self._results.pop(rid, None)
            return f"sent to {site.label}; no answer within {self.timeout_s:g} s"
        return str(res.get("message", ""))

    def force_cycle(self) -> None:
        if self._client is not None:
            asyncio.get_running_loop().create_task(self.send(A.CYCLE, {}))

    async def poll_state(self) -> EngineState | None:
        site = self.site
        if site.state is None or site.version == self._seen_version:
            return None
        self._seen_version = site.version
        return state_from_dict(site.state)

    async def poll_events(self, first: bool = False) -> list[dict]:
        site = self.site
        last = self._event_cursor.get(self.current, 0)
        rows = [e for e in site.events if e["seq"] > last]
        if rows:
            self._event_cursor[self.current] = rows[-1]["seq"]
        return rows
