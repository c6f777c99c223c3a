"""Push that acts: a pushed value that moves the surplus by more than a threshold wakes the engine.

Sources that receive changes as they happen (:class:`~edgemining_tui.energy.source.PushSource`)
call the trigger with each new canonical value. It compares the value with the one the last cycle
decided on; a change of at least ``threshold_w`` schedules one extra cycle after ``debounce_s`` (the
three phases of a meter, or PV and grid moving together, arrive within milliseconds and make one
decision), and push-woken cycles are at least ``min_gap_s`` apart, so a noisy meter cannot make
the engine poll the miners continuously.

The debounce runs on the event loop's time, not the engine's injected clock: pushes are real-time
events, and sleeping on a virtual clock would move the replayed time from a background task.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Callable

from ..energy.snapshot import POWER_FIELDS, EnergySnapshot

log = logging.getLogger("edgemining_tui.engine.push")


class PushTrigger:
    def __init__(self, wake: Callable[[], None], *, threshold_w: float = 150.0,
                 debounce_s: float = 0.2, min_gap_s: float = 1.0) -> None:
        self.wake = wake
        self.threshold_w = threshold_w
        self.debounce_s = debounce_s
        self.min_gap_s = min_gap_s
        self._last: dict[str, float | None] = {}
        self._task: asyncio.Task | None = None
        self._last_fire = float("-inf")
        self.due = False                    # a push woke the engine and no cycle has read since
        self.fired = 0                      # push-woken cycles (for the console and benchmarks)

    def baseline(self, snapshot: EnergySnapshot) -> None:
        """The values the cycle about to decide has read (as the source reports them)."""
        self._last = {f: snapshot.value(f) for f in POWER_FIELDS}

    def begin(self) -> None:
        """A cycle starts reading: what woke it is being handled (a push after this wakes again)."""
        self.due = False

    def __call__(self, field: str, value: float | None) -> None:
        if field not in POWER_FIELDS or value is None or self.threshold_w <= 0:
            return
        last = self._last.get(field)
        if last is not None and abs(value - last) < self.threshold_w:
            return
        if self._task is not None and not self._task.done():
            return                          # already scheduled: this change rides along
        try:
            self._task = asyncio.get_running_loop().create_task(self._fire(), name="push-wake")
        except RuntimeError:                # no loop (a source fed synchronously in a test)
            return

    async def _fire(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(self.debounce_s, self._last_fire + self.min_gap_s - loop.time()))
        self._last_fire = loop.time()
        self.fired += 1
        self.due = True
        self.wake()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
