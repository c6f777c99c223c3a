"""What one SunSpec poll costs the console: CPU milliseconds and Modbus requests per read of each
recorded device (tests/data/energy/sunspec/), the first read (finding 'SunS' and walking the map)
and the steady ones after it (the wanted models only). The loopback server runs in its own thread
with its own event loop; the figures are the reading thread's CPU time (time.thread_time), median
of N reads.

    .venv/bin/python benchmarks/sunspec_read.py [N]
"""
from __future__ import annotations

import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.local_config import SunSpecConfig
from edgemining_tui.energy.sunspec import SunSpecSource
from edgemining_tui.sim.modbus_device import ModbusDevice, recorded_image

ROOT = Path(__file__).resolve().parents[1]


def serve(images) -> tuple[int, callable]:
    """A ModbusDevice on its own loop in a thread; (port, stop)."""
    ready, box = threading.Event(), {}

    def run():
        loop = asyncio.new_event_loop()
        dev = loop.run_until_complete(ModbusDevice(images).start())
        box["port"], box["loop"], box["dev"] = dev.port, loop, dev
        ready.set()
        loop.run_forever()
        loop.run_until_complete(dev.close())
    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)

    def stop():
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        t.join(5)
    return box["port"], stop


async def measure(port: int, config: dict, n: int) -> tuple[float, int, float, int, int]:
    src = SunSpecSource(SunSpecConfig(host="127.0.0.1", port=port, **config), VirtualClock(0))
    requests = 0
    inner = src._read

    async def counted(*a, **kw):
        nonlocal requests
        requests += 1
        return await inner(*a, **kw)
    src._read = counted
    try:
        t0 = time.thread_time()
        snap = await src.read()
        first_ms, first_req = (time.thread_time() - t0) * 1000, requests
        steady, per = [], []
        for _ in range(n):
            before = requests
            t0 = time.thread_time()
            await src.read()
            steady.append((time.thread_time() - t0) * 1000)
            per.append(requests - before)
        ok = sum(1 for r in snap.readings().values() if r.ok)
        return first_ms, first_req, statistics.median(steady), int(statistics.median(per)), ok
    finally:
        await src.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    print(f"{'recorded device':<36} {'first read':>18} {'steady read (median of ' + str(n) + ')':>30} {'values':>7}")
    for f in sorted((ROOT / "tests" / "data" / "energy" / "sunspec").glob("*.json")):
        fx = json.loads(f.read_text())
        if "config" not in fx:
            continue
        port, stop = serve(recorded_image(fx))
        try:
            first_ms, first_req, ms, req, ok = asyncio.run(measure(port, fx["config"], n))
        finally:
            stop()
        print(f"{f.stem:<36} {first_ms:7.2f} ms {first_req:3d} req {ms:19.2f} ms {req:3d} req {ok:>7}")


if __name__ == "__main__":
    main()
