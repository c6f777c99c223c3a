"""Shared builders for the rule tests (imported by the test_rules_* modules; holds no tests)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.miners.model import Board, MinerSample, MinerState
from edgemining_tui.policy.context import build_context
from edgemining_tui.policy.fields import SiteSupply
from edgemining_tui.policy.sun import SunCalculator

POLICIES = Path(__file__).parent / "data" / "policies"
TZ = ZoneInfo("Europe/Rome")
# Wednesday 2026-06-17 13:00 local: long summer day in Rome
NOON_WED = datetime(2026, 6, 17, 13, 0, tzinfo=TZ)
SUN = SunCalculator(41.9028, 12.4964, TZ)

SITE = SiteSupply(battery=True, battery_capacity=True, grid=True, location=True,
                  forecast_keys=frozenset({"power_now", "energy_rest_of_day"}),
                  climate_zones=frozenset({"bedroom"}), price_keys=frozenset({"import"}))


def snap(ts: float, pv=None, house=None, grid=None, batt=None, soc=None, forecast=None) -> EnergySnapshot:
    def r(v):
        return Reading(None if v is None else float(v), ts, "test", None if v is not None else "missing")
    return EnergySnapshot(ts, r(pv), r(house), r(grid), r(batt), r(soc), dict(forecast or {}))


def sample(state=MinerState.PAUSED, name="s19-01", model="Antminer S19 Pro", power=None, hashrate=None,
           temp=None, level=None, boards=(), ts=0.0) -> MinerSample:
    return MinerSample(name=name, ts=ts, state=state, power_w=power, hashrate_ths=hashrate, temp_c=temp,
                       level=level, model=model, boards=tuple(boards))


def ctx(now: datetime = NOON_WED, *, pv=None, house=None, grid=None, batt=None, soc=None, forecast=None,
        climate=None, price=None, state=MinerState.PAUSED, miner_kw=None, status=None,
        running_since=None, capacity_wh=10_000.0, **kw):
    ts = now.timestamp()
    s = snap(ts, pv, house, grid, batt, soc, forecast)
    site = build_context(now, tz=TZ, snapshot=s, sun=SUN, climate=climate, price=price,
                         battery_capacity_wh=capacity_wh, **kw)
    return site.for_miner(sample(state=state, ts=ts, **(miner_kw or {})), status=status,
                          running_since=running_since)


__all__ = ["POLICIES", "TZ", "NOON_WED", "SUN", "SITE", "snap", "sample", "ctx", "Board"]
