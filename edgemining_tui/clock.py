"""Clocks injected into the engine: the wall clock live, a virtual one in tests and replay."""
from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (UTC)."""

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Time moves only when someone sleeps or calls advance(), so a day replays in milliseconds."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += max(0.0, seconds)

    def set(self, ts: float) -> None:
        self._now = float(ts)

    async def sleep(self, seconds: float) -> None:
        self._now += max(0.0, seconds)
        # let other tasks run, as a real sleep would
        await asyncio.sleep(0)
