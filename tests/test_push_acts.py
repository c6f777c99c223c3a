"""Push that acts: a pushed change that moves the surplus wakes the engine at once (debounced);
a small one does not. The trigger runs on the injected clock; the end-to-end cases use the Home
Assistant WebSocket stand-in and a real mosquitto broker with a 60 s cycle interval, so any
decision within seconds was woken by the push. Latency figures: benchmarks/push_latency.py."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from edgemining_tui.clock import RealClock, VirtualClock
from edgemining_tui.energy.config import MqttConfig, MqttValue
from edgemining_tui.energy.composite import CompositeSource
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource
from edgemining_tui.energy.mqtt import MqttSource
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.energy.source import PushSource
from edgemining_tui.engine.push import PushTrigger
from edgemining_tui.sim import mosquitto as mq
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState

from test_skeleton_engine import make_engine

STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=0.0,
                  battery_soc_pct=61.0, grid_import_w=-4400.0)


def snap(clock, grid_w):
    r = lambda v: Reading(v, clock.now(), "t")  # noqa: E731
    return EnergySnapshot(clock.now(), r(5200.0), r(800.0), r(grid_w), r(0.0), r(61.0))


async def test_trigger_threshold_debounce_and_gap():
    clock = VirtualClock()
    loop = asyncio.get_running_loop()
    wakes = []
    t = PushTrigger(lambda: wakes.append(loop.time()), threshold_w=150, debounce_s=0.05, min_gap_s=0.3)
    t.baseline(snap(clock, -4400.0))
    t("grid_import_w", -4300.0)                  # 100 W: below the threshold
    t("battery_soc_pct", 10.0)                   # not a power value
    await asyncio.sleep(0.1)
    assert wakes == [] and not t.due
    t("grid_import_w", -2000.0)                  # the step
    t("grid_import_w", -1990.0)                  # the next phase, within the debounce: rides along
    await asyncio.sleep(0.15)
    assert len(wakes) == 1 and t.due and t.fired == 1
    assert clock.now() == 1_700_000_000.0        # the engine's (virtual) time is not touched
    t.begin()
    t("grid_import_w", 500.0)                    # another step at once: held to the minimum gap
    await asyncio.sleep(0.4)
    assert len(wakes) == 2 and wakes[1] - wakes[0] >= 0.3


async def test_sources_that_receive_changes_are_push_sources():
    srv = HomeAssistantServer(lambda: STATE, websocket=True)
    assert isinstance(HomeAssistantWsSource(srv.source_config(), VirtualClock()), PushSource)
    assert isinstance(MqttSource(MqttConfig(grid=MqttValue("g")), VirtualClock()), PushSource)


async def test_composite_forwards_only_the_values_it_uses():
    clock = VirtualClock()
    a = MqttSource(MqttConfig(grid=MqttValue("a/grid"), pv=MqttValue("a/pv")), clock, "a")
    b = MqttSource(MqttConfig(pv=MqttValue("b/pv")), clock, "b")
    comp = CompositeSource({"a": a, "b": b}, {"grid_import_w": "a", "pv_w": "b"}, None, clock)
    got = []
    comp.set_push_listener(lambda f, v: got.append((f, v)))
    a.on_message("a/pv", b"999", clock.now())     # a's PV is not used: not forwarded
    a.on_message("a/grid", b"-100", clock.now())
    b.on_message("b/pv", b"700", clock.now())
    assert got == [("grid_import_w", -100.0), ("pv_w", 700.0)]


async def _engine_woken_by(tmp_path, source, step, prime=None) -> None:
    clock = RealClock()
    eng, store = make_engine(tmp_path, clock, source)
    eng.interval_s = 60.0
    stop = asyncio.Event()
    runner = asyncio.create_task(eng.run(stop))
    try:
        async def until(cond, timeout=10.0):
            end = asyncio.get_running_loop().time() + timeout
            while not cond():
                assert asyncio.get_running_loop().time() < end, ("not woken", eng.cycle_no, eng.push.fired,
                                                                 eng.state and eng.state.snapshot.grid_import_w)
                await asyncio.sleep(0.02)
        await until(lambda: eng.state is not None)
        if prime is not None:
            await prime()
        await until(lambda: eng.state.snapshot.value("grid_import_w") == -4400.0)
        first = eng.cycle_no
        await step()
        await until(lambda: eng.cycle_no > first and eng.state.snapshot.value("grid_import_w") == 1600.0)
        assert eng.push.fired >= 1
    finally:
        stop.set()
        eng.force_cycle()
        await asyncio.wait_for(runner, 10)
        await eng.close()
        store.close()


async def test_home_assistant_push_wakes_the_engine(tmp_path):
    holder = {"st": STATE}
    srv = await HomeAssistantServer(lambda: holder["st"], websocket=True).start()
    src = HomeAssistantWsSource(srv.source_config(), RealClock())

    async def step():
        holder["st"] = replace(STATE, grid_import_w=1600.0)
    try:
        await _engine_woken_by(tmp_path, src, step)
    finally:
        await srv.close()


@pytest.mark.skipif(mq.unavailable() is not None, reason=str(mq.unavailable()))
async def test_mqtt_push_wakes_the_engine(tmp_path):
    import aiomqtt
    async with mq.Mosquitto(tmp_path / "broker") as b:
        cfg = MqttConfig(host=b.host, port=b.port, username=b.username, password=b.password,
                         grid=MqttValue("meter/power"), pv=MqttValue("pv/power"), house=MqttValue("house/power"))
        src = MqttSource(cfg, RealClock())
        async with aiomqtt.Client(b.host, b.port, username=b.username, password=b.password) as pub:
            for topic, v in (("pv/power", 5200), ("house/power", 800), ("meter/power", -4400)):
                await pub.publish(topic, str(v).encode(), retain=True)

            async def live():   # keep the values live (retained ones never count as fresh)
                while True:
                    await pub.publish("pv/power", b"5200")
                    await pub.publish("house/power", b"800")
                    await asyncio.sleep(0.5)
            keeper = asyncio.create_task(live())

            async def prime():
                while not src.connected:          # subscribed: the next message is a live one
                    await asyncio.sleep(0.02)
                await pub.publish("meter/power", b"-4400")

            async def step():
                await pub.publish("meter/power", b"1600")
            try:
                await _engine_woken_by(tmp_path, src, step, prime)
            finally:
                keeper.cancel()
