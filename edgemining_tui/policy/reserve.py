"""The forecast battery reserve: how much of today's surplus the battery still needs.

evcc's fixed ``priority_soc`` answers "may the miners take charge power?" with a SoC level. On a
short winter day that is wrong both ways: at 80 % with one hour of weak sun left the battery will
not fill, so every watt the miners take is bought back from the grid at night; at 30 % on a bright
spring morning the battery will fill by noon anyway, so holding the miners back only moves the
export to the afternoon. The forecast reserve answers it with energy instead::

    need   = (full - SoC) x capacity / charge efficiency       Wh the battery still takes
    coming = surplus still to come today                       Wh
    share  = need / coming      (1 when nothing is coming; the tail below refines it)

``coming`` spreads ``trust`` x the forecast for the rest of today over a sine from sunrise to
sunset (the clear-sky shape; a forecast service gives the total, not the shape) and takes away
the house load only where that curve is above it: in the morning and evening, when PV does not
cover the house, there is no surplus to lose. The house load is the home-load forecast's mean
from now to sunset (policy/home_load.py, learned from the site's own history) when there is one,
else the last hour's average.

In the afternoon the sine is the wrong shape: a low winter sun on a tilted array fades faster than
it, so the sine puts too much of what is left near sunset, where the house takes it, and the
surplus comes out about half of what it is (the battery then counts on too little, is full by
mid-afternoon and the rest of the day is exported). From solar noon on, the PV still to come is
spread instead over a fade from the PV measured now (averaged over ``PV_TAU_S``, so a passing
cloud is not the fade) to 0 at sunset, p0 (1 - u)^a, its steepness a from the forecast's energy.
When that would fall slower than linearly (a cloud now, or more forecast than the PV now can
fade out with) the sine stands in; without a record of the forecast's misses (below: a new
install, whose built-in forecast has not seen the site's afternoon yet) the reserve then counts
on no more than the linear fade.

Surplus below the smallest miner's minimum power (the afternoon's tail, the peak of a dull day)
can only charge the battery or be exported: no miner can take it. So the battery counts that
*tail* first and keeps a share only of the surplus above it::

    share  = (need - tail) / (coming - tail)       0 when the tail alone fills it

Without this the miners leave the battery its share at noon too, it is full by mid-afternoon and
the tail goes to the grid (most of what the allocator failed to capture, docs/backtest.md).

The battery keeps ``share`` of the present surplus; the miners get the rest. If the forecast is
right, the battery is full when the surplus ends, and what the miners took would have been exported.
``trust`` below 100 % errs towards the battery. ``trust_sunrise`` (``battery.forecast_trust_sunrise``)
lowers it in the morning, rising linearly to ``trust`` at sunset: the forecast for the rest of the
day is least certain at dawn. On the generated year that halved the winter weeks' fed against the
miners asleep and lost no captured surplus (docs/backtest.md). With ``share`` under 1 the battery may also carry a
running miner through a cloud (the energy comes back before sunset); at 1 it may not.

``battery.forecast_learned`` replaces that schedule once the site has 3 days on record
(``SurplusMisses``): ``coming`` is counted as the forecast's times a quantile of the recent days'
actual / forecast surplus at the same time of day: the configured one (the median) after a night
the battery kept charge, the 10 % one after a night it ran out (the grid fed the house before the
PV covered it), when a short battery at sunset is bought back in the small hours.

``Reserve.full_yesterday``: the battery reached ``FULL_SOC`` in yesterday's daylight. The site terms
read it (with the SoC now) as "the days have been filling the battery": what it lends a dip then
comes back, even after a night it ran out (policy/site_terms.py ``SURE_SOC``).

Without a forecast reading, a battery capacity or the sun's times the reserve is off for that
cycle and the allocator falls back to the fixed levels (the UI says which one binds).
"""
from __future__ import annotations

import math
from collections import deque
from typing import Callable

SunFn = Callable[[float], "float | None"]
LoadFn = Callable[[float, float], "float | None"]     # mean house W predicted over [start, end)

_PI, _cos, _asin = math.pi, math.cos, math.asin
LOAD_TAU_S = 3600.0      # the house-load average's time constant
PV_TAU_S = 900.0         # the PV average's time constant (a passing cloud is not the afternoon's fade)
FADE_FROM_X = 0.5        # the fade shape applies from the middle of the daylight (solar noon) on
FADE_A_MIN = 1.0         # ... when it falls at least linearly; flatter, the sine stands in
FADE_A_MAX = 6.0         # the steepest fade counted on
FORECAST_KEY = "energy_today_remaining_wh"


class Reserve:
    """One cycle's answer. ``share``: the part of the surplus the battery keeps (0..1)."""

    __slots__ = ("share", "need_wh", "coming_wh", "left_s", "tail_wh", "careful", "full_yesterday",
                 "coming_typical_wh")

    def __init__(self) -> None:
        self.careful = False       # last night the battery ran out: a short battery is paid for in import
        self.full_yesterday = False  # the battery was full in yesterday's daylight: the days have been filling it
        self.left_s = 0.0
        self.share = 1.0
        self.need_wh = 0.0
        self.coming_wh = 0.0
        # what the configured quantile of the recent days counts on (the careful one counts less
        # after a night the battery ran out): what a miner on its last start is carried on after a
        # full day (site_terms.py)
        self.coming_typical_wh = 0.0
        self.tail_wh = 0.0         # the part of coming_wh below every miner's minimum: the battery's anyway


ERR_BUCKETS = 8          # parts of the daylight the misses are kept apart for
ERR_DAYS = 14            # days of misses kept per part
ERR_MIN_DAYS = 3         # fewer days than this: the fixed trust schedule applies
ERR_MIN_WH = 300.0       # a surplus forecast below this says too little about the miss
RAN_OUT_W = 50.0         # grid import before the PV covers the house: the battery ran out overnight
MORNING = 0.3            # the share of the daylight in which last night's running out is looked for
CAREFUL_QUANTILE = 0.1   # after such a night: count on what 9 days in 10 brought at least
FULL_SOC = 99.5          # the battery counts as having been full at this SoC (in daylight)


class SurplusMisses:
    """How far the reserve's "surplus still to come today" was off on the site's recent days, by
    the time of day it was said: for each eighth of the daylight, actual / forecast surplus from
    then to sunset, one ratio a day. It measures the whole estimate as the battery meets it (the
    PV forecast's miss, the clear-sky shape, the house load's timing), causally: a day's ratios
    are known only once it is over."""

    __slots__ = ("ratios", "_marks", "_cum_wh", "_ts", "_day", "_export", "_sorted")

    def __init__(self) -> None:
        self.ratios: list[deque] = [deque(maxlen=ERR_DAYS) for _ in range(ERR_BUCKETS)]
        self._marks: list = [None] * ERR_BUCKETS     # (forecast surplus Wh, surplus so far Wh)
        self._cum_wh = 0.0
        self._ts: float | None = None
        self._day: float | None = None               # the sunset of the day being recorded
        self._export: list | None = None             # export()'s answer until the record changes
        self._sorted: list = [None] * ERR_BUCKETS    # each part's ratios in order, until they change

    def observe(self, now: float, surplus_w: float) -> None:
        ts = self._ts
        if ts is not None and now > ts:
            dt = now - ts
            if dt <= 900.0 and surplus_w > 0.0:
                self._cum_wh += surplus_w * dt / 3600.0
        self._ts = now

    def wants(self, sunset: float, x: float) -> bool:
        """Is this part of the day still without its mark (or a new day begun)?"""
        b = int(x * ERR_BUCKETS)
        return sunset != self._day or (0 <= b < ERR_BUCKETS and self._marks[b] is None)

    def mark(self, sunset: float, x: float, coming_wh: float) -> None:
        if sunset != self._day:
            self.close()
            self._day = sunset
        b = int(x * ERR_BUCKETS)
        if 0 <= b < ERR_BUCKETS and self._marks[b] is None:
            self._marks[b] = (coming_wh, self._cum_wh)

    def close(self) -> None:
        """The day is over: each mark's actual surplus to sunset against what was forecast."""
        cum = self._cum_wh
        for b, m in enumerate(self._marks):
            if m is not None and m[0] >= ERR_MIN_WH:
                self.ratios[b].append((cum - m[1]) / m[0])
                self._export = None
                self._sorted[b] = None
        self._marks = [None] * ERR_BUCKETS
        self._cum_wh = 0.0

    def ratio(self, x: float, q: float) -> float | None:
        """The ``q`` quantile of the recent days' actual / forecast at this time of day."""
        b = int(x * ERR_BUCKETS)
        if b >= ERR_BUCKETS:
            b = ERR_BUCKETS - 1
        elif b < 0:
            b = 0
        s = self._sorted[b]
        if s is None:
            s = self._sorted[b] = sorted(self.ratios[b])
        if len(s) < ERR_MIN_DAYS:
            return None
        k = q * (len(s) - 1)
        i = int(k)
        return s[i] if i + 1 >= len(s) else s[i] + (s[i + 1] - s[i]) * (k - i)

    def export(self) -> list:
        """The record for the decider's saved state (asked every cycle; it changes once a day)."""
        if self._export is None:
            self._export = [list(r) for r in self.ratios]
        return self._export

    def restore(self, data) -> None:
        """Take a saved record back; anything that is not a ratio (NaN, text, out of range) is left out."""
        if isinstance(data, list) and len(data) == ERR_BUCKETS:
            for b, r in enumerate(data):
                if isinstance(r, list):
                    self.ratios[b].extend(float(v) for v in r if isinstance(v, (int, float))
                                          and not isinstance(v, bool) and 0.0 <= v < 100.0)
            self._export = None
            self._sorted = [None] * ERR_BUCKETS


class ForecastReserve:
    """Per decider; ``update`` once a cycle. Cheap: no allocation, sun times cached per day."""

    __slots__ = ("trust", "trust0", "full", "_wh_per_pct", "sunset", "sunrise", "_load", "_load_ts", "_set",
                 "_rise", "out", "load_forecast", "_lf", "_lf_lo", "_lf_hi", "_lf_set", "misses", "quantile", "_ran_out", "_ran_out_prev",
                 "_pv", "_pv_ts", "_full_today", "_full_saved")

    def __init__(self, capacity_wh: float, trust_pct: float, full_soc_pct: float = 100.0,
                 charge_efficiency: float = 0.95, sunset: SunFn | None = None,
                 sunrise: SunFn | None = None, load: LoadFn | None = None,
                 trust_sunrise_pct: float | None = None, learned_quantile_pct: float | None = None) -> None:
        self.load_forecast = load
        self._lf: float | None = None           # the mean W from now to sunset: refreshed hourly,
        self._lf_lo = self._lf_hi = self._lf_set = math.nan    # for the hour [lo, hi) and this sunset
        self.trust = trust_pct / 100.0
        # the trust at sunrise, rising linearly to ``trust`` at sunset (None: flat)
        self.trust0 = trust_sunrise_pct / 100.0 if trust_sunrise_pct is not None else self.trust
        self.full = full_soc_pct
        self._wh_per_pct = capacity_wh / 100.0 / charge_efficiency
        self.sunset = sunset
        self.sunrise = sunrise
        self._load: float | None = None
        self._load_ts = 0.0
        self._set = self._rise = -math.inf
        self.out = Reserve()
        self.misses = SurplusMisses()
        # battery.forecast_learned: count on the forecast surplus times this quantile of the recent
        # days' actual / forecast at the same time of day (None: the trust schedule)
        self.quantile = learned_quantile_pct / 100.0 if learned_quantile_pct is not None else None
        self._ran_out = self._ran_out_prev = False
        self._full_today = False          # the battery reached FULL_SOC since today's sunrise
        self._full_saved: tuple | None = None   # restore_full()'s record, applied at the first update
        self._pv: float | None = None     # the PV power, averaged over PV_TAU_S: where the afternoon's fade starts
        self._pv_ts = 0.0

    def update(self, now: float, soc: float | None, house_w: float | None,
               forecast: dict | None, min_w: float = 0.0, pv_w: float | None = None,
               grid_w: float | None = None) -> Reserve | None:
        """None: the reserve can't be worked out this cycle (use the fixed SoC levels)."""
        if pv_w is not None and house_w is not None and self.quantile is not None:
            self.misses.observe(now, pv_w - house_w)
        if pv_w is not None:
            self._pv = _ema(self._pv, self._pv_ts, pv_w, now, PV_TAU_S)
            self._pv_ts = now
        load = self._load
        if house_w is not None:
            load = self._load = _ema(load, self._load_ts, house_w, now, LOAD_TAU_S)
            self._load_ts = now
        f = forecast.get(FORECAST_KEY) if forecast else None
        if f is None or soc is None or load is None or f != f:
            return None
        if self._full_saved is not None:
            self._apply_full(now)
        if now >= self._set or now >= self._rise:
            st = self.sunset(now) if self.sunset is not None else None
            rs = self.sunrise(now) if self.sunrise is not None else None
            if st is None or rs is None:
                return None
            if now >= self._set:
                # the day is over: was the battery full in it?
                self.out.full_yesterday, self._full_today = self._full_today, False
                if self.quantile is not None:
                    self.misses.close()           # the day's surplus is in: its misses are known
                    self._ran_out_prev, self._ran_out = self._ran_out, False
            self._set, self._rise = st, rs
        if self.load_forecast is not None and now < self._set:
            if not self._lf_lo <= now < self._lf_hi or self._lf_set != self._set:
                lo = (now // 3600.0) * 3600.0
                self._lf_lo, self._lf_hi, self._lf_set = lo, lo + 3600.0, self._set
                self._lf = self.load_forecast(now, self._set)
            lf = self._lf
            if lf is not None:
                load = lf
        # in daylight the next sunrise is tomorrow's; today's was about a day earlier
        rise = self._rise if self._rise < self._set else self._rise - 86400.0
        r = self.out
        if soc >= FULL_SOC and rise <= now:
            self._full_today = True
        need = (self.full - soc) * self._wh_per_pct
        if need < 0.0:
            need = 0.0
        r.need_wh = need
        r.left_s = self._set - now
        trust = self.trust
        t0 = self.trust0
        x = (now - rise) / (self._set - rise) if self._set > rise else 1.0
        x = 0.0 if x < 0.0 else 1.0 if x > 1.0 else x
        # with a learned quantile: the recent days' misses at this time of day, once there are
        # enough of them (None: the trust schedule stands in), learnt on the forecast at full trust
        k = coming1 = None
        if self.quantile is not None:
            if x < MORNING and not self._ran_out and grid_w is not None and grid_w > RAN_OUT_W \
                    and pv_w is not None and house_w is not None and pv_w < house_w:
                self._ran_out = True
            careful = self._ran_out or (x < MORNING and self._ran_out_prev)
            r.careful = careful
            k = self.misses.ratio(x, CAREFUL_QUANTILE if careful else self.quantile)
            if now >= rise and (k is not None or self.misses.wants(self._set, x)):
                coming1 = self._surplus(f, load, now, rise, x)[0]
                self.misses.mark(self._set, x, coming1)
        if k is None:
            if t0 != trust:
                # the rest of the day is least certain in the morning (its weather still unknown, the
                # forecast leans on the days before) and nearly known by the evening
                trust = t0 + (trust - t0) * x
            pv = trust * f
            if x >= FADE_FROM_X and self._pv is not None:
                # without a record of its misses (a new install) an afternoon forecast above what the
                # PV now gives fading linearly to sunset is not counted on: the built-in forecast
                # learns the site's afternoon only once it has seen one
                lin = self._pv * (self._set - now) / 3600.0 / (FADE_A_MIN + 1.0)
                if pv > lin:
                    pv = lin
                    coming1 = None
            if trust == 1.0 and coming1 is not None:
                coming = coming1
            else:
                coming = above = None
        else:
            pv = f
            coming = coming1 if coming1 is not None else self._surplus(f, load, now, rise, x)[0]
        if coming is None:
            # the surplus to come, and above the smallest minimum, on one curve
            coming, above = self._surplus_pair(pv, load, min_w, now, rise, x)
        else:
            above = self._surplus(pv, load + min_w, now, rise, x) if min_w > 0.0 and coming > 0.0 else None
        # surplus below the smallest miner's minimum (the afternoon's tail, a dull day's peak) can
        # only charge the battery: it takes its need from that first and shares only the rest
        tail = 0.0
        if above is not None:
            above_wh, above_s = above
            tail = coming - above_wh - min_w * above_s / 3600.0
            if tail < 0.0:
                tail = 0.0
        if k is not None:
            km = self.misses.ratio(x, self.quantile) if r.careful else k
            r.coming_typical_wh = coming * (km if km is not None else k)
            coming *= k
            tail *= k
        else:
            r.coming_typical_wh = coming
        r.coming_wh = coming
        r.tail_wh = tail
        if need <= tail:
            r.share = 0.0
        elif coming <= need:
            r.share = 1.0
        else:
            r.share = (need - tail) / (coming - tail)
        return r

    def export_full(self) -> list:
        """[full today, full yesterday, the sunset that ends today] for the decider's saved state."""
        return [self._full_today, self.out.full_yesterday, self._set if math.isfinite(self._set) else None]

    def restore_full(self, data) -> None:
        """Take export_full()'s answer back; it counts from the first update on (a restart the same
        day keeps both, one the next day keeps "full yesterday" from the saved today, a later one
        nothing). Anything malformed is left out."""
        if isinstance(data, list) and len(data) == 3 and all(isinstance(v, bool) for v in data[:2]) \
                and isinstance(data[2], (int, float)) and not isinstance(data[2], bool) and math.isfinite(data[2]):
            self._full_saved = (data[0], data[1], float(data[2]))

    def _apply_full(self, now: float) -> None:
        today, yesterday, until = self._full_saved
        self._full_saved = None
        if now < until and self._set < 0.0:
            # the same day: the sun's times are worked out from here on, and the day ends at ``until``
            self._full_today, self.out.full_yesterday, self._set = today, yesterday, until
        elif until <= now < until + 86400.0:
            # the day it was saved in ended while the console was down
            self._full_today, self.out.full_yesterday, self._set = False, today, math.inf

    def _surplus(self, pv_wh: float, load_w: float, now: float, rise: float, x: float) -> tuple[float, float]:
        """(Wh of PV above ``load_w``, seconds above) to sunset: on the afternoon's fade from the PV
        measured now when it applies, else on the sine."""
        p0 = self._pv
        if x >= FADE_FROM_X and p0 is not None and pv_wh > 0.0:
            r = _fade(pv_wh, p0, load_w, self._set - now)
            if r is not None:
                return r
        return _above(pv_wh, load_w, now, rise, self._set)


    def _surplus_pair(self, pv_wh: float, load_w: float, min_w: float, now: float, rise: float,
                      x: float) -> tuple[float, tuple[float, float] | None]:
        """``_surplus`` above ``load_w`` (Wh) and, when ``min_w`` > 0 and that is > 0, above
        ``load_w + min_w`` (Wh, s): the same arithmetic, the curve's shape worked out once."""
        sset = self._set
        p0 = self._pv
        if x >= FADE_FROM_X and p0 is not None and pv_wh > 0.0:
            left_s = sset - now
            T = left_s / 3600.0
            if T <= 0.0:
                return 0.0, None
            a = p0 * T / pv_wh - 1.0
            if a >= FADE_A_MIN:
                if a > FADE_A_MAX:
                    a = FADE_A_MAX
                    p0 = pv_wh * (a + 1.0) / T
                wh = _fade_at(pv_wh, p0, a, T, left_s, load_w)[0]
                if min_w > 0.0 and wh > 0.0:
                    return wh, _fade_at(pv_wh, p0, a, T, left_s, load_w + min_w)
                return wh, None
        length = sset - rise
        if pv_wh <= 0.0 or length <= 0.0 or now >= sset:
            return 0.0, None
        u = (now - rise) / length
        if u < 0.0:
            u = 0.0
        tail = 1.0 + _cos(_PI * u)
        if tail <= 1e-9:
            return 0.0, None
        peak = pv_wh * 3600.0 * _PI / (length * tail)
        wh = _sine_at(pv_wh, peak, u, length, load_w)[0]
        if min_w > 0.0 and wh > 0.0:
            return wh, _sine_at(pv_wh, peak, u, length, load_w + min_w)
        return wh, None


def _ema(avg: float | None, since: float, value: float, now: float, tau_s: float) -> float:
    """``avg`` moved towards ``value`` by the time since ``since`` over ``tau_s`` (at most all the way)."""
    if avg is None:
        return value
    a = (now - since) / tau_s
    if a > 0.0:
        avg += (value - avg) * (a if a < 1.0 else 1.0)
    return avg


def _fade(pv_wh: float, p0_w: float, load_w: float, left_s: float) -> tuple[float, float] | None:
    """(Wh of PV above ``load_w``, seconds above) if the ``pv_wh`` still to come fades from ``p0_w``
    now to 0 at sunset as p0 (1 - u)^a, u the share of the time left (a from the energy: the curve
    holds ``pv_wh``). None when it would fall slower than linearly (a < FADE_A_MIN: a cloud now, or
    the forecast expects more than the PV now can fade out with): the sine then stands in."""
    T = left_s / 3600.0
    if T <= 0.0:
        return 0.0, 0.0
    a = p0_w * T / pv_wh - 1.0
    if a < FADE_A_MIN:
        return None
    if a > FADE_A_MAX:
        a = FADE_A_MAX
        p0_w = pv_wh * (a + 1.0) / T
    return _fade_at(pv_wh, p0_w, a, T, left_s, load_w)


def _fade_at(pv_wh: float, p0_w: float, a: float, T: float, left_s: float, load_w: float) -> tuple[float, float]:
    """_fade's answer for one load, its curve (p0, a over T h) already worked out."""
    if load_w <= 0.0:
        return pv_wh, left_s
    if load_w >= p0_w:
        return 0.0, 0.0
    v = (load_w / p0_w) ** (1.0 / a)          # (1 - u) where the curve meets the load
    uc = 1.0 - v
    wh = pv_wh * (1.0 - v ** (a + 1.0)) - load_w * uc * T
    return (wh if wh > 0.0 else 0.0), uc * left_s


def surplus_left(pv_wh: float, load_w: float, now: float, rise: float, sset: float) -> float:
    """Wh of PV above ``load_w`` from ``now`` to sunset, if the ``pv_wh`` still to come follows
    p(u) = P sin(pi u), u = (t - sunrise) / daylength."""
    return _above(pv_wh, load_w, now, rise, sset)[0]


def _above(pv_wh: float, load_w: float, now: float, rise: float, sset: float) -> tuple[float, float]:
    """(Wh of PV above ``load_w``, seconds it is above) from ``now`` to sunset, on the sine."""
    length = sset - rise
    if pv_wh <= 0.0 or length <= 0.0 or now >= sset:
        return 0.0, 0.0
    x = (now - rise) / length
    if x < 0.0:
        x = 0.0
    # energy left in the curve from u = x: P * length / pi * (1 + cos(pi x))
    tail = 1.0 + _cos(_PI * x)
    if tail <= 1e-9:
        return 0.0, 0.0
    return _sine_at(pv_wh, pv_wh * 3600.0 * _PI / (length * tail), x, length, load_w)   # (peak P, in W)


def _sine_at(pv_wh: float, peak: float, x: float, length: float, load_w: float) -> tuple[float, float]:
    """_above's answer for one load, its sine (peak W, from x over length s) already worked out."""
    if load_w <= 0.0:
        return pv_wh, (1.0 - x) * length
    if load_w >= peak:
        return 0.0, 0.0
    u1 = _asin(load_w / peak) / _PI
    u2 = 1.0 - u1
    a = x if x > u1 else u1
    if a >= u2:
        return 0.0, 0.0
    wh = (peak / _PI * (_cos(_PI * a) - _cos(_PI * u2)) - load_w * (u2 - a)) * length / 3600.0
    return (wh if wh > 0.0 else 0.0), (u2 - a) * length
