"""MQTT sources over aiomqtt (optional extra ``mqtt``): generic topics, and the connection the Victron
Venus OS preset (victron.py) builds on.

Both subscribe in a background task and keep the latest value of each topic with the clock time
it arrived; :meth:`read` just assembles the snapshot. A value's ``ts`` is when its message
arrived, so a publisher that falls silent shows as a growing age. While the broker connection is
down every value keeps its last number and time but carries the error, so nothing stale passes
as good. Reconnects back off from 0.5 s up to ``reconnect_max`` (3 s by default, so a broker that
restarts is found again, and its values refreshed, within 5 s of its return).

Retained messages: the broker hands a new subscriber the last retained message of each topic,
which may be hours old; MQTT 3.1.1 says nothing about when it was published. Such a value is kept
(``age_known=False``) with an error saying so, and counts as fresh only once a live message on
that topic arrives (the broker clears the retain flag on messages forwarded live, MQTT 3.1.1
§3.3.1.3).

TLS (``tls:``): a CA file, a client certificate and key, or ``insecure: true`` for a broker with a
self-signed certificate; user name and password (``${ENV}`` for the secret) work with or without.

Generic: each value names a topic and, for JSON payloads, a dotted ``path``; plain-number
payloads need no path. ``unit`` scales kW/W (kWh/Wh for forecast energies), ``invert`` flips.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import ssl
from dataclasses import replace
from typing import Any

from ..clock import Clock
from .config import MqttConfig, MqttTls, MqttValue, mqtt_tls
from .convert import FORECAST_KEYS, to_reading, with_error
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, missing
from .source import PushListener

log = logging.getLogger("edgemining_tui.energy.mqtt")

MISSING_AIOMQTT = ("MQTT sources need the 'aiomqtt' package, which is not installed: "
                   "pip install 'edgemining-tui[mqtt]'")


def require_aiomqtt():
    try:
        import aiomqtt
    except ImportError as e:
        raise RuntimeError(MISSING_AIOMQTT) from e
    return aiomqtt


RETAINED = "retained message, age unknown: waiting for a live one"


def as_retained(r: Reading) -> Reading:
    """A value from a retained message: kept for the record, never fresh (see module doc)."""
    return replace(with_error(r, RETAINED), age_known=False)


def tls_context(tls: MqttTls) -> ssl.SSLContext:
    """The client side of a TLS link to the broker; file errors raise (shown as the source's error)."""
    ctx = ssl.create_default_context(cafile=tls.ca_file)
    if tls.ca_file:
        # A home broker's own CA, made as mosquitto's TLS guide says, has no keyUsage extension;
        # Python 3.13's strict default rejects it ("CA cert does not include key usage extension")
        # where 3.11 and 3.12 accept it. The same config keeps working after a Python upgrade;
        # the chain and the host name are still checked.
        ctx.verify_flags &= ~ssl.VERIFY_X509_STRICT
    if tls.cert_file:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    if tls.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for ``event`` up to ``timeout`` s. Unlike ``asyncio.wait_for`` on Python 3.11, a
    cancellation that coincides with the event being set is never swallowed."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
        return bool(done)
    finally:
        waiter.cancel()


def json_path(doc: Any, path: str) -> Any:
    """Follow ``a.b.0.c`` through dicts and lists; KeyError when it leads nowhere."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(part)
    return cur


class _MqttSource:
    """Connection handling shared by the generic and the Victron source."""

    def __init__(self, host: str, port: int, username: str | None, password: str | None,
                 client_id: str | None, reconnect_max: float, clock: Clock, name: str,
                 tls: bool | MqttTls | None = None) -> None:
        self._aiomqtt = require_aiomqtt()
        self.host = host
        self.port = port
        self.tls = mqtt_tls(tls)
        self.username = username
        self.password = None if password is None else str(password)
        self.client_id = client_id
        self.reconnect_max = reconnect_max
        self.clock = clock
        self.name = name
        self._task: asyncio.Task | None = None
        self._closed = False
        self._session = 0                # bumped on every connect and disconnect
        self.session_started_at = 0.0    # clock time of the last connect
        self._connected = False
        self._last_error: str | None = "not connected to the MQTT broker yet"
        self.connects = 0
        self.messages = 0
        self._push: PushListener | None = None

    def set_push_listener(self, listener: PushListener | None) -> None:
        self._push = listener

    def _pushed(self, field: str, r: Reading) -> None:
        # live values only: a retained one has no age and must not trigger a decision
        if self._push is not None and r.age_known:
            self._push(field, r.value if r.error is None else None)

    def topics(self) -> list[str]:
        raise NotImplementedError

    def on_message(self, topic: str, payload: bytes, ts: float, retained: bool = False) -> None:
        raise NotImplementedError

    async def on_connected(self, client) -> None:
        pass

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._closed = False
            self._task = asyncio.create_task(self._run(), name=f"{self.name}-mqtt")

    async def close(self) -> None:
        # the flag ends the loop even when a library swallows the cancellation (wait_for, 3.11)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    async def _run(self) -> None:
        aiomqtt = self._aiomqtt
        delay = 0.5
        logged: str | None = None
        while not self._closed:
            try:
                tls: dict[str, Any] = {}
                if self.tls is not None:
                    tls = {"tls_context": tls_context(self.tls), "tls_insecure": self.tls.insecure}
                async with aiomqtt.Client(self.host, self.port, username=self.username, password=self.password,
                                          identifier=self.client_id, timeout=10, keepalive=30, **tls) as client:
                    for t in self.topics():
                        await client.subscribe(t)
                    self._connected = True
                    self._last_error = None
                    if logged is not None:
                        log.info("%s: connected to the MQTT broker again", self.name)
                        logged = None
                    self.connects += 1
                    delay = 0.5
                    self._session += 1
                    self.session_started_at = self.clock.now()
                    helper = asyncio.create_task(self.on_connected(client))
                    try:
                        async for msg in client.messages:
                            if self._closed:
                                break
                            self.messages += 1
                            payload = msg.payload if isinstance(msg.payload, (bytes, bytearray)) else \
                                str(msg.payload if msg.payload is not None else "").encode()
                            try:
                                self.on_message(str(msg.topic), bytes(payload), self.clock.now(),
                                                bool(msg.retain))
                            except Exception:
                                log.exception("%s: cannot handle %s", self.name, msg.topic)
                    finally:
                        # the session number ends the helper's loop even if a library swallows
                        # the cancellation (asyncio.wait_for in aiomqtt, Python 3.11)
                        self._session += 1
                        helper.cancel()
                        await asyncio.wait({helper}, timeout=2.0)
                self._last_error = "the MQTT broker closed the connection"
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttError as e:
                self._last_error = f"MQTT broker {self.host}:{self.port}: {e}"
            except (ssl.SSLError, OSError) as e:
                self._last_error = f"MQTT broker {self.host}:{self.port}: TLS: {e}"
            except Exception as e:
                self._last_error = f"MQTT: {type(e).__name__}: {e}"
            finally:
                self._connected = False
            if self._last_error != logged:       # one line per change, not one per attempt
                log.info("%s: %s; reconnecting every %.0f s at most", self.name, self._last_error,
                         self.reconnect_max)
                logged = self._last_error
            await asyncio.sleep(delay * (0.8 + 0.4 * random.random()))
            delay = min(self.reconnect_max, delay * 2)

    def _finish(self, r: Reading) -> Reading:
        if not self._connected and self._last_error:
            return with_error(r, self._last_error)
        return r


class MqttSource(_MqttSource):
    def __init__(self, cfg: MqttConfig, clock: Clock, name: str = "mqtt") -> None:
        super().__init__(cfg.host, cfg.port, cfg.username, cfg.password, cfg.client_id,
                         cfg.reconnect_max, clock, name, cfg.tls)
        self.cfg = cfg
        keys = {"pv_w": "pv", "house_w": "house", "grid_import_w": "grid", "battery_charge_w": "battery",
                "battery_soc_pct": "soc", "power_now_w": "forecast_power_now",
                "energy_next_hour_wh": "forecast_energy_next_hour",
                "energy_today_remaining_wh": "forecast_energy_today_remaining"}
        self.values: dict[str, MqttValue] = {f: getattr(cfg, a) for f, a in keys.items() if getattr(cfg, a)}
        self._by_topic: dict[str, list[str]] = {}
        for f, v in self.values.items():
            self._by_topic.setdefault(v.topic, []).append(f)
        self._latest: dict[str, Reading] = {}

    def topics(self) -> list[str]:
        return list(self._by_topic)

    def on_message(self, topic: str, payload: bytes, ts: float, retained: bool = False) -> None:
        for f in self._by_topic.get(topic, ()):
            r = self._parse(self.values[f], f, payload, ts)
            self._latest[f] = as_retained(r) if retained and r.error is None else r
            self._pushed(f, self._latest[f])

    def _parse(self, v: MqttValue, f: str, payload: bytes, ts: float) -> Reading:
        text = payload.decode("utf-8", "replace").strip()
        if not text:
            return missing(ts, self.name, f"{v.topic}: empty payload (value withdrawn)")
        raw: Any = text
        if v.path:
            try:
                doc = json.loads(text)
            except ValueError:
                return missing(ts, self.name, f"{v.topic}: malformed JSON")
            try:
                raw = json_path(doc, v.path)
            except KeyError:
                return missing(ts, self.name, f"{v.topic}: no {v.path!r} in the payload")
            if isinstance(raw, (dict, list)):
                return missing(ts, self.name, f"{v.topic}: {v.path!r} is not a number")
        return to_reading(raw, f, ts=ts, source=self.name, label=v.topic, unit=v.unit, invert=v.invert)

    async def read(self) -> EnergySnapshot:
        await self.start()
        now = self.clock.now()
        values: dict[str, Reading] = {}
        for f in ALL_FIELDS:
            if f not in self.values:
                values[f] = missing(now, self.name, f"no topic configured for {f}")
            elif f in self._latest:
                values[f] = self._finish(self._latest[f])
            else:
                values[f] = missing(now, self.name, self._last_error if not self._connected and self._last_error
                                    else f"{self.values[f].topic}: no message yet")
        forecast = {k: (self._latest[k].value if k in self._latest and self._latest[k].error is None
                        and self._connected else None) for k in FORECAST_KEYS if k in self.values}
        return EnergySnapshot(ts=now, forecast=forecast, **values)
