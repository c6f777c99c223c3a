"""The built-in forecast behind any energy source: ``WithBuiltinForecast(source, forecast)`` reads
the source, feeds its PV reading to the forecast and fills the snapshot's forecast fields that the
source left empty (a sensor, when there is one, wins key by key)."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from ..energy.snapshot import EnergySnapshot
from .builtin import BuiltinForecast

HISTORY_DAYS = 14


class WithBuiltinForecast:
    """An EnergySource (energy/source.py) that adds the built-in PV forecast to another one."""

    def __init__(self, source: Any, forecast: BuiltinForecast) -> None:
        self.inner = source
        self.forecast = forecast
        self.name = getattr(source, "name", "energy")

    async def start(self) -> None:
        await self.inner.start()

    async def read(self) -> EnergySnapshot:
        snap = await self.inner.read()
        pv = snap.pv_w
        if pv.ok:
            self.forecast.observe(pv.ts, pv.value)
        f = self.forecast.fields(snap.ts)
        have = snap.forecast
        fill = {k: round(v, 1) for k, v in f.items() if have.get(k) is None}
        if not fill:
            return snap
        return replace(snap, forecast={**have, **fill})

    async def close(self) -> None:
        await self.inner.close()


def history_rows(store: Any, now: float, days: int = HISTORY_DAYS,
                 column: str = "pv_w") -> Iterable[tuple[float, float | None]]:
    """The last ``days`` of one energy column (PV by default) from the database's minute rollups,
    then the raw rows not yet rolled up."""
    if column not in ("pv_w", "house_w"):
        raise ValueError(f"history_rows: unexpected column {column!r}")
    since = now - days * 86400.0
    rows = store.query(f"select ts, {column} from energy_minute where ts >= ? order by ts", [since])
    last = rows[-1]["ts"] if rows else since
    raw = store.query(f"select ts, {column} from energy where ts > ? order by ts", [last + 59.0])
    return [(r["ts"], r[column]) for r in rows] + [(r["ts"], r[column]) for r in raw]


def wrap_source(cfg: Any, energy_cfg: Any, source: Any, store: Any, now: float) -> Any:
    """The source with the built-in forecast added when the site has coordinates and no forecast
    sensor gives the energy still to come today; else the source unchanged."""
    site = cfg.site
    if site.latitude is None or site.longitude is None or energy_cfg.gives_forecast_today():
        return source
    fc = BuiltinForecast(site.latitude, site.longitude, site.timezone, site.pv_array)
    try:
        fc.seed(history_rows(store, now))
    except Exception:  # noqa: BLE001 - a history we cannot read: start from nothing, say so in the log
        import logging
        logging.getLogger(__name__).exception("built-in forecast: could not read the PV history")
    return WithBuiltinForecast(source, fc)
