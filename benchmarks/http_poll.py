"""CPU per polled GET: httpx's transport against the kept-alive h11 client the Home Assistant adapter
uses (energy/keepalive.py), both reading five entities in turn from the demo's Home Assistant
stand-in on loopback, as the console does every cycle.

    python benchmarks/http_poll.py [--rounds 5] [--reads 300]

Prints the median CPU time per GET (client and stand-in together, one process, ``time.process_time``)
of each, alternating rounds so a busy machine weighs on both alike, and their ratio.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from edgemining_tui.energy.keepalive import KeepAliveClient  # noqa: E402
from edgemining_tui.sim.ha_server import HomeAssistantServer  # noqa: E402
from edgemining_tui.sim.state import SiteState  # noqa: E402

ENTITIES = ["sensor.pv_power", "sensor.house_power", "sensor.grid_power", "sensor.battery_power",
            "sensor.battery_soc"]
HEADERS = {"Authorization": "Bearer demo-token", "Accept": "application/json", "User-Agent": "edgemining-tui"}


async def run(rounds: int, reads: int) -> dict[str, list[float]]:
    state = SiteState(ts=time.time(), pv_w=3000.0, house_w=400.0, miners_w=0.0, battery_charge_w=100.0,
                      battery_soc_pct=55.0, grid_import_w=-20.0)
    srv = await HomeAssistantServer(lambda: state).start()
    transport = httpx.AsyncHTTPTransport()
    built = [httpx.Request("GET", f"{srv.url}/api/states/{e}", headers=HEADERS,
                           extensions={"timeout": httpx.Timeout(3.0).as_dict()}) for e in ENTITIES]
    client = KeepAliveClient(srv.url, HEADERS, timeout_s=3.0)

    async def via_httpx() -> None:
        for req in built:
            r = await transport.handle_async_request(req)
            await r.aread()
            await r.aclose()
            assert r.status_code == 200

    async def via_keepalive() -> None:
        for e in ENTITIES:
            assert (await client.get(f"/api/states/{e}")).status == 200

    ways = {"httpx transport": via_httpx, "keepalive (h11)": via_keepalive}
    out: dict[str, list[float]] = {k: [] for k in ways}
    try:
        for _ in range(rounds):
            for name, way in ways.items():
                await way()
                t0 = time.process_time()
                for _ in range(reads):
                    await way()
                out[name].append((time.process_time() - t0) / (reads * len(ENTITIES)) * 1e6)
    finally:
        await transport.aclose()
        await client.close()
        await srv.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reads", type=int, default=300, help="five-entity reads per round")
    a = ap.parse_args()
    out = asyncio.run(run(a.rounds, a.reads))
    med = {k: statistics.median(v) for k, v in out.items()}
    for k, v in out.items():
        print(f"{k:16s} median {med[k]:6.0f} µs CPU per GET (rounds: {', '.join(f'{x:.0f}' for x in v)})")
    a_, b_ = med.values()
    print(f"ratio httpx / keepalive: {a_ / b_:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
