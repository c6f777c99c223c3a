"""Synthetic traces from the simulated site (sim/site.py): PV with 1–5 min cloud dips, a house
with a morning and evening peak and appliance spikes. Makes examples/week.csv and the benchmark's
year. Deterministic for a given seed.

    python -m edgemining_tui.backtest.tracegen examples/week.csv      # the sample week
"""
from __future__ import annotations

import sys
from array import array
from datetime import datetime
from zoneinfo import ZoneInfo

from ..sim.site import SimSite, SimSiteConfig
from .trace import Trace, write_trace

# the sample week: a day's cloudiness (0 clear .. 1 overcast)
WEEK_WEATHER = (0.05, 0.45, 0.85, 0.10, 0.55, 0.70, 0.20)
WEEK_START = "2024-05-13T00:00:00"
WEEK_TZ = "Europe/Berlin"


class _WeatherSite(SimSite):
    """SimSite with the day's cloudiness given per day instead of drawn around one value."""

    def __init__(self, cfg: SimSiteConfig, tz_offset_s: float, day0: int, weather: tuple[float, ...] | None):
        super().__init__(cfg, tz_offset_s)
        self._day0 = day0
        self._weather = weather

    def _compute_day_params(self, local: float, day: int) -> tuple[float, float, float]:
        daylen, season, weather = super()._compute_day_params(local, day)   # cached per day by SimSite
        if self._weather:
            weather = self._weather[(day - self._day0) % len(self._weather)]
        return daylen, season, weather


def generate(start: str | datetime = WEEK_START, days: float = 7, step_s: float = 60.0, *,
             tz: str = WEEK_TZ, weather: tuple[float, ...] | None = WEEK_WEATHER, seed: int = 7,
             pv_peak_w: float = 8000.0, house_base_w: float = 350.0, latitude: float = 48.1,
             prices: bool = True, temp_out_c: float = 8.0) -> Trace:
    """A trace of ``days`` from local ``start`` at ``step_s``; ``weather`` None: SimSite's own."""
    zone = ZoneInfo(tz)
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    ts0 = start.timestamp()
    off = start.utcoffset().total_seconds()
    cfg = SimSiteConfig(pv_peak=pv_peak_w, house_base=house_base_w, latitude=latitude,
                        cloudiness=0.35, seed=seed, temp_out_c=temp_out_c)
    site = _WeatherSite(cfg, off, int((ts0 + off) // 86400), weather)
    n = int(round(days * 86400 / step_s))
    pv = array("d", bytes(8 * n))
    load = array("d", bytes(8 * n))
    temp = array("d", bytes(8 * n)) if prices else None
    pimp = array("d", bytes(8 * n)) if prices else None
    pexp = array("d", bytes(8 * n)) if prices else None
    # DST: keep the site's local time right across the change
    next_check = ts0
    for i in range(n):
        t = ts0 + i * step_s
        if t >= next_check:
            o = datetime.fromtimestamp(t, zone).utcoffset().total_seconds()
            site.tz_offset_s = o
            next_check = t + 3600.0
        pv[i] = round(site.pv_w(t), 1)
        load[i] = round(site.house_w(t), 1)
        if prices:
            temp[i] = round(site.temp_out_c(t), 1)
            hour = ((t + site.tz_offset_s) % 86400) / 3600.0
            pimp[i] = 0.34 if 7 <= hour < 21 else 0.26     # a two-rate tariff, per kWh
            pexp[i] = 0.08
    return Trace(ts0=ts0, step_s=step_s, pv_w=pv, load_w=load, temp_out_c=temp, price_import=pimp,
                 price_export=pexp, utc_offset_s=off, source="<generated>")


# a winter week for heat zones: short grey days around freezing
WINTER_START = "2024-01-15T00:00:00"
WINTER_WEATHER = (0.60, 0.90, 0.40, 0.80, 0.30, 0.95, 0.70)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    winter = "--winter" in argv
    argv = [a for a in argv if a != "--winter"]
    path = argv[0] if argv else ("examples/winter-week.csv" if winter else "examples/week.csv")
    tr = generate(WINTER_START, weather=WINTER_WEATHER, temp_out_c=1.0) if winter else generate()
    write_trace(path, tr, ZoneInfo(WEEK_TZ))
    print(f"wrote {len(tr)} rows to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
