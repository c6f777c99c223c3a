"""History retention: raw rows -> per-minute -> per-hour averages, then pruning, in small steps.

``maintain(store, now, cfg)`` is called by the recorder every ``history.maintain_every`` (never every
cycle), on the recorder's worker thread. Each step is its own short transaction (a few thousand rows)
so the cycle's own writes slip in between and never wait long.

- Rollups are incremental: a watermark in ``kv`` ("rollup:<table>") says up to where complete
  buckets are done; raw rows are only pruned once they are rolled up, so nothing is lost unrolled.
- Raw tables are pruned by rowid ranges found by bisection on ``ts`` (rows are appended in time
  order), always also guarded by ``ts < cutoff``: a clock that jumped back never loses new rows.
- The file does not grow without bound: pruned pages are reused; when more than a quarter of the
  file is free (after shortening a retention), ``incremental_vacuum`` hands space back.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any

from .config import HistoryConfig

log = logging.getLogger("edgemining_tui.retention")

BATCH = 5000              # rows per delete transaction
ROLLUP_SPAN = 6 * 3600.0  # seconds of raw rows per rollup transaction

_E_COLS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct", "miners_w", "available_w")


def _wm_get(conn: sqlite3.Connection, key: str) -> float | None:
    row = conn.execute("select value from kv where key = ?", [f"rollup:{key}"]).fetchone()
    return None if row is None else float(json.loads(row[0]))


def _wm_set(conn: sqlite3.Connection, key: str, value: float) -> None:
    conn.execute("insert or replace into kv(key, value, ts) values (?, ?, ?)",
                 [f"rollup:{key}", json.dumps(value), time.time()])


def _r(expr: str, col: str) -> str:
    """Whole watts and degrees (stored in 1-3 bytes instead of 8); SoC and hashrate keep decimals."""
    if col == "battery_soc_pct":
        return f"round({expr}, 1)"
    if col == "hashrate_ths":
        return f"round({expr}, 2)"
    return f"round({expr})"


def _rollup_raw_energy(conn, start: float, end: float, size: int) -> None:
    avgs = ", ".join(_r(f"avg({c})", c) for c in _E_COLS)
    conn.execute(
        f"insert or replace into energy_minute (ts, n, {', '.join(_E_COLS)}, stale_n) "
        f"select cast(ts / {size} as integer) * {size} as b, count(*), {avgs}, "
        f"sum(stale is not null) from energy where ts >= ? and ts < ? group by b", [start, end])


def _rollup_raw_miners(conn, start: float, end: float, size: int) -> None:
    # miner_samples has no ts index (only name, ts): bound the scan by rowid (rows are appended in time
    # order, a little slack either side), and by ts as well so no row is counted in the wrong bucket
    r0 = _first_rowid_at(conn, "miner_samples", start - 60.0) or 0
    r1 = _first_rowid_at(conn, "miner_samples", end + 60.0)
    r1 = (r1 if r1 is not None else 0) + 1000
    conn.execute(
        "insert or replace into miner_minute (ts, name, n, running_n, offline_n, power_w, power_max_w, "
        "power_limit_w, hashrate_ths, temp_c, temp_max_c) "
        f"select cast(ts / {size} as integer) * {size} as b, name, count(*), "
        "sum(state in ('mining', 'ramping')), sum(state in ('offline', 'unresponsive')), round(avg(power_w)), "
        "round(max(power_w)), round(avg(power_limit_w)), round(avg(hashrate_ths), 2), round(avg(temp_c)), "
        "round(max(temp_c)) "
        "from miner_samples where rowid >= ? and rowid < ? and ts >= ? and ts < ? group by b, name",
        [r0, r1, start, end])


def _w(col: str) -> str:
    """Average of averages, weighted by how many raw rows each stands for (NULLs left out)."""
    return _r(f"sum({col} * n) / nullif(sum(case when {col} is not null then n end), 0)", col)


def _rollup_energy_hour(conn, start: float, end: float, size: int) -> None:
    conn.execute(
        f"insert or replace into energy_hour (ts, n, {', '.join(_E_COLS)}, stale_n) "
        f"select cast(ts / {size} as integer) * {size} as b, sum(n), {', '.join(_w(c) for c in _E_COLS)}, "
        "sum(stale_n) from energy_minute where ts >= ? and ts < ? group by b", [start, end])


def _rollup_miner_hour(conn, start: float, end: float, size: int) -> None:
    conn.execute(
        "insert or replace into miner_hour (ts, name, n, running_n, offline_n, power_w, power_max_w, "
        "power_limit_w, hashrate_ths, temp_c, temp_max_c) "
        f"select cast(ts / {size} as integer) * {size} as b, name, sum(n), sum(running_n), sum(offline_n), "
        f"{_w('power_w')}, max(power_max_w), {_w('power_limit_w')}, {_w('hashrate_ths')}, {_w('temp_c')}, "
        "max(temp_max_c) from miner_minute where ts >= ? and ts < ? group by b, name", [start, end])


# (watermark key, source table, bucket size, function)
_ROLLUPS = (
    ("energy_minute", "energy", 60, _rollup_raw_energy),
    ("miner_minute", "miner_samples", 60, _rollup_raw_miners),
    ("energy_hour", "energy_minute", 3600, _rollup_energy_hour),
    ("miner_hour", "miner_minute", 3600, _rollup_miner_hour),
)


def _min_ts(conn, table: str) -> float | None:
    if table in _TS_KEYED:      # keyed by ts: the minimum is one index probe
        row = conn.execute(f"select min(ts) from [{table}]").fetchone()
        return None if row is None or row[0] is None else float(row[0])
    # rows are appended in time order: the first rowids are (nearly) the oldest
    row = conn.execute(f"select min(ts) from (select ts from [{table}] order by rowid limit 1000)").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def rollup(store: Any, now: float) -> dict[str, int]:
    """Build every complete minute and hour bucket not yet built. Returns buckets written per table."""
    done: dict[str, int] = {}
    for key, src, size, fn in _ROLLUPS:
        # an hour bucket is complete once its minutes are: never run ahead of the minute watermark
        upto = float(int(now // size) * size)
        if src in ("energy_minute", "miner_minute"):
            with store._lock:
                src_wm = _wm_get(store.db.conn, src)
            if src_wm is None:
                continue
            upto = min(upto, float(int(src_wm // size) * size))
        with store._lock:
            conn = store.db.conn
            wm = _wm_get(conn, key)
            if wm is None:
                first = _min_ts(conn, src)
                if first is None:
                    continue
                wm = float(int(first // size) * size)
        n = 0
        while wm < upto:
            end = min(upto, wm + max(ROLLUP_SPAN, size))
            end = float(int(end // size) * size) if end < upto else upto
            if end <= wm:
                end = wm + size
            with store._lock:
                conn = store.db.conn
                with conn:
                    fn(conn, wm, end, size)
                    _wm_set(conn, key, end)
            n += int((end - wm) // size)
            wm = end
        done[key] = n
    return done


def _first_rowid_at(conn, table: str, cutoff: float) -> int | None:
    """The first rowid whose ts is >= cutoff, by bisection over rowids (rows are appended in time order)."""
    lo_hi = conn.execute(f"select min(rowid), max(rowid) from [{table}]").fetchone()
    if lo_hi is None or lo_hi[0] is None:
        return None
    lo, hi = int(lo_hi[0]), int(lo_hi[1]) + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(f"select rowid, ts from [{table}] where rowid >= ? order by rowid limit 1",
                           [mid]).fetchone()
        if row is None:
            hi = mid
        elif row[1] is not None and row[1] < cutoff:
            lo = int(row[0]) + 1
        else:
            hi = mid
    return lo


_TS_KEYED = {"energy_minute": 6 * 3600.0, "energy_hour": 30 * 86400.0,
             "miner_minute": 3600.0, "miner_hour": 7 * 86400.0}   # table -> seconds per delete batch


def _prune_by_ts(store: Any, table: str, cutoff: float, span: float) -> int:
    """Rollup tables are keyed by ts first: delete time slices off the front, one per transaction."""
    total = 0
    while True:
        with store._lock:
            conn = store.db.conn
            lo = conn.execute(f"select min(ts) from [{table}]").fetchone()[0]
            if lo is None or lo >= cutoff:
                return total
            with conn:
                total += conn.execute(f"delete from [{table}] where ts < ?", [min(cutoff, lo + span)]).rowcount


def prune(store: Any, table: str, cutoff: float) -> int:
    """Delete rows older than cutoff, a batch per transaction. Returns rows deleted."""
    if table in _TS_KEYED:
        return _prune_by_ts(store, table, cutoff, _TS_KEYED[table])
    total = 0
    with store._lock:
        limit = _first_rowid_at(store.db.conn, table, cutoff)
    if limit is None:
        return 0
    while True:
        with store._lock:
            conn = store.db.conn
            with conn:
                cur = conn.execute(
                    f"delete from [{table}] where rowid in (select rowid from [{table}] "
                    f"where rowid < ? and ts < ? limit {BATCH})", [limit, cutoff])
                n = cur.rowcount
        total += n
        if n < BATCH:
            return total


def maintain(store: Any, now: float, cfg: HistoryConfig | None = None) -> dict:
    """Roll up, then prune by the retention periods. Safe to call at any time, from one thread."""
    cfg = cfg or HistoryConfig()
    t0 = time.perf_counter()
    out: dict[str, Any] = {"rollup": rollup(store, now), "deleted": {}}
    deleted = out["deleted"]
    with store._lock:
        conn = store.db.conn
        e_wm = _wm_get(conn, "energy_minute")
        m_wm = _wm_get(conn, "miner_minute")
        eh_wm = _wm_get(conn, "energy_hour")
        mh_wm = _wm_get(conn, "miner_hour")
    raw_cut = now - cfg.raw_for
    # never prune what has not been rolled up yet
    if e_wm is not None:
        deleted["energy"] = prune(store, "energy", min(raw_cut, e_wm))
    if m_wm is not None:
        deleted["miner_samples"] = prune(store, "miner_samples", min(raw_cut, m_wm))
    if cfg.minute_for is not None:
        cut = now - cfg.minute_for
        deleted["energy_minute"] = prune(store, "energy_minute", cut if eh_wm is None else min(cut, eh_wm))
        deleted["miner_minute"] = prune(store, "miner_minute", cut if mh_wm is None else min(cut, mh_wm))
    if cfg.hour_for is not None:
        for t in ("energy_hour", "miner_hour"):
            deleted[t] = prune(store, t, now - cfg.hour_for)
    if cfg.events_for is not None:
        cut = now - cfg.events_for
        for t in ("events", "commands", "decisions"):
            deleted[t] = prune(store, t, cut)
    # events and commands have a size whatever happens: beyond events_max_rows the oldest go
    for t in ("events", "commands"):
        with store._lock:
            with store.db.conn:
                conn = store.db.conn
                n = conn.execute(f"select count(*) from [{t}]").fetchone()[0]
                over = n - cfg.events_max_rows
                if over > 0:
                    conn.execute(f"delete from [{t}] where rowid in (select rowid from [{t}] order by rowid limit ?)",
                                 [over])
                    deleted[f"{t}_over_cap"] = over
    if cfg.events_for is not None:
        # applied observer requests: a day is plenty
        with store._lock:
            with store.db.conn:
                store.db.conn.execute("delete from inbox where applied_ts is not null and applied_ts < ?",
                                      [now - 86400.0])
    out["vacuumed_pages"] = _give_back_space(store)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    if any(deleted.values()):
        log.debug("history maintenance: %s", out)
    return out


def _give_back_space(store: Any) -> int:
    with store._lock:
        conn = store.db.conn
        try:
            mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            if mode == 2 and pages and free > pages // 4:
                conn.execute(f"PRAGMA incremental_vacuum({free})").fetchall()
                return int(free)
        except sqlite3.Error:
            pass
    return 0
