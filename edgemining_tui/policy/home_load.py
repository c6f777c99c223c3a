"""The house load forecast, learned from the site's own history (pure Python, no ML at run time).

Edge Mining forecasts the house load with per-device providers (naive last hour, seasonal
baseline, typical profile, gradient boosting) and blends the first forecast hour with the last
real reading (α·P̂ + β·P_real). Here one model covers the whole house (``house_w``, the load
without the miners):

- a **profile** per weekday × time of day (15-min slots), each slot an exponentially weighted mean
  over the weeks it has seen: recent weeks count more (``half_life_weeks``), so a new routine
  takes over in a few weeks and a holiday fades;
- **blended with the last hour**: the forecast for a slot ``h`` hours ahead is the profile plus the
  last hour's departure from the profile, decaying as exp(−h / ``blend_tau_h``). A house running
  hotter than usual stays hotter for a while; in a few hours the profile takes over again.

Until a slot has been seen the model falls back to the time of day over all weekdays, then to the
mean of everything seen, then to the last hour. ``observe`` takes readings at any cadence
(the engine's cycle, the replay's step) and costs a few additions; forecasts are computed when
asked and cached per slot.

It answers Edge Mining's ``home_load.total_history.*`` and ``home_load.total_forecast.*`` fields
(``fields(now)``, in Edge Mining's shape: 1-hour intervals, ``total_energy`` Wh, ``avg_energy`` Wh
per hour, ``avg_power`` W, ``peak_power`` = the highest hourly mean) and the battery reserve's
house load (``mean_w(start, end)``).
"""
from __future__ import annotations

import math
from collections import deque
from datetime import datetime, tzinfo
from typing import Iterable, Protocol

SLOT_S = 900.0
SLOTS_PER_DAY = int(86400 // SLOT_S)
WEEK_SLOTS = 7 * SLOTS_PER_DAY
HOUR = 3600.0
FORECAST_WINDOWS = {"next_1h": 1, "next_2h": 2, "next_4h": 4, "next_6h": 6, "next_8h": 8,
                    "next_12h": 12, "next_24h": 24}
HISTORY_WINDOWS = {"last_1h": 1, "last_4h": 4, "last_12h": 12, "last_24h": 24}
STATS = ("total_energy", "avg_energy", "avg_power", "peak_power")


class HomeLoadProducer(Protocol):
    """What the rules and the battery reserve read about the house load."""

    def observe(self, ts: float, house_w: float | None) -> None: ...

    def fields(self, now: float) -> dict: ...

    def mean_w(self, start: float, end: float) -> float | None: ...


class HomeLoadForecaster:
    """Weekday × time-of-day profile with recency weighting, blended with the last hour."""

    def __init__(self, tz: tzinfo, half_life_weeks: float = 3.0, blend_tau_h: float = 1.0) -> None:
        self.tz = tz
        # weight of the newest week in a slot's mean once the slot has history
        self.alpha = 1.0 - 0.5 ** (1.0 / half_life_weeks)
        self.blend_tau_h = blend_tau_h
        # how much of the last hour's departure is left i slots ahead (mid-slot)
        self._decay = [math.exp(-(i + 0.5) * SLOT_S / HOUR / blend_tau_h) for i in range(2 * SLOTS_PER_DAY)]
        self.profile: list[float | None] = [None] * WEEK_SLOTS
        self.seen: list[int] = [0] * WEEK_SLOTS
        # the slots of the last 24 h: (slot index since the epoch, mean W)
        self.recent: deque[tuple[int, float]] = deque(maxlen=SLOTS_PER_DAY)
        self._slot = -1          # slot (since the epoch, local time) being accumulated
        self._sum = 0.0
        self._n = 0
        self._total = 0.0        # mean of all finished slots, for the first fallback
        self._count = 0
        self._cache: tuple | None = None
        self._fields: tuple | None = None
        self._mean: tuple | None = None
        self._off_hour = -1
        self._off = 0.0
        self._last_ts = -math.inf
        self._slot_end = -math.inf   # before this time a reading is in the slot being accumulated

    # ------------------------------------------------------------------ learning
    def _abs_slot(self, ts: float) -> int:
        # the zone's offset, looked up once an hour (a replay asks every simulated minute)
        h = int(ts // 3600.0)
        if h != self._off_hour:
            off = datetime.fromtimestamp(h * 3600.0, self.tz).utcoffset()
            self._off = off.total_seconds() if off else 0.0
            self._off_hour = h
        return int((ts + self._off) // SLOT_S)

    def observe(self, ts: float, house_w: float | None) -> None:
        # the house without the miners is >= 0; anything else is a sensor fault, not a load
        if house_w is None or not 0.0 <= house_w < math.inf or ts <= self._last_ts:
            return
        self._last_ts = ts
        if ts >= self._slot_end:
            # (readings come in time order: until the slot's end every one is in the same slot)
            s = self._abs_slot(ts)
            if s != self._slot:
                self._close()
                self._slot = s
            # where this slot ends, within the hour whose offset placed it, less a millisecond
            # for the rounding of ts + offset (a reading that close to the end takes this path)
            hour_end = (int(ts // 3600.0) + 1) * 3600.0
            end = (s + 1) * SLOT_S - self._off
            self._slot_end = (end if end < hour_end else hour_end) - 1e-3
        self._sum += house_w
        self._n += 1

    def observe_many(self, rows: Iterable[tuple[float, float | None]]) -> None:
        for ts, w in rows:
            self.observe(ts, w)

    def _close(self) -> None:
        if self._n == 0:
            return
        mean = self._sum / self._n
        s = self._slot
        # 1970-01-01 was a Thursday: shift so index 0 is Monday 00:00
        k = (s + 3 * SLOTS_PER_DAY) % WEEK_SLOTS
        n = self.seen[k] + 1
        self.seen[k] = n
        p = self.profile[k]
        w = max(1.0 / n, self.alpha)
        self.profile[k] = mean if p is None else p + w * (mean - p)
        self.recent.append((s, mean))
        self._count += 1
        self._total += (mean - self._total) / self._count
        self._sum = 0.0
        self._n = 0
        self._cache = None

    # ------------------------------------------------------------------ reading
    def _profile_at(self, s: int) -> float | None:
        k = (s + 3 * SLOTS_PER_DAY) % WEEK_SLOTS
        p = self.profile[k]
        if p is not None:
            return p
        tod = k % SLOTS_PER_DAY
        vals = [self.profile[d * SLOTS_PER_DAY + tod] for d in range(7)]
        vals = [v for v in vals if v is not None]
        if vals:
            return sum(vals) / len(vals)
        return self._total if self._count else None

    def _last_hour(self, now_slot: int) -> tuple[list[tuple[int, float]], float | None]:
        """The finished slots of the last hour (and the one in progress)."""
        out = [(s, m) for s, m in self.recent if now_slot - 4 <= s < now_slot]
        if not out and self._n and self._slot == now_slot:
            out.append((now_slot, self._sum / self._n))
        if not out:
            return out, None
        return out, sum(m for _, m in out) / len(out)

    def _slot_forecasts(self, now: float, n_slots: int) -> list[float] | None:
        s0 = self._abs_slot(now)
        # finished slots only (the one in progress counts while nothing else is known): the
        # forecast changes every 15 min, not every reading
        key = (s0, self._count, self._n if self._count == 0 else 0)
        c = self._cache
        if c is not None and c[0] == key and len(c[1]) >= n_slots:
            return c[1] if len(c[1]) == n_slots else c[1][:n_slots]
        last, last_mean = self._last_hour(s0)
        if last_mean is None and self._count == 0:
            return None
        # the last hour's departure from the profile
        dev = 0.0
        if last:
            devs = [m - p for s, m in last if (p := self._profile_at(s)) is not None]
            if devs:
                dev = sum(devs) / len(devs)
        prof = self.profile
        k0 = (s0 + 3 * SLOTS_PER_DAY) % WEEK_SLOTS
        decay = self._decay
        # the profile's slots from now on (wrapping round the week), each blended with the last
        # hour's departure; only the slots asked for (each slot's value is the same however many are)
        ps = prof[k0:k0 + n_slots]
        if len(ps) < n_slots:
            ps += prof[:n_slots - len(ps)]
        nd = len(decay)
        if None not in ps and n_slots <= nd:
            out = [v if v > 0.0 else 0.0 for v in [p + dev * d for p, d in zip(ps, decay)]]
        else:
            out = []
            fallback = last_mean if last_mean is not None else 0.0
            for i in range(n_slots):
                p = ps[i]
                if p is None:
                    p = self._profile_at(s0 + i)
                if p is None:
                    v = fallback
                else:
                    v = p + dev * decay[i] if i < nd else p
                out.append(v if v > 0.0 else 0.0)
        self._cache = (key, out)
        return out

    def forecast(self, now: float, hours: int = 24) -> list[float] | None:
        """Mean W predicted for each of the next ``hours`` hours (from the current slot on)."""
        sl = self._slot_forecasts(now, max(hours, 24) * 4)
        if sl is None:
            return None
        return [sum(sl[4 * i:4 * i + 4]) / 4.0 for i in range(hours)]

    def mean_w(self, start: float, end: float) -> float | None:
        """Mean W predicted over [start, end) (start ≥ now), at slot resolution."""
        if end <= start:
            return None
        n = min(max(1, int(math.ceil((end - start) / SLOT_S))), 2 * SLOTS_PER_DAY)
        key = (self._abs_slot(start), self._count, self._n if self._count == 0 else 0, n)
        m = self._mean
        if m is not None and m[0] == key:
            return m[1]
        sl = self._slot_forecasts(start, n)
        v = None if sl is None else sum(sl) / len(sl)
        self._mean = (key, v)
        return v

    def history(self, now: float, hours: int) -> list[float]:
        """Hourly mean W of the last ``hours`` hours that have data (oldest first)."""
        s0 = self._abs_slot(now)
        slots = [(s, m) for s, m in self.recent if s0 - 4 * hours < s < s0]
        if not slots and self._n and self._slot == s0:
            slots.append((s0, self._sum / self._n))
        buckets: dict[int, list[float]] = {}
        for s, m in slots:
            buckets.setdefault((s0 - s) // 4, []).append(m)
        return [sum(v) / len(v) for _, v in sorted(buckets.items(), reverse=True)]

    def fields(self, now: float) -> dict:
        """Edge Mining's ``home_load`` shape: ``total_history`` / ``total_forecast`` with windows."""
        key = (self._abs_slot(now), self._count, self._n if self._count == 0 else 0)
        if self._fields is not None and self._fields[0] == key:
            return self._fields[1]
        out: dict = {}
        fc = self.forecast(now, 24)
        if fc is not None:
            tf = _stats(fc)
            for name, h in FORECAST_WINDOWS.items():
                tf[name] = _stats(fc[:h])
            out["total_forecast"] = tf
        hist24 = self.history(now, 24)
        if hist24:
            th = _stats(hist24)
            for name, h in HISTORY_WINDOWS.items():
                th[name] = _stats(self.history(now, h))
            out["total_history"] = th
        self._fields = (key, out)
        return out


def _stats(hourly_w: list[float]) -> dict:
    if not hourly_w:
        return {k: None for k in STATS}
    total = sum(hourly_w)             # Wh: each entry is one hour's mean W
    return {"total_energy": total, "avg_energy": total / len(hourly_w),
            "avg_power": total / len(hourly_w), "peak_power": max(hourly_w)}


__all__ = ["HomeLoadForecaster", "HomeLoadProducer", "FORECAST_WINDOWS", "HISTORY_WINDOWS"]
