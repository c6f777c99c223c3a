"""The PV forecast a replay feeds the decider: "energy still to come today" at every step.

A live site reads it from Home Assistant (Forecast.Solar's or Solcast's "remaining today" sensor);
a replay takes it from the trace's ``pv_forecast_w`` column when there is one (a recorded forecast),
else makes one from the trace's own PV the way a day-ahead forecast is wrong: it knows the day's
shape only roughly (the PV averaged over ``smoothing``, so clouds are smeared over an hour) and
misses each day's total by a random factor within ``± error`` (seeded, so a replay repeats).
A perfect forecast is ``model: noisy, error: 0%, smoothing: 0s``. Without a recorded column and
without a forecast sensor in the config, the replay runs the console's built-in forecast
(forecast/builtin.py) on the PV rows before each step, as it would run live.
"""
from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ..config.types import Duration, Percent
from .days import LocalDays


MODELS = ("auto", "builtin", "noisy")


@dataclass(frozen=True)
class ForecastSpec:
    # builtin: the console's own forecast (forecast/builtin.py) run on the trace's past PV, as it
    # runs live without a forecast sensor; noisy: the trace's own PV, smeared and off by a random
    # factor per day (a stand-in for a forecast service); auto: builtin unless the config's energy
    # section names a forecast sensor
    model: str = "auto"
    error: Percent = 20.0          # each day's total is off by a factor within 1 ± error
    smoothing: Duration = 3600.0   # the shape is the PV averaged over this window
    seed: int = 1

    def validate(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model: expected auto, builtin or noisy, got {self.model!r}")
        if not 0 <= self.error < 100:
            raise ValueError("error: expected 0 % or more and under 100 %")
        if self.smoothing < 0:
            raise ValueError("smoothing: cannot be negative")


def smoothed(pv, step_s: float, window_s: float) -> array:
    n = len(pv)
    half = int(window_s / step_s / 2)
    if half <= 0:
        return array("d", pv)
    pre = array("d", [0.0]) * (n + 1)
    acc = 0.0
    for i, v in enumerate(pv):
        acc += v
        pre[i + 1] = acc
    out = array("d", [0.0]) * n
    for i in range(n):
        a = i - half if i > half else 0
        b = i + half + 1 if i + half + 1 < n else n
        out[i] = (pre[b] - pre[a]) / (b - a)
    return out


def remaining_today(trace, tz: ZoneInfo, spec: ForecastSpec | None) -> array:
    """Wh of forecast PV from each row to the end of its local day (the row's own step included)."""
    n = len(trace)
    step = trace.step_s
    ts0 = trace.ts0
    if trace.pv_forecast_w is not None:
        f = array("d", (v if v == v else 0.0 for v in trace.pv_forecast_w))
        spec = None
    else:
        spec = spec or ForecastSpec()
        f = smoothed(trace.pv_w, step, spec.smoothing)
    rng = random.Random(spec.seed) if spec is not None else None
    days = LocalDays(tz)
    day_of = array("l", (days.of(ts0 + i * step) for i in range(n)))
    factor: dict[int, float] = {}
    out = array("d", [0.0]) * n
    h = step / 3600.0
    acc = 0.0
    cur = None
    for i in range(n - 1, -1, -1):
        d = day_of[i]
        if d != cur:
            cur = d
            acc = 0.0
        k = 1.0
        if rng is not None and spec.error > 0:
            k = factor.get(d)
            if k is None:
                k = factor[d] = 1.0 + rng.uniform(-spec.error, spec.error) / 100.0
        acc += f[i] * k * h
        out[i] = acc
    return out
