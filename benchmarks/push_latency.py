"""How long a grid step change takes to reach the snapshot through the push sources.

Runs the loopback stand-ins (Home Assistant WebSocket; MQTT generic and Victron through an
in-process amqtt broker), steps the simulated grid reading N times and measures, per step, the
wall time from the change to the first ``read()`` that shows it (reads are polled every 5 ms).
The stand-ins notice a change by polling the site every ``--poll`` seconds, which is included,
so the figure is an upper bound of what the adapters add. Goal: <= 1 s.

    /tmp/venv/bin/python benchmarks/push_latency.py [--steps 20] [--poll 0.05]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.clock import RealClock  # noqa: E402
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource  # noqa: E402
from edgemining_tui.energy.mqtt import MqttSource, VictronSource  # noqa: E402
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


async def bench_ha_ws(steps: int, poll: float) -> list[float]:
    holder = {"st": BASE}
    srv = HomeAssistantServer(lambda: holder["st"], websocket=True)
    srv.ws.poll_s = poll
    await srv.start()
    src = HomeAssistantWsSource(srv.source_config(), RealClock())
    await src.start()
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


def report(name: str, xs: list[float]) -> None:
    ms = sorted(x * 1000 for x in xs)
    print(f"{name:<26} n={len(ms):<3} median {statistics.median(ms):7.1f} ms   "
          f"p90 {ms[int(0.9 * (len(ms) - 1))]:7.1f} ms   max {ms[-1]:7.1f} ms   "
          f"{'OK' if ms[-1] <= 1000 else 'OVER 1 s'}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--poll", type=float, default=0.05, help="stand-in change-detection interval, s")
    a = ap.parse_args()
    print(f"grid step -> snapshot, {a.steps} steps each, stand-in poll {a.poll * 1000:.0f} ms")
    report("Home Assistant WebSocket", await bench_ha_ws(a.steps, a.poll))
    report("MQTT generic", await bench_mqtt("generic", a.steps, a.poll))
    report("MQTT Victron (GX shape)", await bench_mqtt("victron", a.steps, a.poll))


if __name__ == "__main__":
    asyncio.run(main())
