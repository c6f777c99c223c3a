"""The owner on the broker: retained state for the site and every miner, Home Assistant discovery,
an availability topic with a last will, and command topics that go through the console's own
request path (Engine.request: the same validation, the same decider protections).

It listens to the engine and never blocks a cycle: the newest state waits in one slot and is sent
by a task of its own; a broker that is down is retried with backoff, one log line per change.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from ..engine import actions as A
from ..engine.requests import age_refusal, refusal
from ..engine.events import EngineState, Event
from ..engine.serialize import state_to_dict
from ..miners.model import Capabilities
from . import topics as T
from .broker import cancel_and_wait, client as broker_client
from .config import MqttPublishConfig

log = logging.getLogger("edgemining_tui.mqtt_publish")


class EnginePort(Protocol):
    meta: Mapping[str, Any]

    def subscribe(self, fn: Callable[[EngineState | Event], None]) -> Callable[[], None]: ...

    def request(self, action: str, args: dict | None = None) -> asyncio.Future: ...

    def force_cycle(self) -> None: ...


class CapabilitiesPort(Protocol):
    def capabilities(self, name: str) -> Capabilities: ...


@dataclass(frozen=True)
class Command:
    """A command message turned into an engine request, or refused with the reason."""
    action: str | None
    args: dict
    refused: str = ""
    request_id: str | None = None


def parse_command(topics: T.Topics, topic: str, payload: bytes, *, now: float, expiry_s: float,
                  miners: Mapping[str, Capabilities]) -> Command | None:
    """What a message on a command topic asks for, or why it is refused. None: not a command topic.

    Only the payload's shape is read here; whether the decider could take the request is the
    console's own check (engine/requests.py ``refusal``), and Engine.request applies it again."""
    text = payload.decode("utf-8", "replace").strip()
    if topic == topics.cycle_press:
        return Command(A.CYCLE, {}) if text.upper() in ("PRESS", "") else Command(None, {}, f"expected PRESS, got {text[:40]!r}")
    if topic == topics.pause_set:
        if text.upper() == "ON":
            return Command(A.PAUSE, {"until": "until released"})
        if text.upper() == "OFF":
            return Command(A.RESUME, {})
        return Command(None, {}, f"expected ON or OFF, got {text[:40]!r}")
    if topic == topics.request:
        cmd = _parse_request(text, now=now, expiry_s=expiry_s)
    else:
        parsed = topics.parse_miner_command(topic)
        if parsed is None:
            return None
        cmd = _parse_miner(parsed[0], parsed[1], text)
    if cmd.action is None:
        return cmd
    why = refusal(cmd.action, cmd.args, miners)
    return Command(None, {}, why, cmd.request_id) if why else cmd


def _parse_miner(name: str, what: str, text: str) -> Command:
    if what == "mode":
        mode = text.lower()
        if mode == "auto":
            return Command(A.RELEASE, {"miner": name})
        if mode in ("on", "off"):
            return Command(A.OVERRIDE, {"miner": name, "mode": mode, "until": "until released"})
        return Command(None, {}, f"mode must be auto, on or off, got {text[:40]!r}")
    try:
        watts = float(text)
    except ValueError:
        return Command(None, {}, f"power must be a number of watts, got {text[:40]!r}")
    return Command(A.OVERRIDE, {"miner": name, "mode": "power", "watts": watts, "until": "until released"})


_CONSOLE_ACTIONS = {A.PAUSE, A.RESUME, A.OBSERVE_ONLY, A.CYCLE, A.OVERRIDE, A.RELEASE, A.SET_POLICY}


def _parse_request(text: str, *, now: float, expiry_s: float) -> Command:
    try:
        d = json.loads(text)
    except ValueError:
        return Command(None, {}, "request is not JSON")
    if not isinstance(d, dict):
        return Command(None, {}, "request must be a JSON object")
    rid = d.get("id") if isinstance(d.get("id"), str) else None
    action, args = d.get("action"), d.get("args", {})
    if action not in _CONSOLE_ACTIONS:
        return Command(None, {}, f"unknown action {str(action)[:40]!r}", rid)
    if not isinstance(args, dict):
        return Command(None, {}, "args must be an object", rid)
    why = age_refusal(d.get("ts"), now, expiry_s)
    if why:
        return Command(None, {}, why, rid)
    return Command(action, dict(args), "", rid)


class MqttPublisher:
    def __init__(self, cfg: MqttPublishConfig, engine: EnginePort, fleet: CapabilitiesPort, *,
                 site_name: str, now: Callable[[], float]) -> None:
        self.cfg = cfg
        self.engine = engine
        self.fleet = fleet
        self.topics = T.Topics(cfg.prefix, cfg.discovery_prefix)
        self.site_name = site_name
        self.now = now
        self.connected = False
        self.published_states = 0
        self._latest: EngineState | None = None
        self._sent: EngineState | None = None
        self._events: deque[Event] = deque(maxlen=200)   # a broker that is away loses the oldest
        self._dirty = asyncio.Event()
        self._announced: dict[str, str] = {}
        self._energy_kwh: dict[str, float] = {}
        self._last_ts: float | None = None
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._last_error: str | None = None
        self._client: Any = None

    # ---- life cycle ----
    def start(self) -> None:
        self._unsubscribe = self.engine.subscribe(self._on_engine)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="mqtt-publish")

    async def close(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        client = self._client
        if client is not None and self.connected:
            try:   # a clean stop says offline itself; the last will covers a crash
                await asyncio.wait_for(client.publish(self.topics.status, "offline", qos=1, retain=True), 2)
            except Exception:  # noqa: BLE001
                pass
        await cancel_and_wait(self._task)

    def _on_engine(self, item: EngineState | Event) -> None:
        if isinstance(item, EngineState):
            self._account_energy(item)
            self._latest = item
        else:
            self._events.append(item)
        self._dirty.set()

    def _account_energy(self, st: EngineState) -> None:
        if self._last_ts is not None:
            dt = min(max(st.ts - self._last_ts, 0.0), 300.0)   # a long gap is not energy we saw
            for name, s in st.samples.items():
                if s.power_w is not None and math.isfinite(s.power_w) and s.power_w > 0:
                    self._energy_kwh[name] = self._energy_kwh.get(name, 0.0) + s.power_w * dt / 3.6e6
        self._last_ts = st.ts

    # ---- the connection ----
    async def _run(self) -> None:
        import aiomqtt
        delay = 1.0
        while True:
            try:
                will = aiomqtt.Will(self.topics.status, "offline", qos=1, retain=True)
                async with broker_client(self.cfg, will=will) as c:
                    self._client = c
                    self.connected = True
                    self._announced.clear()
                    if self._last_error is not None:
                        log.info("mqtt_publish: connected to %s:%s again", self.cfg.host, self.cfg.port)
                    self._last_error = None
                    delay = 1.0
                    await c.publish(self.topics.status, "online", qos=1, retain=True)
                    for f in self.topics.command_filters():
                        await c.subscribe(f, qos=1)
                    if self.cfg.discovery:
                        await c.subscribe(f"{self.cfg.discovery_prefix}/status", qos=1)
                    self._sent = None          # a new session: send the newest state again
                    self._dirty.set()
                    sender = asyncio.get_running_loop().create_task(self._send_loop(c))
                    try:
                        async for msg in c.messages:
                            await self._on_message(c, msg)
                    finally:
                        sender.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001  (aiomqtt.MqttError, OSError, TLS errors)
                why = f"{type(e).__name__}: {e}"
                if why != self._last_error:
                    log.warning("mqtt_publish: broker %s:%s unreachable (%s); retrying", self.cfg.host,
                                self.cfg.port, why)
                    self._last_error = why
            finally:
                self.connected = False
                self._client = None
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)

    async def _send_loop(self, c: Any) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            while self._events:
                ev = self._events.popleft()
                await c.publish(self.topics.events, json.dumps(
                    {"ts": round(ev.ts, 3), "kind": ev.kind, "message": ev.message, "severity": ev.severity,
                     "miner": ev.miner}), qos=0, retain=False)
            st = self._latest
            if st is None or st is self._sent:
                continue
            self._sent = st
            if self.cfg.discovery:
                await self._announce(c, st)
            await self.publish_state(c, st)

    async def publish_state(self, c: Any, st: EngineState) -> None:
        tp = self.topics
        await c.publish(tp.state, json.dumps(T.site_payload(st)), qos=0, retain=True)
        for name in self.engine.meta:
            p = T.miner_payload(name, st)
            p["energy_kwh"] = round(self._energy_kwh.get(name, 0.0), 4)
            await c.publish(tp.miner_state(name), json.dumps(p), qos=0, retain=True)
        await c.publish(tp.full_state, json.dumps(state_to_dict(st), allow_nan=False, default=str), qos=0,
                        retain=True)
        self.published_states += 1

    async def _announce(self, c: Any, st: EngineState) -> None:
        caps = {n: self.fleet.capabilities(n) for n in self.engine.meta}
        models = {n: (s.model, s.firmware) for n, s in st.samples.items()}
        msgs = T.discovery_messages(self.topics, self.site_name, caps, models)
        for topic, cfg in msgs.items():
            body = json.dumps(cfg, sort_keys=True)
            if self._announced.get(topic) != body:
                await c.publish(topic, body, qos=1, retain=True)
                self._announced[topic] = body

    # ---- commands ----
    async def _on_message(self, c: Any, msg: Any) -> None:
        topic = str(msg.topic)
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload or "").encode()
        if topic == f"{self.cfg.discovery_prefix}/status":
            if payload.strip() == b"online":   # Home Assistant restarted: announce again
                self._announced.clear()
                self._sent = None
                self._dirty.set()
            return
        if msg.retain:
            # a retained command was meant for some earlier moment, not for this start
            await self._result(c, topic, None, False, "refused: retained command messages are ignored")
            return
        miners = {n: self.fleet.capabilities(n) for n in self.engine.meta}
        cmd = parse_command(self.topics, topic, payload, now=self.now(), expiry_s=self.cfg.request_expiry,
                            miners=miners)
        if cmd is None:
            return
        if cmd.refused:
            await self._result(c, topic, cmd.request_id, False, f"refused: {cmd.refused}")
            return
        if cmd.action == A.CYCLE:
            self.engine.force_cycle()
            await self._result(c, topic, cmd.request_id, True, "cycle forced")
            return
        try:
            msg_text = str(await asyncio.wait_for(self.engine.request(cmd.action, cmd.args), 60))
            ok = not msg_text.startswith("refused")
        except asyncio.TimeoutError:
            ok, msg_text = False, "not applied within 60 s (is the engine running?)"
        except Exception as e:  # noqa: BLE001  (the engine refuses with ValueError)
            ok, msg_text = False, f"refused: {e}"
        await self._result(c, topic, cmd.request_id, ok, msg_text)

    async def _result(self, c: Any, topic: str, rid: str | None, ok: bool, message: str) -> None:
        body = {"id": rid, "ok": ok, "message": message, "topic": topic, "ts": round(self.now(), 3)}
        (log.info if ok else log.warning)("mqtt command %s: %s", topic, message)
        try:
            await c.publish(self.topics.result, json.dumps(body), qos=1, retain=False)
        except Exception:  # noqa: BLE001
            pass


def attach_publisher(cfg: MqttPublishConfig, engine: Any, *, site_name: str, now: Callable[[], float]) -> MqttPublisher:
    pub = MqttPublisher(cfg, engine, engine.fleet, site_name=site_name, now=now)
    pub.start()
    return pub
