"""``edgemining-tui history ...``: export, size and maintain the history database.

    edgemining-tui history export --from 2025-06-01 --to 2025-06-08 --format csv [--table energy]
    edgemining-tui history export --from -7d --format json --table miner_hour --miner garage-s19 -o out.json
    edgemining-tui history stats
    edgemining-tui history maintain          # roll up and prune now (the owner does it every 10 min)

Times: ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM[:SS]`` or ISO 8601 with an offset, ``today``, ``yesterday``,
``now``, relative ``-7d`` / ``-12h`` / ``-30m``, or epoch seconds. Times without an offset are in the
site's time zone (``site.timezone``), else UTC. ``--to`` defaults to now, ``--from`` to 24 h before.
Bad arguments exit 2 with one clear line. The database is opened read-only for export and stats;
every text field is passed through the secrets redactor.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sqlite3
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

EXIT_OK, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2
TABLES = ("energy", "miner_samples", "decisions", "commands", "events",
          "energy_minute", "energy_hour", "miner_minute", "miner_hour")
_PER_MINER = ("miner_samples", "decisions", "commands", "events", "miner_minute", "miner_hour")
_REL = re.compile(r"^-\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_REL_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_FORMATS_HINT = "expected YYYY-MM-DD, 'YYYY-MM-DD HH:MM', ISO 8601, today, yesterday, now, -7d or epoch seconds"


class BadInput(Exception):
    pass


def parse_time(text: str, tz: ZoneInfo, now: float | None = None, what: str = "time") -> float:
    """A user's time argument as epoch seconds; BadInput with a clear message otherwise."""
    now = time.time() if now is None else now
    t = (text or "").strip()
    if not t:
        raise BadInput(f"{what}: empty; {_FORMATS_HINT}")
    low = t.lower()
    today = datetime.fromtimestamp(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if low == "now":
        return now
    if low == "today":
        return today.timestamp()
    if low == "yesterday":
        return (today - timedelta(days=1)).timestamp()
    m = _REL.match(low)
    if m:
        return now - float(m.group(1)) * _REL_UNITS[m.group(2)]
    if re.fullmatch(r"\d{9,11}(\.\d+)?", t):
        return float(t)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"{what}: cannot read {text!r} as a time ({_FORMATS_HINT})") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    if not 2000 <= dt.year <= 2200:
        raise BadInput(f"{what}: {text!r} is outside the years 2000..2200")
    return dt.timestamp()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="edgemining-tui history", description="Export, size and maintain the history database.")
    sub = p.add_subparsers(dest="cmd", metavar="{export,stats,maintain}", parser_class=_Parser)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", metavar="PATH", help="config file (for data_dir and timezone)")
        sp.add_argument("--data-dir", metavar="DIR", help="where history.db lives")
        sp.add_argument("--db", metavar="FILE", help="the database file itself (overrides --data-dir)")

    e = sub.add_parser("export", help="rows between two times, as CSV or JSON")
    common(e)
    e.add_argument("--from", dest="start", metavar="TIME", help="start (default: 24 h before --to)")
    e.add_argument("--to", dest="end", metavar="TIME", help="end, exclusive (default: now)")
    e.add_argument("--format", default="csv", help="csv or json (default csv)")
    e.add_argument("--table", default="energy", help=f"one of {', '.join(TABLES)} (default energy)")
    e.add_argument("--miner", metavar="NAME", help="only this miner (per-miner tables)")
    e.add_argument("--tz", metavar="ZONE", help="time zone for times without offset and for the output")
    e.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")
    s = sub.add_parser("stats", help="rows per table, time span and file size")
    common(s)
    m = sub.add_parser("maintain", help="roll up and prune now, by the config's history: section")
    common(m)
    return p


def _site(args: argparse.Namespace) -> tuple[Path, str, Any]:
    """(database path, time zone name, history config) from the arguments and the config file."""
    cfg = None
    if args.config or not (args.db or args.data_dir):
        from ..config import ConfigError, load_config
        from ..config.schema import default_config_path
        path = Path(args.config) if args.config else default_config_path()
        if args.config or path.exists():
            try:
                cfg = load_config(path)
            except ConfigError as e:
                raise BadInput(str(e)) from None
    if args.db:
        db = Path(args.db)
    elif args.data_dir:
        db = Path(args.data_dir) / "history.db"
    elif cfg is not None:
        db = cfg.data_dir() / "history.db"
    else:
        from ..config.schema import default_data_dir
        db = default_data_dir() / "history.db"
    tz = cfg.site.timezone if cfg is not None else "UTC"
    return db, tz, (cfg.history if cfg is not None else None)


def _open_ro(db: Path) -> sqlite3.Connection:
    if not db.exists():
        raise BadInput(f"no history at {db} (pass --data-dir or --config; the owner creates it on its first cycle)")
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
        conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError as e:
        raise BadInput(f"{db}: not a readable history database ({e})") from None
    conn.row_factory = sqlite3.Row
    return conn


def _rows(conn: sqlite3.Connection, table: str, t0: float, t1: float, miner: str | None) -> Iterator[dict]:
    if not conn.execute("select 1 from sqlite_master where type='table' and name=?", [table]).fetchone():
        return iter(())
    sql = f"select * from [{table}] where ts >= ? and ts < ?"
    params: list[Any] = [t0, t1]
    if miner is not None:
        sql += " and name = ?" if table != "events" else " and miner = ?"
        params.append(miner)
    sql += " order by ts"
    return (dict(r) for r in conn.execute(sql, params))


def _clean(row: dict, tz: ZoneInfo) -> dict:
    from ..secrets import redact
    out = {"time": datetime.fromtimestamp(row["ts"], tz).isoformat(timespec="seconds")}
    for k, v in row.items():
        out[k] = redact(v) if isinstance(v, str) else v
    return out


def export(args: argparse.Namespace) -> int:
    fmt = (args.format or "").lower()
    if fmt not in ("csv", "json"):
        raise BadInput(f"--format: expected csv or json, got {args.format!r}")
    if args.table not in TABLES:
        raise BadInput(f"--table: unknown table {args.table!r} (expected one of: {', '.join(TABLES)})")
    if args.miner is not None and args.table not in _PER_MINER:
        raise BadInput(f"--miner: table {args.table} is not per miner (use one of: {', '.join(_PER_MINER)})")
    db, tzname, _ = _site(args)
    try:
        tz = ZoneInfo(args.tz or tzname)
    except Exception:
        raise BadInput(f"--tz: unknown time zone {args.tz!r} (expected e.g. Europe/Berlin)") from None
    now = time.time()
    t1 = parse_time(args.end, tz, now, "--to") if args.end else now
    t0 = parse_time(args.start, tz, now, "--from") if args.start else t1 - 86400.0
    if t0 >= t1:
        raise BadInput(f"--from ({datetime.fromtimestamp(t0, tz):%Y-%m-%d %H:%M}) must be before "
                       f"--to ({datetime.fromtimestamp(t1, tz):%Y-%m-%d %H:%M})")
    conn = _open_ro(db)
    try:
        out = open(args.output, "w", newline="", encoding="utf-8") if args.output else sys.stdout
    except OSError as e:
        raise BadInput(f"--output: cannot write {args.output}: {e.strerror}") from None
    n = 0
    try:
        rows = (_clean(r, tz) for r in _rows(conn, args.table, t0, t1, args.miner))
        if fmt == "json":
            out.write("[")
            for r in rows:
                out.write(("," if n else "") + "\n" + json.dumps(r))
                n += 1
            out.write("\n]\n" if n else "]\n")
        else:
            cols = [c[1] for c in conn.execute(f"PRAGMA table_info([{args.table}])")]
            w = csv.DictWriter(out, ["time"] + cols, extrasaction="ignore")
            w.writeheader()
            for r in rows:
                w.writerow(r)
                n += 1
    except sqlite3.Error as e:
        print(f"edgemining-tui history: reading {db} failed: {e}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        if out is not sys.stdout:
            out.close()
        conn.close()
    if args.output:
        print(f"{n} rows from {args.table} written to {args.output}", file=sys.stderr)
    elif n == 0:     # on stderr: standard output stays valid (an empty CSV or [])
        print(f"0 rows in {args.table} from {datetime.fromtimestamp(t0, tz):%Y-%m-%d %H:%M} to "
              f"{datetime.fromtimestamp(t1, tz):%Y-%m-%d %H:%M} in {db} (widen --from/--to, or check "
              f"--data-dir/--config)", file=sys.stderr)
    return EXIT_OK


def stats(args: argparse.Namespace) -> int:
    db, tzname, _ = _site(args)
    conn = _open_ro(db)
    tz = ZoneInfo(tzname)
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    print(f"{db}: {size / 1e6:.1f} MB (with WAL)")
    for t in TABLES:
        try:
            r = conn.execute(f"select count(*), min(ts), max(ts) from [{t}]").fetchone()
        except sqlite3.Error:
            continue
        span = "" if not r[0] else (f"  {datetime.fromtimestamp(r[1], tz):%Y-%m-%d %H:%M} .. "
                                    f"{datetime.fromtimestamp(r[2], tz):%Y-%m-%d %H:%M}")
        print(f"  {t:<14} {r[0]:>10} rows{span}")
    conn.close()
    return EXIT_OK


def maintain_now(args: argparse.Namespace) -> int:
    from .db import Store
    db, _, history = _site(args)
    if not db.exists():
        raise BadInput(f"no history at {db}")
    store = Store(db, history=history)
    try:
        res = store.maintain(time.time())
    except sqlite3.Error as e:
        print(f"edgemining-tui history: maintenance failed: {e}", file=sys.stderr)
        return EXIT_FAIL
    finally:
        store.close()
    deleted = sum(res["deleted"].values())
    print(f"rolled up {sum(res['rollup'].values())} buckets, deleted {deleted} rows in {res['seconds']} s")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # "--from -7d": argparse would take -7d for an option; glue relative times to their flag
    fixed: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--from", "--to") and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and _REL.match(argv[i + 1].lower()):
            fixed.append(f"{a}={argv[i + 1]}")
            i += 2
            continue
        fixed.append(a)
        i += 1
    argv = fixed
    p = build_parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.cmd is None:
        p.print_usage(sys.stderr)
        print("edgemining-tui history: error: say what to do: export, stats or maintain", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return {"export": export, "stats": stats, "maintain": maintain_now}[args.cmd](args)
    except BadInput as e:
        print(f"edgemining-tui history: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
