"""``policy.headroom: auto``: the margin the allocator keeps unused, from the grid reading's noise.

A fixed 100 W (evcc's advice) leans to export on a site whose meter swings by hundreds of watts
and wastes 100 W all day on a site whose battery settles the grid to within a few watts. With a
battery the battery absorbs what the miners' target misses by, so the margin only needs to cover
how much the reading jumps between cycles when nothing changes: twice the running **median** of
|Δ grid| (a kettle or a passing cloud is one sample, not the median), between 10 W and 100 W. A
power-target miner then soaks up what is left down to its step (the allocator quantises its target
down); as that leaves half a step unused on average, half the running power-target miner's step
comes off the margin (still at least 10 W). Without a battery every miss is grid import: 100 W.

The median is tracked without a window (a stochastic median: each sample nudges it up or down by a
small share), so it costs two comparisons a cycle.
"""
from __future__ import annotations

NO_BATTERY_W = 100.0
MIN_W = 10.0
MAX_W = 100.0
NUDGE = 0.05


class AdaptiveHeadroom:
    __slots__ = ("median_w", "_last")

    def __init__(self) -> None:
        self.median_w = MAX_W / 2.0
        self._last: float | None = None

    def update(self, grid_w: float | None, battery: bool, step_w: float = 0.0) -> float:
        """Feed this cycle's grid reading; returns the headroom to keep, W. ``step_w``: the step of
        the running power-target miner (0: none): its target is quantised down, so on average half
        a step already stays unused, and the margin need not keep it twice."""
        if grid_w is not None:
            last = self._last
            self._last = grid_w
            if last is not None:
                d = grid_w - last
                if d < 0.0:
                    d = -d
                m = self.median_w
                step = NUDGE * (m if m > 1.0 else 1.0)
                self.median_w = m + step if d > m else m - step if m > step else m
        if not battery:
            return NO_BATTERY_W
        h = 2.0 * self.median_w - 0.5 * step_w
        return MIN_W if h < MIN_W else MAX_W if h > MAX_W else h
