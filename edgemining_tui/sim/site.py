"""The simulated site: PV with passing clouds, a house with spikes, a battery, a balancing grid meter.

Deterministic for a given seed and time, so the demo, the tests and the backtest agree.
Miners' real draw is fed back in by the caller on every step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..config.types import Power, bounded
from .battery import Battery, BatteryConfig
from .state import SiteState


@dataclass(frozen=True)
class SimSiteConfig:
    pv_peak: bounded(Power, 0, 100_000) = 8000.0
    house_base: bounded(Power, 0, 100_000) = 350.0
    latitude: float = 47.0
    cloudiness: float = 0.35          # 0 clear .. 1 overcast; daily weather varies around it
    temp_out_c: bounded(float, -50, 60, unit=' °C') = 8.0
    seed: int = 7
    battery: BatteryConfig = field(default_factory=BatteryConfig)

    def validate(self) -> None:
        if not 0 <= self.cloudiness <= 1:
            raise ValueError("cloudiness: expected 0..1")
        if not -90 <= self.latitude <= 90:
            raise ValueError("latitude: expected -90..90")


def _hash01(*parts: int) -> float:
    """A cheap deterministic pseudo-random number in [0, 1) from integers."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x ^= (p + 0x632BE59BD9B4E019 + (x << 6) + (x >> 2)) & 0xFFFFFFFFFFFFFFFF
        x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    return (x & 0xFFFFFFFF) / 2**32


class SimSite:
    def __init__(self, cfg: SimSiteConfig, tz_offset_s: float = 0.0) -> None:
        self.cfg = cfg
        self.battery = Battery(cfg.battery)
        self.tz_offset_s = tz_offset_s
        self._last_ts: float | None = None
        self.state: SiteState | None = None
        # extra load/offsets that tests and fault scenarios can inject
        self.grid_offset_w = 0.0
        self.pv_override_w: float | None = None
        self.rooms: dict = {}
        self._day_cache: dict[int, tuple[float, float, float]] = {}   # day -> _day_params (cfg is frozen)

    def add_room(self, name: str, model) -> None:
        from .room import Room
        self.rooms[name] = Room(model)

    # --- generators ------------------------------------------------------------------------
    def _day_params(self, local: float) -> tuple[float, float, float]:
        day = int(local // 86400)
        # one day's values: a step asks for them ~35 times (the forecast sums the clear sky over
        # the rest of the day), and they were a tenth of the demo console's CPU at a 1 s cycle
        hit = self._day_cache.get(day)
        if hit is None:
            if len(self._day_cache) > 8:
                self._day_cache.clear()
            hit = self._day_cache[day] = self._compute_day_params(local, day)
        return hit

    def _compute_day_params(self, local: float, day: int) -> tuple[float, float, float]:
        doy = datetime.fromtimestamp(local, timezone.utc).timetuple().tm_yday
        decl = 23.44 * math.sin(math.radians(360 / 365 * (doy - 81)))
        lat = math.radians(self.cfg.latitude)
        cos_h = -math.tan(lat) * math.tan(math.radians(decl))
        cos_h = min(1.0, max(-1.0, cos_h))
        daylen_h = 2 * math.degrees(math.acos(cos_h)) / 15
        # seasonal peak: lower sun in winter
        season = 0.55 + 0.45 * max(0.0, math.cos(lat - math.radians(decl)))
        weather = min(1.0, max(0.0, self.cfg.cloudiness + (_hash01(self.cfg.seed, day) - 0.5) * 0.8))
        return daylen_h, season, weather

    def clear_sky_w(self, ts: float) -> float:
        local = ts + self.tz_offset_s
        daylen_h, season, _ = self._day_params(local)
        hour = (local % 86400) / 3600.0
        rise = 12 - daylen_h / 2
        x = (hour - rise) / daylen_h
        if x <= 0 or x >= 1:
            return 0.0
        return self.cfg.pv_peak * season * math.sin(math.pi * x) ** 1.3

    def pv_w(self, ts: float) -> float:
        if self.pv_override_w is not None:
            return self.pv_override_w
        clear = self.clear_sky_w(ts)
        if clear <= 0:
            return 0.0
        local = ts + self.tz_offset_s
        _, _, weather = self._day_params(local)
        # clouds pass in 1-5 minute dips; a dip's depth grows with the day's cloudiness
        minute = int(local // 60)
        block = minute // 5
        r = _hash01(self.cfg.seed, 11, block)
        dip = 0.0
        if r < weather:
            start = int(_hash01(self.cfg.seed, 12, block) * 4)
            length = 1 + int(_hash01(self.cfg.seed, 13, block) * 4)
            pos = minute % 5
            if start <= pos < start + length:
                dip = 0.35 + 0.55 * _hash01(self.cfg.seed, 14, block)
        haze = 1.0 - 0.5 * weather
        return clear * haze * (1.0 - dip)

    def house_w(self, ts: float) -> float:
        local = ts + self.tz_offset_s
        hour = (local % 86400) / 3600.0
        base = self.cfg.house_base
        profile = base * (1.0 + 0.8 * math.exp(-((hour - 7.5) ** 2) / 2) + 1.4 * math.exp(-((hour - 19) ** 2) / 4))
        # appliance spikes: a kettle or oven for a few minutes now and then
        block = int(local // 600)
        if _hash01(self.cfg.seed, 21, block) < 0.12:
            pos = (local % 600) / 60
            if pos < 2 + 6 * _hash01(self.cfg.seed, 22, block):
                profile += 1200 + 1500 * _hash01(self.cfg.seed, 23, block)
        return profile

    def temp_out_c(self, ts: float) -> float:
        local = ts + self.tz_offset_s
        hour = (local % 86400) / 3600.0
        return self.cfg.temp_out_c + 4.0 * math.sin(math.pi * (hour - 9) / 12)

    def forecast(self, ts: float) -> tuple[float, float, float]:
        """(power now, energy next hour, energy rest of today) from the clear sky and the day's weather."""
        local = ts + self.tz_offset_s
        _, _, weather = self._day_params(local)
        k = 1.0 - 0.55 * weather
        now_w = self.clear_sky_w(ts) * k
        nxt = sum(self.clear_sky_w(ts + i * 600) for i in range(6)) / 6 * k
        end_of_day = ts + (86400 - local % 86400)
        steps = max(0, int((end_of_day - ts) // 1800))
        rest = sum(self.clear_sky_w(ts + i * 1800) for i in range(steps)) * 0.5 * k
        return now_w, nxt, rest

    # --- stepping --------------------------------------------------------------------------
    def step(self, ts: float, miners_w: float, zone_heat_w: dict[str, float] | None = None) -> SiteState:
        dt = 0.0 if self._last_ts is None else max(0.0, ts - self._last_ts)
        self._last_ts = ts
        pv = self.pv_w(ts)
        house = self.house_w(ts)
        charge = self.battery.settle(pv - house - miners_w, dt) if dt > 0 else (
            self.state.battery_charge_w if self.state else 0.0)
        grid = house + miners_w + charge - pv + self.grid_offset_w
        f_now, f_hour, f_rest = self.forecast(ts)
        t_out = self.temp_out_c(ts)
        rooms_c = {}
        for name, room in self.rooms.items():
            rooms_c[name] = room.step(dt, (zone_heat_w or {}).get(name, 0.0), t_out)
        self.state = SiteState(ts=ts, pv_w=pv, house_w=house, miners_w=miners_w, battery_charge_w=charge,
                               battery_soc_pct=self.battery.soc_pct, grid_import_w=grid,
                               temp_out_c=t_out, pv_forecast_w=f_now,
                               pv_forecast_next_hour_wh=f_hour, pv_forecast_rest_of_day_wh=f_rest,
                               rooms_c=rooms_c)
        return self.state
