"""MQTT sources against a real mosquitto broker (Debian package ``mosquitto``), started per test
on loopback with a password file and a TLS listener whose CA is made at test time.

Skips, saying why, when mosquitto, mosquitto_passwd or openssl is not installed (``.ci/run``
installs them). Time bounds here are the requirement itself (a broker restart refreshes values
within 5 s of its return), everything else waits with ``eventually``.
"""
from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from edgemining_tui.clock import RealClock, VirtualClock
from edgemining_tui.energy.config import MqttConfig, MqttTls, MqttValue
from edgemining_tui.energy.mqtt import RETAINED, MqttSource
from edgemining_tui.energy.victron import FULL_PUBLISH_GRACE_S, VictronSource
from edgemining_tui.sim import mosquitto as mq
from edgemining_tui.sim.mqtt_site import MqttSitePublisher
from edgemining_tui.sim.state import SiteState

from test_energy_faults import eventually

pytestmark = pytest.mark.skipif(mq.unavailable() is not None, reason=str(mq.unavailable()))

STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=1000.0,
                  battery_soc_pct=61.0, grid_import_w=-3200.0)


@pytest.fixture(scope="module")
def broker_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("mosquitto")


@pytest.fixture
async def broker(broker_dir):
    b = mq.Mosquitto(broker_dir)
    await b.start()
    try:
        yield b
    finally:
        await b.stop()


async def publish(b: mq.Mosquitto, topic: str, payload: bytes, retain: bool = False) -> None:
    import aiomqtt
    async with aiomqtt.Client(b.host, b.port, username=b.username, password=b.password) as c:
        await c.publish(topic, payload, retain=retain, qos=1)


def grid_cfg(b: mq.Mosquitto, **kw) -> MqttConfig:
    args = dict(host=b.host, port=b.port, username=b.username, password=b.password,
                grid=MqttValue("meter/power"), reconnect_max=3.0)
    args.update(kw)
    return MqttConfig(**args)


async def reads(src, value: float):
    s = await src.read()
    return s if s.value("grid_import_w") == value else None


async def test_password_is_required_and_a_wrong_one_is_a_visible_error(broker):
    bad = MqttSource(grid_cfg(broker, password="wrong"), VirtualClock())
    good = MqttSource(grid_cfg(broker), VirtualClock())
    await bad.start()
    await good.start()
    try:
        await eventually(lambda: _const(good.connected))
        await publish(broker, "meter/power", b"-1234")
        await eventually(lambda: reads(good, -1234.0))

        async def refused():
            s = await bad.read()
            return s if "authori" in (s.grid_import_w.error or "").lower() else None
        snap = await refused()  or await eventually(refused)
        assert snap.value("grid_import_w") is None and not bad.connected
        assert "wrong" not in snap.grid_import_w.error
    finally:
        await bad.close()
        await good.close()


@pytest.mark.parametrize("how", ["ca_file", "insecure", "client_cert"])
async def test_tls_listener(broker, how):
    c = broker.certs
    tls = {"ca_file": MqttTls(ca_file=str(c["ca"])),
           "insecure": MqttTls(insecure=True),
           "client_cert": MqttTls(ca_file=str(c["ca"]), cert_file=str(c["client_cert"]),
                                  key_file=str(c["client_key"]))}[how]
    src = MqttSource(grid_cfg(broker, port=broker.tls_port, tls=tls), VirtualClock())
    await src.start()
    try:
        await eventually(lambda: _const(src.connected))
        await publish(broker, "meter/power", b"250")
        await eventually(lambda: reads(src, 250.0))
    finally:
        await src.close()


async def test_tls_refuses_an_unknown_ca_unless_insecure(broker):
    # tls: true trusts the system's CAs only: the test CA is not one of them
    src = MqttSource(grid_cfg(broker, port=broker.tls_port, tls=True), VirtualClock())
    await src.start()
    try:
        async def refused():
            s = await src.read()
            return s if "certificate" in (s.grid_import_w.error or "").lower() else None
        snap = await eventually(refused)
        assert snap.value("grid_import_w") is None and not src.connected
    finally:
        await src.close()


async def test_plain_client_on_the_tls_port_never_reads_a_value(broker):
    src = MqttSource(grid_cfg(broker, port=broker.tls_port), VirtualClock())
    await src.start()
    try:
        await asyncio.sleep(1.0)
        snap = await src.read()
        assert snap.value("grid_import_w") is None and snap.grid_import_w.error
    finally:
        await src.close()


async def test_retained_value_has_unknown_age_until_a_live_message(broker):
    clock = VirtualClock()
    await publish(broker, "meter/power", b"-2000", retain=True)   # published "long ago"
    src = MqttSource(grid_cfg(broker), clock)
    await src.start()
    try:
        async def got_retained():
            s = await src.read()
            return s if s.grid_import_w.value == -2000.0 else None
        snap = await eventually(got_retained)
        r = snap.grid_import_w
        assert not r.age_known and RETAINED in r.error
        assert snap.value("grid_import_w") is None                 # never in a decision
        assert snap.stale_fields(clock.now(), 30, ("grid_import_w",)) == ["grid_import_w"]
        await publish(broker, "meter/power", b"-2100")             # a live one
        snap = await eventually(lambda: reads(src, -2100.0))
        assert snap.grid_import_w.age_known and snap.grid_import_w.error is None
        assert snap.stale_fields(clock.now(), 30, ("grid_import_w",)) == []
    finally:
        await src.close()
        await publish(broker, "meter/power", b"", retain=True)     # clear the retained message


async def test_victron_retained_values_wait_for_the_gx(broker):
    clock = VirtualClock()
    portal = "c0619ab00009"
    await publish(broker, f"N/{portal}/system/0/Ac/Grid/L1/Power", json.dumps({"value": 500}).encode(),
                  retain=True)
    src = VictronSource(MqttSitePublisher(lambda: STATE, port=broker.port, portal_id=portal, shape="victron",
                                          username=broker.username, password=broker.password).victron_config(),
                        clock)
    await src.start()
    try:
        async def got():
            s = await src.read()
            return s if s.grid_import_w.value == 500.0 else None
        await eventually(lambda: _const(src.messages >= 1))
        # one retained phase and no full publish: not summed until the grace after the connect
        assert "waiting for the GX's full publish" in (await src.read()).grid_import_w.error
        clock.advance(FULL_PUBLISH_GRACE_S)
        snap = await eventually(got)
        assert not snap.grid_import_w.age_known and snap.value("grid_import_w") is None
    finally:
        await src.close()
        await publish(broker, f"N/{portal}/system/0/Ac/Grid/L1/Power", b"", retain=True)


def _ccgx_three_phase() -> tuple[str, dict]:
    fx = json.loads((Path(__file__).parent / "data/energy/victron/ccgx_three_phase_grid_meter.json").read_text())
    return fx["portal_id"], fx["reply"]


async def _gx_sends(broker, portal: str, reply: dict, paths) -> None:
    import aiomqtt
    async with aiomqtt.Client(broker.host, broker.port, username=broker.username, password=broker.password) as c:
        for p in paths:
            await c.publish(f"N/{portal}/system/0/{p}", json.dumps(reply[p]).encode(), qos=1)


async def _victron(broker, portal: str, clock) -> VictronSource:
    from edgemining_tui.energy.config import VictronConfig
    src = VictronSource(VictronConfig(portal_id=portal, host=broker.host, port=broker.port,
                                      username=broker.username, password=broker.password), clock)
    await src.start()
    await eventually(lambda: _const(src.connected and src.keepalives >= 1))
    return src


async def test_victron_three_phase_sum_waits_for_every_phase(broker):
    """The recorded CCGX (963.1 W import over three phases) publishing one phase at a time, as a GX
    does after a keepalive: the grid is never the first phase alone (260.6 W), and is the whole
    sum as soon as the last phase is in, before any full_publish_completed."""
    clock = VirtualClock()
    portal, reply = _ccgx_three_phase()
    src = await _victron(broker, portal, clock)
    try:
        await _gx_sends(broker, portal, reply, ["Ac/Grid/L1/Power", "Ac/Consumption/L1/Power"])
        await eventually(lambda: _const(src.messages >= 2))
        snap = await src.read()
        assert snap.value("grid_import_w") is None and snap.value("house_w") is None
        assert "full publish" in snap.grid_import_w.error
        await _gx_sends(broker, portal, reply, ["Ac/Grid/L2/Power", "Ac/Grid/L3/Power"])
        await eventually(lambda: _const(src.messages >= 4))
        snap = await src.read()
        assert snap.value("grid_import_w") == pytest.approx(963.1)
        assert snap.value("house_w") is None          # two of its phases still to come
    finally:
        await src.close()


async def test_victron_single_phase_gx_reads_after_its_full_publish(broker):
    """A single-phase GX never publishes L2/L3: its full_publish_completed ends the wait at once,
    and a GX that never sends it (dbus-mqtt, Venus OS before 3.20) is read after the grace."""
    clock = VirtualClock()
    portal, reply = _ccgx_three_phase()
    src = await _victron(broker, portal, clock)
    try:
        await _gx_sends(broker, portal, reply, ["Ac/Grid/L1/Power"])
        await eventually(lambda: _const(src.messages >= 1))
        assert (await src.read()).value("grid_import_w") is None
        await publish(broker, f"N/{portal}/full_publish_completed", b'{"full-publish-completed-echo": ""}')
        snap = await eventually(lambda: reads(src, 260.6))
        assert snap.value("grid_import_w") == pytest.approx(260.6)
    finally:
        await src.close()
    clock = VirtualClock()
    src = await _victron(broker, portal, clock)
    try:
        await _gx_sends(broker, portal, reply, ["Ac/Grid/L1/Power"])
        await eventually(lambda: _const(src.messages >= 1))
        assert (await src.read()).value("grid_import_w") is None
        clock.advance(FULL_PUBLISH_GRACE_S)
        assert (await src.read()).value("grid_import_w") == pytest.approx(260.6)
    finally:
        await src.close()


async def test_victron_keepalive_is_resent_until_the_gx_answers(broker):
    """A GX that subscribes after our first keepalive still gets asked again within seconds,
    not one keepalive period (here 10 s) later."""
    clock = VirtualClock()
    gx = MqttSitePublisher(lambda: STATE, port=broker.port, shape="victron", username=broker.username,
                           password=broker.password)
    src = VictronSource(gx.victron_config(keepalive=10.0), clock)
    await src.start()
    try:
        await eventually(lambda: _const(src.connected and src.keepalives >= 1))
        await asyncio.sleep(0.2)
        await gx.start()                                   # subscribed late: the first keepalive is lost
        t0 = time.monotonic()

        async def ok():
            s = await src.read()
            return s if all(getattr(s, f).ok for f in ("grid_import_w", "pv_w", "house_w")) else None
        await eventually(ok, timeout=8.0)
        assert time.monotonic() - t0 < 8.0 and src.keepalives >= 2
        assert src.full_publishes >= 1
        sent = src.keepalives
        await asyncio.sleep(1.5)                            # answered: no more re-sends until the period
        assert src.keepalives == sent
    finally:
        await src.close()
        await gx.close()


async def test_broker_restart_refreshes_values_within_5_s(broker):
    """The broker goes away for a few seconds (the source backs off meanwhile) and comes back:
    the source reconnects and has a fresh, live value within 5 s of the broker's return."""
    import aiomqtt
    clock = RealClock()
    stop = asyncio.Event()

    async def meter():        # a live publisher that reconnects by itself, as a meter would
        n = 0
        while not stop.is_set():
            try:
                async with aiomqtt.Client(broker.host, broker.port, username=broker.username,
                                          password=broker.password) as c:
                    while not stop.is_set():
                        n += 1
                        await c.publish("meter/power", str(-1000 - n).encode())
                        await asyncio.sleep(0.25)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)
    pub = asyncio.create_task(meter())
    src = MqttSource(grid_cfg(broker), clock)
    await src.start()
    try:
        await eventually(lambda: _fresh(src, clock.now() - 1))
        await broker.stop()
        await eventually(lambda: _const(not src.connected))
        await asyncio.sleep(4.0)              # long enough for the backoff to reach its ceiling
        await broker.start()
        back = clock.now()
        snap = await eventually(lambda: _fresh(src, back), timeout=5.0)
        assert snap.grid_import_w.ts - back <= 5.0 and src.connects >= 2
    finally:
        stop.set()
        await src.close()
        pub.cancel()
        with __import__("contextlib").suppress(BaseException):
            await pub


async def _fresh(src, since: float):
    s = await src.read()
    r = s.grid_import_w
    return s if r.ok and r.ts >= since else None


async def _const(v):
    return v
