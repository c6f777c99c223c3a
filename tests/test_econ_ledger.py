"""The money ledger on a small synthetic history in a real SQLite file (store/db.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.econ.config import EconomicsConfig, PriceSource, TouPeriod
from edgemining_tui.econ.extra import record_prices
from edgemining_tui.econ.ledger import (LedgerAccumulator, interval_money, month_start, periods, split_sources,
                                        summary)
from edgemining_tui.store.config import HistoryConfig
from edgemining_tui.store.db import Store

UTC = timezone.utc
D = datetime(2025, 6, 10, tzinfo=UTC).timestamp()
H10, H11, H12 = D + 10 * 3600, D + 11 * 3600, D + 12 * 3600
STEP = 10.0
CFG = EconomicsConfig(currency="EUR", export_price=0.08, btc_price=90_000.0, hashprice_sats_per_th_day=48.0,
                      import_price=PriceSource(time_of_use=(TouPeriod("00:00", 0.30), TouPeriod("11:30", 0.20))),
                      miner_efficiency={"nohash": 25.0})


def test_split_sources():
    assert split_sources(3000, -1000, 0) == (3000, 0, 0, 0)        # exporting: all surplus
    assert split_sources(3000, 1000, -500) == (1500, 500, 1000, 0)  # importing and discharging
    assert split_sources(3000, 5000, -500) == (0, 0, 3000, 0)       # the grid covers it all
    assert split_sources(3000, 0, 800) == (3000, 0, 0, 0)          # battery charging: not from it
    assert split_sources(3000, None, 0) == (0, 0, 0, 3000)          # no meter: unattributed
    assert split_sources(0, 1000, -500) == (0, 0, 0, 0)


def test_interval_money_and_accumulator():
    m = interval_money(3600, 3000, 1000, -500, 100.0, {"import": 0.30, "export": 0.08}, 90_000.0)
    assert (m.surplus_kwh, m.battery_kwh, m.grid_kwh) == pytest.approx((1.5, 0.5, 1.0))
    assert m.grid_cost == pytest.approx(0.30) and m.feed_in_forgone == pytest.approx(0.16)
    assert m.value == pytest.approx(0.09) and m.net == pytest.approx(0.09 - 0.46)
    u = interval_money(3600, 3000, 1000, 0, 0.0, {"import": None, "export": 0.08}, 90_000.0)
    assert u.unpriced_kwh == pytest.approx(1.0) and u.grid_cost == 0.0
    acc = LedgerAccumulator()
    acc.add(1800, 3000, -1000, 0, 50.0, {"export": 0.1}, 100_000.0)
    acc.add(1800, 3000, -1000, 0, 50.0, {"export": 0.1}, 100_000.0)
    d = acc.total.as_dict(100_000.0, "EUR")
    assert d["surplus_kwh"] == pytest.approx(3.0) and d["feed_in_forgone"] == pytest.approx(0.3)
    assert d["sats"] == 100.0 and d["net"] == pytest.approx(0.1 - 0.3) and d["net_sats"] == pytest.approx(-200.0)


def write_history(store: Store) -> None:
    """10:00-11:00 exporting 1000 W; 11:00-12:00 importing 1000 W with the battery giving 500 W.
    Miners: 'a' 3000 W at 100 TH/s all along; 'nohash' 1000 W without a hash rate in the first hour.
    (energy.miners_w is the fleet total.)"""
    energy, miners = [], []
    t = H10
    while t < H12:
        first = t < H11
        energy.append({"ts": t, "pv_w": 5000.0, "house_w": 500.0, "grid_import_w": -1000.0 if first else 1000.0,
                       "battery_charge_w": 0.0 if first else -500.0, "battery_soc_pct": 80.0,
                       "miners_w": 4000.0 if first else 3000.0, "available_w": 4000.0, "stale": None})
        miners.append({"ts": t, "name": "a", "state": "mining", "power_w": 3000.0, "power_limit_w": 3000.0,
                       "hashrate_ths": 100.0, "temp_c": 60.0, "fan_rpm": 4000})
        if first:
            miners.append({"ts": t, "name": "nohash", "state": "mining", "power_w": 1000.0, "power_limit_w": None,
                           "hashrate_ths": None, "temp_c": None, "fan_rpm": None})
        t += STEP
    store.insert_many("energy", energy)
    store.insert_many("miner_samples", miners)


# what the history above is worth
SATS = 48.0 * 100.0 * 2 / 24 + 48.0 / (0.024 * 25.0) * 1.0      # 400 + 80
EXPECTED = {
    "mined_kwh": 4.0 + 3.0, "surplus_kwh": 4.0 + 1.5, "battery_kwh": 0.5, "grid_kwh": 1.0,
    "feed_in_forgone": (4.0 + 2.0) * 0.08,
    "grid_cost": 0.5 * 0.30 + 0.5 * 0.20,                         # the 11:30 tariff change, by the minute
    "sats": SATS, "value": SATS * 90_000.0 / 1e8,
}


def check(d: dict, expected: dict, tol: float = 1e-6) -> None:
    for k, v in expected.items():
        assert d[k] == pytest.approx(v, rel=tol, abs=tol), k
    assert d["net"] == pytest.approx(d["value"] - d["feed_in_forgone"] - d["grid_cost"])


def test_summary_from_raw_rows(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    d = summary(store, D, D + 86400, CFG, cycle_s=STEP)
    check(d, EXPECTED)
    assert d["seconds"] == pytest.approx(7200.0) and d["currency"] == "EUR"
    assert d["net_sats"] == pytest.approx(d["net"] * 1e8 / 90_000.0, rel=1e-4)
    # a window: the first hour only
    d1 = summary(store, H10, H11, CFG, cycle_s=STEP)
    assert d1["surplus_kwh"] == pytest.approx(4.0) and d1["grid_kwh"] == 0.0
    assert d1["sats"] == pytest.approx(200.0 + 80.0)
    store.close()


def test_a_gap_in_the_history_is_not_counted(tmp_path):
    store = Store(tmp_path / "history.db")
    rows = [{"ts": H10 + i * STEP, "grid_import_w": -500.0, "battery_charge_w": 0.0, "miners_w": 1000.0}
            for i in range(6)]
    rows += [{"ts": H12 + i * STEP, "grid_import_w": -500.0, "battery_charge_w": 0.0, "miners_w": 1000.0}
             for i in range(6)]
    store.insert_many("energy", rows)
    d = summary(store, D, D + 86400, CFG, cycle_s=STEP)
    assert d["seconds"] == pytest.approx(120.0)        # 12 rows of 10 s, not the 2 h between
    store.close()


def test_summary_across_raw_and_minute_rollups(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    store.maintain(H12, HistoryConfig(raw_for=3600, minute_for=7200, hour_for=None, events_for=None))
    assert store.query("select min(ts) as t from energy")[0]["t"] >= H11       # raw before 11:00 is gone
    d = summary(store, D, D + 86400, CFG, cycle_s=STEP)
    check(d, EXPECTED)
    store.close()


def test_summary_from_hour_rollups(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    store.maintain(D + 86400 + 12 * 3600, HistoryConfig(raw_for=3600, minute_for=7200, hour_for=None,
                                                         events_for=None))
    assert store.count("energy") == 0 and store.count("energy_minute") == 0 and store.count("energy_hour") == 2
    d = summary(store, D, D + 86400, CFG, cycle_s=STEP)
    # an hour bucket is priced at its middle: 11:30 falls in the 0.20 tariff
    check(d, {**EXPECTED, "grid_cost": 1.0 * 0.20})
    store.close()


def test_recorded_home_assistant_prices_are_used(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    record_prices(store, [{"ts": H10, "import": 0.5, "export": 0.10, "btc": 100_000.0, "hashprice": 60.0},
                          {"ts": H11, "import": 0.5, "export": 0.05, "btc": 100_000.0, "hashprice": 60.0}])
    cfg = EconomicsConfig(import_price=PriceSource(entity="sensor.import"),
                          export_price=PriceSource(entity="sensor.export"), miner_efficiency={"nohash": 25.0})
    d = summary(store, D, D + 86400, cfg, cycle_s=STEP)
    assert d["feed_in_forgone"] == pytest.approx(4.0 * 0.10 + 2.0 * 0.05)
    assert d["grid_cost"] == pytest.approx(1.0 * 0.5)
    sats = 60.0 * 100.0 * 2 / 24 + 60.0 / (0.024 * 25.0)
    assert d["sats"] == pytest.approx(sats) and d["value"] == pytest.approx(sats * 100_000.0 / 1e8)
    # an hour with no record and an entity price: unpriced, not free
    store2 = Store(tmp_path / "h2.db")
    write_history(store2)
    d2 = summary(store2, D, D + 86400, cfg, cycle_s=STEP)
    assert d2["feed_in_forgone"] == 0.0 and d2["unpriced_kwh"] == pytest.approx(6.0 + 1.0)
    store.close()
    store2.close()


def test_today_and_this_month_in_the_site_time_zone(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    # an earlier day this month: 1 h (360 rows of 10 s) at 2 kW, all surplus
    early = D - 5 * 86400 + 12 * 3600
    store.insert_many("energy", [{"ts": early + i * STEP, "grid_import_w": -100.0, "battery_charge_w": 0.0,
                                  "miners_w": 2000.0} for i in range(360)])
    p = periods(store, H12 + 600, CFG, tz="Europe/Berlin", cycle_s=STEP)
    # tariffs are local: 11:30 in Berlin is 09:30 UTC, so all of the importing hour is at 0.20
    check(p["today"], {**EXPECTED, "grid_cost": 1.0 * 0.20})
    assert p["month"]["surplus_kwh"] == pytest.approx(EXPECTED["surplus_kwh"] + 2.0)
    assert p["today"]["since"] == datetime(2025, 6, 10, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    assert month_start(H12, "UTC") == datetime(2025, 6, 1, tzinfo=UTC).timestamp()
    store.close()


def test_an_empty_history_is_all_zero(tmp_path):
    store = Store(tmp_path / "history.db")
    d = summary(store, D, D + 86400, CFG)
    assert d["sats"] == 0 and d["mined_kwh"] == 0 and d["net"] == 0
    store.close()


def test_month_sums_whole_days_and_today(tmp_path):
    store = Store(tmp_path / "history.db")
    write_history(store)
    # yesterday 23:59:00-23:59:50 and today: both in the month; the month equals one long summary
    store.insert_many("energy", [{"ts": D - 60 + i * STEP, "grid_import_w": -100.0, "battery_charge_w": 0.0,
                                  "miners_w": 3600.0} for i in range(6)])
    now = H12 + 600
    p = periods(store, now, CFG, cycle_s=STEP)
    whole = summary(store, month_start(now, "UTC"), now, CFG, cycle_s=STEP)
    for k in ("mined_kwh", "surplus_kwh", "grid_cost", "feed_in_forgone", "sats", "net"):
        assert p["month"][k] == pytest.approx(whole[k]), k
    assert p["month"]["surplus_kwh"] == pytest.approx(p["today"]["surplus_kwh"] + 0.06)
    again = periods(store, now, CFG, cycle_s=STEP)         # past days come from the cache
    assert again["month"] == p["month"]
    store.close()
