"""What the local-device adapters cost a Raspberry Pi per reading (CPU time of this process, so the
figures hold on a loaded machine): one Speedwire datagram parsed (the meter sends up to 5 a second),
and one Enphase read over loopback HTTPS (production.json + ensemble/power) with `verify_tls: false`
against the same with the certificate pinned (`tls_fingerprint`), on a kept-alive connection and
on a fresh connection (a new handshake, where the pin is checked); and a gateway with CT meters
(production.json + ensemble/power + /ivp/meters/readings) against the same gateway read from
production.json alone. Medians.

    .venv/bin/python benchmarks/local_api_read.py [READS]
"""
from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.factory import build_one
from edgemining_tui.energy.local_config import EnphaseConfig
from edgemining_tui.energy.sma_em import parse_datagram
from edgemining_tui.sim.local_api_server import LocalApiServer

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "energy"


def speedwire_us(n: int = 20000) -> float:
    dgs = [bytes.fromhex(json.loads(f.read_text())["datagram_hex"]) for f in sorted((DATA / "sma_em").glob("*.json"))]
    times = []
    for _ in range(5):
        t0 = time.process_time()
        for i in range(n):
            parse_datagram(dgs[i % len(dgs)])
        times.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(times)


async def enphase_ms(reads: int, pin: bool, fresh: bool, fixture: str = "day_battery_charging_8.2.4286") -> float:
    fx = json.loads((DATA / "enphase" / f"{fixture}.json").read_text())
    srv = LocalApiServer({fx["request"]["path"]: fx["reply"], **fx["extra_replies"]}, tls=True, bearer=fx["bearer"])
    await srv.start()
    try:
        cfg = EnphaseConfig(url=srv.url, token=fx["config"]["token"],
                            tls_fingerprint=srv.cert_sha256 if pin else None)
        src = build_one("enphase", cfg, VirtualClock(1_750_000_000), "enphase")
        await src.read()                                      # connect once before timing
        times = []
        for _ in range(reads):
            if fresh:
                await src.close()
            t0 = time.process_time()
            snap = await src.read()
            times.append((time.process_time() - t0) * 1e3)
            assert snap.battery_charge_w.ok, snap.battery_charge_w
        await src.close()
        return statistics.median(times)
    finally:
        await srv.close()


def main() -> None:
    reads = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    print(f"speedwire datagram parse: {speedwire_us():.1f} us CPU (median of 5 x 20000)")
    for fresh in (False, True):
        off = asyncio.run(enphase_ms(reads, pin=False, fresh=fresh))
        pinned = asyncio.run(enphase_ms(reads, pin=True, fresh=fresh))
        what = "fresh connection each read" if fresh else "kept-alive connection"
        print(f"enphase read ({what}): verify_tls false {off:.2f} ms CPU, pinned {pinned:.2f} ms CPU "
              f"(ratio {pinned / off:.2f}), median of {reads} (client and loopback server in one process)")
    plain = asyncio.run(enphase_ms(reads, pin=False, fresh=False))
    cts = asyncio.run(enphase_ms(reads, pin=False, fresh=False, fixture="cts_day_storage_ct_charging_8.2.4286"))
    print(f"enphase read with CT meters (+ /ivp/meters/readings, 8.2.4286 with a storage CT): {cts:.2f} ms CPU vs "
          f"production.json + ensemble only {plain:.2f} ms CPU (ratio {cts / plain:.2f}), median of {reads}")


if __name__ == "__main__":
    main()
