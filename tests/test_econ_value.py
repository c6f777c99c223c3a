"""Economics, pure: value per kWh, break-even, does mining pay, TOU prices, the config section."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.config.errors import ConfigError
from edgemining_tui.config.loader import Builder, read_yaml
from edgemining_tui.econ.config import EconomicsConfig, PriceSource, TouPeriod
from edgemining_tui.econ.decision import efficiency_of, gate, mining_pays, route_surplus
from edgemining_tui.econ.prices import parse_price_state, price_at, prices_at
from edgemining_tui.econ.value import sats_for, sats_per_hour, sats_per_kwh, value_per_kwh

BERLIN = ZoneInfo("Europe/Berlin")


def test_value_per_kwh_from_efficiency_and_hashprice():
    # 25 J/TH: 1 TH/s for a day is 0.6 kWh and earns 50 sats -> 83.3 sats/kWh, whatever the power
    assert sats_per_kwh(25.0, 50.0) == pytest.approx(83.333, rel=1e-4)
    assert value_per_kwh(25.0, 50.0, 90_000.0) == pytest.approx(0.075)      # EUR/kWh = break-even import
    # a less efficient miner is worth less per kWh
    assert value_per_kwh(38.0, 50.0, 90_000.0) < value_per_kwh(17.5, 50.0, 90_000.0)
    # an hour at 3 kW
    assert sats_per_hour(3000.0, 25.0, 50.0) == pytest.approx(250.0)
    assert sats_for(3000.0, 25.0, 50.0) == pytest.approx(250.0)
    assert sats_per_kwh(0.0, 50.0) == 0.0


def test_mining_pays_compares_value_with_feed_in_and_break_even():
    prices = {"import": 0.30, "export": 0.08, "hashprice": 50.0, "btc": 90_000.0}
    s, g, why = mining_pays(25.0, prices)          # worth 0.075/kWh < 0.08 feed-in, << 0.30 import
    assert (s, g) == (False, False)
    assert "feed-in 0.080 pays more" in why and "above break-even 0.075" in why
    s, g, why = mining_pays(25.0, {**prices, "export": 0.05})
    assert (s, g) == (True, False) and "beats feed-in 0.050" in why
    s, g, why = mining_pays(25.0, {**prices, "export": 0.05, "import": 0.07})
    assert (s, g) == (True, True) and "import 0.070 below break-even" in why
    # at exactly break-even it does not pay on the grid; a margin makes mining win by more
    assert mining_pays(25.0, {**prices, "import": 0.075})[1] is False
    assert mining_pays(25.0, {**prices, "export": 0.072})[0] is True
    assert mining_pays(25.0, {**prices, "export": 0.072}, margin_pct=10)[0] is False
    # negative feed-in (you pay to export): mining surplus always pays; negative import: so does the grid
    assert mining_pays(40.0, {**prices, "export": -0.01})[0] is True
    assert mining_pays(40.0, {**prices, "import": -0.02})[1] is True
    # explicit hashprice / BTC price win over the dict
    assert mining_pays(25.0, prices, hashprice=100.0)[0] is True


def test_unknown_inputs_never_invent_money():
    s, g, why = mining_pays(25.0, {"export": 0.08, "import": 0.01})      # no hashprice, no BTC price
    assert (s, g) == (True, False) and "unknown" in why
    s, g, why = mining_pays(None, {"export": 0.08, "hashprice": 50.0, "btc": 9e4})
    assert (s, g) == (True, False) and "efficiency" in why
    s, g, _ = mining_pays(25.0, {"hashprice": 50.0, "btc": 9e4})          # no tariffs at all
    assert (s, g) == (True, False)


def test_gate_applies_the_config_switches():
    prices = {"import": 0.06, "export": 0.10, "hashprice": 50.0, "btc": 90_000.0}
    off = EconomicsConfig(import_price=0.06, export_price=0.10)
    g = gate(25.0, prices, off)
    assert not g.pays_on_surplus and g.surplus_ok          # switch off: surplus still mined
    assert g.pays_on_grid and not g.grid_ok                 # switch off: no grid mining
    on = EconomicsConfig(import_price=0.06, export_price=0.10, mine_only_above_feed_in=True,
                         grid_mining_below_break_even=True)
    g = gate(25.0, prices, on)
    assert not g.surplus_ok and g.grid_ok and g.value_per_kwh == pytest.approx(0.075)


def _cfg(**kw):
    return EconomicsConfig(import_price=0.30, export_price=0.08, mine_only_above_feed_in=True,
                           grid_mining_below_break_even=True, **kw)


FLEET = [("s21", 17.5, 3500.0), ("s19", 30.0, 3250.0)]     # worth 0.107 and 0.0625 EUR/kWh


def test_feed_in_above_the_miners_value_sends_surplus_to_the_grid():
    prices = {"import": 0.30, "export": 0.12, "hashprice": 50.0, "btc": 90_000.0}
    watts, to_grid, why = route_surplus(5000.0, FLEET, prices, _cfg())
    assert watts == {"s21": 0.0, "s19": 0.0} and to_grid == 5000.0
    assert "pays more: surplus to the grid" in why["s21"]


def test_feed_in_below_the_miners_value_sends_surplus_to_the_miners():
    prices = {"import": 0.30, "export": 0.05, "hashprice": 50.0, "btc": 90_000.0}
    watts, to_grid, _ = route_surplus(5000.0, FLEET, prices, _cfg())
    assert watts == {"s21": 3500.0, "s19": 1500.0} and to_grid == 0.0


def test_only_the_miners_that_beat_feed_in_get_surplus():
    prices = {"import": 0.30, "export": 0.08, "hashprice": 50.0, "btc": 90_000.0}
    watts, to_grid, _ = route_surplus(5000.0, FLEET, prices, _cfg())
    assert watts == {"s21": 3500.0, "s19": 0.0} and to_grid == 1500.0


def test_grid_mining_starts_only_below_break_even():
    base = {"export": 0.05, "hashprice": 50.0, "btc": 90_000.0}
    # no surplus at night; import 0.20 is above both miners' break-even: nothing runs
    watts, _, why = route_surplus(0.0, FLEET, {**base, "import": 0.20}, _cfg())
    assert watts == {"s21": 0.0, "s19": 0.0}
    assert "above break-even" in why["s21"]
    # import 0.09: below the S21's break-even (0.107), above the S19's (0.0625)
    watts, _, _ = route_surplus(0.0, FLEET, {**base, "import": 0.09}, _cfg())
    assert watts == {"s21": 3500.0, "s19": 0.0}
    # import 0.05: both
    watts, _, _ = route_surplus(0.0, FLEET, {**base, "import": 0.05}, _cfg())
    assert watts == {"s21": 3500.0, "s19": 3250.0}
    # the switch off: never on grid, however cheap
    cfg = EconomicsConfig(import_price=0.30, export_price=0.08)
    watts, _, _ = route_surplus(0.0, FLEET, {**base, "import": 0.01}, cfg)
    assert watts == {"s21": 0.0, "s19": 0.0}


def test_efficiency_of_prefers_the_extras_figure_then_the_reading():
    class S:
        efficiency_j_th = 31.0

    class V:
        name = "m1"
        sample = S()

    assert efficiency_of(V(), {"efficiency.m1": 25.0}) == 25.0
    assert efficiency_of(V(), {}) == 31.0
    V.sample = None
    assert efficiency_of(V(), {}, default=29.5) == 29.5


def _at(h: int, m: int = 0, day: int = 15) -> float:
    return datetime(2025, 1, day, h, m, tzinfo=BERLIN).timestamp()


def test_time_of_use_across_midnight():
    tou = PriceSource(time_of_use=(TouPeriod("07:00", 0.34), TouPeriod("22:00", 0.24), TouPeriod("17:00", 0.40)))
    tou.validate()
    assert price_at(tou, _at(3), BERLIN, {}) == 0.24        # the 22:00 period runs past midnight
    assert price_at(tou, _at(6, 59), BERLIN, {}) == 0.24
    assert price_at(tou, _at(7), BERLIN, {}) == 0.34
    assert price_at(tou, _at(16, 59), BERLIN, {}) == 0.34
    assert price_at(tou, _at(17, 30), BERLIN, {}) == 0.40
    assert price_at(tou, _at(22), BERLIN, {}) == 0.24
    assert price_at(tou, _at(23, 59), BERLIN, {}) == 0.24
    assert price_at(tou, _at(0, 0, day=16), BERLIN, {}) == 0.24
    # local time, not UTC: 06:30 UTC is 07:30 in Berlin in winter
    assert price_at(tou, datetime(2025, 1, 15, 6, 30, tzinfo=ZoneInfo("UTC")).timestamp(), BERLIN, {}) == 0.34


def test_fixed_entity_and_missing_prices():
    assert price_at(0.3, 0.0, BERLIN, {}) == 0.3
    assert price_at(PriceSource(fixed=0.1), 0.0, BERLIN, {}) == 0.1
    ent = PriceSource(entity="sensor.tariff", scale=0.01)          # ct/kWh
    assert price_at(ent, 0.0, BERLIN, {"sensor.tariff": 31.5}) == pytest.approx(0.315)
    assert price_at(ent, 0.0, BERLIN, {"sensor.tariff": None}) is None
    assert price_at(ent, 0.0, BERLIN, {}) is None
    assert price_at(None, 0.0, BERLIN, {}) is None
    cfg = EconomicsConfig(import_price=0.3)
    assert prices_at(cfg, 0.0, "Europe/Berlin") == {"import": 0.3, "export": None}
    assert parse_price_state({"state": "unavailable"})[0] is None
    assert parse_price_state({"state": "0.2891"})[0] == pytest.approx(0.2891)
    assert parse_price_state({"state": "nan"})[0] is None


def _load(text: str, env=None) -> EconomicsConfig:
    doc = read_yaml("config.yaml", text)
    return Builder(doc, env=env or {}).build(EconomicsConfig, doc.data["economics"], ("economics",))


def test_config_section_loads_numbers_tables_entities_and_pools():
    cfg = _load("""
economics:
  currency: EUR
  import_price:
    time_of_use:
      - {start: "07:00", price: 0.34}
      - {start: "22:00", price: 0.24}
  export_price: 0.082
  hashprice_from: pool
  btc_price: 95000
  miner_efficiency: {s19: 29.5}
  mine_only_above_feed_in: true
  pools:
    - {name: braiins, kind: braiins, token: "${BRAIINS_TOKEN}"}
    - {name: ocean, kind: ocean, user: bc1qxyz, poll_interval: 10m}
""", env={"BRAIINS_TOKEN": "tok123"})
    assert cfg.export_source.fixed == 0.082
    assert cfg.import_source.time_of_use[1].price == 0.24
    assert cfg.pools[0].token == "tok123" and "tok123" not in repr(cfg.pools[0])
    assert cfg.pools[1].poll_interval == 600.0
    assert cfg.miner_efficiency["s19"] == 29.5
    cfg2 = _load("economics:\n  import_price: {entity: sensor.epex_price, scale: 0.001}\n")
    assert cfg2.entities() == ("sensor.epex_price",)


@pytest.mark.parametrize("text,where", [
    ("economics:\n  mine_only_above_feed_in: true\n", "mine_only_above_feed_in"),
    ("economics:\n  import_price: {fixed: 0.3, entity: sensor.x}\n", "fixed"),
    ("economics:\n  pools: [{name: b, kind: braiins}]\n", "token"),
    ("economics:\n  pools: [{name: o, kind: ocean}]\n", "user"),
    ("economics:\n  hashprice_from: pool\n", "hashprice_from"),
    ("economics:\n  import_price:\n    time_of_use: [{start: '25:00', price: 0.3}]\n", "time_of_use[0]"),
])
def test_config_errors_name_the_key_and_line(text, where):
    with pytest.raises(ConfigError) as e:
        _load(text)
    assert where in str(e.value) and "config.yaml" in str(e.value)


def test_the_documented_example_loads():
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "docs" / "economics.example.yaml"
    doc = read_yaml(path)
    cfg = Builder(doc, env={"BRAIINS_TOKEN": "t"}).build(EconomicsConfig, doc.data["economics"], ("economics",))
    assert [p.kind for p in cfg.pools] == ["braiins", "ocean"] and cfg.price_poll_interval == 60.0
    assert price_at(cfg.import_source, _at(2), BERLIN, {}) == 0.24
