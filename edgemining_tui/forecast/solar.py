"""Where the sun is and what a clear sky puts on a tilted array. Pure Python, no downloads.

- Solar position: the Astronomical Almanac's low-precision formulas (about 0.01° in declination,
  good enough for a forecast whose error is the weather).
- Clear sky: Meinel's beam model with Kasten-Young air mass for the direct normal irradiance, a
  diffuse share of 10 % of it (the usual clear-day ratio), and the isotropic sky plus ground
  reflection (albedo 0.2) to bring both onto the array's plane.
- Array: ``peak_w`` under 1000 W/m², less ``losses`` (inverter, wiring, heat, soiling).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.types import Percent, Power, bounded

_RAD = math.pi / 180.0
J2000 = 946728000.0          # 2000-01-01 12:00 UTC
SOLAR_W_M2 = 1353.0


@dataclass(frozen=True)
class PvArray:
    """``site.pv_array``: the PV array for the built-in forecast. ``peak`` None: learnt from history."""

    peak: bounded(Power, 0, 1_000_000, above=True) | None = None     # kWp as watts, e.g. 8kW
    tilt: float = 30.0            # degrees from horizontal
    azimuth: float = 180.0        # degrees from north, clockwise: 180 = south, 90 = east
    losses: Percent = 14.0

    def validate(self) -> None:
        if self.peak is not None and self.peak <= 0:
            raise ValueError("peak: must be positive (the array's kWp), or leave it out to learn it")
        if not 0 <= self.tilt <= 90:
            raise ValueError("tilt: expected 0..90 degrees from horizontal")
        if not 0 <= self.azimuth <= 360:
            raise ValueError("azimuth: expected 0..360 degrees from north (180 = south)")
        if not 0 <= self.losses < 100:
            raise ValueError("losses: expected 0 % or more and under 100 %")


def sun_position(ts: float, lat: float, lon: float) -> tuple[float, float]:
    """(cos of the zenith angle, azimuth in radians from north, clockwise) at UTC ``ts``."""
    d = (ts - J2000) / 86400.0
    g = (357.529 + 0.98560028 * d) * _RAD
    q = 280.459 + 0.98564736 * d
    lam = (q + 1.915 * math.sin(g) + 0.020 * math.sin(2 * g)) * _RAD
    eps = (23.439 - 0.00000036 * d) * _RAD
    ra = math.atan2(math.cos(eps) * math.sin(lam), math.cos(lam))
    dec = math.asin(math.sin(eps) * math.sin(lam))
    gmst = (18.697374558 + 24.06570982441908 * d) % 24.0
    h = gmst * 15.0 * _RAD + lon * _RAD - ra
    la = lat * _RAD
    cosz = math.sin(la) * math.sin(dec) + math.cos(la) * math.cos(dec) * math.cos(h)
    az = math.atan2(-math.sin(h), math.tan(dec) * math.cos(la) - math.sin(la) * math.cos(h))
    return cosz, az % (2 * math.pi)


class ClearSky:
    """Clear-sky power of one array at one site, W."""

    __slots__ = ("lat", "lon", "st", "ct", "az", "peak", "derate")

    def __init__(self, lat: float, lon: float, array: PvArray, peak_w: float) -> None:
        self.lat, self.lon = lat, lon
        self.st = math.sin(array.tilt * _RAD)
        self.ct = math.cos(array.tilt * _RAD)
        self.az = array.azimuth * _RAD
        self.peak = peak_w
        self.derate = 1.0 - array.losses / 100.0

    def poa_w_m2(self, ts: float) -> float:
        cosz, saz = sun_position(ts, self.lat, self.lon)
        if cosz <= 0.01:
            return 0.0
        zen = math.acos(cosz)
        am = 1.0 / (cosz + 0.50572 * (96.07995 - zen / _RAD) ** -1.6364)
        dni = SOLAR_W_M2 * 0.7 ** (am ** 0.678)
        dhi = 0.1 * dni
        ghi = dni * cosz + dhi
        sinz = math.sqrt(1.0 - cosz * cosz)
        cos_aoi = cosz * self.ct + sinz * self.st * math.cos(saz - self.az)
        beam = dni * cos_aoi if cos_aoi > 0 else 0.0
        return beam + dhi * (1.0 + self.ct) / 2.0 + ghi * 0.2 * (1.0 - self.ct) / 2.0

    def power_w(self, ts: float) -> float:
        return self.peak * self.derate * self.poa_w_m2(ts) / 1000.0
