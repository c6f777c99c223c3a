"""The built-in PV forecast (forecast/): the sun where it is, a clear sky scaled by what the site
produced, the forecast fields a sensor would give, and the replay using it without a sensor."""
from __future__ import annotations

import asyncio
import math
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from edgemining_tui.backtest.config import load_backtest_config
from edgemining_tui.backtest.tracegen import WINTER_START, WINTER_WEATHER, generate
from edgemining_tui.energy.snapshot import EnergySnapshot, Reading
from edgemining_tui.forecast.builtin import FIELDS, BuiltinForecast, remaining_series
from edgemining_tui.forecast.solar import ClearSky, PvArray, sun_position
from edgemining_tui.forecast.source import WithBuiltinForecast, history_rows
from edgemining_tui.store.db import Store

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_sun_is_south_and_high_at_solar_noon_on_midsummer_in_munich():
    # solar noon at 11.6° E is ~11:14 UTC; the zenith angle is latitude - declination = 24.7°
    ts = datetime(2024, 6, 21, 11, 14, tzinfo=timezone.utc).timestamp()
    cosz, az = sun_position(ts, 48.1, 11.6)
    assert math.degrees(math.acos(cosz)) == pytest.approx(24.7, abs=0.3)
    assert math.degrees(az) == pytest.approx(180.0, abs=2.0)
    night = datetime(2024, 6, 21, 23, 0, tzinfo=timezone.utc).timestamp()
    assert sun_position(night, 48.1, 11.6)[0] < 0


def test_an_east_array_makes_its_power_before_noon():
    day = [datetime(2024, 6, 21, h, tzinfo=timezone.utc).timestamp() for h in range(24)]
    east = ClearSky(48.1, 11.6, PvArray(peak=8000.0, tilt=30, azimuth=90), 8000.0)
    west = ClearSky(48.1, 11.6, PvArray(peak=8000.0, tilt=30, azimuth=270), 8000.0)
    east_am = sum(east.power_w(t) for t in day[:11])
    west_am = sum(west.power_w(t) for t in day[:11])
    assert east_am > 1.5 * west_am
    south_noon = ClearSky(48.1, 11.6, PvArray(), 8000.0).power_w(day[11])
    assert 5500 < south_noon < 8000 * 0.86 * 1.05     # 8 kWp less 14 % losses, a clear sky ~1 kW/m²


def _day_totals(tr):
    return [sum(tr.pv_w[d * 1440:(d + 1) * 1440]) / 60.0 for d in range(len(tr) // 1440)]


def test_after_a_fortnight_the_day_ahead_is_closer_than_a_guess_and_today_corrects_it():
    tr = generate("2025-05-01T00:00:00", days=21, weather=None)
    rem = remaining_series(tr.pv_w, tr.ts0, tr.step_s, 48.1, 11.6, BERLIN)
    totals = _day_totals(tr)
    morning = [abs(rem[d * 1440 + 300] - totals[d]) / totals[d] for d in range(14, 21)]     # 05:00
    noon = [abs(rem[d * 1440 + 720] - sum(tr.pv_w[d * 1440 + 720:(d + 1) * 1440]) / 60.0)
            / totals[d] for d in range(14, 21)]
    assert sum(morning) / 7 < 0.30            # the weather of a day ahead, from the recent days
    assert sum(noon) / 7 < sum(morning) / 7   # half a day measured beats none
    assert all(v >= 0 for v in rem)


def test_fields_are_the_sensors_fields_and_add_up():
    tr = generate(WINTER_START, days=3, weather=WINTER_WEATHER)
    f = BuiltinForecast(48.1, 11.6, BERLIN, PvArray(peak=8000.0))
    for i in range(2 * 1440 + 600):                          # two days and ten hours
        f.observe(tr.ts0 + i * 60, tr.pv_w[i])
    out = dict(f.fields(tr.ts0 + (2 * 1440 + 600) * 60))
    assert set(out) == set(FIELDS)
    assert 0 < out["energy_next_hour_wh"] <= out["energy_today_remaining_wh"]
    assert out["power_next_4h_avg_w"] * 4 <= out["energy_today_remaining_wh"] + 1e-6
    assert out["power_now_w"] > 0
    night = f.fields(tr.ts0 + (2 * 1440 + 1380) * 60)        # 23:00: nothing left today
    assert night["energy_today_remaining_wh"] == 0 and night["power_now_w"] == 0


def test_no_peak_and_no_history_learns_the_array_from_the_first_day():
    tr = generate(WINTER_START, days=2, weather=(0.1, 0.1))
    f = BuiltinForecast(48.1, 11.6, BERLIN)
    assert f.fields(tr.ts0 + 600 * 60)["energy_today_remaining_wh"] == 0.0     # nothing known yet
    for i in range(1440 + 360):
        f.observe(tr.ts0 + i * 60, tr.pv_w[i])
    day2 = sum(tr.pv_w[1440:2880]) / 60.0
    assert f.fields(tr.ts0 + (1440 + 360) * 60)["energy_today_remaining_wh"] == pytest.approx(day2, rel=0.35)


class _Src:
    name = "ha"

    def __init__(self, snaps):
        self.snaps = iter(snaps)

    async def start(self):
        pass

    async def read(self):
        return next(self.snaps)

    async def close(self):
        pass


def _snap(ts, pv, forecast=None):
    r = Reading(pv, ts, "ha")
    return EnergySnapshot(ts, r, r, r, r, r, forecast=forecast or {})


def test_the_source_wrapper_fills_only_what_the_sensor_left_empty(tmp_path):
    tr = generate(WINTER_START, days=2, weather=WINTER_WEATHER)
    store = Store(tmp_path / "history.db")
    try:
        store.insert_many("energy", ({"ts": tr.ts0 + i * 60, "pv_w": tr.pv_w[i]} for i in range(1440)))
        rows = list(history_rows(store, tr.ts0 + 1440 * 60))
        assert len(rows) == 1440 and rows[0][0] == tr.ts0
        f = BuiltinForecast(48.1, 11.6, BERLIN)
        f.seed(rows)
    finally:
        store.close()
    t = tr.ts0 + (1440 + 600) * 60
    src = WithBuiltinForecast(_Src([_snap(t, 2000.0), _snap(t + 60, 2000.0, {"power_now_w": 1234.0})]), f)
    a = asyncio.run(src.read())
    assert a.forecast["energy_today_remaining_wh"] > 0 and set(a.forecast) == set(FIELDS)
    b = asyncio.run(src.read())
    assert b.forecast["power_now_w"] == 1234.0                  # the sensor's value wins


def test_a_replay_without_a_forecast_sensor_runs_the_builtin_forecast(tmp_path):
    body = (open("examples/backtest.yaml", encoding="utf-8").read())
    p = tmp_path / "a.yaml"
    p.write_text(body)
    assert load_backtest_config(p).forecast_model == "builtin"
    p.write_text(body.replace("policy:", "energy:\n  source: home_assistant\n  home_assistant:\n"
                              "    forecast_energy_today_remaining: sensor.rest\npolicy:", 1))
    assert load_backtest_config(p).forecast_model == "noisy"


def test_the_replays_shortcut_says_what_the_fields_say():
    tr = generate(WINTER_START, days=2, weather=WINTER_WEATHER)
    f = BuiltinForecast(48.1, 11.6, BERLIN)
    for i in range(0, 2 * 1440, 7):
        ts = tr.ts0 + i * 60
        assert f.remaining_wh(ts) == pytest.approx(f.fields(ts)["energy_today_remaining_wh"])
        f.observe(ts, tr.pv_w[i])


def test_a_replay_can_start_the_forecast_from_the_days_before_as_a_running_console_would():
    from edgemining_tui.backtest.runner import builtin_remaining
    cfg = load_backtest_config("examples/backtest.yaml")
    tr = generate("2025-04-01T00:00:00", days=10, weather=None)
    hist, week = tr.slice(0, 3 * 1440), tr.slice(3 * 1440, 10 * 1440)
    fresh = builtin_remaining(cfg, week, BERLIN)
    warm = builtin_remaining(cfg, week, BERLIN, hist)
    assert fresh[360] != warm[360]                              # the first morning differs
    assert fresh[-1] == warm[-1] == 0.0                         # nothing left at the day's end


def _series_step_by_step(pv_w, ts0, step_s, array=None, history=None) -> list[float]:
    """The forecast asked, then told the reading, row by row, as a running console does."""
    f = BuiltinForecast(48.1, 11.6, BERLIN, array)
    if history is not None:
        f.seed(history)
    out = []
    for i, w in enumerate(pv_w):
        out.append(f.remaining_wh(ts0 + i * step_s))
        f.observe(ts0 + i * step_s, w)
    return out


def test_the_replays_series_is_the_forecast_row_by_row_to_the_last_bit():
    tr = generate("2025-03-25T00:00:00", days=12, weather=None)      # across the spring DST change
    hist = ((tr.ts0 - 2 * 86400 + i * 60, w) for i, w in enumerate(tr.pv_w[:2 * 1440]))
    hist2 = ((tr.ts0 - 2 * 86400 + i * 60, w) for i, w in enumerate(tr.pv_w[:2 * 1440]))
    assert remaining_series(tr.pv_w, tr.ts0, 60.0, 48.1, 11.6, BERLIN) == _series_step_by_step(tr.pv_w, tr.ts0, 60.0)
    assert remaining_series(tr.pv_w, tr.ts0, 60.0, 48.1, 11.6, BERLIN, None, hist) == \
        _series_step_by_step(tr.pv_w, tr.ts0, 60.0, None, hist2)



def test_a_forecaster_without_the_hour_window_refuses_fields_rather_than_guess_the_next_hour():
    f = BuiltinForecast(48.1, 11.6, BERLIN, hour_window=False)
    f.observe(1.75e9, 1000.0)
    f.observe(1.75e9 + 60, 1000.0)
    with pytest.raises(RuntimeError):
        f.fields(1.75e9 + 120)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.floats(min_value=-500, max_value=9000), st.just(math.nan), st.just(0.0)),
                min_size=1, max_size=900),
       st.sampled_from([60.0, 300.0, 1200.0]), st.booleans(),
       st.integers(0, 86400 * 3))
def test_the_replays_series_equals_the_forecast_for_any_readings(pv, step_s, learn_peak, offset_s):
    """Hostile readings (NaN, negative), steps longer than the forecaster's gap, a learnt peak."""
    array = PvArray() if learn_peak else PvArray(peak=8000.0)
    ts0 = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp() + offset_s
    got = remaining_series(pv, ts0, step_s, 48.1, 11.6, BERLIN, array)
    want = _series_step_by_step(pv, ts0, step_s, array)
    assert [repr(x) for x in got] == [repr(x) for x in want]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0, 0.0, 450.0, -5.0, math.nan]), st.integers(1, 400)),
                min_size=1, max_size=10),
       st.sampled_from([60.0, 37.5, 900.0, 1000.0]), st.booleans(),
       st.integers(0, 4 * 86400 * 4).map(lambda q: q / 4.0))
def test_the_series_says_the_same_through_long_dark_runs(runs, step_s, learn_peak, offset_s):
    """The series answers a run of dark readings without asking (the night): runs of darkness
    across sunrise, sunset and midnight, odd steps and quarter-second starts, hostile readings
    between them; every answer as asking row by row gives."""
    pv = [w for w, k in runs for _ in range(k)]
    array = PvArray() if learn_peak else PvArray(peak=8000.0)
    ts0 = datetime(2025, 3, 29, 20, tzinfo=timezone.utc).timestamp() + offset_s     # across the DST change
    got = remaining_series(pv, ts0, step_s, 48.1, 11.6, BERLIN, array)
    want = _series_step_by_step(pv, ts0, step_s, array)
    assert [repr(x) for x in got] == [repr(x) for x in want]
