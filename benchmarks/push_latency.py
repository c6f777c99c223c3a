"""How long a grid step takes through the push sources: to the snapshot, and to the miner.

Two parts:

1. **Source → command at the miner** (end to end, the issue 15 goal ≤ 1 s): the real engine with
   the product's PolicyDecider (timers at 0, so every step is worth a command), a 5 s cycle
   interval, and one emulated Braiins OS+ miner commanded through real pyasic over loopback. The
   grid steps between 3 kW export and 2 kW import; the time is from the step at the source to
   the control request arriving at the emulated miner.
   - Home Assistant: the WebSocket stand-in (``sim/ha_server.py``, real ``auth`` /
     ``subscribe_events`` / ``state_changed`` flow) notices the new state within ``--poll``;
   - MQTT: a real mosquitto broker (Debian package; password file), the step is a publish.
   Without push the same pipeline waits for the next cycle: ~2.5 s median with a 5 s interval.
2. **Source → snapshot** (adapter only): the stand-ins as before (amqtt in-process broker for the
   MQTT shapes), the wall time from the change to the first ``read()`` that shows it.

    .venv/bin/python benchmarks/push_latency.py [--steps 20] [--poll 0.01] [--no-push]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.clock import RealClock  # noqa: E402
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators  # noqa: E402
from edgemining_tui.energy.config import MqttConfig, MqttValue  # noqa: E402
from edgemining_tui.engine.engine import Engine, MinerMeta  # noqa: E402
from edgemining_tui.miners.factory import build_fleet  # noqa: E402
from edgemining_tui.policy.config import DisableConfig, EnableConfig, PolicyConfig  # noqa: E402
from edgemining_tui.policy.decider import PolicyDecider  # noqa: E402
from edgemining_tui.sim import mosquitto as mq  # noqa: E402
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource  # noqa: E402
from edgemining_tui.energy.mqtt import MqttSource  # noqa: E402
from edgemining_tui.energy.victron import VictronSource  # noqa: E402
from edgemining_tui.sim.ha_server import HomeAssistantServer  # noqa: E402
from edgemining_tui.sim.mqtt_site import LocalBroker, MqttSitePublisher  # noqa: E402
from edgemining_tui.sim.state import SiteState  # noqa: E402

BASE = SiteState(ts=0.0, pv_w=4000.0, house_w=600.0, miners_w=0.0, battery_charge_w=500.0,
                 battery_soc_pct=55.0, grid_import_w=-2900.0)


async def wait_connected(src, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not src.connected:
        if time.monotonic() > end:
            raise RuntimeError(f"{src.name} did not connect")
        await asyncio.sleep(0.01)


async def measure(src, holder: dict, steps: int) -> list[float]:
    out = []
    for i in range(steps):
        target = -2900.0 + (i + 1) * 137.0 * (1 if i % 2 == 0 else -1)
        while True:                       # settle: make sure the previous value is in first
            s = await src.read()
            if s.grid_import_w.ok:
                break
            await asyncio.sleep(0.005)
        t0 = time.perf_counter()
        holder["st"] = replace(BASE, grid_import_w=target, ts=time.time())
        while True:
            s = await src.read()
            v = s.value("grid_import_w")
            if v is not None and abs(v - target) < 0.5:
                break
            if time.perf_counter() - t0 > 10:
                raise RuntimeError(f"{src.name}: step {i} did not arrive within 10 s")
            await asyncio.sleep(0.005)
        out.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)
    return out


async def ha_pair(holder: dict, poll: float):
    """The Home Assistant WebSocket stand-in serving ``holder["st"]`` and a source connected to it."""
    srv = HomeAssistantServer(lambda: holder["st"], websocket=True)
    srv.ws.poll_s = poll
    await srv.start()
    src = HomeAssistantWsSource(srv.source_config(), RealClock())
    await src.start()
    return srv, src


async def bench_ha_ws(steps: int, poll: float) -> list[float]:
    holder = {"st": BASE}
    srv, src = await ha_pair(holder, poll)
    try:
        await wait_connected(src)
        before = srv.requests
        res = await measure(src, holder, steps)
        assert srv.requests == before, "values came over REST, not the socket"
        return res
    finally:
        await src.close()
        await srv.close()


async def bench_mqtt(shape: str, steps: int, poll: float) -> list[float]:
    holder = {"st": BASE}
    async with LocalBroker() as broker:
        pub = MqttSitePublisher(lambda: holder["st"], port=broker.port, shape=shape, poll_s=poll, interval_s=30)
        await pub.start()
        cfg = pub.source_config()
        src = MqttSource(cfg, RealClock()) if shape == "generic" else VictronSource(cfg, RealClock())
        await src.start()
        try:
            await wait_connected(src)
            return await measure(src, holder, steps)
        finally:
            await src.close()
            await pub.close()


EXPORT_W, IMPORT_W = -3000.0, 2000.0


class MinerInbox:
    """Stamps each control request as it arrives at the emulated miner (before its reply)."""

    def __init__(self, emu) -> None:
        self.arrivals: list[float] = []
        orig = emu.before_reply

        async def stamped(command: bool = False) -> bool:
            if command:
                self.arrivals.append(time.perf_counter())
            return await orig(command)
        emu.before_reply = stamped

    async def next_after(self, n: int, timeout: float = 15.0) -> float:
        end = time.perf_counter() + timeout
        while len(self.arrivals) <= n:
            if time.perf_counter() > end:
                raise RuntimeError("no command reached the miner within 15 s")
            await asyncio.sleep(0.001)
        return self.arrivals[n]


async def end_to_end(source, set_grid, steps: int, push: bool) -> list[float]:
    """Step the grid ``steps`` times; per step, the seconds until a command reaches the miner."""
    clock = RealClock()
    emus = await start_emulators([EmulatorSpec("m1", "braiins", start_paused=True, max_w=3000, min_w=1000,
                                               ramp_s=0.0)], clock)
    inbox = MinerInbox(emus.miners["m1"])
    fleet = build_fleet(emus.configs, clock)
    pol = PolicyConfig(min_on=0, min_off=0, min_change_interval=0, ramp=0, max_starts_per_day=1440,
                       enable=EnableConfig(delay=0), disable=DisableConfig(delay=0))
    engine = Engine(clock=clock, source=source, fleet=fleet, decider=PolicyDecider(pol, tz="UTC"),
                    miners=[MinerMeta("m1", 1)], interval_s=5.0, push_threshold_w=150.0 if push else 0.0)
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))
    out: list[float] = []
    try:
        grid = EXPORT_W
        await set_grid(grid)
        await inbox.next_after(0, timeout=30)        # the first start: the pipeline is up
        for i in range(steps):
            await asyncio.sleep(1.2 + random.random() * 4)   # land anywhere in the cycle
            await engine.wait_commands()
            n = len(inbox.arrivals)
            grid = IMPORT_W if grid == EXPORT_W else EXPORT_W
            t0 = time.perf_counter()
            await set_grid(grid)
            out.append(await inbox.next_after(n) - t0)
    finally:
        stop.set()
        engine.force_cycle()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner, 10)
        await engine.close()
        await emus.stop()
    return out


async def e2e_ha(steps: int, poll: float, push: bool) -> list[float]:
    holder = {"st": BASE}
    srv, src = await ha_pair(holder, poll)

    async def set_grid(w: float) -> None:
        holder["st"] = replace(BASE, grid_import_w=w, battery_charge_w=0.0, ts=time.time())
    try:
        await wait_connected(src)
        return await end_to_end(src, set_grid, steps, push)
    finally:
        await src.close()
        await srv.close()


async def e2e_mqtt(steps: int, push: bool) -> list[float]:
    import aiomqtt
    with tempfile.TemporaryDirectory() as d:
        async with mq.Mosquitto(Path(d)) as b:
            cfg = MqttConfig(host=b.host, port=b.port, username=b.username, password=b.password,
                             grid=MqttValue("meter/power"), pv=MqttValue("pv/power"),
                             house=MqttValue("house/power"))
            src = MqttSource(cfg, RealClock())
            await src.start()
            await wait_connected(src)
            async with aiomqtt.Client(b.host, b.port, username=b.username, password=b.password) as pub:
                state = {"grid": EXPORT_W}

                async def telemetry():      # a meter that also reports every second, as Tasmota would
                    while True:
                        await pub.publish("pv/power", b"4000")
                        await pub.publish("house/power", b"600")
                        await pub.publish("meter/power", str(state["grid"]).encode())
                        await asyncio.sleep(1.0)
                tele = asyncio.create_task(telemetry())

                async def set_grid(w: float) -> None:
                    state["grid"] = w
                    await pub.publish("meter/power", str(w).encode())
                try:
                    return await end_to_end(src, set_grid, steps, push)
                finally:
                    tele.cancel()
                    await src.close()


def report(name: str, xs: list[float]) -> None:
    ms = sorted(x * 1000 for x in xs)
    print(f"{name:<34} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
          f"p90 {ms[int(0.9 * (len(ms) - 1))]:7.1f} ms   max {ms[-1]:7.1f} ms   "
          f"{'OK' if ms[-1] <= 1000 else 'OVER 1 s'}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--poll", type=float, default=0.01, help="HA stand-in change-detection interval, s")
    ap.add_argument("--no-push", action="store_true", help="end to end without the push wake-up (baseline)")
    ap.add_argument("--skip-adapters", action="store_true")
    a = ap.parse_args()
    push = not a.no_push
    print(f"grid step -> command at the emulated miner (pyasic, Braiins OS+), {a.steps} steps, "
          f"cycle 5 s, push {'on (150 W, 0.2 s debounce)' if push else 'OFF'}")
    report("Home Assistant WebSocket -> miner", await e2e_ha(a.steps, a.poll, push))
    why = mq.unavailable()
    if why:
        print(f"MQTT (mosquitto) -> miner: skipped, {why}")
    else:
        report("MQTT (mosquitto) -> miner", await e2e_mqtt(a.steps, push))
    if a.skip_adapters:
        return
    print(f"grid step -> snapshot (adapter only), {a.steps} steps each, stand-in poll {a.poll * 1000:.0f} ms")
    report("Home Assistant WebSocket", await bench_ha_ws(a.steps, a.poll))
    report("MQTT generic", await bench_mqtt("generic", a.steps, a.poll))
    report("MQTT Victron (GX shape)", await bench_mqtt("victron", a.steps, a.poll))


if __name__ == "__main__":
    asyncio.run(main())
