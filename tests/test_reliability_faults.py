"""Fault injection on a simulated site, in virtual time: energy outages, miners that refuse, hang or
reboot, a database locked by another process, a full disk. Control must go on through all of it,
each fault reported once when it appears and once when it clears, and history must catch up.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgemining_tui.clock import RealClock, VirtualClock
from edgemining_tui.energy.sim_source import SimSource
from edgemining_tui.engine.engine import Engine, MinerMeta
from edgemining_tui.engine.events import EngineState, Event
from edgemining_tui.miners.config import MinerConfig, SimulatedSpec
from edgemining_tui.miners.factory import build_fleet
from edgemining_tui.miners.model import MinerState
from edgemining_tui.notify import MemoryNotifier, NotifyConfig
from edgemining_tui.notify.hub import NotificationHub
from edgemining_tui.policy.config import PolicyConfig
from edgemining_tui.policy.decider import PolicyDecider
from edgemining_tui.sim.battery import BatteryConfig
from edgemining_tui.sim.site import SimSite, SimSiteConfig
from edgemining_tui.store.db import Store

MORNING = 1750500000.0   # 2025-06-21 10:00 UTC: sun high at latitude 47, longitude 0


class SiteRig:
    """The demo site in miniature: simulated PV/house, two simulated miners, the real allocator,
    the real store and recorder, and the notification hub with a fake channel."""

    def __init__(self, tmp: Path, clock=None, store: Store | None = None, drivers=None, decider_state=None,
                 fleet=None) -> None:
        self.clock = clock or VirtualClock(MORNING)
        self.site = SimSite(SimSiteConfig(pv_peak=12000, house_base=400, cloudiness=0.0, latitude=47.0,
                                          battery=BatteryConfig(capacity=0)))
        cfgs = [MinerConfig(name=f"m{i}", driver="simulated", priority=i,
                            simulated=SimulatedSpec(max_w=3000, min_w=1000, ramp=30, start_paused=True))
                for i in (1, 2)]
        self.fleet = fleet or build_fleet(cfgs, self.clock, retries=0)
        self.source = SimSource(self.site, self.clock,
                                lambda: sum((s.power_w or 0.0) for s in self.fleet.samples.values()))
        self.decider = PolicyDecider(PolicyConfig(), tz="UTC")
        if decider_state:
            self.decider.restore_state(decider_state, self.clock.now())
        self.store = store or Store(tmp / "history.db")
        self.engine = Engine(clock=self.clock, source=self.source, fleet=self.fleet, decider=self.decider,
                             miners=[MinerMeta("m1", 1), MinerMeta("m2", 2)], store=self.store, interval_s=5,
                             stale_after_s=30)
        self.engine.recorder.wait_s = 2.0
        self.notes = MemoryNotifier()
        self.hub = NotificationHub(NotifyConfig(daily_summary=None, log=False), [self.notes], self.clock,
                                   store=self.store)
        self.engine.subscribe(self.hub)
        self.events: list[Event] = []
        self.states: list[EngineState] = []
        self.engine.subscribe(lambda x: (self.events if isinstance(x, Event) else self.states).append(x))

    def driver(self, name: str):
        return self.fleet.driver(name)

    async def run(self, seconds: float) -> None:
        self.hub.start()
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.advance(5)
            await self.engine.cycle()

    async def settle(self) -> list:
        await asyncio.wait_for(self.hub._queue.join(), 5)
        return self.notes.sent

    def commands(self, kinds=("start", "stop")) -> list[tuple[float, str, str, bool]]:
        return [(e.ts, e.miner, e.message, e.severity == "info") for e in self.events
                if e.kind == "command" and any(f": {k}" in e.message for k in kinds)]

    def kinds(self, kind: str, key_prefix: str = "") -> list[Event]:
        return [e for e in self.events if e.kind == kind and str(e.data.get("key", "")).startswith(key_prefix)]

    async def close(self) -> None:
        await self.hub.close()
        await self.engine.close()
        self.store.close()


@pytest.fixture
async def rig(tmp_path):
    r = SiteRig(tmp_path)
    await r.run(300)            # warm up: both miners started on the morning sun
    assert all(s.running for s in r.states[-1].samples.values()), r.states[-1].samples
    yield r
    await r.close()


# --- energy source down --------------------------------------------------------------------------
async def test_energy_down_30s_holds_and_notifies_nobody(rig):
    rig.events.clear()
    rig.source.error = "Home Assistant: connection refused"
    await rig.run(30)
    assert rig.states[-1].stale, "the outage is visible"
    rig.source.error = None
    await rig.run(60)
    assert not rig.states[-1].stale
    faults, cleared = rig.kinds("fault", "energy:"), rig.kinds("fault_cleared", "energy:")
    assert faults and len(faults) == len(cleared) == len({e.data["key"] for e in faults})  # once each
    assert rig.commands() == [], "a 30 s blip is held through: no miner is toggled"
    assert all(s.running for s in rig.states[-1].samples.values())
    assert await rig.settle() == [], "a blip inside the grace period notifies nobody"


async def test_energy_down_10min_failsafe_engages_once_and_recovers(rig):
    rig.events.clear()
    rig.source.error = "Home Assistant: HTTP 503"
    n0 = len(rig.states)
    await rig.run(600)
    assert len(rig.states) - n0 == 120, "one cycle every 5 s all through the outage"
    assert rig.states[-1].decision.terms.get("failsafe") == "pause"
    assert not any(s.running for s in rig.states[-1].samples.values()), "fail-safe paused the fleet"
    rig.source.error = None
    await rig.run(20 * 60)
    assert any(s.running for s in rig.states[-1].samples.values()), "control recovered by itself"
    sent = await rig.settle()
    fs = [n for n in sent if n.kind == "failsafe"]
    assert [n.cleared for n in fs] == [False, True], [n.title for n in sent]
    assert len(rig.kinds("fault", "energy:")) == len(rig.kinds("fault_cleared", "energy:"))


# --- miners ----------------------------------------------------------------------------------------
async def test_miner_refusing_commands_is_reported_once_and_cleared(tmp_path):
    r = SiteRig(tmp_path)
    try:
        r.driver("m2").faults.refuse_commands = True
        await r.run(15 * 60)                       # several retries happen in this time
        failed = [c for c in r.commands() if c[1] == "m2" and not c[3]]
        assert len(failed) == 1, "one event for a run of failures, not one per attempt (issue 16)"
        assert r.states[-1].samples["m1"].running, "the other miner is unaffected"
        assert r.states[-1].commands["m2"].startswith("command failed: start")
        r.driver("m2").faults.refuse_commands = False
        await r.run(5 * 60)
        assert r.states[-1].samples["m2"].running
        assert "m2" not in r.states[-1].commands
        sent = [n for n in await r.settle() if n.key == "command:m2"]
        assert [n.cleared for n in sent] == [False, True], [(n.title, n.body) for n in sent]
        rows = r.store.query("select count(*) as n from commands where name = 'm2' and ok = 0")
        assert rows[0]["n"] >= 2, "the allocator retried; every attempt is in the commands table"
        again = [e.message for e in r.events if e.kind == "command" and "apply again after" in e.message]
        assert again == [f"m2: commands apply again after {rows[0]['n']} failures"]
    finally:
        await r.close()


async def test_miner_hanging_then_back(rig):
    rig.driver("m1").faults.unresponsive = True
    await rig.run(120)
    st = rig.states[-1]
    assert st.samples["m1"].state is MinerState.UNRESPONSIVE
    assert st.samples["m2"].running and "miner:m1" in st.faults
    rig.driver("m1").faults.unresponsive = False
    await rig.run(60)
    assert "miner:m1" not in rig.states[-1].faults
    assert len(rig.kinds("fault", "miner:m1")) == 1 and len(rig.kinds("fault_cleared", "miner:m1")) == 1
    sent = [n for n in await rig.settle() if n.key == "miner:m1"]
    assert [n.cleared for n in sent] == [False, True]
    assert "m1 is not answering" in sent[0].title and "m1 is back" in sent[1].title


async def test_miner_rebooting_comes_back_and_is_driven_again(rig):
    d = rig.driver("m1")
    d.model.reboot(rig.clock.now(), 90)
    await rig.run(60)
    assert rig.states[-1].samples["m1"].state is MinerState.OFFLINE
    await rig.run(20 * 60)
    assert rig.states[-1].samples["m1"].running, "the allocator started it again after its reboot"
    sent = [n for n in await rig.settle() if n.key == "miner:m1"]
    assert [n.cleared for n in sent] == [False, True]


async def test_emulated_miner_hang_refuse_and_reboot_do_not_stall_the_cycle(tmp_path):
    """Real protocols over loopback, driven through pyasic: one wedged miner costs its poll timeout."""
    from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
    clock = RealClock()
    emus = await start_emulators([EmulatorSpec("lux", "luxos", poll_timeout=0.5, command_timeout=1.0),
                                  EmulatorSpec("ava", "avalon", poll_timeout=0.5, command_timeout=1.0)], clock)
    fleet = build_fleet(emus.configs, clock, retries=0)
    try:
        await fleet.read_all()                     # warm up: pyasic is imported on the first read
        ok = await fleet.read_all()
        assert ok["lux"].online and ok["ava"].online
        emus["lux"].set_hang(True)
        t0 = time.perf_counter()
        s = await fleet.read_all()
        assert time.perf_counter() - t0 < 2.5
        assert s["lux"].state is MinerState.UNRESPONSIVE and s["ava"].online
        emus["lux"].set_hang(False)
        await emus["ava"].refuse(True)
        s = await fleet.read_all()
        assert s["ava"].state in (MinerState.OFFLINE, MinerState.UNRESPONSIVE) and s["lux"].online
        await emus["ava"].refuse(False)
        await emus["lux"].reboot(offline_s=0.5)
        s = await fleet.read_all()
        assert not s["lux"].online and s["ava"].online
        await asyncio.sleep(0.8)
        s = await fleet.read_all()
        assert s["lux"].online
    finally:
        await fleet.close()
        await emus.stop()


# --- the database ------------------------------------------------------------------------------------
LOCKER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(60)
"""


async def test_database_locked_by_another_process_degrades_history_not_control(tmp_path, caplog):
    r = SiteRig(tmp_path)
    r.store.db.conn.execute("PRAGMA busy_timeout=300")    # the owner's writer gives up sooner in tests
    r.engine.recorder.wait_s = 0.05
    try:
        await r.run(60)
        rows_before = r.store.count("energy")
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(r.store.path)], stdout=subprocess.PIPE, text=True)
        assert locker.stdout.readline().strip() == "locked"
        caplog.set_level(logging.WARNING, "edgemining_tui.recorder")
        t0 = time.perf_counter()
        n0 = len(r.states)
        r.driver("m2").faults.unresponsive = True          # a fault while history cannot be written
        await r.run(120)
        assert len(r.states) - n0 == 24, "every cycle ran"
        assert time.perf_counter() - t0 < 15
        assert r.engine.recorder.failing and "locked" in r.engine.recorder.failing
        locker.kill()
        locker.wait()
        r.driver("m2").faults.unresponsive = False
        await r.run(30)
        await asyncio.sleep(0.5)
        await r.run(10)
        assert r.engine.recorder.failing is None
        msgs = [rec.getMessage() for rec in caplog.records if rec.name == "edgemining_tui.recorder"]
        assert sum("history write failed" in m for m in msgs) == 1, msgs
        assert sum("work again" in m for m in msgs) == 1, msgs
        # the fault raised while the disk was locked reached the history afterwards
        ev = r.store.query("select kind from events where miner = 'm2' and kind like 'fault%'")
        assert [e["kind"] for e in ev] == ["fault", "fault_cleared"]
        assert r.store.count("energy") > rows_before
        assert r.store.integrity_check() == "ok"
    finally:
        await r.close()


class FullDisk(Exception):
    pass


async def test_disk_full_on_history_write_degrades_history_not_control(tmp_path, caplog):
    r = SiteRig(tmp_path)
    try:
        await r.run(60)
        real = r.store.write_cycle

        def full(*a, **kw):
            raise sqlite3.OperationalError("database or disk is full")
        r.store.write_cycle = full
        caplog.set_level(logging.WARNING, "edgemining_tui.recorder")
        r.driver("m2").faults.offline = True
        n0 = len(r.states)
        await r.run(300)
        assert len(r.states) - n0 == 60
        assert "disk is full" in r.engine.recorder.failing
        assert r.states[-1].samples["m1"].running, "control went on"
        r.store.write_cycle = real
        await r.run(10)
        assert r.engine.recorder.failing is None
        msgs = [rec.getMessage() for rec in caplog.records if rec.name == "edgemining_tui.recorder"]
        assert sum("history write failed" in m for m in msgs) == 1
        assert r.store.query("select count(*) as n from events where kind = 'fault' and miner = 'm2'")[0]["n"] == 1
    finally:
        await r.close()


def _mount_tmpfs(path: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True)
    return res.returncode == 0


async def test_disk_really_full_on_a_tiny_tmpfs(tmp_path):
    """A real ENOSPC from the kernel (needs root to mount a 2 MB tmpfs; skipped otherwise)."""
    mnt = tmp_path / "tiny"
    if not _mount_tmpfs(mnt, "2m"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        store = Store(mnt / "history.db")
        r = SiteRig(tmp_path, store=store)
        try:
            await r.run(60)
            filler = mnt / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT)   # fill the disk to the last byte
            try:
                for chunk in (65536, 4096, 512):
                    try:
                        while True:
                            os.write(fd, b"\0" * chunk)
                    except OSError:
                        pass
            finally:
                os.close(fd)
            n0 = len(r.states)
            await r.run(30 * 60)                     # enough rows to need new pages
            assert len(r.states) - n0 == 360, "control went on"
            assert r.engine.recorder.failing is not None, "the full disk was noticed"
            filler.unlink()
            await r.run(20)
            assert r.engine.recorder.failing is None
            assert r.store.integrity_check() == "ok"
        finally:
            await r.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# --- crash safety in process: the decider's state survives, no needless toggle ------------------------
async def test_restart_restores_decider_state_and_toggles_nothing(tmp_path):
    r = SiteRig(tmp_path)
    await r.run(300)
    fut = r.engine.request("force_off", {"miner": "m2", "expiry": "for 2 h"})
    await r.run(60)
    assert "m2" in fut.result()
    assert not r.states[-1].samples["m2"].running
    exported = r.decider.export_state()
    assert exported["overrides"] and exported["miners"]["m1"]
    # crash: nothing is closed or flushed; the next owner opens the same file
    saved = Store(tmp_path / "history.db").get("decider")
    assert saved == exported, "the decider's state is written with every cycle"
    starts_before = [c for c in r.commands() if ": start" in c[2]]
    r2 = SiteRig(tmp_path, clock=r.clock, store=Store(tmp_path / "history.db"), fleet=r.fleet,
                 decider_state=saved)
    try:
        await r2.run(120)
        assert r2.commands() == [], "the restarted owner did not stop or start anything"
        ov = r2.states[-1].overrides
        assert ov and "m2" in str(ov), "the override survived the restart with its expiry"
        # timers, starts today and the override: exactly what the crashed owner had
        assert r2.decider.export_state() == exported
        assert starts_before
        # the override runs out on schedule after the restart: one notification, then m2 runs again
        await r2.run(2 * 3600)
        sent = [n for n in await r2.settle() if n.kind == "override"]
        assert len(sent) == 1 and "expired" in sent[0].body.lower() or "expired" in sent[0].title.lower()
        assert r2.states[-1].samples["m2"].running
    finally:
        await r2.close()
        await r.hub.close()
