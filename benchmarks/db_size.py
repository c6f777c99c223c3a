"""How big the history gets: 10 miners at a 5 s cycle, one year, default retention.

    /tmp/venv/bin/python benchmarks/db_size.py                      # 10 miners, 5 s, 1 year (~1 min)
    /tmp/venv/bin/python benchmarks/db_size.py --miners 4 --interval 10

A year of raw rows would take long to write and is never kept, so the benchmark builds the database
the retention leaves behind after a year (the steady state), with realistic values:

- raw rows (``energy`` + ``miner_samples``) for ``raw_for`` (default 7 days) at the cycle interval;
- ``energy_minute`` / ``miner_minute`` for ``minute_for`` (90 days);
- ``energy_hour`` / ``miner_hour`` for the year (``hour_for`` is 5 years: the file keeps growing by the
  hourly rows only, about 1/60 of the minute tables a year);
- decisions, commands and events for the year (``events_for``): 40 decision changes, 12 commands a
  miner a day, 30 events a day.

Then it runs the real maintenance on top, one day later, with a further day of raw rows, to show
the file does not grow from one day to the next (pruned pages are reused), and prints the size per
table (``dbstat``) and the total.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.store.config import DAY, HistoryConfig  # noqa: E402
from edgemining_tui.store.db import Store  # noqa: E402

NOW = 1_767_225_600.0   # 2026-01-01 00:00 UTC
STATES = ("mining", "mining", "mining", "ramping", "paused", "offline")


# values as the recorder writes them: whole watts, 0.1 % and °C, 1 GH/s; cycle timestamps with decimals
def _energy(rng: random.Random, ts: float) -> tuple:
    pv = max(0.0, rng.gauss(3500, 2500))
    return (ts + rng.random(), float(round(pv)), float(round(rng.uniform(250, 2500))),
            float(round(rng.gauss(-800, 1500))), float(round(rng.gauss(0, 1500))), round(rng.uniform(10, 100), 1),
            float(round(rng.uniform(0, 30000))), float(round(rng.gauss(1200, 2000))), None)


def _sample(rng: random.Random, ts: float, name: str) -> tuple:
    st = rng.choice(STATES)
    on = st in ("mining", "ramping")
    return (ts + rng.random(), name, st, float(round(rng.uniform(1200, 3300))) if on else 13.0,
            float(round(rng.uniform(1200, 3300))) if on else None, round(rng.uniform(40, 110), 3) if on else 0.0,
            round(rng.uniform(45, 80), 1), rng.randint(2000, 6000))


def build(db_path: Path, miners: int, interval: float, cfg: HistoryConfig, seed: int = 1) -> Store:
    rng = random.Random(seed)
    names = [f"miner-{i:02d}" for i in range(miners)]
    store = Store(db_path, history=cfg)
    conn = store.db.conn
    conn.execute("PRAGMA synchronous=OFF")     # a synthetic build: no need to wait for the disk
    t0 = time.perf_counter()

    def insert(table: str, cols: int, rows) -> None:
        with store._lock:
            with conn:
                conn.executemany(f"insert into [{table}] values ({','.join('?' * cols)})", rows)

    # raw: the last raw_for at the cycle interval (energy has 9 columns, samples 8)
    start = NOW - cfg.raw_for
    n = int(cfg.raw_for / interval)
    chunk = 20000
    for i in range(0, n, chunk):
        ts = [start + (i + k) * interval for k in range(min(chunk, n - i))]
        insert("energy", 9, (_energy(rng, t) for t in ts))
        insert("miner_samples", 8, (_sample(rng, t, m) for t in ts for m in names))
    # rollups: minutes for minute_for, hours for a year
    for table, mtable, span, size in (("energy_minute", "miner_minute", cfg.minute_for, 60),
                                      ("energy_hour", "miner_hour", min(cfg.hour_for or DAY * 365, DAY * 365), 3600)):
        first = NOW - span
        buckets = [first + k * size for k in range(int(span / size))]
        per = size / interval
        for i in range(0, len(buckets), chunk):
            part = buckets[i:i + chunk]
            insert(table, 10, ((int(b), int(per), *(_energy(rng, b)[1:8]), 0) for b in part))
            insert(mtable, 11, ((int(b), m, int(per), int(per * 0.7), 0, float(round(rng.uniform(1000, 3300))),
                                 float(round(rng.uniform(3000, 3300))), float(round(rng.uniform(1200, 3300))),
                                 round(rng.uniform(40, 110), 2), float(round(rng.uniform(45, 75))),
                                 float(round(rng.uniform(70, 85)))) for b in part for m in names))
    # decisions, commands, events for a year
    year = NOW - min(cfg.events_for or 365 * DAY, 365 * DAY)
    reasons = ["surplus 4.2 kW covers 1.2 kW", "min-on 8:00 left", "SoC 45 % < priority 50 %",
               "energy data missing for 1:05: minimum power", "rule 'night stop' fired"]
    days = int((NOW - year) / DAY)
    insert("decisions", 6, ((year + d * DAY + k * 2000.0 + j, m, rng.randint(0, 1), round(rng.uniform(0, 3300), 1),
                             rng.choice(["surplus", "min_on", "soc_guard", "stale", "rule"]), rng.choice(reasons))
                            for d in range(days) for k in range(40) for j, m in enumerate(names)))
    insert("commands", 8, ((year + d * DAY + k * 7000.0 + j, m, rng.choice(["start", "stop", "set_power"]),
                            round(rng.uniform(1200, 3300), 1), None, 1, "accepted", rng.choice(reasons))
                           for d in range(days) for k in range(12) for j, m in enumerate(names)))
    insert("events", 5, ((year + d * DAY + k * 2800.0, "command", "info", rng.choice(names),
                          f"{rng.choice(names)}: set power {rng.uniform(1200, 3300):.0f} W ({rng.choice(reasons)})")
                         for d in range(days) for k in range(30)))
    # watermarks: the rollups are up to date, so the next maintenance only does one day's work
    for key in ("energy_minute", "miner_minute"):
        store.put(f"rollup:{key}", NOW)
    for key in ("energy_hour", "miner_hour"):
        store.put(f"rollup:{key}", NOW)
    with store._lock:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"built in {time.perf_counter() - t0:.0f} s")
    return store


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def per_table(store: Store) -> list[tuple[str, int, int]]:
    rows = store.query("select name, sum(pgsize) as bytes from dbstat group by name order by bytes desc")
    out = []
    for r in rows:
        name = r["name"]
        try:
            n = store.query(f"select count(*) as n from [{name}]")[0]["n"]
        except Exception:
            n = -1      # an index
        out.append((name, r["bytes"], n))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--miners", type=int, default=10)
    p.add_argument("--interval", type=float, default=5.0, help="cycle interval in seconds (default 5)")
    p.add_argument("--raw-for", type=float, default=7.0, help="days of raw rows (default 7)")
    p.add_argument("--minute-for", type=float, default=90.0, help="days of minute rollups (default 90)")
    a = p.parse_args(argv)
    cfg = HistoryConfig(raw_for=a.raw_for * DAY, minute_for=a.minute_for * DAY)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        store = build(db, a.miners, a.interval, cfg)
        before = size_of(db)
        print(f"\n{a.miners} miners, {a.interval:g} s cycle, raw {a.raw_for:g} d, minutes {a.minute_for:g} d, "
              f"hours 1 year, events 1 year")
        print(f"{'table / index':<34} {'rows':>10} {'MB':>8}")
        for name, b, n in per_table(store):
            print(f"{name:<34} {n if n >= 0 else '':>10} {b / 1e6:>8.1f}")
        print(f"{'total file after a year':<34} {'':>10} {before / 1e6:>8.1f}")
        # one more day as the owner lives it: 10 minutes of raw rows, then maintenance, 144 times
        rng = random.Random(2)
        names = [f"miner-{i:02d}" for i in range(a.miners)]
        step = 600.0
        per = int(step / a.interval)
        t0 = time.perf_counter()
        deleted = 0
        with store._lock:
            store.db.conn.execute("PRAGMA synchronous=NORMAL")
        for k in range(int(DAY / step)):
            base = NOW + k * step
            with store._lock:
                with store.db.conn:
                    store.db.conn.executemany("insert into energy values (?,?,?,?,?,?,?,?,?)",
                                              (_energy(rng, base + i * a.interval) for i in range(per)))
                    store.db.conn.executemany("insert into miner_samples values (?,?,?,?,?,?,?,?)",
                                              (_sample(rng, base + i * a.interval, m) for i in range(per)
                                               for m in names))
            deleted += sum(store.maintain(base + step)["deleted"].values())
        took = (time.perf_counter() - t0) / (DAY / step)
        with store._lock:
            store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        after = size_of(db)
        print(f"one day later, maintenance every 10 min (on average {took * 1000:.0f} ms each incl. inserting, "
              f"{deleted} rows pruned): {after / 1e6:.1f} MB ({(after - before) / 1e6:+.1f} MB)")
        print(f"integrity_check: {store.integrity_check()}")
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
