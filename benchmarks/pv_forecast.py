"""The built-in PV forecast (forecast/builtin.py) against the measured PV of a generated year,
beside persistence.

    python benchmarks/pv_forecast.py              # the generated year (~20 s)
    python benchmarks/pv_forecast.py --days 60

Two horizons, as the forecast reserve and Edge Mining's forecast rules use them:

- **day**: at 05:00 local, the energy the rest of the day will give (``energy_today_remaining_wh``),
  against what it gave. Persistence: yesterday's total.
- **next hour**: on every daylight hour, ``energy_next_hour_wh`` against the next hour's measured
  energy. Persistence: the last hour's energy.

Errors are mean absolute errors as a share of the mean measured value (daylight hours only for the
next hour), and the bias (mean error, + forecast high). The first 14 days are left out: the
forecast learns the array from the site's own history and a new install has none.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edgemining_tui.backtest.tracegen import generate  # noqa: E402
from edgemining_tui.forecast.builtin import BuiltinForecast  # noqa: E402

WARMUP_DAYS = 14


def score(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    """(MAE %, bias %) of (forecast, measured) pairs, as shares of the mean measured value."""
    mean = sum(m for _, m in pairs) / len(pairs)
    mae = sum(abs(f - m) for f, m in pairs) / len(pairs)
    bias = sum(f - m for f, m in pairs) / len(pairs)
    return 100.0 * mae / mean, 100.0 * bias / mean


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()
    tz = ZoneInfo("Europe/Berlin")
    tr = generate("2025-01-01T00:00:00", days=args.days, step_s=60.0, weather=None, prices=False)
    pv = tr.pv_w
    n = len(tr)
    t0 = time.perf_counter()
    f = BuiltinForecast(48.1, 11.6, tz)
    day_b, day_p, hour_b, hour_p = [], [], [], []
    prev_total = None
    for i in range(n):
        ts = tr.ts0 + i * 60.0
        minute = i % 1440          # the generated trace starts at local midnight; days are 1440 rows
        day = i // 1440
        if minute == 300 and day >= WARMUP_DAYS and i + 1140 <= n:
            total = sum(pv[i:i + 1140]) / 60.0
            day_b.append((f.fields(ts)["energy_today_remaining_wh"], total))
            if prev_total is not None:
                day_p.append((prev_total, total))
        if minute == 300:
            prev_total = sum(pv[i:i + 1140]) / 60.0 if i + 1140 <= n else None
        if minute % 60 == 0 and day >= WARMUP_DAYS and 60 <= i and i + 60 <= n:
            nxt = sum(pv[i:i + 60]) / 60.0
            last = sum(pv[i - 60:i]) / 60.0
            if nxt > 0 or last > 0:
                hour_b.append((f.fields(ts)["energy_next_hour_wh"], nxt))
                hour_p.append((last, nxt))
        f.observe(ts, pv[i])
    run = time.perf_counter() - t0
    print(f"{args.days} days at 1-min steps ({n:,} rows), scored after a {WARMUP_DAYS}-day warm-up; "
          f"forecast run {run:.1f} s ({n / run:,.0f} rows/s)")
    print(f"{'':24} {'built-in MAE':>13} {'bias':>7}   {'persistence MAE':>16} {'bias':>7}")
    for name, b, p in (("day (at 05:00)", day_b, day_p), ("next hour (daylight)", hour_b, hour_p)):
        mb, bb = score(b)
        mp, bp = score(p)
        print(f"{name:24} {mb:12.1f} % {bb:+6.1f} %   {mp:15.1f} % {bp:+6.1f} %   ({len(b)} forecasts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
