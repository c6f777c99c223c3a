"""Fit a power budget to what a miner can actually do: a stepped target, a level, or all-or-nothing."""
from __future__ import annotations

import math

from ..miners.model import Capabilities

CONTINUOUS = 0
LEVELS = 1
ON_OFF = 2


class Ladder:
    """A miner's feasible operating points, precomputed once per Capabilities (hot path: ``fit``)."""

    __slots__ = ("kind", "lo", "hi", "step", "levels", "names", "idle", "name_of", "tol")

    def __init__(self, caps: Capabilities) -> None:
        self.idle = float(caps.idle_w or 0.0)
        if caps.power_target and caps.max_w > 0:
            self.kind = CONTINUOUS
            self.lo = float(caps.min_w)
            self.hi = float(caps.max_w)
            self.step = float(caps.step_w) if caps.step_w and caps.step_w > 0 else 0.0
            self.levels: tuple[float, ...] = ()
            self.names: tuple[str, ...] = ()
        elif caps.levels:
            self.kind = LEVELS
            lv = sorted(caps.levels, key=lambda x: x.watts)
            self.levels = tuple(float(x.watts) for x in lv)
            self.names = tuple(x.name for x in lv)
            self.lo, self.hi, self.step = self.levels[0], self.levels[-1], 0.0
        else:
            self.kind = ON_OFF
            self.lo = self.hi = float(caps.max_w)
            self.step = 0.0
            self.levels, self.names = (), ()
        # two targets within this are the same operating point (``same``, asked every cycle)
        self.tol = self.step / 2 if self.step else 1.0
        # a level's name by its watts in one lookup (the allocator names every slot's target every
        # cycle); the first level with those watts wins
        self.name_of: dict[float, str] = {}
        if self.kind == LEVELS:
            for w, n in zip(self.levels, self.names):
                self.name_of.setdefault(w, n)

    def fit(self, budget: float) -> float | None:
        """The highest operating point <= budget (quantised down to the step), None if even the lowest doesn't fit."""
        if budget < self.lo:
            return None
        if self.kind == CONTINUOUS:
            if budget >= self.hi:
                return self.hi
            if self.step:
                q = math.floor(budget / self.step + 1e-9) * self.step
                return q if q >= self.lo else self.lo
            return max(self.lo, float(int(budget)))   # whole watts, never below a fractional minimum
        if self.kind == LEVELS:
            best = self.lo
            for w in self.levels:
                if w <= budget:
                    best = w
                else:
                    break
            return best
        return self.hi

    def level_name(self, watts: float | None) -> str | None:
        return None if watts is None else self.name_of.get(watts)

    def watts_of_level(self, name: str | None) -> float | None:
        if name is None:
            return None
        for w, n in zip(self.levels, self.names):
            if n == name:
                return w
        return None

    def snap(self, watts: float) -> float:
        """The operating point nearest below ``watts`` but never below the lowest (for fixed-power overrides)."""
        f = self.fit(watts)
        return self.lo if f is None else f

    def same(self, a: float | None, b: float | None) -> bool:
        """Whether two targets are the same operating point (within half a step, or 1 W)."""
        if a is None or b is None:
            return a is b
        if abs(a - b) <= self.tol:       # (a comparison the interpreter specialises: a jump follows)
            return True
        return False
