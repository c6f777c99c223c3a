"""History retention (raw -> minute -> hour, bounded), periodic maintenance from the engine, the
export command, and a store whose reads never wait behind a blocked write."""
from __future__ import annotations

import csv
import io
import json
import sys
import threading
import time
from pathlib import Path


from edgemining_tui.config import load_config
from edgemining_tui.store.config import DAY, HistoryConfig, parse_retention
from edgemining_tui.store.db import Store

sys.path.insert(0, str(Path(__file__).parent))
from test_reliability_faults import SiteRig  # noqa: E402

T0 = 1_750_000_000.0 - (1_750_000_000.0 % 3600)   # on the hour


def fill(store: Store, start: float, seconds: float, step: float = 10.0, miners=("a", "b")) -> int:
    energy, samples = [], []
    t = start
    while t < start + seconds:
        energy.append({"ts": t, "pv_w": 1000.0 + (t - start) % 600, "house_w": 400.0, "grid_import_w": -500.0,
                       "battery_charge_w": None, "battery_soc_pct": None, "miners_w": 2000.0,
                       "available_w": 500.0, "stale": None})
        for m in miners:
            samples.append({"ts": t, "name": m, "state": "mining", "power_w": 1000.0, "power_limit_w": 1000.0,
                            "hashrate_ths": 30.0, "temp_c": 60.0, "fan_rpm": 3000})
        t += step
    store.write_cycle({"energy": energy, "miner_samples": samples})
    return len(energy)


def test_retention_parses_days_weeks_years():
    assert parse_retention("7d") == 7 * DAY
    assert parse_retention("5y") == 5 * 365 * DAY
    assert parse_retention("1y6w") == 365 * DAY + 42 * DAY
    assert parse_retention("36h") == 36 * 3600
    assert parse_retention(3600) == 3600.0
    cfg = load_config("c.yaml", text="demo: {}\nhistory: {raw_for: 3d, minute_for: 30d, hour_for: 2y, events_for: null}\n",
                      env={})
    assert cfg.history == HistoryConfig(raw_for=3 * DAY, minute_for=30 * DAY, hour_for=2 * 365 * DAY,
                                        events_for=None)


def test_rollups_then_prune_keeps_averages_and_loses_nothing_unrolled(tmp_path):
    s = Store(tmp_path / "h.db")
    fill(s, T0, 5 * DAY, step=30.0)
    now = T0 + 5 * DAY
    cfg = HistoryConfig(raw_for=2 * DAY, minute_for=3 * DAY, hour_for=4 * DAY)
    res = s.maintain(now, cfg)
    # raw: only the last 2 days; minutes: last 3 days; hours: last 4 days
    assert s.query("select min(ts) as t from energy")[0]["t"] >= now - 2 * DAY
    assert s.query("select min(ts) as t from energy_minute")[0]["t"] >= now - 3 * DAY - 60
    assert s.query("select min(ts) as t from energy_hour")[0]["t"] >= now - 4 * DAY - 3600
    assert res["deleted"]["energy"] > 0 and res["deleted"]["miner_samples"] > 0
    # an hour's average is the raw average of that hour
    h = now - DAY
    raw = s.query("select avg(pv_w) as a, count(*) as n from energy where ts >= ? and ts < ?", [h, h + 3600])[0]
    roll = s.query("select pv_w, n from energy_hour where ts = ?", [h])[0]
    assert roll["n"] == raw["n"] == 120 and abs(roll["pv_w"] - raw["a"]) < 1e-6
    m = s.query("select n, running_n, power_w from miner_hour where ts = ? and name = 'a'", [h])[0]
    assert m == {"n": 120, "running_n": 120, "power_w": 1000.0}
    # idempotent: a second run changes nothing
    again = s.maintain(now, cfg)
    assert sum(again["deleted"].values()) == 0 and sum(again["rollup"].values()) == 0
    assert s.integrity_check() == "ok"
    s.close()


def test_raw_rows_not_yet_rolled_up_are_never_pruned(tmp_path):
    s = Store(tmp_path / "h.db")
    fill(s, T0, 3 * DAY, step=60.0)
    cfg = HistoryConfig(raw_for=3600.0, minute_for=2 * DAY, hour_for=3 * DAY)
    s.maintain(T0 + 3 * DAY, cfg)
    assert s.count("energy_minute") == 2 * 24 * 60, "every minute of minute_for is there"
    assert s.count("energy_hour") == 3 * 24, "and every hour of the whole period, although raw rows went"
    assert s.count("energy") <= 60
    s.close()


async def test_engine_runs_maintenance_periodically_and_the_db_stays_bounded(tmp_path):
    r = SiteRig(tmp_path)
    r.store.history = HistoryConfig(raw_for=3600.0, minute_for=2 * 3600.0, hour_for=DAY, maintain_every=600.0)
    r.engine.recorder.history = r.store.history
    try:
        await r.run(4 * 3600)
        t = r.engine.recorder._maint_task
        if t is not None:
            await t
        assert r.engine.recorder.last_maintenance is not None
        span = r.store.query("select min(ts) as a, max(ts) as b from energy")[0]
        assert span["b"] - span["a"] <= 3600 + 700, "raw rows older than raw_for (+ one period) are gone"
        assert r.store.count("energy_minute") >= 100 and r.store.count("energy_hour") >= 3
    finally:
        await r.close()


def _export(argv, capsys):
    from edgemining_tui.cli import main
    rc = main(["history", "export", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_history_export_csv_and_json(tmp_path, capsys):
    from edgemining_tui.secrets import register
    s = Store(tmp_path / "history.db")
    fill(s, T0, 3600, step=60.0)
    register("s3cr3t-pool-pass")
    s.insert_many("events", [{"ts": T0 + 5, "kind": "fault", "severity": "warning", "miner": "a",
                              "message": "login failed with s3cr3t-pool-pass"}])
    s.close()
    args = ["--data-dir", str(tmp_path), "--from", "2025-06-15", "--to", "2025-06-17", "--tz", "UTC"]
    # T0 is 2025-06-16 ~ 15:00 UTC
    rc, out, err = _export(args + ["--format", "csv"], capsys)
    assert rc == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 60 and rows[0]["time"].startswith("2025-06-")
    rc, out, _ = _export(args + ["--format", "json", "--table", "miner_samples", "--miner", "b"], capsys)
    data = json.loads(out)
    assert rc == 0 and len(data) == 60 and {d["name"] for d in data} == {"b"}
    rc, out, _ = _export(args + ["--format", "json", "--table", "events"], capsys)
    assert rc == 0 and "s3cr3t-pool-pass" not in out and "***" in out
    out_file = tmp_path / "e.csv"
    rc, _, err = _export(args + ["-o", str(out_file)], capsys)
    assert rc == 0 and "60 rows from energy written" in err and out_file.read_text().count("\n") == 61
    rc, out, _ = _export(["--data-dir", str(tmp_path), "--from", "-3d", "--format", "json"], capsys)
    assert rc == 0


def test_history_stats_and_maintain(tmp_path, capsys):
    from edgemining_tui.cli import main
    s = Store(tmp_path / "history.db")
    fill(s, T0, 600, step=60.0)
    s.close()
    assert main(["history", "stats", "--data-dir", str(tmp_path)]) == 0
    assert "energy" in capsys.readouterr().out
    assert main(["history", "maintain", "--data-dir", str(tmp_path)]) == 0
    assert "rolled up" in capsys.readouterr().out


def test_inbox_reads_do_not_wait_for_a_blocked_writer(tmp_path):
    """The owner polls the observer inbox on the event loop every cycle: never behind a slow write."""
    s = Store(tmp_path / "h.db")
    rid = s.send_request("pause", {}, 1.0)
    hold = threading.Event()

    def slow_writer():
        with s._lock:               # what a write stuck on a locked or dying disk looks like
            hold.wait(5)
    t = threading.Thread(target=slow_writer)
    t.start()
    try:
        t0 = time.perf_counter()
        rows = s.pending_requests()
        s.mark_applied(rid, 2.0, "ok")
        assert s.request_result(rid) == "ok"
        assert s.pending_requests() == []
        assert time.perf_counter() - t0 < 0.5
        assert [r["id"] for r in rows] == [rid]
    finally:
        hold.set()
        t.join()
    s.write_cycle({})
    assert s.query("select result from inbox where id = ?", [rid])[0]["result"] == "ok"
    s.close()


def test_wal_and_synchronous_settings(tmp_path):
    s = Store(tmp_path / "h.db")
    c = s.db.conn
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 1          # NORMAL
    assert c.execute("PRAGMA auto_vacuum").fetchone()[0] == 2          # INCREMENTAL (new files)
    s.close()


def test_a_write_is_one_transaction_whole_or_not_at_all(tmp_path):
    """A write's rows land together or not at all, and cost the SD card one commit: the writer
    connection autocommits, and each row used to be a commit of its own (~450 kB of WAL for 5 s of
    a 10-miner site at a 1 s cycle; one commit writes each touched page once)."""
    s = Store(tmp_path / "h.db")
    fill(s, T0, 5, step=1.0, miners=tuple(f"m{i}" for i in range(10)))
    wal = tmp_path / "h.db-wal"
    before = wal.stat().st_size
    fill(s, T0 + 5, 5, step=1.0, miners=tuple(f"m{i}" for i in range(10)))
    assert wal.stat().st_size - before < 64 * 1024, wal.stat().st_size - before
    n_energy = s.count("energy")
    try:
        # the rows go in first; the state after them cannot be written: nothing of the write stays
        s.write_cycle({"energy": [{"ts": T0 + 20, "pv_w": 1.0}], "events": [{"ts": T0 + 20, "kind": "notice",
                                                                             "message": "x"}]},
                      {"state": object()})
    except TypeError:
        pass
    else:
        raise AssertionError("an unwritable state must fail the write")
    assert s.count("energy") == n_energy and s.count("events") == 0
    assert not s.db.conn.in_transaction
    fill(s, T0 + 30, 2, step=1.0)          # and the next write goes through
    assert s.count("energy") == n_energy + 2
    s.close()


async def test_energy_rows_are_written_every_5_s_events_at_once_and_all_on_shutdown(tmp_path):
    """At a 1 s cycle the energy rows and samples go to disk in one transaction per 5 s (the
    default ``history.write_every``): what a crash can lose at any moment is at most the last 5 s
    of them, never an event or a command, and a clean shutdown writes the rest."""
    store = Store(tmp_path / "history.db", history=HistoryConfig())
    rig = SiteRig(tmp_path, store=store)
    behind: list[float] = []
    for i in range(30):
        rig.driver("m1").faults.offline = 10 <= i < 20     # a fault and its recovery: events
        rig.clock.advance(1)
        await rig.engine.cycle()
        saved = store.query("select max(ts) as t from energy")[0]["t"]
        behind.append(rig.clock.now() - saved)
        # every event so far is on disk already (the miners starting, their commands)
        assert store.query("select count(*) as n from events")[0]["n"] == len(rig.events)
    assert max(behind) <= 5.0 and max(behind) >= 4.0, behind
    assert len(rig.events) >= 2
    n_cycles = len(rig.states)
    assert store.query("select count(*) as n from energy")[0]["n"] < n_cycles
    await rig.engine.close()
    assert store.query("select count(*) as n from energy")[0]["n"] == n_cycles
    assert store.get("state")["cycle"] == rig.states[-1].cycle
