"""Backtest cost: a year at 1-minute steps (525,600 rows) with three miners, goal ≤ 6 s.

    .venv/bin/python benchmarks/backtest_year.py                 # week, month, year
    .venv/bin/python benchmarks/backtest_year.py --config examples/backtest-rules.yaml
    .venv/bin/python benchmarks/backtest_year.py --csv           # also time parsing the year's CSV
    .venv/bin/python benchmarks/backtest_year.py --profile       # cProfile the month

The trace is generated in memory from the simulated site (sim/site.py: PV with cloud dips, a house
with spikes; each day's cloudiness drawn by the site), then replayed through the decider the
config builds (examples/backtest.yaml: the surplus allocator, three miners: power target, levels,
on/off). It prints rows/s for a week, a month and the year so you can see the cost is linear, and
the decider's own cost per call (it is the same code that runs live).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.config import load_backtest_config  # noqa: E402
from edgemining_tui.backtest.runner import run_backtest  # noqa: E402
from edgemining_tui.backtest.trace import parse_trace, write_trace  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402

GOAL_S = 6.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "examples" / "backtest.yaml"))
    ap.add_argument("--days", type=float, default=365.0)
    ap.add_argument("--csv", action="store_true", help="also write the year as CSV and time parsing it")
    ap.add_argument("--profile", action="store_true", help="profile the month and print the top functions")
    args = ap.parse_args()

    cfg = load_backtest_config(args.config)
    t0 = time.perf_counter()
    year = generate("2025-01-01T00:00:00", days=args.days, step_s=60.0, weather=None, prices=False)
    gen_s = time.perf_counter() - t0
    n = len(year)
    print(f"config {args.config} ({cfg.label}); miners: "
          f"{', '.join(m.name for m in cfg.app.miners if m.enabled)}")
    print(f"generated {n:,} rows (1-min steps) in {gen_s:.1f} s (not counted below)")

    if args.csv:
        fd, tmp = tempfile.mkstemp(suffix=".csv")
        os.close(fd)
        try:
            t0 = time.perf_counter()
            write_trace(tmp, year)
            w = time.perf_counter() - t0
            t0 = time.perf_counter()
            parsed = parse_trace(tmp)
            p = time.perf_counter() - t0
            size = os.path.getsize(tmp) / 1e6
        finally:
            os.unlink(tmp)
        print(f"CSV: wrote {size:.0f} MB in {w:.1f} s; parsed and checked {len(parsed):,} rows in {p:.2f} s "
              f"({len(parsed) / p:,.0f} rows/s)")

    spans = [("week", 7), ("month", 30), ("year", args.days)]
    print(f"{'span':6} {'rows':>9} {'replay s':>9} {'cpu s':>6} {'rows/s':>9} {'decider µs/call':>16} "
          f"{'calls':>9} {'rest µs/row':>12}"
          f"  captured  fed   starts/day max")
    year_s = year_cpu = None
    for name, days in spans:
        rows = min(n, int(days * 1440))
        tr = year.slice(0, rows)
        if args.profile and name == "month":
            import cProfile
            import pstats
            prof = cProfile.Profile()
            prof.enable()
            run_backtest(cfg, tr)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        c0 = time.process_time()
        r = run_backtest(cfg, tr)
        cpu = time.process_time() - c0
        d = r.to_dict()
        dec_us = d["decide_us_per_call"] or 0.0
        rest_us = 1e6 * (r.run_s - r.decide_s) / r.steps
        print(f"{name:6} {rows:>9,} {r.run_s:>9.2f} {cpu:>6.2f} {rows / r.run_s:>9,.0f} {dec_us:>16.1f} "
              f"{d['decide_calls']:>9,} {rest_us:>12.1f}"
              f"  {d['captured_pct'] or 0:7.1f}% {d['fed_pct'] or 0:5.1f}%  {d['starts_per_miner_per_day']['max']}")
        if name == "year":
            year_s, year_cpu = r.run_s, cpu
    if year_s is not None:
        verdict = "OK" if year_s <= GOAL_S else "OVER"
        print(f"year replay: {year_s:.1f} s wall, {year_cpu:.1f} s CPU (goal ≤ {GOAL_S:g} s): {verdict}"
              f" (on a shared machine the CPU time is the fairer figure; load average now "
              f"{os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
