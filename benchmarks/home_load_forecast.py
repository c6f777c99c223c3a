"""How well the house load forecast (policy/home_load.py) predicts the next 1 h and 2 h.

A generated year of house load at 5-min steps: a morning and an evening peak (sim/site.py's
shape), later mornings and a midday peak on weekends, a season (more load in winter), a routine
that moves one hour in April, two holiday weeks, appliance spikes and slow noise. Every hour the
forecaster predicts the mean load of the next 1 h and 2 h; so do two baselines: persistence (the
last hour's mean) and a flat mean (everything seen so far). The first four weeks only train.

    .venv/bin/python benchmarks/home_load_forecast.py [--days 365] [--seed 3]

Prints the mean absolute error (W) of each, and the forecaster's error as a share of each
baseline's.
"""
from __future__ import annotations

import argparse
import math
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgemining_tui.policy.home_load import HomeLoadForecaster  # noqa: E402

STEP = 300.0
TZ = ZoneInfo("Europe/Berlin")


def house(ts: float, rng: random.Random, state: dict) -> float:
    d = datetime.fromtimestamp(ts, TZ)
    hour = d.hour + d.minute / 60
    doy = d.timetuple().tm_yday
    weekend = d.weekday() >= 5
    shift = 1.0 if doy >= 100 else 0.0            # the routine moves an hour later in April
    holiday = 200 <= doy < 214 or 355 <= doy
    base = 350.0 * (1.0 + 0.35 * math.cos(2 * math.pi * (doy - 15) / 365))
    if holiday:
        p = base * (0.7 + 0.3 * math.exp(-((hour - 19) ** 2) / 6))
    elif weekend:
        p = base * (1.0 + 0.6 * math.exp(-((hour - 9.5 - shift) ** 2) / 3)
                    + 1.2 * math.exp(-((hour - 13) ** 2) / 2) + 1.3 * math.exp(-((hour - 19) ** 2) / 4))
    else:
        p = base * (1.0 + 0.8 * math.exp(-((hour - 7 - shift) ** 2) / 2)
                    + 1.4 * math.exp(-((hour - 19 - shift / 2) ** 2) / 4))
    # slow noise (AR(1), ~1 h memory) and appliance spikes
    state["ar"] = 0.92 * state["ar"] + rng.gauss(0, 40)
    if state["spike"] > 0:
        state["spike"] -= 1
        p += state["spike_w"]
    elif rng.random() < 0.02:
        state["spike"] = rng.randint(1, 4)
        state["spike_w"] = rng.uniform(800, 2500)
    return max(50.0, p + state["ar"] * (1 + base / 500))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    state = {"ar": 0.0, "spike": 0, "spike_w": 0.0}
    t0 = datetime(2025, 1, 6, tzinfo=TZ).timestamp()       # a Monday
    n = int(args.days * 86400 / STEP)
    loads = [house(t0 + i * STEP, rng, state) for i in range(n)]
    per_h = int(3600 / STEP)
    fc = HomeLoadForecaster(TZ)
    err = {k: {1: [], 2: []} for k in ("forecaster", "persistence", "flat mean")}
    total = 0.0
    train = 28 * 86400 / STEP
    cpu = 0.0
    for i in range(n):
        t = t0 + i * STEP
        c0 = time.perf_counter()
        fc.observe(t, loads[i])
        cpu += time.perf_counter() - c0
        total += loads[i]
        if i < train or (i + 1) % per_h or i + 1 + 2 * per_h > n:
            continue
        now = t + STEP
        last = sum(loads[i + 1 - per_h:i + 1]) / per_h
        flat = total / (i + 1)
        for hours in (1, 2):
            actual = sum(loads[i + 1:i + 1 + hours * per_h]) / (hours * per_h)
            c0 = time.perf_counter()
            pred = fc.mean_w(now, now + hours * 3600)
            cpu += time.perf_counter() - c0
            err["forecaster"][hours].append(abs(pred - actual))
            err["persistence"][hours].append(abs(last - actual))
            err["flat mean"][hours].append(abs(flat - actual))
    print(f"house load forecast: {args.days} days at {STEP:.0f} s steps, seed {args.seed}; "
          f"scored hourly after 28 days of training ({len(err['forecaster'][1])} forecasts)")
    print(f"{'':14}{'MAE next 1 h':>14}{'MAE next 2 h':>14}")
    mae = {k: {h: sum(v) / len(v) for h, v in d.items()} for k, d in err.items()}
    for k, d in mae.items():
        print(f"{k:14}{d[1]:>12.0f} W{d[2]:>12.0f} W")
    for base in ("persistence", "flat mean"):
        r1 = mae["forecaster"][1] / mae[base][1]
        r2 = mae["forecaster"][2] / mae[base][2]
        print(f"forecaster / {base}: {r1:.2f} (1 h), {r2:.2f} (2 h)")
    print(f"forecaster CPU: {cpu / n * 1e6:.1f} µs per reading (observe + forecasts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
