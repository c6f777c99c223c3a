"""Sun times and position for the decision context, from latitude/longitude via astral.

Everything is aware and in the site timezone, computed for the date *now* falls on (Edge Mining
froze its Sun at import time; here each date is computed once and cached, and the position is
computed for the instant asked). Polar day/night: the missing events are ``None`` (unknown).

``astral`` is imported lazily so that the engine imports without it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

_EVENTS = ("dawn", "sunrise", "noon", "midnight", "sunset", "dusk")


@dataclass(frozen=True, slots=True)
class SunDay:
    date: date
    dawn: datetime | None
    sunrise: datetime | None
    noon: datetime | None
    midnight: datetime | None
    sunset: datetime | None
    dusk: datetime | None
    polar: str | None = None      # "day" or "night" when the sun does not rise/set

    @property
    def daylight_s(self) -> float | None:
        if self.sunrise and self.sunset:
            return (self.sunset - self.sunrise).total_seconds()
        if self.polar == "day":
            return 86400.0
        if self.polar == "night":
            return 0.0
        return None

    @property
    def night_s(self) -> float | None:
        d = self.daylight_s
        return None if d is None else 86400.0 - d

    @property
    def twilight_s(self) -> float | None:
        if self.dawn and self.sunrise:
            return (self.sunrise - self.dawn).total_seconds()
        return None


class SunCalculator:
    """Sun events for a place, cached per local date; position on demand."""

    def __init__(self, latitude: float, longitude: float, tz: tzinfo, elevation_m: float = 0.0,
                 cache_days: int = 8) -> None:
        try:
            from astral import Observer
            from astral import sun as _sun
        except ImportError as e:  # pragma: no cover - astral is a dependency
            raise RuntimeError("sun times need the 'astral' package (pip install astral)") from e
        if not -90.0 <= latitude <= 90.0 or not -180.0 <= longitude <= 180.0:
            raise ValueError(f"latitude/longitude out of range: {latitude}, {longitude}")
        self._astral = _sun
        self.observer = Observer(latitude=latitude, longitude=longitude, elevation=elevation_m)
        self.tz = tz
        self._days: dict[date, SunDay] = {}
        self._cache_days = cache_days

    def day(self, d: date) -> SunDay:
        got = self._days.get(d)
        if got is not None:
            return got
        s = self._astral
        vals: dict[str, datetime | None] = {}
        for name in _EVENTS:
            try:
                vals[name] = getattr(s, name)(self.observer, d, tzinfo=self.tz)
            except ValueError:   # the sun never reaches that depression/elevation today
                vals[name] = None
        polar = None
        if vals["sunrise"] is None or vals["sunset"] is None:
            noon = vals["noon"] or datetime(d.year, d.month, d.day, 12, tzinfo=self.tz)
            polar = "day" if self.elevation(noon) > 0 else "night"
        out = SunDay(d, polar=polar, **vals)
        if len(self._days) >= self._cache_days:
            self._days.pop(next(iter(self._days)))
        self._days[d] = out
        return out

    def today(self, now: datetime) -> SunDay:
        return self.day(now.astimezone(self.tz).date())

    def elevation(self, when: datetime) -> float:
        return float(self._astral.elevation(self.observer, when))

    def azimuth(self, when: datetime) -> float:
        return float(self._astral.azimuth(self.observer, when))

    def zenith(self, when: datetime) -> float:
        return float(self._astral.zenith(self.observer, when))

    def is_daylight(self, when: datetime) -> bool:
        day = self.today(when)
        if day.sunrise is not None and day.sunset is not None:
            return day.sunrise <= when < day.sunset
        return day.polar == "day"

    def seconds_until(self, when: datetime, event: str) -> float | None:
        t = getattr(self.today(when), event)
        return None if t is None else (t - when).total_seconds()


def span(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def next_event(sun: SunCalculator, tz: tzinfo, event: str):
    """A function now -> the next ``event`` ("sunset", "sunrise", ...) after now, as a timestamp:
    tomorrow's once today's has passed (overrides "until sunset")."""
    def fn(now: float) -> float | None:
        local = datetime.fromtimestamp(now, tz)
        for days in (0, 1, 2):
            t = getattr(sun.day(local.date() + timedelta(days=days)), event)
            if t is not None and t.timestamp() > now:
                return t.timestamp()
        return None
    return fn
