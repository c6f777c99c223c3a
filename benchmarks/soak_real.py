"""Soak on the real I/O paths (issue 16): the real headless owner process, never-ending faults.

    /tmp/venv/bin/python benchmarks/soak_real.py                        # 30 min at a 0.2 s cycle
    /tmp/venv/bin/python benchmarks/soak_real.py --minutes 5 --interval 0.5   # a quick look

What runs:
- ``python -m edgemining_tui --headless`` (a real subprocess, as systemd starts it) on a config
  this script writes into a temporary directory;
- a Home Assistant-shaped server (``sim/ha_server.py``) in this process: PV, house, grid, battery
  and SoC over the WebSocket API (push), and the PV forecast entity over REST, which answers
  **HTTP 500 forever**;
- four emulated miners in this process, read and commanded by pyasic over loopback sockets:
  Braiins OS+ (gRPC) and a Bitaxe run normally, a LuxOS **reboots every few seconds forever**
  (flapping), an Avalon Q **hangs on every control command forever**;
- PV swings between 1 and 11 kW every few minutes so the allocator keeps starting, stopping and
  re-levelling miners; every minute an observer request (override on/off) goes through the inbox.

Every ``--sample`` seconds it reads the owner's health line (``EDGEMINING_HEALTH_EVERY``: RSS,
open file descriptors, threads, asyncio tasks) and the database (file size, rows per table).
A *simulated day* is 17,280 cycles (a day at the default 5 s cycle). After a warm-up (the first
third), it fits a line through each figure and fails (exit 1) on growth: RSS more than 8 MB per
simulated day, any fd or thread growth beyond +2, tasks beyond +5, the database beyond 12 MB per
simulated day for these four miners, or more fault events (fault, cleared, flapping, failed
commands) than 10 + 2 an hour: the faults never end, so without bounding they would write a row
per flap and per failed command. Events the soak itself causes (an override a minute, the commands
that follow the PV swing) are counted and shown, not judged: they are what a user asked for.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.clock import RealClock  # noqa: E402
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators  # noqa: E402
from edgemining_tui.sim.ha_server import HomeAssistantServer  # noqa: E402
from edgemining_tui.sim.state import SiteState  # noqa: E402
from edgemining_tui.store.db import Store  # noqa: E402

TOKEN = "soak-ha-token-5b1e77"
DAY_CYCLES = 17_280
HEALTH = re.compile(r"health: rss_kb=(-?\d+) fds=(-?\d+) threads=(\d+) tasks=(\d+)")


def slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def site_state(t0: float):
    def get() -> SiteState:
        t = time.time()
        pv = 6000.0 + 5000.0 * math.sin(2 * math.pi * (t - t0) / 240.0)   # a 4-minute "day"
        house = 450.0
        return SiteState(ts=t, pv_w=pv, house_w=house, miners_w=0.0, battery_charge_w=0.0,
                         battery_soc_pct=80.0, grid_import_w=house - pv, pv_forecast_w=pv)
    return get


def write_config(d: Path, ha: HomeAssistantServer, emus, interval: float) -> Path:
    lines = [
        f"site: {{name: soak, timezone: UTC, cycle_interval: {interval}s, stale_after: 30s, "
        f"data_dir: '{d / 'data'}'}}",
        "energy:",
        "  sources:",
        "    ha:",
        "      home_assistant:",
        f"        url: {ha.url}",
        "        token: ${HA_TOKEN}",
        "        websocket: true",
        f"        websocket_url: {ha.ws_url}",
        "        pv: sensor.pv_power",
        "        house: sensor.house_power",
        "        grid: sensor.grid_power",
        "        battery: {entity: sensor.battery_power, invert: true}",
        "        soc: sensor.battery_soc",
        "    fc:",
        "      home_assistant:",
        f"        url: {ha.url}",
        "        token: ${HA_TOKEN}",
        "        timeout: 2s",
        "        pv: sensor.pv_power          # required by the schema; the pv value comes from ha",
        "        house: sensor.house_power",
        "        forecast_power_now: sensor.solar_forecast_power_now",
        "  use: {pv: ha, house: ha, grid: ha, battery: ha, soc: ha, forecast: fc}",
        "notify: {daily_summary: null}",
        "history: {raw_for: 1h, maintain_every: 1m}",
        "policy: {enable: {delay: 5s}, disable: {delay: 5s}, min_on: 20s, min_off: 20s, max_starts_per_day: 1440, ramp: 5s, min_change_interval: 10s, command_retry: 10s}",
        "miners:",
    ]
    for c in emus.configs:
        ports = {k: v for k, v in (("rpc", c.ports.rpc), ("grpc", c.ports.grpc), ("web", c.ports.web)) if v}
        caps = ""
        if c.capabilities is not None and c.capabilities.min_w is not None:
            caps = f", capabilities: {{min_w: {c.capabilities.min_w:.0f}, max_w: {c.capabilities.max_w:.0f}}}"
        lines.append(f"  - {{name: {c.name}, host: 127.0.0.1, family: {c.family}, priority: {c.priority}, "
                     f"ports: {ports}, poll_timeout: 2s, command_timeout: 3s{caps}}}")
    cfg = d / "config.yaml"
    cfg.write_text("\n".join(lines) + "\n")
    cfg.chmod(0o600)
    return cfg


def db_figures(db: Path) -> dict[str, float]:
    out: dict[str, float] = {"bytes": 0.0}
    for p in (db, db.with_name(db.name + "-wal")):
        if p.exists():
            out["bytes"] += p.stat().st_size
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            for t in ("events", "commands", "decisions", "inbox", "energy", "miner_samples"):
                out[t] = float(c.execute(f"select count(*) from {t}").fetchone()[0])
            out["cycles"] = float(c.execute("select count(*) from energy").fetchone()[0])
    except sqlite3.Error:
        pass
    return out


async def flapper(emu, stop: asyncio.Event, offline_s: float, period_s: float) -> int:
    n = 0
    while not stop.is_set():
        await asyncio.sleep(period_s)
        await emu.reboot(offline_s=offline_s)
        n += 1
    return n


async def main(minutes: float, interval: float, sample_s: float) -> int:
    t0 = time.time()
    tmp = Path(tempfile.mkdtemp(prefix="soak-real-"))
    ha = await HomeAssistantServer(site_state(t0), token=TOKEN, websocket=True).start()
    ha.entity_status["sensor.solar_forecast_power_now"] = 500          # forever
    specs = [EmulatorSpec("bos", "braiins", ramp_s=2.0, priority=1, poll_timeout=2.0, command_timeout=3.0),
             EmulatorSpec("lux", "luxos", ramp_s=2.0, priority=2, poll_timeout=2.0, command_timeout=3.0),
             EmulatorSpec("ava", "avalon", ramp_s=2.0, priority=3, poll_timeout=2.0, command_timeout=3.0,
                          start_paused=True),
             EmulatorSpec("axe", "bitaxe", ramp_s=2.0, priority=4, poll_timeout=2.0, command_timeout=3.0)]
    emus = await start_emulators(specs, RealClock())
    emus["ava"].set_hang(True, commands_only=True)                       # forever
    cfg = write_config(tmp, ha, emus, interval)
    env = dict(os.environ, PYTHONUNBUFFERED="1", HA_TOKEN=TOKEN, PYTHONPATH=str(ROOT),
               EDGEMINING_HEALTH_EVERY=str(sample_s))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edgemining_tui", "--headless", "--config", str(cfg),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(tmp))
    stop = asyncio.Event()
    flaps = asyncio.create_task(flapper(emus["lux"], stop, offline_s=2.0, period_s=6.0))
    samples: list[tuple[float, dict]] = []
    tail: list[str] = []
    leaked: list[str] = []
    db = tmp / "data" / "history.db"

    async def read_log() -> None:
        while True:
            line = await proc.stdout.readline()
            if not line:
                return
            text = line.decode(errors="replace")
            if TOKEN in text:
                leaked.append(text)
            tail.append(text)
            del tail[:-40]
            m = HEALTH.search(text)
            if m:
                h = dict(zip(("rss_kb", "fds", "threads", "tasks"), map(float, m.groups())))
                h.update(db_figures(db))
                samples.append((time.time() - t0, h))

    reader = asyncio.create_task(read_log())
    observer = None
    print(f"soak: {minutes:g} min at a {interval:g} s cycle, owner pid {proc.pid}, data in {tmp}", flush=True)
    print(f"{'min':>5} {'cycles':>7} {'RSS MB':>7} {'fds':>4} {'thr':>4} {'tasks':>5} {'DB MB':>6} "
          f"{'events':>7} {'cmds':>6}", flush=True)
    shown = 0
    end = time.time() + minutes * 60
    i = 0
    try:
        while time.time() < end and proc.returncode is None:
            await asyncio.sleep(min(60.0, max(0.0, end - time.time())))
            i += 1
            if db.exists():
                if observer is None:
                    observer = Store(db)
                observer.send_request("override", {"miner": "bos", "mode": "on" if i % 2 else "off",
                                                   "for_s": 30}, time.time())
            for tm, h in samples[shown:]:
                print(f"{tm / 60:>5.1f} {h.get('cycles', 0):>7.0f} {h['rss_kb'] / 1024:>7.1f} {h['fds']:>4.0f} "
                      f"{h['threads']:>4.0f} {h['tasks']:>5.0f} {h['bytes'] / 1e6:>6.2f} "
                      f"{h.get('events', 0):>7.0f} {h.get('commands', 0):>6.0f}", flush=True)
            shown = len(samples)
    finally:
        stop.set()
        if proc.returncode is None:
            proc.terminate()
        try:
            rc = await asyncio.wait_for(proc.wait(), 30)
        except asyncio.TimeoutError:
            proc.kill()
            rc = await proc.wait()
        reader.cancel()
        n_flaps = await flaps
        if observer is not None:
            observer.close()
        await emus.stop()
        await ha.close()

    if len(samples) < 6:
        print("too few health samples; the owner's last lines:\n" + "".join(tail))
        return 1
    warm = samples[len(samples) // 3:]
    cycles = [h.get("cycles", 0.0) for _, h in warm]
    days = [c / DAY_CYCLES for c in cycles]
    total_days = samples[-1][1].get("cycles", 0.0) / DAY_CYCLES

    def per_day(key: str, scale: float = 1.0) -> float:
        return slope(days, [h.get(key, 0.0) * scale for _, h in warm])

    def spread(key: str) -> float:
        vals = [h[key] for _, h in warm]
        return max(vals) - min(vals)

    rss = per_day("rss_kb", 1 / 1024)
    ev = per_day("events")
    kinds: dict[str, int] = {}
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as c:
            for kind, sev, n in c.execute("select kind, severity, count(*) from events group by 1, 2"):
                key = f"{kind}/{sev}" if kind == "command" else kind
                kinds[key] = kinds.get(key, 0) + n
    except sqlite3.Error:
        pass
    fault_kinds = ("fault", "fault_cleared", "flapping", "flapping_ended", "command/warning")
    fault_events = sum(kinds.get(k, 0) for k in fault_kinds)
    hours = samples[-1][0] / 3600.0
    fault_cap = 10 + 2 * hours
    dbg = per_day("bytes", 1e-6)
    first, last = samples[0][1], samples[-1][1]
    print(f"\nran {samples[-1][0] / 60:.1f} min: {last.get('cycles', 0):.0f} cycles = {total_days:.2f} simulated days "
          f"(17,280 cycles each); LuxOS rebooted {n_flaps} times; Avalon hung on "
          f"{emus['ava'].control_requests} control requests; forecast entity HTTP 500 throughout; "
          f"owner exit code {rc}")
    print(f"after warm-up ({len(warm)} samples), per simulated day:")
    checks = [
        ("RSS", f"{rss:+.1f} MB/day (now {last['rss_kb'] / 1024:.1f} MB)", rss <= 8.0),
        ("open fds", f"range {spread('fds'):.0f} (now {last['fds']:.0f})", spread("fds") <= 2),
        ("threads", f"range {spread('threads'):.0f} (now {last['threads']:.0f})", spread("threads") <= 2),
        ("asyncio tasks", f"range {spread('tasks'):.0f} (now {last['tasks']:.0f})", spread("tasks") <= 5),
        ("fault events", f"{fault_events} in {hours * 60:.0f} min (cap {fault_cap:.0f})", fault_events <= fault_cap),
        ("database", f"{dbg:+.2f} MB/day (now {last['bytes'] / 1e6:.2f} MB, raw rows kept 1 h)", dbg <= 12.0),
        ("token in the log", f"{len(leaked)} lines", not leaked),
        ("owner exit", f"code {rc} on SIGTERM", rc == 0),
    ]
    for name, text, ok in checks:
        print(f"  {name:<17} {text:<55} {'ok' if ok else 'GROWS/FAILS'}")
    print(f"events by kind: {', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))} "
          f"({ev:+.0f} rows per simulated day, mostly the soak's own requests and the commands they cause)")
    print(f"commands recorded: {last.get('commands', 0) - first.get('commands', 0):.0f}; inbox requests: "
          f"{last.get('inbox', 0):.0f}")
    good = all(ok for *_, ok in checks)
    print("result:", "FLAT" if good else "GROWTH")
    return 0 if good else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between health samples")
    a = ap.parse_args()
    sys.exit(asyncio.run(main(a.minutes, a.interval, a.sample)))
