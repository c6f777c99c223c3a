"""History in SQLite (WAL) through sqlite-utils: energy, miner samples, decisions, commands, events.

One connection, used from a worker thread one call at a time, so the event loop never waits on disk.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils

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


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, timeout=5.0,
                               isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        with self._lock:
            conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a power cut may lose the last commits, never corrupts the file
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            self._migrate()

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

    # --- writes --------------------------------------------------------------------------
    def insert_many(self, table: str, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            with self.db.conn:
                self.db[table].insert_all(rows)

    def write_cycle(self, batches: dict[str, list[dict]], kv: dict[str, Any] | None = None) -> None:
        """All of one cycle's rows in one transaction: either all land or none."""
        with self._lock:
            with self.db.conn:
                for table, rows in batches.items():
                    if rows:
                        self.db[table].insert_all(rows)
                for k, v in (kv or {}).items():
                    self.db["kv"].upsert({"key": k, "value": json.dumps(v), "ts": 0.0}, pk="key")

    def put(self, key: str, value: Any, ts: float = 0.0) -> None:
        with self._lock:
            with self.db.conn:
                self.db["kv"].upsert({"key": key, "value": json.dumps(value), "ts": ts}, pk="key")

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            rows = list(self.db.query("select value from kv where key = ?", [key]))
        return json.loads(rows[0]["value"]) if rows else default

    # --- observer inbox ------------------------------------------------------------------
    def send_request(self, action: str, args: dict, ts: float) -> int:
        with self._lock:
            with self.db.conn:
                return self.db["inbox"].insert({"ts": ts, "action": action, "args": json.dumps(args),
                                                "applied_ts": None, "result": None}).last_pk

    def pending_requests(self) -> list[dict]:
        with self._lock:
            rows = list(self.db.query("select * from inbox where applied_ts is null order by id"))
        for r in rows:
            r["args"] = json.loads(r["args"] or "{}")
        return rows

    def mark_applied(self, rid: int, ts: float, result: str) -> None:
        with self._lock:
            with self.db.conn:
                self.db["inbox"].update(rid, {"applied_ts": ts, "result": result})

    def request_result(self, rid: int) -> str | None:
        with self._lock:
            rows = list(self.db.query("select result from inbox where id = ?", [rid]))
        return rows[0]["result"] if rows else None

    # --- reads ---------------------------------------------------------------------------
    def query(self, sql: str, params: Iterable[Any] = ()) -> list[dict]:
        with self._lock:
            return list(self.db.query(sql, list(params)))

    def count(self, table: str) -> int:
        with self._lock:
            return self.db[table].count

    def why(self, miner: str, ts: float) -> dict | None:
        """The decision in force for ``miner`` at ``ts``: answers "why was it off at 14:05?"."""
        rows = self.query("select * from decisions where name = ? and ts <= ? order by ts desc limit 1",
                          [miner, ts])
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            try:
                self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass
            self.db.conn.close()
