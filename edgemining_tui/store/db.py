"""History in SQLite (WAL) through sqlite-utils: energy, miner samples, decisions, commands, events.

Two connections: the writer (used from a worker thread one call at a time) and a reader, so a
read on the event loop (the owner polling the observer inbox, an observer's screen) never waits
behind a slow or blocked write. In WAL mode readers and the writer do not block each other.
Crash safety: WAL + synchronous=NORMAL survives a killed process with every committed cycle and a
power cut without corruption (the last commits may be lost). Rollups and pruning: store/retention.py.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable

from .files import private_dir, private_file


def _import_sqlite_utils() -> Any:
    """sqlite-utils imports numpy and pandas whenever they are installed (the [oracle] extra's
    highspy brings numpy), only to accept their scalar types, which we never pass. On a Pi that is
    ~15 MB and a tenth of a second at every start, so it is imported with both hidden; a later
    ``import numpy`` (backtest --oracle) still works."""
    import sys
    hidden = [m for m in ("numpy", "pandas") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes `import m` raise ImportError
    try:
        import sqlite_utils as su
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]
    return su


sqlite_utils = _import_sqlite_utils()

SCHEMA: dict[str, tuple[dict[str, type], list[str] | None]] = {
    "energy": ({"ts": float, "pv_w": float, "house_w": float, "grid_import_w": float,
                "battery_charge_w": float, "battery_soc_pct": float, "miners_w": float,
                "available_w": float, "stale": str}, None),
    "miner_samples": ({"ts": float, "name": str, "state": str, "power_w": float, "power_limit_w": float,
                       "hashrate_ths": float, "temp_c": float, "fan_rpm": int}, None),
    "decisions": ({"ts": float, "name": str, "run": int, "target_w": float, "term": str,
                   "reason": str}, None),
    "commands": ({"ts": float, "name": str, "command": str, "watts": float, "level": str,
                  "ok": int, "message": str, "reason": str}, None),
    "events": ({"ts": float, "kind": str, "severity": str, "miner": str, "message": str}, None),
}
INDEXES = {"energy": ["ts"], "miner_samples": ["name", "ts"], "decisions": ["name", "ts"],
           "commands": ["name", "ts"], "events": ["ts"]}
# rollups (store/retention.py): averages per minute and per hour, n = raw rows behind each average.
# Compact on purpose (they are most of a year's file): ts is the rowid (energy) or the first key of
# a WITHOUT ROWID table (miners), so there is no second index; watts and degrees are whole numbers.
_E_ROLLUP_COLS = ("n INTEGER, pv_w REAL, house_w REAL, grid_import_w REAL, battery_charge_w REAL, "
                  "battery_soc_pct REAL, miners_w REAL, available_w REAL, stale_n INTEGER")
_M_ROLLUP_COLS = ("n INTEGER, running_n INTEGER, offline_n INTEGER, power_w REAL, power_max_w REAL, "
                  "power_limit_w REAL, hashrate_ths REAL, temp_c REAL, temp_max_c REAL")
ROLLUPS: dict[str, str] = {
    "energy_minute": f"create table energy_minute (ts INTEGER PRIMARY KEY, {_E_ROLLUP_COLS})",
    "energy_hour": f"create table energy_hour (ts INTEGER PRIMARY KEY, {_E_ROLLUP_COLS})",
    "miner_minute": f"create table miner_minute (ts INTEGER NOT NULL, name TEXT NOT NULL, {_M_ROLLUP_COLS}, "
                    "PRIMARY KEY (ts, name)) WITHOUT ROWID",
    "miner_hour": f"create table miner_hour (ts INTEGER NOT NULL, name TEXT NOT NULL, {_M_ROLLUP_COLS}, "
                  "PRIMARY KEY (ts, name)) WITHOUT ROWID",
}
TABLES = tuple(SCHEMA) + tuple(ROLLUPS)
# table -> (columns in order, the same as a set, the insert statement)
_COLUMNS = {t: (tuple(cols), frozenset(cols),
                f"insert into [{t}] ({', '.join(f'[{c}]' for c in cols)}) values ({', '.join('?' * len(cols))})")
            for t, (cols, _pk) in SCHEMA.items()}
_KV_UPSERT = ("insert into kv ([key], value, ts) values (?, ?, ?) "
              "on conflict([key]) do update set value = excluded.value, ts = excluded.ts")


class Store:
    def __init__(self, path: str | Path, history: Any = None) -> None:
        self.path = Path(path)
        private_dir(self.path.parent)
        self.history = history          # store.config.HistoryConfig: what retention keeps (None: defaults)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        # 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode
        private_file(self.path)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5.0,
                               isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        self._rlock = threading.Lock()
        self._marks: dict[int, tuple[float, str]] = {}   # inbox rows applied, not yet written
        with self._lock:
            if fresh:  # only possible before the first table: lets retention hand space back
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a power cut may lose the last commits, never corrupts the file
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            # the WAL file is truncated back to this after a checkpoint (SD cards, small disks)
            conn.execute("PRAGMA journal_size_limit=8388608")
            self._migrate()
        self._rconn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5.0,
                                      isolation_level=None)
        self._rconn.row_factory = sqlite3.Row
        self._rconn.execute("PRAGMA busy_timeout=2000")

    def _migrate(self) -> None:
        for name, (cols, pk) in SCHEMA.items():
            t = self.db[name]
            if not t.exists():
                t.create(cols, pk=pk)
                t.create_index(INDEXES[name], if_not_exists=True)
        if not self.db["kv"].exists():
            self.db["kv"].create({"key": str, "value": str, "ts": float}, pk="key")
        if not self.db["inbox"].exists():
            # observers write requests here; the owner applies and marks them
            self.db["inbox"].create({"id": int, "ts": float, "action": str, "args": str,
                                     "applied_ts": float, "result": str}, pk="id")
        for name, ddl in ROLLUPS.items():
            if not self.db[name].exists():
                self.db.conn.execute(ddl)

    # --- writes --------------------------------------------------------------------------
    def insert_many(self, table: str, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            with self.db.conn:
                self.db[table].insert_all(rows)

    def insert_rows(self, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
        """Plain values (numbers, text) in bulk, in one transaction, without sqlite-utils' per-value
        conversion (a demo's three pre-filled days: ~0.1 s instead of ~0.7 s)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}")
        sql = f"insert into [{table}] ({', '.join(f'[{c}]' for c in columns)}) values ({', '.join('?' * len(columns))})"
        with self._lock:
            with self._transaction():
                self.db.conn.executemany(sql, rows)

    @contextmanager
    def _transaction(self):
        """One transaction on the writer, under ``self._lock``. The connection is in autocommit mode
        (``isolation_level=None``), where ``with conn:`` begins nothing and every INSERT commits on
        its own: a 5 s write of 5 energy rows and 50 samples was 56 commits (~110 WAL pages, ~90 kB
        of WAL a second at a 1 s cycle, each commit with its locks), and not all-or-nothing."""
        conn = self.db.conn
        if conn.in_transaction:      # inside another one (sqlite-utils' own): that one commits
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if conn.in_transaction:
            conn.execute("COMMIT")

    def write_cycle(self, batches: dict[str, list[dict]], kv: dict[str, Any] | None = None) -> None:
        """All of one cycle's rows in one transaction: either all land or none.

        Inbox rows marked applied since the last write are marked in the same transaction."""
        with self._lock:
            marks = dict(self._marks)
            with self._transaction():
                for table, rows in batches.items():
                    if rows:
                        self._insert(table, rows)
                if kv:
                    self.db.conn.executemany(_KV_UPSERT, [(k, json.dumps(v), 0.0) for k, v in kv.items()])
                for rid, (ts, result) in marks.items():
                    self.db.conn.execute("update inbox set applied_ts = ?, result = ? where id = ?",
                                         [ts, result, rid])
            for rid in marks:
                self._marks.pop(rid, None)

    def _insert(self, table: str, rows: list[dict]) -> None:
        """Rows of one of our tables in plain SQL: sqlite-utils looks up the table's views and columns
        and converts every value on each call, most of a cycle's write (rows hold only numbers, text
        and None). Anything else (another table, a column we do not have) goes through sqlite-utils
        and fails there as before."""
        cols = _COLUMNS.get(table)
        if cols is None or not set().union(*rows) <= cols[1]:
            self.db[table].insert_all(rows)
            return
        names = cols[0]
        self.db.conn.executemany(cols[2], [tuple(r.get(c) for c in names) for r in rows])

    def flush_marks(self) -> None:
        with self._lock:
            marks = dict(self._marks)
            if not marks:
                return
            with self._transaction():
                for rid, (ts, result) in marks.items():
                    self.db.conn.execute("update inbox set applied_ts = ?, result = ? where id = ?",
                                         [ts, result, rid])
            for rid in marks:
                self._marks.pop(rid, None)

    def put(self, key: str, value: Any, ts: float = 0.0) -> None:
        with self._lock:
            with self.db.conn:
                self.db["kv"].upsert({"key": key, "value": json.dumps(value), "ts": ts}, pk="key")

    def get(self, key: str, default: Any = None) -> Any:
        rows = self.query("select value from kv where key = ?", [key])
        return json.loads(rows[0]["value"]) if rows else default

    # --- observer inbox ------------------------------------------------------------------
    def send_request(self, action: str, args: dict, ts: float) -> int:
        with self._lock:
            with self.db.conn:
                return self.db["inbox"].insert({"ts": ts, "action": action, "args": json.dumps(args),
                                                "applied_ts": None, "result": None}).last_pk

    def pending_requests(self) -> list[dict]:
        """Observer requests not applied yet. Reads only (never waits behind a write)."""
        try:
            rows = self.query("select * from inbox where applied_ts is null order by id")
        except sqlite3.Error:
            return []   # a locked or failing disk must not stop the cycle; the rows wait for us
        marked = set(self._marks)
        out = []
        for r in rows:
            if r["id"] in marked:
                continue
            try:
                r["args"] = json.loads(r["args"] or "{}")
                if not isinstance(r["args"], dict):
                    raise ValueError("args is not a mapping")
            except ValueError as e:
                # a malformed request from an observer: refuse it, do not crash the owner
                self._marks[r["id"]] = (r["ts"] or 0.0, f"refused: unreadable arguments ({e})")
                continue
            out.append(r)
        return out

    def mark_applied(self, rid: int, ts: float, result: str) -> None:
        """Remembered now, written with the next cycle's rows (never blocks the event loop)."""
        self._marks[rid] = (ts, result)

    def request_result(self, rid: int) -> str | None:
        if rid in self._marks:
            return self._marks[rid][1]
        rows = self.query("select result from inbox where id = ?", [rid])
        return rows[0]["result"] if rows else None

    # --- reads ---------------------------------------------------------------------------
    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        """Reads on the reader connection: never blocked by the writer (WAL)."""
        with self._rlock:
            cur = self._rconn.execute(sql, list(params))
            return [dict(r) for r in cur.fetchall()]

    def count(self, table: str) -> int:
        if table not in TABLES and table not in ("kv", "inbox"):
            raise ValueError(f"unknown table {table!r}")
        return self.query(f"select count(*) as n from [{table}]")[0]["n"]

    def integrity_check(self) -> str:
        """'ok', or what SQLite found wrong."""
        rows = self.query("PRAGMA integrity_check")
        return "; ".join(str(next(iter(r.values()))) for r in rows)

    def maintain(self, now: float, history: Any = None) -> dict:
        """Roll up and prune (store/retention.py). Call every few minutes, not every cycle."""
        from .retention import maintain
        return maintain(self, now, history if history is not None else self.history)

    def why(self, miner: str, ts: float) -> dict | None:
        """The decision in force for ``miner`` at ``ts``: answers "why was it off at 14:05?"."""
        rows = self.query("select * from decisions where name = ? and ts <= ? order by ts desc limit 1",
                          [miner, ts])
        return rows[0] if rows else None

    def close(self) -> None:
        try:
            self.flush_marks()
        except sqlite3.Error:
            pass
        with self._rlock:
            try:
                self._rconn.close()
            except sqlite3.Error:
                pass
        with self._lock:
            try:
                self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            self.db.conn.close()
