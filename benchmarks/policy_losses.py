"""Where the setup config's missing surplus goes, and where its fed comes from, week by week.

    python benchmarks/policy_losses.py                      # sample, winter and the year's worst weeks
    python benchmarks/policy_losses.py --weeks 1 14 40      # these weeks of the generated year
    python benchmarks/policy_losses.py --config examples/backtest.yaml

For each trace it replays the config (per-step CSV in memory) and, beside it, the site with the
miners asleep (the same battery, standby draw only), then prints:

- **lost**: the surplus still exported with the miners (captured = 1 − lost / no-miner export), split
  by local hour, by the battery's SoC (full ≥ 99 % or not), by whether the export at that step was
  below the smallest miner's minimum, and by whether a miner was running;
- **fed vs asleep**: grid import the decisions added over the miners-asleep site (by local hour),
  and the battery's end deficit against it — the two parts of ``vs_asleep.fed``.
"""
from __future__ import annotations

import argparse
import io
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.config import load_backtest_config  # noqa: E402
from edgemining_tui.backtest.runner import run_backtest  # noqa: E402
from edgemining_tui.backtest.trace import parse_trace  # noqa: E402
from edgemining_tui.backtest.tracegen import generate  # noqa: E402
from edgemining_tui.sim.battery import Battery  # noqa: E402

WEEK = 7 * 1440


def analyse(cfg, trace, history=None) -> dict:
    buf = io.StringIO()
    from edgemining_tui.backtest.runner import make_decider
    from edgemining_tui.clock import VirtualClock
    info = make_decider(cfg, VirtualClock(trace.ts0), trace)
    terms: dict = {}
    decide = info.decider.decide

    def spy(inp):
        d = decide(inp)
        terms[round(inp.now)] = ";".join(f"{n}:{m.term}" for n, m in sorted(d.miners.items()))
        return d
    info.decider.decide = spy
    r = run_backtest(cfg, trace, steps_out=buf, history=history, decider=info).to_dict()
    tz = ZoneInfo(cfg.app.site.timezone)
    mins = [m.simulated.min_w if getattr(m, "simulated", None) is not None else 0.0
            for m in cfg.app.miners if m.enabled]
    small = min(w for w in mins if w > 0) if any(w > 0 for w in mins) else 0.0
    idle = r["vs_asleep"]["standby_kwh"] * 1000.0 / (trace.duration_s / 3600.0)
    asleep = Battery(cfg.battery)
    h = trace.step_s / 3600.0
    lost = defaultdict(float)
    fed_h = defaultdict(float)
    fed_t = defaultdict(float)
    buf.seek(0)
    head = buf.readline().strip().split(",")
    ix = {k: i for i, k in enumerate(head)}
    for line in buf:
        c = line.rstrip("\n").split(",")
        pv, load, mw, grid = float(c[ix["pv_w"]]), float(c[ix["load_w"]]), float(c[ix["miners_w"]]), \
            float(c[ix["grid_import_w"]])
        soc = float(c[ix["battery_soc_pct"]]) if c[ix["battery_soc_pct"]] else None
        hour = datetime.fromisoformat(c[0]).astimezone(tz).hour
        ch_s = asleep.settle(pv - load - idle, trace.step_s)
        grid_s = load + idle + ch_s - pv
        if grid < 0:
            e = -grid * h
            lost["all"] += e
            lost[f"hour {hour:02d}"] += e
            lost["soc full (>= 99 %)" if soc is not None and soc >= 99.0 else "soc < 99 %"] += e
            lost[f"export < {small:.0f} W (smallest minimum)" if -grid < small else
                 f"export >= {small:.0f} W"] += e
            lost["a miner running" if mw > idle + 1.0 else "no miner running"] += e
            if -grid >= small:
                ts = round(datetime.fromisoformat(c[0]).timestamp())
                lost["terms " + terms.get(ts, "(not asked)")] += e
        ch = float(c[ix["battery_charge_w"]])
        direct = min(max(mw - idle, 0.0), max(grid, 0.0) + max(-ch, 0.0))
        if direct > 0:
            ts = round(datetime.fromisoformat(c[0]).timestamp())
            fed_t[terms.get(ts, "(not asked)")] += direct * h
        d = max(grid, 0.0) - max(grid_s, 0.0)
        fed_h[hour] += d * h
    return {"r": r, "lost": lost, "fed_h": fed_h, "asleep_end_wh": asleep.soc_wh, "fed_t": fed_t}


def report(name: str, a: dict) -> None:
    r = a["r"]
    exp0 = r["without_miners_kwh"]["export"]
    va = r["vs_asleep"]
    lost = a["lost"]
    print(f"\n== {name}: captured {r['captured_pct']:.1f} % (no-miner export {exp0:.1f} kWh, lost "
          f"{lost['all'] / 1000:.2f} kWh), fed vs asleep {va['fed_pct']:.1f} %, starts "
          f"{r['starts_per_miner_per_day']['max']}")
    for k in sorted(k for k in lost if k != "all" and not k.startswith("hour")):
        print(f"   lost {k:<34} {lost[k] / 1000:6.2f} kWh  ({100 * lost[k] / max(lost['all'], 1e-9):4.0f} %)")
    hours = [(k, v) for k, v in lost.items() if k.startswith("hour") and v > 0.02 * lost["all"]]
    print("   lost by hour: " + ", ".join(f"{k[5:]}h {v / 1000:.2f}" for k, v in sorted(hours)))
    fed = a["fed_h"]
    pos = {k: v for k, v in fed.items() if abs(v) > 50}
    print(f"   extra import vs asleep {sum(fed.values()) / 1000:.2f} kWh, by hour: "
          + ", ".join(f"{k:02d}h {v / 1000:+.2f}" for k, v in sorted(pos.items())))
    ft = a["fed_t"]
    print(f"   mining fed directly (battery or grid while a miner ran) {sum(ft.values()) / 1000:.2f} kWh:")
    for k, v in sorted(ft.items(), key=lambda kv: -kv[1])[:6]:
        print(f"      {v / 1000:5.2f} kWh  {k}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "examples" / "backtest-setup.yaml"))
    ap.add_argument("--weeks", type=int, nargs="*", default=[1, 2, 14, 44, 48, 50])
    ap.add_argument("--no-fixed", action="store_true", help="only the year's weeks")
    args = ap.parse_args()
    cfg = load_backtest_config(args.config)
    traces = {}
    if not args.no_fixed:
        traces["sample week"] = (parse_trace(str(ROOT / "examples" / "week.csv")), None)
        traces["winter week"] = (parse_trace(str(ROOT / "examples" / "winter-week.csv")), None)
    if args.weeks:
        year = generate("2025-01-01T00:00:00", days=7 * max(args.weeks), step_s=60.0, weather=None, prices=False)
        for w in args.weeks:
            hist = year.slice(max(0, (w - 3) * WEEK), (w - 1) * WEEK) if w > 1 else None
            traces[f"year week {w}"] = (year.slice((w - 1) * WEEK, w * WEEK), hist)
    for name, (tr, hist) in traces.items():
        report(name, analyse(cfg, tr, hist))
    return 0


if __name__ == "__main__":
    sys.exit(main())
