"""The energy-flow picture: every size fits its box, the numbers are there, and arrows point the way
the power flows (canonical signs: grid + imports, battery + charges)."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from edgemining_tui.ui.flow import Flows, draw, soc_gauge
from edgemining_tui.ui.panels.energy import chart_query, plain_reason, time_ticks


def text(rows) -> list[str]:
    return ["".join(ch for ch, _ in r) for r in rows]


def link_row(lines: list[str], label: str) -> str:
    return next(line for line in lines if label in line)


def test_arrows_follow_the_power():
    lines = text(draw(Flows(0.0, 400.0, 0.0, 1200.0, -800.0, 23.0), 76, 14))
    assert "importing" in " ".join(lines) and "discharging" not in " ".join(lines)   # 3-row boxes: no note
    grid = link_row(lines, "1.2 kW")
    assert "▶" in grid and "◀" not in grid          # import flows into the site
    bat = link_row(lines, "800 W")
    assert "▶" in bat                                # discharging: out of the battery, into the site
    lines = text(draw(Flows(5000.0, 400.0, 3000.0, -900.0, 700.0, 80.0), 76, 14))
    assert "◀" in link_row(lines, "900 W")          # export
    assert "◀" in link_row(lines, "700 W")          # charging


def test_big_numbers_and_gauge_at_200_columns():
    lines = text(draw(Flows(5760.0, 351.0, 5270.0, 0.0, 142.0, 55.0, "4 of 4 mining"), 196, 30))
    assert len(lines) == 20
    joined = "\n".join(lines)
    assert "╶─╯•" in joined                          # 3-row digits
    assert "charging" in joined and "55 %" in joined and "█" in joined
    assert "4 of 4 mining" in joined


@settings(max_examples=60, deadline=None)
@given(st.tuples(*[st.one_of(st.none(), st.floats(-20000, 20000, allow_nan=False))] * 5),
       st.one_of(st.none(), st.floats(0, 100)), st.integers(30, 240), st.integers(3, 40))
def test_every_size_fits(ws, soc, width, height):
    rows = draw(Flows(*ws, soc), width, height)
    assert len(rows) <= max(3, height)
    assert all(len(r) == width for r in rows)
    assert all(len(ch) == 1 for r in rows for ch, _ in r)


def test_soc_gauge_is_exact_width():
    for soc in (None, 0.0, 55.4, 100.0, 120.0):
        assert len(soc_gauge(soc, 18)) == 18


def test_time_ticks_are_clock_aligned_and_inside_the_window():
    from zoneinfo import ZoneInfo
    tz = ZoneInfo("Europe/Berlin")
    start, end = 1_750_000_000.0 - 3600, 1_750_000_000.0
    pos, labels = time_ticks(start, end, tz, 6)
    assert pos and all(start <= p <= end for p in pos)
    assert labels[0].endswith("0") and ":" in labels[0]
    pos, labels = time_ticks(end - 7 * 86400, end, tz, 8)
    assert len(pos) in (7, 8) and all(len(lbl.split()) == 2 for lbl in labels)


def test_chart_query_covers_exactly_the_window(tmp_path):
    from edgemining_tui.store.db import Store
    store = Store(tmp_path / "h.db")
    now = 1_750_000_000.0
    store.insert_many("energy", [{"ts": now - 7200 + i * 60, "pv_w": 1000.0 + i, "house_w": 300.0,
                                  "grid_import_w": -500.0, "battery_charge_w": 100.0, "battery_soc_pct": 50.0,
                                  "miners_w": 200.0} for i in range(121)])
    data = chart_query(store, now, "1h")
    assert data["start"] == now - 3600
    assert all(now - 3600 <= x <= now for x in data["xs"])
    assert len(data["xs"]) >= 59
    assert min(data["series"]["grid"]) == -500.0       # signed: export stays negative
    store.close()


def test_nice_ticks_are_round_and_cover_the_data():
    from edgemining_tui.ui.panels.energy import nice_ticks
    ticks = nice_ticks(-2.6, 8.37, 6)
    assert ticks[0] <= -2.6 and ticks[-1] >= 8.37 and 0 in ticks
    assert all(abs(t * 2 - round(t * 2)) < 1e-9 for t in ticks)       # multiples of 0.5 or more
    assert nice_ticks(0.35, 0.351, 5)[0] == 0.0                       # a flat line is not drawn full height
