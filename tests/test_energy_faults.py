"""Garbage and silence: every failure is a visible error Reading (value None, reason given), and
the source recovers by itself when the server heals. No timing assertions: ``eventually`` guards.
"""
from __future__ import annotations

import asyncio

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.composite import CompositeSource
from edgemining_tui.energy.fronius import FroniusSource
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.energy.mqtt import MqttSource
from edgemining_tui.energy.victron import VictronSource
from edgemining_tui.energy.shelly import ShellySource
from edgemining_tui.sim.fronius_server import FroniusServer
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.mqtt_site import LocalBroker, MqttSitePublisher
from edgemining_tui.sim.shelly_server import ShellyServer
from edgemining_tui.sim.state import SiteState

FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")
STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=1000.0,
                  battery_soc_pct=61.0, grid_import_w=-3200.0)


async def eventually(check, timeout: float = 20.0, interval: float = 0.02):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last = None
    while loop.time() < end:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met; last: {last!r}")


def all_ok(snap, fields=FIELDS) -> bool:
    return all(getattr(snap, f).ok for f in fields)


def all_failed(snap, fields=FIELDS, containing: str = "") -> bool:
    return all(getattr(snap, f).value is None and containing in (getattr(snap, f).error or "") for f in fields)


# --- HTTP polled sources: HA REST, Fronius, Shelly ------------------------------------------------
HTTP_CASES = {
    "ha": (lambda get: HomeAssistantServer(get), lambda srv, c: HomeAssistantSource(srv.source_config(timeout=0.5), c),
           FIELDS),
    "fronius": (lambda get: FroniusServer(get), lambda srv, c: FroniusSource(srv.source_config(timeout=0.5), c),
                FIELDS),
    "shelly": (lambda get: ShellyServer(get), lambda srv, c: ShellySource(srv.source_config(timeout=0.5), c),
               ("grid_import_w",)),
}


@pytest.mark.parametrize("kind", list(HTTP_CASES))
@pytest.mark.parametrize("fault,expect", [("status500", "HTTP 500"), ("status401", "401"), ("garbage", "malformed JSON"),
                                          ("hang", "did not answer"), ("down", "cannot reach")])
async def test_http_faults_are_visible_and_heal(kind, fault, expect):
    make_srv, make_src, fields = HTTP_CASES[kind]
    clock = VirtualClock()
    srv = await make_srv(lambda: STATE).start()
    src = make_src(srv, clock)
    try:
        assert all_ok(await src.read(), fields)
        if fault == "status500":
            srv.status = 500
        elif fault == "status401":
            srv.status = 401
        elif fault == "garbage":
            srv.garbage = True
        elif fault == "hang":
            srv.hang = True
        elif fault == "down":
            port = srv.http.port
            await srv.close()
        clock.advance(5)
        snap = await src.read()
        assert all_failed(snap, fields, expect), [getattr(snap, f) for f in fields]
        assert all(getattr(snap, f).ts == clock.now() for f in fields)
        # heal
        srv.status, srv.garbage, srv.hang = None, False, False
        if fault == "status401" and kind == "ha":
            clock.advance(10)     # a refused token is tried again after a backoff, not every cycle
        if fault == "down":
            srv = make_srv(lambda: STATE)
            srv.http.port = port
            await srv.start()
        snap = await eventually(lambda: _ok(src, fields))
        assert all_ok(snap, fields)
    finally:
        srv.hang = False
        await src.close()
        await srv.close()


async def test_ha_that_hangs_costs_one_timeout_a_cycle_not_one_per_entity():
    """The entities are read in turn over one connection: when Home Assistant stops answering,
    the first request waits out the timeout and the others are not sent in that cycle."""
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE).start()
    src = HomeAssistantSource(srv.source_config(timeout=0.3), clock)
    try:
        assert all_ok(await src.read())
        before = srv.requests
        srv.hang = True
        clock.advance(5)
        snap = await src.read()
        assert all_failed(snap, FIELDS, "did not answer in 0.3 s")
        assert srv.requests == before + 1          # five entities, one request that hung
        srv.hang = False
        clock.advance(5)
        assert all_ok(await eventually(lambda: _ok(src)))
    finally:
        srv.hang = False
        await src.close()
        await srv.close()


async def _ok(src, fields=FIELDS):
    s = await src.read()
    return s if all_ok(s, fields) else None


async def test_ha_wrong_token_is_401():
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE, token="right").start()
    src = HomeAssistantSource(srv.source_config(token="wrong"), clock)
    try:
        snap = await src.read()
        assert all_failed(snap, FIELDS, "refused the token (401)")
    finally:
        await src.close()
        await srv.close()


@pytest.mark.parametrize("override,expect", [
    ({"units": {"sensor.grid_power": "MW"}}, "unsupported power unit 'MW'"),
    ({"overrides": {"sensor.grid_power": "on"}}, "'on' is not a number"),
    ({"overrides": {"sensor.grid_power": "12 W"}}, "is not a number"),
    ({"overrides": {"sensor.battery_soc": "140"}}, "outside 0..100"),
    ({"overrides": {"sensor.pv_power": "-3000"}}, "wrong sign"),
])
async def test_ha_garbage_values(override, expect):
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE).start()
    for attr, val in override.items():
        getattr(srv, attr).update(val)
    src = HomeAssistantSource(srv.source_config(), clock)
    try:
        snap = await src.read()
        bad = [r for r in snap.readings().values() if r.error]
        assert len(bad) == 1 and bad[0].value is None and expect in bad[0].error, bad
    finally:
        await src.close()
        await srv.close()


async def test_fronius_status_code_and_strings():
    clock = VirtualClock()
    srv = await FroniusServer(lambda: STATE).start()
    src = FroniusSource(srv.source_config(), clock)
    try:
        srv.head_code = 8
        assert all_failed(await src.read(), FIELDS, "status code 8")
        srv.head_code = 0
        srv.overrides = {"P_Grid": "abc"}
        snap = await src.read()
        assert snap.grid_import_w.value is None and "P_Grid" in snap.grid_import_w.error
        assert snap.pv_w.ok
        srv.overrides = {}
        assert all_ok(await src.read())
    finally:
        await src.close()
        await srv.close()


async def test_shelly_string_value():
    clock = VirtualClock()
    srv = await ShellyServer(lambda: STATE).start()
    src = ShellySource(srv.source_config(), clock)
    try:
        srv.overrides = {"total_act_power": "n/a"}
        r = (await src.read()).grid_import_w
        assert r.value is None and "not a number" in r.error
    finally:
        await src.close()
        await srv.close()


# --- Home Assistant WebSocket: fallback, reconnect, garbage -------------------------------------------
async def _ws_pair(token_ok: bool = True):
    clock = VirtualClock()
    holder = {"st": STATE}
    srv = await HomeAssistantServer(lambda: holder["st"], websocket=True).start()
    cfg = srv.source_config(timeout=0.5, ping_interval=0.3, reconnect_max=0.5)
    if not token_ok:
        from edgemining_tui.config.types import Secret
        from dataclasses import replace
        cfg = replace(cfg, token=Secret("wrong"))
    src = HomeAssistantWsSource(cfg, clock)
    await src.start()
    return clock, holder, srv, src


async def test_ws_push_arrives_without_rest_polls():
    clock, holder, srv, src = await _ws_pair()
    try:
        await eventually(lambda: _const(src.connected))
        before = srv.requests
        from dataclasses import replace
        holder["st"] = replace(STATE, grid_import_w=1234.0)
        snap = await eventually(lambda: _grid_is(src, 1234.0))
        assert snap.grid_import_w.ok
        assert srv.requests == before          # it came over the socket, not REST
        assert src.fallback_reads == 0 or src.connects >= 1
    finally:
        await src.close()
        await srv.close()


async def test_ws_drop_falls_back_to_rest_and_reconnects():
    clock, holder, srv, src = await _ws_pair()
    try:
        await eventually(lambda: _const(src.connected))
        srv.ws.refuse = True
        await srv.ws.drop()
        await eventually(lambda: _const(not src.connected))
        before = srv.requests
        snap = await src.read()                 # REST fallback keeps values coming
        assert all_ok(snap) and srv.requests > before
        srv.ws.refuse = False
        await eventually(lambda: _const(src.connected and src.connects >= 2))
        from dataclasses import replace
        holder["st"] = replace(STATE, grid_import_w=-777.0)
        assert (await eventually(lambda: _grid_is(src, -777.0))).grid_import_w.ok
    finally:
        await src.close()
        await srv.close()


async def test_ws_wrong_token_shows_401_via_fallback():
    clock, holder, srv, src = await _ws_pair(token_ok=False)
    try:
        await eventually(lambda: _const(src._last_error and "refused the token" in src._last_error))
        snap = await src.read()
        # the socket's auth_invalid set the shared backoff: REST does not try the token meanwhile
        assert all_failed(snap, FIELDS, "refused the token")
    finally:
        await src.close()
        await srv.close()


async def test_ws_hang_is_detected_and_heals():
    clock, holder, srv, src = await _ws_pair()
    try:
        await eventually(lambda: _const(src.connected))
        srv.hang = True                         # both the socket and REST stop answering
        await eventually(lambda: _const(not src.connected))
        snap = await src.read()
        assert all_failed(snap, FIELDS, "did not answer")
        srv.hang = False
        await eventually(lambda: _const(src.connected))
        assert all_ok(await src.read())
    finally:
        srv.hang = False
        await src.close()
        await srv.close()


async def test_ws_garbage_and_bad_unit():
    clock, holder, srv, src = await _ws_pair()
    try:
        await eventually(lambda: _const(src.connected))
        srv.units["sensor.grid_power"] = "MW"

        async def mw():
            s = await src.read()
            return s if s.grid_import_w.error and "MW" in s.grid_import_w.error else None
        await eventually(mw)
        srv.units.clear()
        srv.garbage = True
        from dataclasses import replace
        holder["st"] = replace(STATE, grid_import_w=42.0)     # the change goes out as garbage
        await eventually(lambda: _const(not src.connected))
        await eventually(lambda: _failed(src, "malformed JSON"))
        srv.garbage = False
        snap = await eventually(lambda: _grid_is(src, 42.0))
        assert all_ok(snap)
    finally:
        await src.close()
        await srv.close()


async def test_ws_reading_time_is_last_sign_of_life():
    clock, holder, srv, src = await _ws_pair()
    try:
        await eventually(lambda: _const(src.connected))
        t0 = clock.now()
        clock.advance(100)                      # nothing heard since t0 on the virtual clock...
        snap = await src.read()
        if src._alive_ts == t0:                 # ...unless a pong arrived in between
            assert snap.grid_import_w.age(clock.now()) == pytest.approx(100.0)
        await eventually(lambda: _const(src._alive_ts is not None and src._alive_ts >= clock.now()))
        assert (await src.read()).grid_import_w.age(clock.now()) == 0.0   # a pong refreshed it
    finally:
        await src.close()
        await srv.close()


async def _const(v):
    return v


async def _grid_is(src, value):
    s = await src.read()
    return s if s.value("grid_import_w") == pytest.approx(value, abs=0.5) else None


async def _failed(src, text):
    s = await src.read()
    return s if all_failed(s, FIELDS, text) else None


# --- MQTT: broker loss, silence, garbage --------------------------------------------------------------
class TcpCut:
    """A loopback TCP forwarder in front of the broker: ``cut()`` drops every connection and stops
    listening (the broker is gone, as far as the client can tell), ``heal()`` listens again."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server = None
        self._writers: set = set()

    async def heal(self) -> "TcpCut":
        self._server = await asyncio.start_server(self._conn, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        self._server.close()
        for w in list(self._writers):
            w.close()
        await self._server.wait_closed()

    async def _conn(self, reader, writer) -> None:
        try:
            ur, uw = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, uw}

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                w.close()
                self._writers.discard(w)
        await asyncio.gather(pipe(reader, uw), pipe(ur, writer))


@pytest.mark.parametrize("shape", ["generic", "victron"])
async def test_mqtt_broker_loss_and_recovery(shape):
    clock = VirtualClock()
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(lambda: STATE, port=broker.port, shape=shape).start()
        proxy = await TcpCut(broker.port).heal()
        cfg = pub.source_config(port=proxy.port, reconnect_max=0.5)
        src = MqttSource(cfg, clock) if shape == "generic" else VictronSource(cfg, clock)
        await src.start()
        try:
            await eventually(lambda: _ok(src))
            await proxy.cut()
            await eventually(lambda: _const(not src.connected))
            clock.advance(30)
            snap = await src.read()
            for f in FIELDS:
                r = getattr(snap, f)
                # the last value and its time are kept for the record, but flagged unusable
                assert r.error and snap.value(f) is None and r.age(clock.now()) >= 30, r
            await proxy.heal()
            await eventually(lambda: _ok(src))
            assert src.connects >= 2
        finally:
            await src.close()
            await pub.close()
            await proxy.cut()


@pytest.mark.parametrize("shape", ["generic", "victron"])
async def test_mqtt_silence_shows_as_age_and_garbage_as_error(shape):
    clock = VirtualClock()
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(lambda: STATE, port=broker.port, shape=shape).start()
        cfg = pub.source_config()
        src = MqttSource(cfg, clock) if shape == "generic" else VictronSource(cfg, clock)
        await src.start()
        try:
            await eventually(lambda: _ok(src))
            pub.paused = True
            await asyncio.sleep(0.2)           # let in-flight messages land before time moves
            clock.advance(120)
            snap = await src.read()
            ages = snap.ages(clock.now())
            assert all(ages[f] >= 119 for f in FIELDS), ages
            assert snap.stale_fields(clock.now(), 60, FIELDS) == list(FIELDS)
            pub.paused = False
            pub.garbage = True
            await eventually(lambda: _all_errors(src))
            pub.garbage = False
            await eventually(lambda: _ok(src))
        finally:
            await src.close()
            await pub.close()


async def _all_errors(src):
    s = await src.read()
    return s if all(getattr(s, f).error for f in FIELDS) else None


async def test_victron_needs_keepalive():
    """The GX stays quiet until someone sends R/<portal>/keepalive: our source does."""
    clock = VirtualClock()
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(lambda: STATE, port=broker.port, shape="victron").start()
        try:
            await asyncio.sleep(0.3)
            assert pub.published == 0
            src = VictronSource(pub.victron_config(), clock)
            await src.start()
            await eventually(lambda: _ok(src))
            assert src.keepalives >= 1 and pub.published > 0
            await src.close()
        finally:
            await pub.close()


async def test_mqtt_bad_unit_and_missing_path():
    from edgemining_tui.energy.config import MqttValue
    clock = VirtualClock()
    async with LocalBroker() as broker:
        pub = await MqttSitePublisher(lambda: STATE, port=broker.port, shape="generic").start()
        cfg = pub.generic_config(pv=MqttValue("site/pv/power", unit="MW"),
                                 house=MqttValue("site/meter", path="ENERGY.Nope"))
        src = MqttSource(cfg, clock)
        await src.start()
        try:
            async def bad():
                s = await src.read()
                return s if "MW" in (s.pv_w.error or "") and "no 'ENERGY.Nope'" in (s.house_w.error or "") else None
            snap = await eventually(bad)
            assert "MW" in snap.pv_w.error and snap.pv_w.value is None
            assert snap.grid_import_w.ok
        finally:
            await src.close()
            await pub.close()


async def test_composite_keeps_each_sources_error():
    clock = VirtualClock()
    fr = await FroniusServer(lambda: STATE).start()
    sh = await ShellyServer(lambda: STATE).start()
    comp = CompositeSource({"inverter": FroniusSource(fr.source_config(timeout=0.5), clock, "inverter"),
                            "meter": ShellySource(sh.source_config(timeout=0.5), clock, "meter")},
                           {"pv_w": "inverter", "house_w": "inverter", "grid_import_w": "meter",
                            "battery_charge_w": "inverter", "battery_soc_pct": "inverter"}, None, clock)
    try:
        snap = await comp.read()
        assert all_ok(snap) and snap.grid_import_w.source == "meter" and snap.pv_w.source == "inverter"
        sh.status = 500
        snap = await comp.read()
        assert snap.grid_import_w.error == "Shelly answered HTTP 500" and snap.grid_import_w.source == "meter"
        assert snap.pv_w.ok
        sh.status = None
        assert all_ok(await comp.read())
    finally:
        await comp.close()
        await fr.close()
        await sh.close()
