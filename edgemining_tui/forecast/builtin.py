"""The built-in PV forecast: no service, no download. Fills the same fields a Home Assistant
forecast sensor does (``power_now_w``, ``energy_next_hour_wh``, ``energy_today_remaining_wh``,
``power_next_4h_avg_w``) from three things:

1. **the clear sky** on the array (forecast/solar.py), in 15-minute buckets of the local day;
2. **what the site really produces under a clear sky**, per bucket of the day: the best ratio of
   measured to clear-sky energy over the last ``days_kept`` days (shading, a wrong tilt or azimuth,
   a wrong kWp all end up in it) — the *envelope*;
3. **how the weather goes**: the recent days' ratio of measured energy to the envelope, blended
   with today's ratio so far as the day goes on (by the share of today's expected energy already
   past), and for the next hour with the last hour's.

Feed it what the meter reads (``observe``, any rate) and ask ``fields(now)``; ``seed`` replays
history (the database's minute rows) so a restart does not start from nothing. Cheap: a few
multiplications per call; the clear sky is computed once per bucket and day.
"""
from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

from .solar import ClearSky, PvArray

BUCKET_S = 900.0
NB = 100                       # buckets in the longest local day (25 h with a DST change)
PRIOR_WEATHER = 0.7            # weather ratio before any day has been seen
MIN_CLEAR_SHARE = 0.03         # buckets with less clear sky than this share of the peak: no ratio
FIELDS = ("power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh", "power_next_4h_avg_w")


class _Day:
    __slots__ = ("start", "end", "n", "clear", "meas", "cmax", "rate", "cum")

    def __init__(self, start: float, end: float, clear: list[float]) -> None:
        self.start, self.end = start, end
        self.n = len(clear)
        self.clear = clear                    # clear-sky W per W of peak, per bucket
        self.cmax = max(clear) if clear else 0.0
        self.meas = [0.0] * self.n            # measured Wh per bucket
        self.rate: list[float] = []           # expected W (clear × envelope) per bucket
        self.cum: list[float] = []            # expected Wh from midnight to each bucket's start


class BuiltinForecast:
    """Per site. ``observe(ts, pv_w)`` every reading; ``fields(ts)`` whenever asked.

    ``hour_window=False``: only ``remaining_wh`` will be asked (a replay's series), so the last
    hour's energy that ``fields`` blends into the next hour is not kept."""

    def __init__(self, latitude: float, longitude: float, tz: str | ZoneInfo, array: PvArray | None = None,
                 days_kept: int = 14, weather_days: int = 4, hour_window: bool = True) -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.array = array or PvArray()
        self.sky = ClearSky(latitude, longitude, self.array, 1.0)
        self.peak_w = self.array.peak          # None: learnt from the midday ratio measured / clear sky
        self._seen = 0.0                       # the highest midday measured W / clear-sky W per W
        self.ratios: deque[list[float | None]] = deque(maxlen=days_kept)
        # per bucket of the day: what a clear day really gives, as W per unit of clear sky (the
        # array's effective peak at that time of day); None: not seen yet, the peak stands in
        self.env: list[float | None] = [None] * NB
        self.weather: deque[float] = deque(maxlen=weather_days)
        self._weather_k = PRIOR_WEATHER          # weather_ratio(), worked out when a day is added
        self.day: _Day | None = None
        self._last_ts: float | None = None
        self._last_w = 0.0
        self._meas_today = 0.0
        self._hour: deque[tuple[float, float]] | None = deque() if hour_window else None  # (ts, Wh), last hour
        self._hour_wh = 0.0
        self._out = dict.fromkeys(FIELDS, 0.0)

    # -- the calendar -------------------------------------------------------------------------
    def _new_day(self, ts: float) -> _Day:
        d = datetime.fromtimestamp(ts, self.tz)
        start = datetime(d.year, d.month, d.day, tzinfo=self.tz)
        s, e = start.timestamp(), (start + timedelta(days=1)).timestamp()
        n = int(round((e - s) / BUCKET_S))
        pw = self.sky.power_w
        day = _Day(s, e, [pw(s + (b + 0.5) * BUCKET_S) for b in range(n)])
        self._rates(day)
        return day

    def _rates(self, day: _Day) -> None:
        peak = self._peak()
        env = self.env
        h = BUCKET_S / 3600.0
        rate = [0.0] * day.n
        cum = [0.0] * (day.n + 1)
        acc = 0.0
        for b in range(day.n):
            e = env[b]
            rate[b] = r = day.clear[b] * (e if e is not None else peak)
            cum[b] = acc
            acc += r * h
        cum[day.n] = acc
        day.rate, day.cum = rate, cum

    def _roll(self, ts: float) -> _Day:
        day = self.day
        if day is not None and day.start <= ts < day.end:
            return day
        if day is not None and ts >= day.end:
            self._close(day)
        self.day = day = self._new_day(ts)
        self._meas_today = 0.0
        return day

    def _peak(self) -> float:
        if self.peak_w is not None:
            return self.peak_w
        return self._seen

    def _close(self, day: _Day) -> None:
        """A day is over: its per-bucket clear-sky ratios join the envelope, its total the weather."""
        h = BUCKET_S / 3600.0
        ratios: list[float | None] = [None] * day.n
        for b in range(day.n):
            c = day.clear[b]
            if c > MIN_CLEAR_SHARE * day.cmax and c > 0:
                ratios[b] = day.meas[b] / (c * h)
        self.ratios.append(ratios)
        env: list[float | None] = [None] * NB
        for b in range(NB):
            best = None
            for rs in self.ratios:
                if b < len(rs):
                    r = rs[b]
                    if r is not None and (best is None or r > best):
                        best = r
            env[b] = best
        self.env = env
        self._rates(day)
        exp = day.cum[day.n]
        if exp > 0:
            w = self.weather
            w.append(sum(day.meas) / exp)
            self._weather_k = sum(w) / len(w)

    # -- input --------------------------------------------------------------------------------
    def observe(self, ts: float, pv_w: float | None) -> None:
        if pv_w == 0.0 and self._last_w == 0.0 and self._hour is None:
            # dark since the last reading (the night: half of a replay's rows): no energy to add
            # anywhere, only the clock moves on, unless a day ends
            last = self._last_ts
            day = self.day
            if last is not None and ts > last and day is not None and last < day.end:
                self._last_ts = ts
                self._last_w = pv_w
                return
        self._observe(ts, pv_w)

    def _observe(self, ts: float, pv_w: float | None) -> None:
        if pv_w is None or pv_w != pv_w:
            return
        if pv_w < 0.0:
            pv_w = 0.0
        last = self._last_ts
        if last is not None and ts > last:
            dt = ts - last
            if dt > 900.0:       # a gap: do not spread a stale value over it
                dt = 0.0
            day = self.day
            if day is None or last >= day.end:
                day = self._roll(last)
            # (a reading from a day already closed, the minute before midnight, counts nowhere)
            b = int((last - day.start) // BUCKET_S) if last >= day.start else -1
            wh = self._last_w * dt / 3600.0
            if 0 <= b < day.n:
                day.meas[b] += wh
                self._meas_today += wh
                if self.peak_w is None and day.clear[b] > 0.6 * day.cmax > 0:
                    r = self._last_w / day.clear[b]
                    if r > self._seen:
                        self._seen = r
                        if self.env[b] is None:
                            self._rates(day)
            hr = self._hour
            if hr is not None:
                hr.append((ts, wh))
                self._hour_wh += wh
                while hr[0][0] <= ts - 3600.0:
                    self._hour_wh -= hr.popleft()[1]
        elif last is None:
            self._roll(ts)
        self._last_ts = ts
        self._last_w = pv_w

    def seed(self, rows: Iterable[tuple[float, float | None]]) -> int:
        """Replay (ts, pv_w) history in time order; returns the rows used."""
        n = 0
        for ts, w in rows:
            self.observe(ts, w)
            n += 1
        return n

    # -- output -------------------------------------------------------------------------------
    def weather_ratio(self) -> float:
        """The recent days' mean ratio of measured to expected energy (PRIOR_WEATHER before any)."""
        return self._weather_k

    def _so_far(self, day: _Day, t: float) -> float:
        """Expected Wh from midnight to ``t`` (clipped to the day)."""
        if t <= day.start:
            return 0.0
        if t >= day.end:
            return day.cum[day.n]
        x = (t - day.start) / BUCKET_S
        b = int(x)
        return day.cum[b] + day.rate[b] * (x - b) * BUCKET_S / 3600.0

    def remaining_wh(self, ts: float) -> float:
        """Only ``energy_today_remaining_wh`` (what the battery reserve reads; a replay asks it
        every row)."""
        day = self.day
        if day is None or not day.start <= ts < day.end:
            day = self._roll(ts)
        total = day.cum[day.n]
        past = self._so_far(day, ts)
        k = self._weather_k
        if past > 0.0 and total > 0.0:
            w = past / total
            k = w * (self._meas_today / past) + (1.0 - w) * k
        return k * (total - past)

    def flat_until(self, ts: float) -> float:
        """Until when ``remaining_wh`` keeps the answer it gives at ``ts`` while only dark
        readings come (they add no energy): the end of the run of buckets without clear sky that
        ``ts`` is in (less a millisecond, for the rounding of placing a time in its bucket), never
        past the day's end; ``ts`` itself when its bucket has sun. Over such a run the expected
        energy so far stands still (each bucket adds rate 0), and so does every other term."""
        day = self.day
        if day is None or not day.start <= ts < day.end:
            return ts
        rate = day.rate
        b = int((ts - day.start) / BUCKET_S)      # as _so_far places it
        if b >= day.n or rate[b] != 0.0:
            return ts
        e = b + 1
        n = day.n
        while e < n and rate[e] == 0.0:
            e += 1
        return day.start + e * BUCKET_S - 1e-3

    def fields(self, ts: float) -> dict[str, float]:
        """The forecast at ``ts`` (the same dict is reused: copy it to keep it)."""
        if self._hour is None:
            raise RuntimeError("BuiltinForecast(hour_window=False) answers only remaining_wh")
        out = self._out
        day = self._roll(ts)
        so_far = self._so_far
        total = day.cum[day.n]
        past = so_far(day, ts)
        k = self.weather_ratio()
        if past > 0 and total > 0:
            w = past / total
            k = w * (self._meas_today / past) + (1.0 - w) * k
        k_next = k
        hour_exp = past - so_far(day, ts - 3600.0)
        if hour_exp > 0.05 * total / 12 and hour_exp > 0:
            k_next = 0.5 * k + 0.5 * (self._hour_wh / hour_exp)
        out["energy_today_remaining_wh"] = k * (total - past)
        out["energy_next_hour_wh"] = k_next * (so_far(day, ts + 3600.0) - past)
        out["power_next_4h_avg_w"] = k * (so_far(day, ts + 4 * 3600.0) - past) / 4.0
        b = int((ts - day.start) // BUCKET_S)
        out["power_now_w"] = k_next * day.rate[b] if 0 <= b < day.n else 0.0
        return out


def remaining_series(pv_w, ts0: float, step_s: float, latitude: float, longitude: float, tz: ZoneInfo,
                     array: PvArray | None = None, history=None) -> list[float]:
    """``energy_today_remaining_wh`` at every row of a trace, as the built-in forecast would have
    said it then (it sees only the rows before). ``history``: (ts, pv_w) rows before the trace, as
    the console seeds it from its database."""
    f = BuiltinForecast(latitude, longitude, tz, array, hour_window=False)
    if history is not None:
        f.seed(history)
    obs, ask, flat_until = f.observe, f.remaining_wh, f.flat_until
    n = len(pv_w)
    out = [0.0] * n
    ts = ts0
    i = 0
    while i < n:
        w = pv_w[i]
        out[i] = v = ask(ts)
        dark = w == 0.0 and f._last_w == 0.0      # this reading adds no energy, nor did the last
        obs(ts, w)
        i += 1
        if dark and i < n and pv_w[i] == 0.0:
            # the night (half of a year's rows): while the readings stay dark and the clear sky
            # too, every ask gives this answer and every reading only moves the clock on
            until = flat_until(ts)
            j = i
            last = ts
            ts += step_s
            while i < n and ts < until and pv_w[i] == 0.0:
                out[i] = v
                last = ts
                ts += step_s
                i += 1
            if i > j:
                obs(last, 0.0)        # the clock, moved on to the last of them
        else:
            ts += step_s
    return out


