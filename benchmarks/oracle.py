"""`backtest --oracle`'s cost: building the perfect-foresight LP and solving it (HiGHS), apart.

    .venv/bin/python benchmarks/oracle.py                    # the sample week and the winter week
    .venv/bin/python benchmarks/oracle.py --days 30          # also a generated month (1-min steps)
    .venv/bin/python benchmarks/oracle.py --solver ipm       # HiGHS's interior point instead

Needs the [oracle] extra (highspy). For each trace it prints the bound, the time to build the LP
(numpy vectors, one passModel) and the time HiGHS takes, each as CPU seconds (this process and
its threads) and wall seconds, and the load average: on a shared machine the CPU time is the
fairer figure. The issue asks for "weeks in seconds; a year may take minutes".
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest import oracle  # noqa: E402
from edgemining_tui.backtest.config import load_backtest_config  # noqa: E402
from edgemining_tui.backtest.trace import parse_trace  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "examples" / "backtest.yaml"))
    ap.add_argument("--days", type=float, default=0.0, help="also a generated trace this long (from 1 April)")
    ap.add_argument("--solver", default=oracle.SOLVER, help=f"HiGHS solver (default {oracle.SOLVER})")
    args = ap.parse_args()
    try:
        import highspy
        import numpy as np
    except ImportError:
        print("needs the [oracle] extra: pip install 'edgemining-tui[oracle]'", file=sys.stderr)
        return 2
    oracle.SOLVER = args.solver
    cfg = load_backtest_config(args.config)
    traces = [("sample week", parse_trace(ROOT / "examples" / "week.csv")),
              ("winter week", parse_trace(ROOT / "examples" / "winter-week.csv"))]
    if args.days > 0:
        traces.append((f"{args.days:g} days", generate("2025-04-01T00:00:00", days=args.days, step_s=60.0,
                                                       weather=None, prices=False)))
    from importlib.metadata import version
    print(f"config {args.config}; highspy {version('highspy')}, solver {args.solver}")
    print(f"{'trace':12} {'rows':>7} {'build cpu':>9} {'wall':>6} {'solve cpu':>9} {'wall':>7}  bound kWh  load")
    for name, tr in traces:
        c0, w0 = time.process_time(), time.perf_counter()
        lp, _ = oracle.build(cfg, tr, highspy, np)
        c1, w1 = time.process_time(), time.perf_counter()
        b = oracle.solve(cfg, tr)
        c2, w2 = time.process_time(), time.perf_counter()
        solve_cpu = (c2 - c1) - (c1 - c0)       # solve() builds it again: take that away
        solve_wall = b.solve_s - b.build_s
        print(f"{name:12} {len(tr):>7,} {c1 - c0:>9.2f} {w1 - w0:>6.2f} {solve_cpu:>9.2f} {solve_wall:>7.2f}"
              f"  {b.mined_kwh:9.3f}  {os.getloadavg()[0]:.1f}  ({b.status})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
