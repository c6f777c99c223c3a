"""Soak: 30 days of engine cycles in virtual time on the simulated site, with random faults.

    /tmp/venv/bin/python benchmarks/soak.py                 # 30 days at a 60 s cycle (~1 min)
    /tmp/venv/bin/python benchmarks/soak.py --interval 5    # the real 5 s cycle (~10 min)
    /tmp/venv/bin/python benchmarks/soak.py --days 3 --seed 7

Everything real but the clock and the hardware: the simulated site (PV with clouds, house load, a
battery), four simulated miners, the surplus allocator, the SQLite store with retention running every
10 minutes (raw kept 2 days so pruning happens during the run), the recorder, the notification hub and
observer requests through the inbox. Random faults: energy outages (30 s .. 20 min), miners going
offline, hanging, refusing commands or rebooting, and history writes failing (a full disk) for a while.

Every simulated day it prints RSS, open file descriptors, threads, asyncio tasks and the database
size. The verdict at the end: RSS and file descriptors must stay flat (RSS within 8 MB of the day-3
value, descriptors and threads unchanged), the database bounded, and the engine never stopped.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.clock import VirtualClock  # noqa: E402
from edgemining_tui.energy.sim_source import SimSource  # noqa: E402
from edgemining_tui.engine.engine import Engine, MinerMeta  # noqa: E402
from edgemining_tui.miners.config import MinerConfig, SimulatedSpec  # noqa: E402
from edgemining_tui.miners.factory import build_fleet  # noqa: E402
from edgemining_tui.notify.config import NotifyConfig  # noqa: E402
from edgemining_tui.notify.hub import NotificationHub  # noqa: E402
from edgemining_tui.policy.config import PolicyConfig  # noqa: E402
from edgemining_tui.policy.decider import PolicyDecider  # noqa: E402
from edgemining_tui.sim.battery import BatteryConfig  # noqa: E402
from edgemining_tui.sim.site import SimSite, SimSiteConfig  # noqa: E402
from edgemining_tui.store.config import HistoryConfig  # noqa: E402
from edgemining_tui.store.db import Store  # noqa: E402

DAY = 86400.0
START = 1_748_736_000.0    # 2025-06-01 00:00 UTC


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class CountingNotifier:
    name = "count"

    def __init__(self) -> None:
        self.n = 0
        self.by_kind: dict[str, int] = {}

    async def send(self, n) -> bool:
        self.n += 1
        self.by_kind[n.kind] = self.by_kind.get(n.kind, 0) + 1
        return True

    async def close(self) -> None:
        return None


class Faults:
    """Random faults, each with an end time; at most one of each kind at a time."""

    def __init__(self, rng: random.Random, source: SimSource, fleet, store: Store) -> None:
        self.rng = rng
        self.source = source
        self.fleet = fleet
        self.store = store
        self.real_write = store.write_cycle
        self.until: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def _start(self, key: str, now: float, dur: float) -> None:
        self.until[key] = now + dur
        self.count[key.split(":")[0]] = self.count.get(key.split(":")[0], 0) + 1

    def tick(self, now: float, dt: float) -> None:
        rng = self.rng
        per_hour = dt / 3600.0
        # end what is over
        for key, end in list(self.until.items()):
            if now >= end:
                del self.until[key]
                kind, _, name = key.partition(":")
                if kind == "energy":
                    self.source.error = None
                elif kind == "disk":
                    self.store.write_cycle = self.real_write
                elif kind in ("offline", "unresponsive", "refuse_commands"):
                    setattr(self.fleet.driver(name).faults, kind, False)
        # start new ones (rates per hour)
        if "energy" not in self.until and rng.random() < 0.08 * per_hour:
            self.source.error = rng.choice(["Home Assistant: HTTP 503", "connection refused", "timeout"])
            self._start("energy", now, rng.choice([30, 90, 300, 1200]))
        if "disk" not in self.until and rng.random() < 0.01 * per_hour:
            def full(*a, **kw):
                raise sqlite3.OperationalError("database or disk is full")
            self.store.write_cycle = full
            self._start("disk", now, rng.uniform(60, 1800))
        for name in self.fleet.names:
            if rng.random() < 0.03 * per_hour:
                kind = rng.choice(["offline", "unresponsive", "refuse_commands", "reboot"])
                if kind == "reboot":
                    self.fleet.driver(name).model.reboot(now, rng.uniform(60, 300))
                    self.count["reboot"] = self.count.get("reboot", 0) + 1
                elif f"{kind}:{name}" not in self.until:
                    setattr(self.fleet.driver(name).faults, kind, True)
                    self._start(f"{kind}:{name}", now, rng.uniform(30, 3600))


async def soak(days: float, interval: float, seed: int, data_dir: Path) -> int:
    rng = random.Random(seed)
    clock = VirtualClock(START)
    site = SimSite(SimSiteConfig(pv_peak=12000, house_base=450, cloudiness=0.4, latitude=47.0,
                                 battery=BatteryConfig(capacity=10000, initial_soc=50)))
    cfgs = [MinerConfig(name=f"m{i}", driver="simulated", priority=i,
                        simulated=SimulatedSpec(max_w=w, min_w=w * 0.4, ramp=60, start_paused=True))
            for i, w in enumerate((3250.0, 3500.0, 1600.0, 18.0), 1)]
    for c in cfgs[-1:]:
        object.__setattr__(c.simulated, "min_w", c.simulated.max_w)
    fleet = build_fleet(cfgs, clock, retries=1, backoff_s=1.0)
    source = SimSource(site, clock, lambda: sum((s.power_w or 0.0) for s in fleet.samples.values()))
    history = HistoryConfig(raw_for=2 * DAY, minute_for=7 * DAY, hour_for=365 * DAY, maintain_every=600)
    store = Store(data_dir / "history.db", history=history)
    decider = PolicyDecider(PolicyConfig(), tz="Europe/Berlin")
    engine = Engine(clock=clock, source=source, fleet=fleet, decider=decider,
                    miners=[MinerMeta(c.name, c.priority) for c in cfgs], store=store, interval_s=interval,
                    stale_after_s=max(30.0, 3 * interval), tz="Europe/Berlin")
    engine.recorder.wait_s = 5.0
    notes = CountingNotifier()
    hub = NotificationHub(NotifyConfig(daily_summary="20:00", log=False), [notes], clock, store=store,
                          tz="Europe/Berlin").start()
    engine.subscribe(hub)
    faults = Faults(rng, source, fleet, store)
    cycles_total = int(days * DAY / interval)
    per_day = int(DAY / interval)
    print(f"soak: {days:g} days at a {interval:g} s cycle = {cycles_total} cycles, seed {seed}, data in {data_dir}")
    print(f"{'day':>4} {'cycles':>8} {'RSS MB':>7} {'FDs':>4} {'thr':>4} {'tasks':>5} {'DB MB':>6} "
          f"{'raw rows':>9} {'cycle ms':>8} {'notes':>5}  faults so far")
    samples: list[tuple[int, float, int, int]] = []
    t_start = time.perf_counter()
    t_day = t_start
    n = 0
    for day in range(1, int(days) + 1):
        for _ in range(per_day):
            clock.advance(interval)
            faults.tick(clock.now(), interval)
            if rng.random() < 0.0005:    # an observer asks for something now and then
                store.send_request("override", {"miner": rng.choice(fleet.names), "mode": rng.choice(["on", "off"]),
                                                "for_s": rng.choice([600, 3600])}, clock.now())
            await engine.cycle()
            n += 1
        t = engine.recorder._maint_task
        if t is not None and not t.done():
            await t
        await asyncio.wait_for(hub._queue.join(), 30)
        gc.collect()
        rss, fds, thr = rss_mb(), open_fds(), threading.active_count()
        db = sum(p.stat().st_size for p in data_dir.glob("history.db*"))
        raw = store.count("miner_samples")
        ms = (time.perf_counter() - t_day) / per_day * 1000
        t_day = time.perf_counter()
        samples.append((day, rss, fds, thr))
        print(f"{day:>4} {n:>8} {rss:>7.1f} {fds:>4} {thr:>4} {len(asyncio.all_tasks()):>5} {db / 1e6:>6.1f} "
              f"{raw:>9} {ms:>8.2f} {notes.n:>5}  {dict(sorted(faults.count.items()))}")
    await hub.close()
    await engine.close()
    integrity = store.integrity_check()
    store.close()
    wall = time.perf_counter() - t_start
    print(f"\n{n} cycles in {wall:.0f} s ({wall / max(n, 1) * 1000:.2f} ms a cycle); notifications "
          f"{dict(sorted(notes.by_kind.items()))}; history failing at the end: {engine.recorder.failing}; "
          f"integrity_check: {integrity}")
    ok = True
    if len(samples) >= 4:
        base = samples[2]
        rss_growth = max(s[1] for s in samples[2:]) - base[1]
        fd_range = max(s[2] for s in samples[2:]) - min(s[2] for s in samples[2:])
        thr_range = max(s[3] for s in samples[2:]) - min(s[3] for s in samples[2:])
        print(f"RSS day 3 -> max after: {base[1]:.1f} -> {base[1] + rss_growth:.1f} MB (+{rss_growth:.1f}); "
              f"FDs {'flat' if fd_range == 0 else f'varied by {fd_range}'} at {base[2]}; "
              f"threads {'flat' if thr_range == 0 else f'varied by {thr_range}'} at {base[3]}")
        ok = rss_growth < 8.0 and fd_range == 0 and thr_range <= 1 and integrity == "ok"
    print("verdict:", "FLAT" if ok else "GROWING (investigate)")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--interval", type=float, default=60.0, help="cycle interval in seconds (default 60)")
    p.add_argument("--seed", type=int, default=20250601)
    p.add_argument("--data-dir", help="keep the database here (default: a temporary directory)")
    a = p.parse_args(argv)
    if a.data_dir:
        d = Path(a.data_dir)
        d.mkdir(parents=True, exist_ok=True)
        return asyncio.run(soak(a.days, a.interval, a.seed, d))
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(soak(a.days, a.interval, a.seed, Path(tmp)))


if __name__ == "__main__":
    sys.exit(main())
