"""Fleet polling cost: Fleet.read_all vs a bare asyncio.gather of pyasic get_data, on emulated miners.

    /tmp/venv/bin/python benchmarks/fleet_poll.py            # N = 1, 10, 100, 250
    /tmp/venv/bin/python benchmarks/fleet_poll.py --sizes 1 10 --rounds 3

For each N: start N emulators (mixed families, ephemeral ports on loopback, all in this loop),
warm both paths up (identification, Braiins gRPC login), then time ``rounds`` alternating rounds
of each and report the medians and their ratio (goal: Fleet ≤ 1.3× bare). Then one cycle with a
hanging miner in a fleet of 100: read_all must end within the miner's poll timeout + 10 %.
Finally the physics model: a year of 1-minute steps for 3 miners (the backtest budget).
"""
from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.clock import RealClock  # noqa: E402
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators  # noqa: E402
from edgemining_tui.miners.factory import build_fleet  # noqa: E402
from edgemining_tui.miners.pyasic_driver import build_pyasic_miner  # noqa: E402
from edgemining_tui.miners.quiet_pyasic import fast_include  # noqa: E402
from edgemining_tui.sim.miner_model import MinerModel  # noqa: E402

FAMILIES = ("braiins", "luxos", "avalon", "bitaxe")
HOST = "127.0.3.200"


def specs(n: int, poll_timeout: float = 5.0) -> list[EmulatorSpec]:
    return [EmulatorSpec(f"m{i:03d}", FAMILIES[i % len(FAMILIES)], HOST, poll_timeout=poll_timeout)
            for i in range(n)]


async def bench_size(n: int, rounds: int) -> tuple[float, float]:
    clock = RealClock()
    handle = await start_emulators(specs(n), clock)
    try:
        fleet = build_fleet(handle.configs, clock)
        miners = [build_pyasic_miner(c) for c in handle.configs]
        include = fast_include()

        async def bare():
            return await asyncio.gather(*(m.get_data(include=include) for m in miners))

        await fleet.read_all()
        await bare()
        t_fleet, t_bare = [], []
        for r in range(rounds):
            order = (("fleet", fleet.read_all), ("bare", bare)) if r % 2 == 0 else (
                ("bare", bare), ("fleet", fleet.read_all))
            for label, fn in order:
                t0 = time.perf_counter()
                out = await fn()
                dt = time.perf_counter() - t0
                (t_fleet if label == "fleet" else t_bare).append(dt)
                if label == "fleet":
                    bad = [k for k, s in out.items() if not s.online]
                    if bad:
                        print(f"  warning: {len(bad)} miners not online: {bad[:5]}", file=sys.stderr)
        return statistics.median(t_fleet), statistics.median(t_bare)
    finally:
        await handle.stop()


async def bench_hang(n: int = 100, timeout: float = 2.0) -> tuple[float, float, int]:
    clock = RealClock()
    handle = await start_emulators(specs(n, poll_timeout=timeout), clock)
    try:
        fleet = build_fleet(handle.configs, clock)
        await fleet.read_all()
        handle["m001"].set_hang(True)   # a LuxOS miner: pyasic's RPC would wait 100 s per call
        t0 = time.perf_counter()
        out = await fleet.read_all()
        dt = time.perf_counter() - t0
        ok = sum(1 for s in out.values() if s.online)
        assert out["m001"].state.value == "unresponsive", out["m001"]
        return dt, timeout, ok
    finally:
        await handle.stop()


def bench_model() -> float:
    ms = [MinerModel(now=0.0) for _ in range(3)]
    t = 0.0
    t0 = time.perf_counter()
    for i in range(525_600):
        t += 60.0
        if i % 1440 == 0:
            for m in ms:
                m.pause() if (i // 1440) % 2 else m.resume()
        for m in ms:
            m.step(t)
            _ = m.power_w + m.hashrate_ths
    return time.perf_counter() - t0


async def main(sizes: list[int], rounds: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 16384)), hard))
    print(f"{'N':>5} {'fleet ms':>10} {'bare ms':>10} {'ratio':>7}  goal ≤ 1.30")
    worst = 0.0
    for n in sizes:
        f, b = await bench_size(n, rounds)
        ratio = f / b if b > 0 else float("nan")
        worst = max(worst, ratio)
        print(f"{n:>5} {f * 1000:>10.1f} {b * 1000:>10.1f} {ratio:>7.2f}", flush=True)
    dt, timeout, ok = await bench_hang()
    print(f"\nhanging miner in a fleet of 100: read_all {dt:.2f} s, poll timeout {timeout:.2f} s "
          f"({dt / timeout:.2f}×, goal ≤ 1.10×); {ok} of 100 others online")
    y = bench_model()
    print(f"physics model: 3 miners × 1 year of 1-min steps: {y:.2f} s (budget for the whole backtest: 15 s)")
    good = worst <= 1.3 and dt <= timeout * 1.1
    print("\nresult:", "PASS" if good else "CHECK")
    return 0 if good else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 250])
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    sys.exit(asyncio.run(main(a.sizes, a.rounds)))
