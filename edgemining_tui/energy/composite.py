"""A snapshot put together from several named sources (``sources:`` + ``use:`` in config).

PV may come from the inverter, the grid from a Shelly meter, the battery from the GX and the
forecast from Home Assistant. Each Reading keeps its own source name, time and error.
"""
from __future__ import annotations

import asyncio
import logging

from ..clock import Clock
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, absent, missing
from .source import EnergySource, PushListener, PushSource

log = logging.getLogger("edgemining_tui.energy")


class CompositeSource:
    def __init__(self, sources: dict[str, EnergySource], use: dict[str, str | None],
                 forecast_from: str | None, clock: Clock, name: str = "composite") -> None:
        self.sources = dict(sources)
        self.use = {f: use.get(f) for f in ALL_FIELDS}
        self.forecast_from = forecast_from
        self.clock = clock
        self.name = name

    def _needed(self) -> list[str]:
        names = {n for n in self.use.values() if n} | ({self.forecast_from} if self.forecast_from else set())
        return [n for n in self.sources if n in names]

    def set_push_listener(self, listener: PushListener | None) -> None:
        """Forward each sub-source's pushes for the values this composition takes from it."""
        for name, src in self.sources.items():
            if not isinstance(src, PushSource):
                continue
            mine = {f for f, n in self.use.items() if n == name}
            if listener is None or not mine:
                src.set_push_listener(None)
            else:
                src.set_push_listener(lambda f, v, mine=mine: listener(f, v) if f in mine else None)

    async def start(self) -> None:
        await asyncio.gather(*(self.sources[n].start() for n in self._needed()))

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self.sources.values()), return_exceptions=True)

    async def _read_one(self, name: str) -> EnergySnapshot:
        try:
            return await self.sources[name].read()
        except Exception as e:   # read() must never raise; if an adapter does, it is a visible error
            log.exception("energy source %s raised", name)
            return EnergySnapshot.empty(self.clock.now(), name, f"{name} failed: {type(e).__name__}: {e}")

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        names = self._needed()
        snaps = dict(zip(names, await asyncio.gather(*(self._read_one(n) for n in names))))
        values: dict[str, Reading] = {}
        for f in ALL_FIELDS:
            src = self.use[f]
            values[f] = getattr(snaps[src], f) if src else missing(now, self.name, f"no source is used for {f}")
        forecast = dict(snaps[self.forecast_from].forecast) if self.forecast_from else {}
        return EnergySnapshot(ts=now, forecast=forecast, **values)


class WithoutBattery:
    """``policy.battery.present: false``: the owner says the site has no battery, so whatever a
    source reports for one (a GEN24's disabled input at SoC 0 %, a stale entity) is "no battery"
    for everyone downstream — decisions, rules, screens and history alike."""

    REASON = "no battery (battery.present: false)"

    def __init__(self, inner: EnergySource) -> None:
        self.inner = inner
        self.name = inner.name

    def __getattr__(self, attr: str):
        # what else the wrapped adapter offers (connected, keepalives, ...) stays reachable
        return getattr(self.inner, attr)

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def read(self) -> EnergySnapshot:
        snap = await self.inner.read()
        gone = absent(snap.ts, snap.battery_charge_w.source or self.name, self.REASON)
        return snap.with_values(battery_charge_w=gone, battery_soc_pct=gone)
