"""`edgemining-tui tune`'s cost: 90 days of minute history × 24 settings on 2 processes (goal ≤ 60 s).

    python benchmarks/tune.py                 # 90 days, 24 settings, 2 processes
    python benchmarks/tune.py --days 30 --jobs 1
    python benchmarks/tune.py --compare       # also without sharing the forecast and baselines

The history is 90 days of the generated year (the simulated site's own weather, from 1 April: a
mix of spring sun and cloud) at 1-minute steps, the config examples/backtest.yaml (three miners,
the forecast reserve on the built-in forecast). It prints the wall time of the grid, the
replays per second, and the best settings as `tune` would.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.config import load_backtest_config  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402
from edgemining_tui.backtest.tune import describe, grid, run_grid  # noqa: E402

GOAL_S = 60.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--config", default=str(ROOT / "examples" / "backtest.yaml"))
    ap.add_argument("--compare", action="store_true",
                    help="first run the grid without the shared preparation (each replay makes its own)")
    args = ap.parse_args()
    cfg = load_backtest_config(args.config)
    trace = generate("2025-04-01T00:00:00", days=args.days, step_s=60.0, weather=None, prices=False)
    settings = grid(True)
    import os
    import resource
    for share in ((False, True) if args.compare else (True,)):
        t0 = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + time.process_time()
        ranked = run_grid(cfg, trace, settings, args.jobs, share=share)
        wall = time.perf_counter() - t0
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime + time.process_time() - c0
        print(f"{args.days} days ({len(trace):,} minutes) x {len(settings)} settings on {args.jobs} processes"
              f"{'' if share else ' (nothing shared)'}: "
              f"{wall:.1f} s wall ({len(settings) / wall:.2f} replays/s; goal <= {GOAL_S:g} s); "
              f"{cpu:.1f} s CPU in all, so {cpu / args.jobs:.1f} s on {args.jobs} idle cores; "
              f"load average {os.getloadavg()[0]:.1f}")
    for k, r in enumerate(ranked[:3], 1):
        print(f"  {k}. net {r['net_kwh']:.1f} kWh, captured {r['captured_pct']:.1f} %, fed {r['fed_pct']:.1f} %, "
              f"starts/day {r['starts_max']}: {describe(r['setting'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
