"""The replay's cost in machine instructions (valgrind's Ir count), by part: a figure a shared machine
does not move, unlike times (the same code gives the same count to ~0.01 %).

    .venv/bin/python benchmarks/replay_instructions.py              # 10 generated June days
    .venv/bin/python benchmarks/replay_instructions.py --days 5 --start 2025-12-01T00:00:00
    .venv/bin/python benchmarks/replay_instructions.py --root /tmp/before   # another checkout's code

Each part runs in its own process under ``valgrind --tool=cachegrind --cache-sim=no`` and the
same process without the part is subtracted (imports, generating the trace):

- ``replay``: a whole ``run_backtest`` (examples/backtest.yaml);
- ``loop``: the replay with every decision replayed from a recording (the decider's cost left
  out: what the replay itself costs around it, with the forecast and baselines already made);
- ``forecast``: the built-in PV forecast's series; ``baselines``: the two sites without a decision.

``replay - loop - forecast - baselines`` is the decider's share. Instructions are not time (a
cache miss costs more than an add), but a change that lowers them lowers the time alike; time a
change with ``benchmarks/backtest_year.py`` too. Needs valgrind (Debian: ``apt-get install
valgrind``); ~1-2 min for 10 days.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("replay", "loop", "forecast", "baselines")


def _child(root: str, start: str, days: float, part: str) -> None:
    sys.path.insert(0, root)
    from zoneinfo import ZoneInfo

    from edgemining_tui.backtest import runner as R
    from edgemining_tui.backtest.config import load_backtest_config
    from edgemining_tui.backtest.miners import SimMiner
    from edgemining_tui.backtest.tracegen import generate
    from edgemining_tui.clock import VirtualClock
    cfg = load_backtest_config(str(ROOT / "examples" / "backtest.yaml"))
    tr = generate(start, days=days, step_s=60.0, weather=None, prices=False)
    if part == "none":
        return
    if part == "replay":
        R.run_backtest(cfg, tr)
        return
    prep = R.Prepared(tr)
    if part == "forecast":
        prep.forecast(cfg, ZoneInfo(cfg.app.site.timezone))
        return
    if part == "baselines":
        dt, sub = R.decision_step(cfg, tr)
        idle_w = sum(SimMiner(m, tr.ts0, cfg.section.efficiency_j_th).model.idle_w
                     for m in cfg.app.miners if m.enabled)
        prep.baselines(cfg, sub, dt, idle_w)
        return
    # loop / loop-base: record the decisions (both), then replay them (loop only)
    info = R.make_decider(cfg, VirtualClock(tr.ts0), tr)
    decide, made = info.decider.decide, []

    def recording(inp):
        d = decide(inp)
        made.append(d)
        return d
    info.decider.decide = recording
    R.run_backtest(cfg, tr, decider=info, prepared=prep)
    info = R.make_decider(cfg, VirtualClock(tr.ts0), tr)
    again = iter(made).__next__
    info.decider.decide = lambda inp: again()
    if part == "loop":
        R.run_backtest(cfg, tr, decider=info, prepared=prep)


def _count(root: str, start: str, days: float, part: str) -> int:
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
           sys.executable, __file__, "--child", part, "--root", root, "--start", start, "--days", str(days)]
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    m = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or m is None:
        raise SystemExit(f"valgrind failed for {part}:\n{out.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT), help="the checkout whose code to count")
    ap.add_argument("--start", default="2025-06-01T00:00:00")
    ap.add_argument("--days", type=float, default=10.0)
    ap.add_argument("--child", choices=("none", "loop-base") + PARTS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.root, args.start, args.days, args.child)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind): nothing counted")
        return 0
    base = _count(args.root, args.start, args.days, "none")
    got = {p: _count(args.root, args.start, args.days, p) - base for p in ("replay", "forecast", "baselines")}
    got["loop"] = _count(args.root, args.start, args.days, "loop") - _count(args.root, args.start, args.days,
                                                                          "loop-base")
    got["decider"] = got["replay"] - got["loop"] - got["forecast"] - got["baselines"]
    rows = int(args.days * 1440)
    print(f"{args.root}: {args.days:g} days from {args.start} ({rows:,} rows), instructions (valgrind Ir)")
    for part in ("replay", "decider", "loop", "forecast", "baselines"):
        print(f"  {part:10} {got[part] / 1e6:10.1f} M  {got[part] / rows:8.0f} a row  "
              f"{100.0 * got[part] / got['replay']:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
