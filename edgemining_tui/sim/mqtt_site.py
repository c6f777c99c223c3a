"""Publish the simulated site to an MQTT broker, in a generic shape or as a Victron GX would.

- ``shape="generic"`` (under ``base``, default ``site``), chosen to exercise every conversion:
  ``site/pv/power`` plain W; ``site/house/power`` plain W; ``site/meter`` JSON
  ``{"ENERGY": {"Power": W}}`` with **+ export** (like a SunSpec meter, so it needs
  ``invert``); ``site/battery`` JSON ``{"power": kW, "soc": %}`` with **+ discharging**;
  ``site/forecast/power_now`` W, ``site/forecast/next_hour`` and ``site/forecast/today_remaining`` kWh.
  :meth:`generic_config` returns the matching MqttConfig.
- ``shape="victron"``: ``N/<portal>/system/0/...`` as ``{"value": x}``, published only while a
  client sent ``R/<portal>/keepalive`` in the last 60 s; a keepalive triggers a full publish
  ending with ``N/<portal>/full_publish_completed``. Grid and consumption are split over three
  phases, PV over ``Dc/Pv`` and ``Ac/PvOnGrid/L1``; the AC PV inverter's path is null at night.

Fault switches: ``paused`` (publish nothing: a silent publisher), ``garbage`` (payloads that are
not numbers / not JSON), ``overrides`` (topic suffix -> raw payload bytes), ``victron_timeout``.

:class:`LocalBroker` runs an in-process broker (amqtt) on a loopback port for the demo and tests.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Callable

from ..energy.mqtt import require_aiomqtt, wait_event
from .state import SiteState

log = logging.getLogger("edgemining_tui.sim.mqtt")


class LocalBroker:
    """An MQTT 3.1.1 broker on 127.0.0.1 (amqtt, pure Python), anonymous, on an ephemeral port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self._broker = None

    async def start(self) -> "LocalBroker":
        try:
            from amqtt.broker import Broker
        except ImportError as e:
            raise RuntimeError("the local MQTT broker needs 'amqtt' (pip install amqtt)") from e
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        logging.getLogger("transitions").setLevel(logging.WARNING)
        cfg = {"listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
               "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}}
        self._broker = Broker(cfg)
        await self._broker.start()
        if self.port == 0:
            server = self._broker._servers["default"]       # amqtt keeps the asyncio server here
            self.port = server.instance.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._broker is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._broker.shutdown(), 5)
            self._broker = None

    async def __aenter__(self) -> "LocalBroker":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()


class MqttSitePublisher:
    def __init__(self, get_state: Callable[[], SiteState | None], host: str = "127.0.0.1", port: int = 1883,
                 shape: str = "generic", base: str = "site", portal_id: str = "c0619ab00001",
                 interval_s: float = 1.0, poll_s: float = 0.05, username: str | None = None,
                 password: str | None = None) -> None:
        if shape not in ("generic", "victron"):
            raise ValueError("shape: expected generic or victron")
        self.get_state = get_state
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.shape = shape
        self.base = base
        self.portal_id = portal_id
        self.interval_s = interval_s      # full republish period (values also go out when they change)
        self.poll_s = poll_s
        self.paused = False
        self.garbage = False
        self.overrides: dict[str, bytes] = {}
        self.victron_timeout = 60.0
        self.published = 0
        self._keepalive_at: float | None = None
        self._full_publish = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._client = None
        self._closed = False
        self.ready = asyncio.Event()

    async def start(self) -> "MqttSitePublisher":
        require_aiomqtt()
        self._task = asyncio.create_task(self._run(), name=f"mqtt-site-{self.shape}")
        # be subscribed before anyone sends a keepalive (a missed one costs a keepalive period)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def close(self) -> None:
        # the flag ends the loops even when a library swallows the cancellation (wait_for, 3.11)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    # --- configs that match what is published ------------------------------------------------------
    def generic_config(self, **kw):
        from ..energy.config import MqttConfig, MqttValue
        b = self.base
        args = dict(host=self.host, port=self.port, username=self.username, password=self.password,
                    pv=MqttValue(f"{b}/pv/power"), house=MqttValue(f"{b}/house/power"),
                    grid=MqttValue(f"{b}/meter", path="ENERGY.Power", invert=True),
                    battery=MqttValue(f"{b}/battery", path="power", unit="kW", invert=True),
                    soc=MqttValue(f"{b}/battery", path="soc"),
                    forecast_power_now=MqttValue(f"{b}/forecast/power_now"),
                    forecast_energy_next_hour=MqttValue(f"{b}/forecast/next_hour", unit="kWh"),
                    forecast_energy_today_remaining=MqttValue(f"{b}/forecast/today_remaining", unit="kWh"))
        args.update(kw)
        return MqttConfig(**args)

    def victron_config(self, **kw):
        from ..energy.config import VictronConfig
        args = dict(portal_id=self.portal_id, host=self.host, port=self.port, username=self.username,
                    password=self.password)
        args.update(kw)
        return VictronConfig(**args)

    def source_config(self, **kw):
        return self.generic_config(**kw) if self.shape == "generic" else self.victron_config(**kw)

    # --- payloads ---------------------------------------------------------------------------------
    def messages(self, st: SiteState) -> dict[str, bytes]:
        if self.shape == "generic":
            b = self.base
            out = {
                f"{b}/pv/power": f"{st.pv_w:.1f}".encode(),
                f"{b}/house/power": f"{st.house_w:.1f}".encode(),
                f"{b}/meter": json.dumps({"Time": st.ts, "ENERGY": {"Power": round(-st.grid_import_w, 1)}}).encode(),
                f"{b}/battery": json.dumps({"power": round(-st.battery_charge_w / 1000, 4),
                                            "soc": round(st.battery_soc_pct, 1)}).encode(),
                f"{b}/forecast/power_now": f"{st.pv_forecast_w:.1f}".encode(),
                f"{b}/forecast/next_hour": f"{st.pv_forecast_next_hour_wh / 1000:.3f}".encode(),
                f"{b}/forecast/today_remaining": f"{st.pv_forecast_rest_of_day_wh / 1000:.3f}".encode(),
            }
            if self.garbage:
                out = {t: b"garbage{" for t in out}
            for suffix, payload in self.overrides.items():
                out[f"{b}/{suffix}"] = payload
            return out
        p = f"N/{self.portal_id}/system/0/"

        def v(x):
            return json.dumps({"value": None if x is None else round(x, 1)}).encode()
        g3, c3 = st.grid_import_w / 3, (st.house_w + st.miners_w) / 3
        out = {p + "Serial": json.dumps({"value": self.portal_id}).encode()}
        for ph in ("L1", "L2", "L3"):
            out[p + f"Ac/Grid/{ph}/Power"] = v(g3)
            out[p + f"Ac/Consumption/{ph}/Power"] = v(c3)
        out[p + "Dc/Pv/Power"] = v(st.pv_w / 2)
        # the AC-coupled PV inverter sleeps at night and leaves dbus: systemcalc then publishes
        # {"value": null} on its path (tests/data/energy/victron/gx_no_pv_all_null.json)
        out[p + "Ac/PvOnGrid/L1/Power"] = v(st.pv_w / 2 if st.pv_w > 0 else None)
        out[p + "Dc/Battery/Power"] = v(st.battery_charge_w)
        out[p + "Dc/Battery/Soc"] = v(st.battery_soc_pct)
        if self.garbage:
            out = {t: (b"garbage{" if t != p + "Serial" else m) for t, m in out.items()}
        for suffix, payload in self.overrides.items():
            out[p + suffix] = payload
        return out

    # --- the loop ---------------------------------------------------------------------------------
    def _victron_awake(self) -> bool:
        loop = asyncio.get_running_loop()
        return self._keepalive_at is not None and loop.time() - self._keepalive_at < self.victron_timeout

    async def _run(self) -> None:
        import aiomqtt
        while not self._closed:
            try:
                async with aiomqtt.Client(self.host, self.port, identifier=f"sim-{self.shape}-{id(self)}",
                                          username=self.username, password=self.password) as client:
                    self._client = client
                    listener = None
                    if self.shape == "victron":
                        await client.subscribe(f"R/{self.portal_id}/#")
                        listener = asyncio.create_task(self._listen(client))
                    self.ready.set()
                    try:
                        await self._publish_loop(client)
                    finally:
                        if listener is not None:
                            listener.cancel()
                            with contextlib.suppress(asyncio.CancelledError, Exception):
                                await listener
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("mqtt site publisher: %s; retrying", e)
            self._client = None
            self.ready.clear()
            await asyncio.sleep(0.5)

    async def _listen(self, client) -> None:
        async for msg in client.messages:
            topic = str(msg.topic)
            if topic in (f"R/{self.portal_id}/keepalive", f"R/{self.portal_id}/system/0/Serial"):
                self._keepalive_at = asyncio.get_running_loop().time()
                self._full_publish.set()

    async def _publish_loop(self, client) -> None:
        loop = asyncio.get_running_loop()
        sent: dict[str, bytes] = {}
        last_full = 0.0
        while not self._closed:
            full = self._full_publish.is_set() or loop.time() - last_full >= self.interval_s
            self._full_publish.clear()
            st = self.get_state()
            if st is not None and not self.paused and (self.shape == "generic" or self._victron_awake()):
                msgs = self.messages(st)
                for topic, payload in msgs.items():
                    if full or sent.get(topic) != payload:
                        await client.publish(topic, payload)
                        sent[topic] = payload
                        self.published += 1
                if full:
                    last_full = loop.time()
                    if self.shape == "victron":
                        await client.publish(f"N/{self.portal_id}/full_publish_completed",
                                             json.dumps({"full-publish-completed-echo": ""}).encode())
            await wait_event(self._full_publish, self.poll_s)
