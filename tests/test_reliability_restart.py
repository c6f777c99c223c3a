"""Crash safety with real processes: SIGTERM and kill -9 at random points of a cycle, single owner.

Each site is a real headless owner (``python -m edgemining_tui --headless``, 0.2 s cycles) reading a
Home Assistant-shaped server and driving emulated miners through pyasic. The emulators live in the
test process, so the miners outlive the owner exactly as real ones do, and every control command
they receive is counted. After each kill the next owner must find an intact database, every cycle
it logged saved (a killed cycle in flight may be lost, nothing else), and must not stop or start a
miner that is already in the decided state.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from edgemining_tui.clock import RealClock
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState

ROOT = Path(__file__).resolve().parents[1]
SITES = 10              # sites run side by side to keep the wall time short
KILLS_PER_SITE = 5      # 10 x 5 = 50 kills (SIGTERM and SIGKILL mixed)
TOKEN = "ha-secret-token-8f3a9c21"


def _count_toggles(model, name: str, sink: list) -> None:
    """Record every stop (pause) and start (resume) the emulated miner receives."""
    base = type(model)

    class Counting(base):  # same slots layout, so the instance can switch class in place
        __slots__ = ()

        def pause(self) -> None:
            sink.append((name, "pause"))
            base.pause(self)

        def resume(self) -> None:
            sink.append((name, "resume"))
            base.resume(self)
    model.__class__ = Counting


class Site:
    """One data directory, one HA server, two emulated miners (already running, huge surplus)."""

    def __init__(self, tmp: Path, idx: int) -> None:
        self.dir = tmp / f"site{idx}"
        self.dir.mkdir()
        self.idx = idx
        self.toggles: list[tuple[str, str]] = []

    async def start(self) -> "Site":
        now = time.time()
        state = lambda: SiteState(ts=time.time(), pv_w=9000.0, house_w=400.0, miners_w=0.0,  # noqa: E731
                                  battery_charge_w=0.0, battery_soc_pct=80.0, grid_import_w=-7000.0)
        self.ha = await HomeAssistantServer(state, token=TOKEN).start()
        specs = [EmulatorSpec(f"s{self.idx}-bos", "braiins", ramp_s=1.0, priority=1, poll_timeout=2.0,
                              command_timeout=3.0),
                 EmulatorSpec(f"s{self.idx}-lux", "luxos", ramp_s=1.0, priority=2, poll_timeout=2.0,
                              command_timeout=3.0)]
        self.emus = await start_emulators(specs, RealClock())
        for name, emu in self.emus.miners.items():
            _count_toggles(emu.model, name, self.toggles)
        self.cfg = self.dir / "config.yaml"
        lines = [
            "site: {name: kill-test, timezone: UTC, cycle_interval: 0.2s, stale_after: 30s, "
            f"data_dir: '{self.dir / 'data'}'}}",
            "energy:",
            "  source: home_assistant",
            "  home_assistant:",
            f"    url: {self.ha.url}",
            "    token: ${HA_TOKEN}",
            "    timeout: 2s",
            "    pv: sensor.pv_power",
            "    house: sensor.house_power",
            "    grid: sensor.grid_power",
            "    battery: {entity: sensor.battery_power, invert: true}",
            "    soc: sensor.battery_soc",
            "notify: {daily_summary: null}",
            # every cycle written at once, so "every logged cycle was saved" can be checked exactly;
            # the default (5 s) bound is tested in tests/test_reliability_history.py
            "history: {write_every: 0s}",
            "miners:",
        ]
        for c in self.emus.configs:
            ports = {k: v for k, v in (("rpc", c.ports.rpc), ("grpc", c.ports.grpc), ("web", c.ports.web)) if v}
            caps = ""
            if c.capabilities is not None and c.capabilities.min_w is not None:
                caps = f", capabilities: {{min_w: {c.capabilities.min_w:.0f}, max_w: {c.capabilities.max_w:.0f}}}"
            lines.append(f"  - {{name: {c.name}, host: 127.0.0.1, family: {c.family}, priority: {c.priority}, "
                         f"ports: {ports}, poll_timeout: 2s, command_timeout: 3s{caps}}}")
        self.cfg.write_text("\n".join(lines) + "\n")
        self.cfg.chmod(0o600)
        return self

    @property
    def db(self) -> Path:
        return self.dir / "data" / "history.db"

    def energy_rows(self) -> int:
        if not self.db.exists():
            return 0
        with sqlite3.connect(self.db, timeout=10) as c:
            try:
                return c.execute("select count(*) from energy").fetchone()[0]
            except sqlite3.OperationalError:
                return 0

    async def spawn(self) -> asyncio.subprocess.Process:
        env = dict(os.environ, PYTHONUNBUFFERED="1", HA_TOKEN=TOKEN, PYTHONPATH=str(ROOT))
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edgemining_tui", "--headless", "--config", str(self.cfg),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=str(self.dir))

    async def close(self) -> None:
        await self.emus.stop()
        await self.ha.close()


async def _read_until_cycles(proc, want: int, timeout: float, out: list[str]) -> int:
    """Read log lines until ``want`` cycle lines arrived; returns how many cycle lines were seen."""
    n = 0
    deadline = time.monotonic() + timeout
    while n < want:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), left)
        except asyncio.TimeoutError:
            break
        if not line:
            break
        text = line.decode(errors="replace")
        out.append(text)
        if _is_cycle_line(text):
            n += 1
    return n


_CYCLE = re.compile(r" INFO #\d+ ")


def _is_cycle_line(text: str) -> bool:
    # the headless runner logs one line per cycle (format.cycle_line): "... INFO #<cycle> HH:MM:SS pv ..."
    return bool(_CYCLE.search(text))


async def _kill_loop(site: Site, rng: random.Random, kills: int) -> list[str]:
    problems: list[str] = []
    for i in range(kills):
        before = site.energy_rows()
        proc = await site.spawn()
        out: list[str] = []
        n = await _read_until_cycles(proc, rng.randint(1, 4), 60.0, out)   # a start on a busy 2-core machine can take long
        if n == 0:
            proc.kill()
            await proc.wait()
            problems.append(f"site {site.idx} run {i}: no cycle logged:\n" + "".join(out[-20:]))
            continue
        # a random point inside the next cycle (cycles are 0.2 s apart)
        await asyncio.sleep(rng.uniform(0.0, 0.25))
        sig = signal.SIGKILL if rng.random() < 0.5 else signal.SIGTERM
        proc.send_signal(sig)
        rest = await asyncio.wait_for(proc.stdout.read(), 20.0)
        rc = await asyncio.wait_for(proc.wait(), 20.0)
        for line in rest.decode(errors="replace").splitlines(keepends=True):
            out.append(line)
            if _is_cycle_line(line):
                n += 1
        after = site.energy_rows()
        saved = after - before
        text = "".join(out)
        if TOKEN in text:
            problems.append(f"site {site.idx} run {i}: the HA token appeared in the log")
        if sig == signal.SIGTERM:
            if rc != 0:
                problems.append(f"site {site.idx} run {i}: SIGTERM exit code {rc}:\n{text[-2000:]}")
            if saved != n:
                problems.append(f"site {site.idx} run {i}: SIGTERM: {n} cycles logged, {saved} saved")
        else:
            if rc != -signal.SIGKILL:
                problems.append(f"site {site.idx} run {i}: kill -9 exit code {rc}")
            # every logged cycle was saved; at most the one in flight (saved, not yet logged) extra
            if not n <= saved <= n + 1:
                problems.append(f"site {site.idx} run {i}: kill -9: {n} cycles logged, {saved} saved")
        with sqlite3.connect(site.db, timeout=10) as c:
            ok = c.execute("PRAGMA integrity_check").fetchone()[0]
        if ok != "ok":
            problems.append(f"site {site.idx} run {i}: integrity_check: {ok}")
    return problems


@pytest.mark.slow
async def test_sigterm_and_kill9_fifty_times_then_clean_restart(tmp_path):
    rng = random.Random(20250609)
    sites = [await Site(tmp_path, i).start() for i in range(SITES)]
    try:
        results = await asyncio.gather(*(_kill_loop(s, random.Random(rng.random()), KILLS_PER_SITE)
                                         for s in sites))
        problems = [p for r in results for p in r]
        assert not problems, "\n".join(problems[:10])
        for s in sites:
            # the miners were running and the surplus never went away: nobody had a reason to toggle
            assert s.toggles == [], f"needless toggles at site {s.idx}: {s.toggles}"
            with sqlite3.connect(s.db) as c:
                cmds = c.execute("select name, command from commands where command in ('start', 'stop')"
                                 ).fetchall()
                assert cmds == [], f"start/stop commands at site {s.idx}: {cmds}"
                # the decider's state is saved with every cycle (restored by the next owner)
                assert c.execute("select count(*) from kv where key = 'decider'").fetchone()[0] == 1
                dump = "\n".join(str(r) for t in ("events", "commands", "decisions", "kv")
                                 for r in c.execute(f"select * from {t}"))
                assert TOKEN not in dump
        # after all that, one clean run: cycles flow, exits 0 on SIGTERM
        s = sites[0]
        proc = await s.spawn()
        out: list[str] = []
        assert await _read_until_cycles(proc, 3, 20.0, out) == 3, "".join(out)
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0
    finally:
        for s in sites:
            await s.close()


async def test_single_owner_and_stale_lock_recovery(tmp_path):
    """Two owners never drive one fleet; a kill -9'd owner's lock frees itself for the next."""
    site = await Site(tmp_path, 9).start()
    try:
        a = await site.spawn()
        out_a: list[str] = []
        assert await _read_until_cycles(a, 2, 20.0, out_a) == 2, "".join(out_a)
        b = await site.spawn()
        out_b, _ = await asyncio.wait_for(b.communicate(), 20)
        text_b = out_b.decode()
        assert b.returncode == 1, text_b
        assert f"pid {a.pid}" in text_b and "not starting a second controller" in text_b
        a.kill()                                 # kill -9: the lock file stays behind, the flock does not
        await a.wait()
        assert (site.dir / "data" / "owner.lock").exists()
        c = await site.spawn()
        out_c: list[str] = []
        assert await _read_until_cycles(c, 2, 20.0, out_c) == 2, "".join(out_c)
        c.send_signal(signal.SIGTERM)
        await asyncio.wait_for(c.communicate(), 20)
        assert c.returncode == 0
        assert site.toggles == []
    finally:
        await site.close()
