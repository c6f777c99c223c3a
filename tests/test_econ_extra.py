"""The economics extra: Home Assistant prices over real HTTP, pool hashprice, what the decider
and the console get, and one real engine cycle carrying it."""
from __future__ import annotations

import asyncio
import sqlite3
import json
from datetime import datetime, timezone

import httpx
import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config.types import Secret
from edgemining_tui.econ.config import EconomicsConfig, PoolConfig, PriceSource
from edgemining_tui.econ.extra import EconomicsExtra, build_economics_extra
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.miners.model import MinerSample, MinerState
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.pool_servers import BraiinsPoolServer
from edgemining_tui.sim.state import SiteState
from edgemining_tui.store.db import Store

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=timezone.utc).timestamp()
TOKEN = "ha-token"
SITE = SiteState(ts=NOW, pv_w=6000, house_w=500, miners_w=3000, battery_charge_w=0, battery_soc_pct=90,
                 grid_import_w=-2500)
EXTRA = {"sensor.import_price": ("Import price", "ct/kWh", "", lambda s: 31.5),
         "sensor.feed_in_price": ("Feed-in price", "EUR/kWh", "", lambda s: 0.0)}


def ha_client(url: str, token: str = TOKEN):
    box = []

    def get():
        if not box:
            box.append(httpx.AsyncClient(base_url=url, timeout=2.0, headers={"Authorization": f"Bearer {token}"}))
        return box[0]
    return get, box


def snap(grid_w, charge_w=0.0, ts=NOW):
    r = lambda v: Reading(v, ts, "t")  # noqa: E731
    return EnergySnapshot(ts, r(6000.0), r(500.0), r(grid_w), r(charge_w), r(80.0))


def sample(name, power, ths, state=MinerState.MINING):
    return MinerSample(name, NOW, state, power_w=power, hashrate_ths=ths)


class FakeEngine:
    def __init__(self, now):
        self.clock = VirtualClock(now)
        self.cycle_no = 0


async def test_home_assistant_price_entities_over_http():
    srv = await HomeAssistantServer(lambda: SITE, token=TOKEN, extra=EXTRA).start()
    srv.overrides["sensor.feed_in_price"] = "0.0812"
    get, box = ha_client(srv.url)
    try:
        cfg = EconomicsConfig(import_price=PriceSource(entity="sensor.import_price", scale=0.01),
                              export_price=PriceSource(entity="sensor.feed_in_price"))
        ex = EconomicsExtra(cfg, "Europe/Berlin", ha_client=get)
        await ex.refresh(NOW)
        ex.compute(NOW, {})
        assert ex.prices["import"] == pytest.approx(0.315) and ex.prices["export"] == pytest.approx(0.0812)
        # unavailable -> None (never 0), with the reason on screen
        srv.overrides["sensor.feed_in_price"] = "unavailable"
        await ex.refresh(NOW + 60)
        ex.compute(NOW + 60, {})
        assert ex.prices["export"] is None
        econ = ex.state_extra()["economics"]
        assert econ["price_errors"] == {"sensor.feed_in_price": "sensor.feed_in_price: entity is unavailable"}
        # Home Assistant down: the last cycle's values are gone too, the error says why
        srv.status = 500
        await ex.refresh(NOW + 120)
        ex.compute(NOW + 120, {})
        assert ex.prices["import"] is None
        assert "HTTP 500" in ex.state_extra()["economics"]["price_errors"]["sensor.import_price"]
        # a wrong token
        srv.status = None
        get2, box2 = ha_client(srv.url, token="nope")
        ex2 = EconomicsExtra(cfg, "UTC", ha_client=get2)
        await ex2.refresh(NOW)
        assert "HTTP 401" in ex2.entity_errors["sensor.import_price"]
        await box2[0].aclose()
    finally:
        if box:
            await box[0].aclose()
        await srv.close()


async def test_update_reads_prices_in_the_background_and_never_blocks():
    srv = await HomeAssistantServer(lambda: SITE, token=TOKEN, extra=EXTRA).start()
    srv.hang = True
    get, box = ha_client(srv.url)
    cfg = EconomicsConfig(import_price=PriceSource(entity="sensor.import_price", scale=0.01), export_price=0.08)
    ex = EconomicsExtra(cfg, "UTC", ha_client=get)
    eng = FakeEngine(NOW)
    try:
        await asyncio.wait_for(ex.update(eng, snap(-1000.0), {}), 0.5)     # returns at once
        assert ex.prices["import"] is None and ex.prices["export"] == 0.08
    finally:
        await ex.close()
        if box:        # the background read may not have opened its client before it was closed
            await box[0].aclose()
        await srv.close()


async def test_prices_and_per_miner_value_reach_the_decider_and_the_console():
    cfg = EconomicsConfig(import_price=0.30, export_price=0.08, hashprice_sats_per_th_day=50.0, btc_price=90_000.0,
                          miner_efficiency={"s21": 17.5}, mine_only_above_feed_in=True)
    ex = EconomicsExtra(cfg, "UTC", miners=["s21", "s19", "off"])
    # s19 measures 3250 W at 100 TH/s = 32.5 J/TH; "off" reports nothing -> the default 29.5
    samples = {"s21": sample("s21", 3500.0, 200.0), "s19": sample("s19", 3250.0, 100.0),
               "off": sample("off", None, None, MinerState.SLEEPING if hasattr(MinerState, "SLEEPING")
                             else MinerState.UNKNOWN)}
    await ex.update(FakeEngine(NOW), snap(-1000.0), samples)
    kw: dict = {"prices": {"other": 1.0}}
    ex.contribute(kw)
    p = kw["prices"]
    assert p["import"] == 0.30 and p["export"] == 0.08 and p["btc"] == 90_000.0 and p["hashprice"] == 50.0
    assert p["other"] == 1.0
    assert p["efficiency.s21"] == 17.5 and p["efficiency.s19"] == pytest.approx(32.5) and p["efficiency.off"] == 29.5
    m = ex.state_extra()["economics"]["miners"]
    assert m["s21"]["efficiency_from"] == "config" and m["s19"]["efficiency_from"] == "measured"
    assert m["off"]["efficiency_from"] == "default"
    assert m["s21"]["value_per_kwh"] == pytest.approx(0.1071, abs=1e-4) and m["s21"]["pays_on_surplus"]
    assert m["s19"]["break_even_import"] == pytest.approx(0.0577, abs=1e-4) and not m["s19"]["surplus_ok"]
    assert "pays more" in m["s19"]["reason"]
    # 300 TH/s at 50 sats/TH/day = 625 sats/h; 6750 W all from surplus (exporting 1000 W)
    now = ex.state_extra()["economics"]["now"]
    assert now["sats_per_hour"] == pytest.approx(625.0)
    assert now["surplus_w"] == 6750.0 and now["grid_w"] == 0.0
    assert now["feed_in_forgone_per_hour"] == pytest.approx(6.75 * 0.08)
    json.dumps(ex.state_extra())          # the store keeps it as JSON


async def test_measured_efficiency_is_smoothed_and_only_learnt_while_mining():
    ex = EconomicsExtra(EconomicsConfig(), "UTC")
    ex.compute(NOW, {"m": sample("m", 3000.0, 100.0)})
    ex.compute(NOW + 5, {"m": sample("m", 4000.0, 100.0)})           # 40 J/TH reading
    assert ex.measured_eff["m"] == pytest.approx(30.0 + 0.2 * 10.0)
    ex.compute(NOW + 10, {"m": sample("m", 900.0, 10.0, MinerState.RAMPING)})   # ramping: ignored
    assert ex.measured_eff["m"] == pytest.approx(32.0)


async def test_hashprice_from_the_pool_with_fallback():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        srv.fpps_rate_btc = 0.00000062
        pool = PoolConfig(name="braiins", kind="braiins", url=srv.url, token=Secret("pool-token"))
        cfg = EconomicsConfig(hashprice_from="pool", hashprice_sats_per_th_day=45.0, pools=(pool,))
        ex = EconomicsExtra(cfg, "UTC")
        ex.compute(NOW, {})
        assert ex.prices["hashprice"] == 45.0 and "using the configured" in ex.hashprice_note
        await ex.refresh(NOW)
        ex.compute(NOW, {})
        assert ex.prices["hashprice"] == pytest.approx(62.0) and ex.hashprice_source == "pool braiins"
        pools = ex.state_extra()["economics"]["pools"]
        assert pools["braiins"]["ok"] and pools["braiins"]["balance_sats"] == 123_456
        assert ex.performance_fields()["pool_stats"]["unpaid_balance"] == 123_456
        srv.status = 500
        await ex.refresh(NOW + 600)
        ex.compute(NOW + 600, {})
        assert ex.prices["hashprice"] == pytest.approx(62.0) and ex.hashprice_source == "pool braiins (stale)"
        assert "HTTP 500" in ex.state_extra()["economics"]["pools"]["braiins"]["error"]
        await ex.close()


async def test_update_polls_pools_on_their_interval_in_the_background():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        pool = PoolConfig(name="b", kind="braiins", url=srv.url, token=Secret("pool-token"), poll_interval=300)
        ex = EconomicsExtra(EconomicsConfig(pools=(pool,)), "UTC")
        eng = FakeEngine(NOW)
        await ex.update(eng, snap(0.0), {})
        await asyncio.gather(*ex._tasks.values())
        assert ex.trackers[0].stats.ok
        n = len(srv.requests)
        eng.clock.advance(60)
        await ex.update(eng, snap(0.0), {})
        assert len(srv.requests) == n                      # not due yet
        eng.clock.advance(300)
        await ex.update(eng, snap(0.0), {})
        await asyncio.gather(*ex._tasks.values())
        assert len(srv.requests) > n
        await ex.close()


async def test_prices_are_recorded_hourly_for_the_history(tmp_path):
    store = Store(tmp_path / "h.db")
    cfg = EconomicsConfig(import_price=0.30, export_price=0.08)
    ex = EconomicsExtra(cfg, "UTC", store=store)
    h0 = NOW - NOW % 3600
    ex.compute(h0 + 10, {})
    ex.compute(h0 + 1800, {})
    ex.compute(h0 + 3600 + 5, {})          # the hour is over: its row is written (in a thread)
    rows = []
    for _ in range(500):           # the write runs in a thread: wait for it (bounded), not for a time
        await asyncio.sleep(0.01)
        try:
            rows = store.query("select * from econ_prices")
        except sqlite3.OperationalError:   # the table appears with the first write
            continue
        if rows:
            break
    assert rows == [{"ts": h0, "import": 0.30, "export": 0.08, "btc": 90_000.0, "hashprice": 50.0}]
    store.close()


async def test_one_engine_cycle_carries_prices_and_the_economics_view(tmp_path):
    from edgemining_tui.engine.engine import Engine, MinerMeta
    from edgemining_tui.miners.config import MinerConfig, SimulatedSpec
    from edgemining_tui.miners.factory import build_fleet
    from edgemining_tui.policy.simple import SimpleDecider

    class Source:
        name = "s"

        async def start(self):
            pass

        async def close(self):
            pass

        async def read(self):
            return snap(-4000.0, ts=clock.now())

    seen = {}

    class Spy(SimpleDecider):
        def decide(self, inp):
            seen["prices"] = dict(inp.prices)
            return super().decide(inp)

    clock = VirtualClock(NOW)
    miners = [MinerConfig(name="m1", driver="simulated", simulated=SimulatedSpec(max_w=3000, min_w=1000, ramp=30))]
    store = Store(tmp_path / "history.db")
    ex = build_economics_extra(EconomicsConfig(import_price=0.3, export_price=0.08), "UTC", store=store,
                               miners=["m1"])
    eng = Engine(clock=clock, source=Source(), fleet=build_fleet(miners, clock, retries=0), decider=Spy(),
                 miners=[MinerMeta("m1", 1)], store=store, interval_s=5, extras=[ex])
    st = await eng.cycle()
    assert seen["prices"]["export"] == 0.08 and seen["prices"]["efficiency.m1"] == pytest.approx(29.5, rel=0.03)
    assert st.extra["economics"]["prices"]["import"] == 0.3
    assert "m1" in st.extra["economics"]["miners"]
    await eng.close()
    await ex.close()
    store.close()
