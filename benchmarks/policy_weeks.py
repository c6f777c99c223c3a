"""Issue 6's goal on every week of a generated year, not only the sample week.

The year is the one benchmarks/backtest_year.py replays (the simulated site's own weather, every
season). Each of its 52 weeks is replayed on its own (battery at the config's initial SoC) under
the allocator (examples/backtest.yaml) and the Edge Mining-style rules (examples/backtest-rules.yaml),
and scored both ways (docs/backtest.md):

- as issue 6 defines it: against the site without miners (the miners' standby draw counts as
  mined, and by night as fed; its share of what the fleet drew is printed per week);
- against the same site with the miners asleep all the time (``vs_asleep``), which takes out the
  standby draw no policy can avoid.

A week meets the goal when captured >= 95 %, fed <= 3 % and starts <= 4 per miner per day. Weeks
whose no-miner export is under 2 kWh (deep winter) are listed but not judged: a percentage of
almost nothing says nothing.

    python benchmarks/policy_weeks.py            # ~1-2 min
    python benchmarks/policy_weeks.py --weeks 8  # the first 8 weeks only
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.config import load_backtest_config  # noqa: E402
from edgemining_tui.backtest.runner import run_backtest  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402

MIN_EXPORT_KWH = 2.0
WEEK = 7 * 1440


def ok(cap, fed, starts) -> bool:
    return cap is not None and fed is not None and cap >= 95.0 and fed <= 3.0 and starts <= 4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, default=52)
    args = ap.parse_args()
    configs = {"allocator": load_backtest_config(ROOT / "examples" / "backtest.yaml"),
               "rules": load_backtest_config(ROOT / "examples" / "backtest-rules.yaml")}
    t0 = time.perf_counter()
    year = generate("2025-01-01T00:00:00", days=7 * args.weeks, step_s=60.0, weather=None, prices=False)
    print(f"generated {args.weeks} weeks in {time.perf_counter() - t0:.1f} s")
    print(f"{'week':>4} {'export0':>8}  " + "  ".join(
        f"{name + ': cap/fed  asleep cap/fed  st standby%':<46}" for name in configs))
    judged = {n: [] for n in configs}
    for w in range(args.weeks):
        tr = year.slice(w * WEEK, (w + 1) * WEEK)
        cells = []
        exp0 = None
        for name, cfg in configs.items():
            d = run_backtest(cfg, tr).to_dict()
            a = d["vs_asleep"]
            exp0 = d["without_miners_kwh"]["export"]
            st = d["starts_per_miner_per_day"]["max"]
            standby = 100.0 * a["standby_kwh"] / d["energy_kwh"]["mined"] if d["energy_kwh"]["mined"] else None
            row = (d["captured_pct"], d["fed_pct"], a["captured_pct"], a["fed_pct"], st, standby)
            if exp0 >= MIN_EXPORT_KWH:
                judged[name].append(row)

            def p(v):
                return "   —" if v is None else f"{v:5.1f}"
            cells.append(f"{p(row[0])}/{p(row[1])}   {p(row[2])}/{p(row[3])}   {st:>2} {p(standby)}"
                         + (" ok" if ok(row[0], row[1], st) else "   ")
                         + (" ok" if ok(row[2], row[3], st) else "   "))
        flag = "" if exp0 >= MIN_EXPORT_KWH else "  (not judged: little surplus)"
        print(f"{w + 1:>4} {exp0:7.1f}k  " + "  ".join(f"{c:<46}" for c in cells) + flag, flush=True)
    print()
    for name, rows in judged.items():
        if not rows:
            continue
        n = len(rows)
        met = sum(ok(r[0], r[1], r[4]) for r in rows)
        met_a = sum(ok(r[2], r[3], r[4]) for r in rows)

        def med(i):
            return statistics.median(r[i] for r in rows if r[i] is not None)

        def worst(i, hi):
            vals = [r[i] for r in rows if r[i] is not None]
            return max(vals) if hi else min(vals)
        print(f"{name}: {n} weeks judged; goal met in {met} (issue's fed) / {met_a} (vs asleep)")
        print(f"  captured median {med(0):.1f} %, worst {worst(0, False):.1f} %;"
              f" fed median {med(1):.1f} %, worst {worst(1, True):.1f} %")
        print(f"  vs asleep: captured median {med(2):.1f} %, worst {worst(2, False):.1f} %;"
              f" fed median {med(3):.1f} %, worst {worst(3, True):.1f} %;"
              f" starts/miner/day worst {max(r[4] for r in rows)}")
        miss = [r for r in rows if not ok(r[0], r[1], r[4])]
        if miss:
            print(f"  the {len(miss)} weeks that miss the issue's goal: fed {min(r[1] for r in miss):.1f}"
                  f"..{max(r[1] for r in miss):.1f} %, of which standby draw {min(r[5] for r in miss):.1f}"
                  f"..{max(r[5] for r in miss):.1f} % of mined; captured >= 95 % in"
                  f" {sum(r[0] >= 95 for r in miss)}, starts <= 4 in {sum(r[4] <= 4 for r in miss)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
