"""``edgemining-tui tune``: replay your own history through a grid of policy settings and pick one.

    edgemining-tui tune                                  # the last 30 days from the database
    edgemining-tui tune --days 90 --config config.yaml
    edgemining-tui tune --trace examples/week.csv --config examples/backtest.yaml
    edgemining-tui tune --yes                            # write the best without asking

The history is the database's minute rows (``energy_minute``: PV and house load without the miners;
short gaps are held, and counted). Every setting in the grid is replayed through the same decider
the console runs (docs/backtest.md), in parallel processes (``--jobs``, default: the CPUs), and
ranked by **net value**: the surplus the miners captured, less the grid import they added and what
they left the battery short at the end (kWh); ties go to fewer starts. The best few are printed;
on confirmation (or ``--yes``) the choice is written into the config's ``policy:`` section, the old
file kept as ``CONFIG.bak-<time>``, and the result checked by loading it as the console would.

The grid (24 settings): enable delay 1 or 5 min × disable delay 3, 7 or 15 min × min off-time 5 or
15 min × forecast trust 90 or 100 % (with the forecast reserve; else priority SoC 50 or 80 %).

Exit codes: 0 done (written or not), 2 bad input (config, trace, no history).
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from array import array
from dataclasses import replace
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2

ENABLE_S = (60.0, 300.0)
DISABLE_S = (180.0, 420.0, 900.0)
MIN_OFF_S = (300.0, 900.0)
TRUST_PCT = (90.0, 100.0)
PRIORITY_SOC = (50.0, 80.0)
MAX_GAP_S = 15 * 60          # longer holes in the history are refused, not invented


def grid(reserve: bool) -> list[dict]:
    last = TRUST_PCT if reserve else PRIORITY_SOC
    key = "forecast_trust" if reserve else "priority_soc"
    return [{"enable_delay": e, "disable_delay": d, "min_off": o, key: x}
            for e, d, o, x in itertools.product(ENABLE_S, DISABLE_S, MIN_OFF_S, last)]


def apply(cfg, setting: dict):
    """The backtest config with one setting applied to its policy."""
    pol = cfg.app.policy
    bat = pol.battery
    if "forecast_trust" in setting:
        bat = replace(bat, forecast_trust=setting["forecast_trust"])
    if "priority_soc" in setting:
        bat = replace(bat, priority_soc=setting["priority_soc"],
                      buffer_soc=max(setting["priority_soc"], bat.buffer_soc or 0.0))
    pol = replace(pol, enable=replace(pol.enable, delay=setting["enable_delay"]),
                  disable=replace(pol.disable, delay=setting["disable_delay"]),
                  min_off=setting["min_off"], battery=bat)
    return replace(cfg, app=replace(cfg.app, policy=pol))


# -- workers (fork: the trace and config are inherited, not pickled per task) ----------------------
_JOB: dict = {}


def _run(setting: dict) -> dict:
    from .runner import run_backtest
    cfg = apply(_JOB["cfg"], setting)
    d = run_backtest(cfg, _JOB["trace"], prepared=_JOB.get("prepared")).to_dict()
    bat = d["battery"] or {}        # None: a site without a battery (it ended in a traceback)
    net = d["captured_kwh"] - d["extra_import_kwh"] - max(0.0, bat.get("end_deficit_kwh") or 0.0)
    return {"setting": setting, "captured_pct": d["captured_pct"], "fed_pct": d["fed_pct"],
            "fed_asleep_pct": d["vs_asleep"]["fed_pct"], "starts_max": d["starts_per_miner_per_day"]["max"],
            "net_kwh": net, "captured_kwh": d["captured_kwh"], "extra_import_kwh": d["extra_import_kwh"]}


def run_grid(cfg, trace, settings: list[dict], jobs: int, share: bool = True) -> list[dict]:
    """Replay every setting; results ranked best first. What does not depend on the policy (the
    sites without a decision, the PV forecast) is worked out once, before the workers fork
    (``share=False``: each replay works it out itself, for benchmarks/tune.py --compare)."""
    from .runner import Prepared
    prepared = None
    if share:
        prepared = Prepared(trace)
        prepared.warm(cfg)
    _JOB["cfg"], _JOB["trace"], _JOB["prepared"] = cfg, trace, prepared
    try:
        if jobs <= 1:
            out = [_run(s) for s in settings]
        else:
            import multiprocessing as mp
            ctx = mp.get_context("fork")
            with ctx.Pool(processes=jobs) as pool:
                out = pool.map(_run, settings, chunksize=1)
    finally:
        _JOB.clear()
    return sorted(out, key=lambda r: (-round(r["net_kwh"], 2), r["starts_max"], r["setting"]["enable_delay"]))


# -- history from the database --------------------------------------------------------------------
def history_trace(db_path: Path, days: float, now: float | None = None):
    """The last ``days`` of minute rows as a Trace at 60 s: (trace, held minutes). Raises
    TraceError when there is no history or a hole is longer than 15 minutes."""
    import sqlite3
    from .trace import Trace, TraceError
    if not Path(db_path).is_file():
        raise TraceError("no history database here (run the console for a few days first, or give --trace)",
                         str(db_path))
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        end = now if now is not None else con.execute("select max(ts) from energy_minute").fetchone()[0]
        if end is None:
            raise TraceError("no minute history yet (the rollup runs as the console records)", str(db_path))
        rows = con.execute("select ts, pv_w, house_w from energy_minute where ts > ? order by ts",
                           [end - days * 86400.0]).fetchall()
    finally:
        con.close()
    rows = [r for r in rows if r[1] is not None and r[2] is not None]
    if len(rows) < 2:
        raise TraceError("fewer than two minutes of PV and house history", str(db_path))
    ts0 = float(rows[0][0])
    n = int(round((rows[-1][0] - ts0) / 60.0)) + 1
    pv, load = array("d", [math.nan]) * n, array("d", [math.nan]) * n
    for ts, p, h in rows:
        i = int(round((ts - ts0) / 60.0))
        pv[i], load[i] = max(0.0, p), max(0.0, h)
    held = 0
    gap = 0
    for i in range(n):
        if pv[i] != pv[i]:
            gap += 1
            if gap * 60 > MAX_GAP_S:
                from datetime import datetime, timezone
                at = datetime.fromtimestamp(ts0 + i * 60, timezone.utc).isoformat(timespec="minutes")
                raise TraceError(f"the history has a hole of more than 15 min at {at}: give --days to "
                                 "stop before it, or --trace", str(db_path))
            pv[i], load[i] = pv[i - 1], load[i - 1]
            held += 1
        else:
            gap = 0
    return Trace(ts0=ts0, step_s=60.0, pv_w=pv, load_w=load, source=f"{db_path} (last {days:g} days)"), held


# -- writing the choice into the config -----------------------------------------------------------
def _fmt_s(s: float) -> str:
    return f"{s / 60:g}m" if s % 60 == 0 else f"{s:g}s"


def edit_policy(text: str, setting: dict) -> str:
    """The config text with the setting written into its ``policy:`` section (other lines and
    comments kept). Raises ValueError when the file has no policy section it can edit."""
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.rstrip() == "policy:" or ln.startswith("policy:"))
    except StopIteration:
        lines += ["", "policy:"]
        start = len(lines) - 1
    if lines[start].strip() != "policy:":
        raise ValueError("policy: is written on one line; tune can only edit a block policy section")
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "#"))):
        end += 1
    block = lines[start + 1:end]
    note = "  # tuned"

    def set_top(key: str, value: str) -> None:
        for i, ln in enumerate(block):
            if ln.startswith(f"  {key}:"):
                j = i + 1                        # drop a block mapping's deeper lines
                while j < len(block) and (block[j].startswith("    ") or not block[j].strip()):
                    if not block[j].strip():
                        break
                    j += 1
                block[i:j] = [f"  {key}: {value}{note}"]
                return
        block.insert(0, f"  {key}: {value}{note}")

    set_top("enable", "{delay: %s}" % _fmt_s(setting["enable_delay"]))
    set_top("disable", "{delay: %s}" % _fmt_s(setting["disable_delay"]))
    set_top("min_off", _fmt_s(setting["min_off"]))
    for key in ("forecast_trust", "priority_soc"):
        if key not in setting:
            continue
        val = f"{setting[key]:g}%"
        import re
        pat = re.compile(rf"(\b{key}:\s*)([^,}}#\s]+)")
        for i, ln in enumerate(block):
            if pat.search(ln):
                block[i] = pat.sub(lambda m: m.group(1) + val, ln, count=1)
                break
        else:
            for i, ln in enumerate(block):
                if ln.startswith("  battery:"):
                    if "{" in ln and "}" in ln:
                        block[i] = ln.replace("}", f", {key}: {val}}}", 1)
                    else:
                        block.insert(i + 1, f"    {key}: {val}{note}")
                    break
            else:
                block.insert(0, f"  battery: {{{key}: {val}}}{note}")
    out = lines[:start + 1] + block + lines[end:]
    return "\n".join(out) + ("\n" if text.endswith("\n") or not text else "")


def write_config(path: Path, text: str) -> Path:
    """Back up the old file and write the new one atomically; returns the backup's path."""
    import shutil
    import tempfile
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(prefix=".tune-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return backup


# -- the command ----------------------------------------------------------------------------------
def describe(s: dict) -> str:
    last = (f"trust {s['forecast_trust']:g} %" if "forecast_trust" in s else f"priority SoC {s['priority_soc']:g} %")
    return (f"enable {_fmt_s(s['enable_delay'])}, disable {_fmt_s(s['disable_delay'])}, "
            f"min_off {_fmt_s(s['min_off'])}, {last}")


def build_parser() -> argparse.ArgumentParser:
    from .cli import _Parser
    p = _Parser(prog="edgemining-tui tune",
                description="Replay your own history (or a trace) through a grid of policy settings, "
                            "show the best, and write the choice into the config.")
    p.add_argument("--config", metavar="CONFIG.yaml", help="the console's config (default: the usual place)")
    p.add_argument("--data-dir", metavar="DIR", help="where the history lives, as given to the console "
                   "(default: the config's site.data_dir)")
    p.add_argument("--days", type=float, default=30.0, help="days of history from the database (default 30)")
    p.add_argument("--trace", metavar="TRACE.csv", help="replay this trace instead of the database")
    p.add_argument("--top", type=int, default=5, help="how many of the best to show (default 5)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel processes (default: CPUs)")
    p.add_argument("--yes", action="store_true", help="write the best setting without asking")
    p.add_argument("--dry-run", action="store_true", help="show the best, write nothing")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from ..config.errors import ConfigError
    from .config import load_backtest_config
    from .trace import TraceError, parse_trace
    if args.days <= 0 or not math.isfinite(args.days) or args.top < 1 or args.jobs < 1:
        print("edgemining-tui tune: error: --days, --top and --jobs must be positive", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.config:
        path = Path(args.config)
    else:
        from ..config.schema import default_config_path
        path = default_config_path()
    try:
        cfg = load_backtest_config(path)
        cfg = _with_site_battery(cfg)
        if args.trace:
            trace, held = parse_trace(args.trace), 0
        else:
            data_dir = Path(args.data_dir) if args.data_dir else cfg.app.data_dir()
            trace, held = history_trace(data_dir / "history.db", args.days)
    except (ConfigError, TraceError, OSError) as e:
        print(f"edgemining-tui tune: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from .miners import capabilities_of, learned_only
    auto = learned_only(cfg.app.miners)
    if not any(m.enabled and not capabilities_of(m).monitor_only for m in cfg.app.miners):
        # nothing the policy commands: every setting replays the same; a table of ties says nothing
        why = (f"{', '.join(auto)} {'has' if len(auto) == 1 else 'have'} family auto, learned only from "
               "the miner itself; name the family in the config (docs/miners.md; `edgemining-tui scan "
               "SUBNET` prints it) and tune again") if auto else "no enabled miner can be commanded"
        print(f"edgemining-tui tune: {path}: nothing to tune: the policy commands no miner in a replay, so "
              f"all settings give the same result: {why}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for name in auto:
        print(f"tune: {name} is replayed as monitor only (family auto); name its family to tune its control")
    from .runner import make_decider
    from ..clock import VirtualClock
    dec = make_decider(cfg, VirtualClock(trace.ts0), trace).decider
    settings = grid(getattr(dec, "reserve", None) is not None)
    span_s = len(trace) * trace.step_s
    print(f"tune: {trace.source}: {span_s / 60:,.0f} minutes ({span_s / 86400:.1f} days)"
          + (f", {held} held over gaps" if held else "") + f"; {len(settings)} settings on {args.jobs} processes")
    t0 = time.perf_counter()
    ranked = run_grid(cfg, trace, settings, args.jobs)
    if len(ranked) > 1 and _same(ranked[0], ranked[-1]):
        print(f"replayed in {time.perf_counter() - t0:.1f} s: all {len(ranked)} settings give the same result "
              f"(net {ranked[0]['net_kwh']:.1f} kWh): this history does not tell them apart (try more --days); "
              "nothing written")
        return EXIT_OK
    print(f"replayed in {time.perf_counter() - t0:.1f} s; best {min(args.top, len(ranked))} by net value "
          "(captured less extra import and battery end deficit):")
    print(f"{'#':>2}  {'net kWh':>8} {'captured':>9} {'fed':>6} {'fed asleep':>10} {'starts/day':>10}  setting")
    for k, r in enumerate(ranked[:args.top], 1):
        print(f"{k:>2}  {r['net_kwh']:8.1f} {r['captured_pct'] or 0:8.1f}% {r['fed_pct'] or 0:5.1f}% "
              f"{r['fed_asleep_pct'] or 0:9.1f}% {r['starts_max']:>10}  {describe(r['setting'])}")
    best = ranked[0]["setting"]
    if args.dry_run:
        return EXIT_OK
    try:
        new = edit_policy(path.read_text(encoding="utf-8"), best)
    except (OSError, ValueError) as e:
        print(f"edgemining-tui tune: cannot edit {path}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not args.yes:
        try:
            answer = input(f"write #1 ({describe(best)}) into {path}? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing written")
            return EXIT_OK
    try:
        load_backtest_config(path, text=new)            # the edit must load, or nothing is written
    except ConfigError as e:
        print(f"edgemining-tui tune: the edited config does not load, nothing written: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    backup = write_config(path, new)
    print(f"written into {path} (the old file is {backup.name})")
    return EXIT_OK


def _same(a: dict, b: dict) -> bool:
    return all(round(a[k] or 0.0, 2) == round(b[k] or 0.0, 2)
               for k in ("net_kwh", "captured_pct", "fed_pct", "starts_max"))


def _with_site_battery(cfg):
    """A live config has no backtest: battery; take the policy's capacity (5 kW limits, 90 % round
    trip), starting at half charge."""
    from ..sim.battery import BatteryConfig
    cap = cfg.app.policy.battery.capacity
    if cfg.section.battery is None and cfg.app.demo is None and cap:
        return replace(cfg, battery=BatteryConfig(capacity=cap, initial_soc=50.0))
    return cfg
