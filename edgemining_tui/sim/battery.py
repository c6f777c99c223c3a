"""A home battery in self-consumption mode: it soaks up export and covers import within its limits."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..config.types import Energy, Percent, Power, bounded


@dataclass(frozen=True)
class BatteryConfig:
    capacity: bounded(Energy, 0, 1_000_000) = 10000.0          # Wh
    max_charge: bounded(Power, 0, 100_000) = 5000.0          # W
    max_discharge: bounded(Power, 0, 100_000) = 5000.0       # W
    min_soc: Percent = 10.0
    round_trip_efficiency: Percent = 90.0
    initial_soc: Percent = 50.0

    def validate(self) -> None:
        if self.capacity < 0:
            raise ValueError("capacity: must be zero (no battery) or more")
        if self.initial_soc < self.min_soc:
            raise ValueError("initial_soc: must not be below min_soc")
        if self.round_trip_efficiency <= 0:
            raise ValueError("round_trip_efficiency: must be above 0 %")


class Battery:
    __slots__ = ("cfg", "soc_wh", "_eff_in", "_eff_out", "_min_wh", "_cap")

    def __init__(self, cfg: BatteryConfig) -> None:
        self.cfg = cfg
        self._cap = cfg.capacity
        self.soc_wh = cfg.capacity * cfg.initial_soc / 100.0
        # split the round-trip loss evenly between charging and discharging
        eff = math.sqrt(cfg.round_trip_efficiency / 100.0)
        self._eff_in = eff
        self._eff_out = eff
        self._min_wh = cfg.capacity * cfg.min_soc / 100.0

    @property
    def soc_pct(self) -> float:
        return 100.0 * self.soc_wh / self._cap if self._cap > 0 else 0.0

    def settle(self, net_w: float, dt_s: float) -> float:
        """Given the site's surplus ``net_w`` (+ export before battery), return battery_charge_w.

        Positive: the battery charges with that power; negative: it discharges.
        """
        return self.settler(dt_s)(net_w)

    def settler(self, dt_s: float) -> Callable[[float], float]:
        """``settle(net_w)`` for one fixed step, its constants bound once (a replay settles three
        batteries every tick): it charges with the least of the surplus, the charge limit and the
        room left, and discharges the least of the shortfall, the limit and what is above min_soc."""
        if self._cap <= 0 or dt_s <= 0:
            return _no_flow
        h = dt_s / 3600.0
        cap, eff_in, eff_out, min_wh = self._cap, self._eff_in, self._eff_out, self._min_wh
        h_in = h * eff_in
        max_ch, max_dis = self.cfg.max_charge, self.cfg.max_discharge

        def settle(net_w: float) -> float:
            if net_w > 0.0:
                p = net_w
                if max_ch < p:
                    p = max_ch
                room_w = (cap - self.soc_wh) / h_in
                if room_w < p:
                    p = room_w
                if p < 0.0:
                    p = 0.0
                self.soc_wh += p * h * eff_in
                return p
            if net_w < 0.0:
                p = -net_w
                if max_dis < p:
                    p = max_dis
                avail_w = (self.soc_wh - min_wh) * eff_out / h
                if avail_w < p:
                    p = avail_w
                if p < 0.0:
                    p = 0.0
                self.soc_wh -= p * h / eff_out
                return -p
            return 0.0
        return settle


def _no_flow(net_w: float) -> float:
    return 0.0
