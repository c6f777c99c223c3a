"""A first-order thermal model of a room: loses heat to outdoors, gains it from miners."""
from __future__ import annotations

import math

from ..heat.config import RoomModel


class Room:
    __slots__ = ("ua", "c_j_per_k", "other_w", "temp_c")

    def __init__(self, model: RoomModel) -> None:
        self.ua = model.heat_loss_w_per_k
        self.c_j_per_k = model.thermal_mass_wh_per_k * 3600.0
        self.other_w = model.other_heat_w
        self.temp_c = model.initial_c

    def step(self, dt_s: float, heat_w: float, outdoor_c: float) -> float:
        """Advance by dt with constant inputs (exact solution, so large steps stay stable)."""
        if dt_s <= 0:
            return self.temp_c
        t_eq = outdoor_c + (heat_w + self.other_w) / self.ua
        k = math.exp(-self.ua * dt_s / self.c_j_per_k)
        self.temp_c = t_eq + (self.temp_c - t_eq) * k
        return self.temp_c
