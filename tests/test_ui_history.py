"""History periods, export sums and the demo's pre-filled days."""
from __future__ import annotations

from datetime import date

from edgemining_tui.config import load_config
from edgemining_tui.cli import demo_config_path
from edgemining_tui.store.db import Store
from edgemining_tui.sim.demo_history import prefill, prefill_demo_history
from edgemining_tui.ui.panels.history import exported_kwh, history_bars, period_bounds

NOW = 1_750_000_000.0   # Sun 15 Jun 2025, 17:06 in Berlin


def test_periods_end_on_the_picked_date():
    days = period_bounds("day", date(2025, 3, 1), 14)
    assert len(days) == 14 and days[-1][1] == date(2025, 3, 1) and days[0][1] == date(2025, 2, 16)
    weeks = period_bounds("week", date(2025, 6, 15), 8)
    assert weeks[-1][1] == date(2025, 6, 9) and all(b.weekday() == 0 for _, b, _ in weeks)
    months = period_bounds("month", date(2025, 1, 20), 6)
    assert [a for _, a, _ in months] == [date(2024, m, 1) for m in range(8, 13)] + [date(2025, 1, 1)]
    assert months[-2][2] == date(2025, 1, 1)
    assert max(len(lbl) for lbl, _, _ in days + weeks + months) <= 17      # no label wraps in the table


def test_demo_prefill_fills_days_and_never_touches_real_history(tmp_path):
    cfg = load_config(demo_config_path())
    store = Store(tmp_path / "h.db")
    n = prefill_demo_history(store, cfg.demo, NOW, tz_offset_s=7200.0, days=3)
    assert n == 3 * 1440
    rows = store.query("select min(ts) as a, max(ts) as b, max(pv_w) as pv, max(miners_w) as m from energy")[0]
    assert rows["a"] >= NOW - 3 * 86400 and rows["b"] < NOW and rows["pv"] > 3000 and rows["m"] > 1000
    # power balance in every row: house + miners + battery charge = PV + grid import
    bad = store.query("select count(*) as n from energy where abs(house_w + miners_w + battery_charge_w "
                      "- pv_w - grid_import_w) > 1")[0]["n"]
    assert bad == 0
    assert prefill_demo_history(store, cfg.demo, NOW + 60, days=3) == 0     # history exists: skipped
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    assert prefill(fresh, cfg, NOW) == 3 * 1440                             # the CLI's hook
    bars = history_bars(store, NOW, "day", date(2025, 6, 15), "Europe/Berlin", cfg.economics, cycle_s=5.0)
    full = [r for r in bars["rows"] if r["surplus_kwh"] > 0]
    assert len(full) >= 3 and all(r["sats"] > 0 for r in full)
    store.close()


def test_exported_kwh_counts_only_export(tmp_path):
    store = Store(tmp_path / "h.db")
    store.insert_many("energy", [{"ts": NOW + i * 60.0, "grid_import_w": -1000.0 if i < 60 else 500.0}
                                 for i in range(120)])
    assert abs(exported_kwh(store, NOW, NOW + 7200, 5.0, 60.0) - 1.0) < 0.02
    store.close()
