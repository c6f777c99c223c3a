"""Pilot tests of the console: every panel, every manual action with its confirmation, the observer
path, keymaps, themes and the command palette. Simulated miners, a scripted site, a virtual clock."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from textual.worker import WorkerCancelled, WorkerFailed

from edgemining_tui.ui.app import EdgeMiningApp
from edgemining_tui.ui.fixtures import build_observer, build_owner, close, make_config, run_cycles
from edgemining_tui.ui.panels.heat import zones_of, zone_cells
from edgemining_tui.ui.panels.rules import rule_trace_lines
from edgemining_tui.ui.screens import ChoiceScreen, ConfirmScreen, HelpScreen, MinerDetailScreen, PromptScreen

SIZE = (120, 40)


@pytest.fixture
async def owner(tmp_path):
    rt = build_owner(tmp_path / "data")
    await run_cycles(rt, 4)
    yield rt
    await close(rt)


def make_app(rt, **kw) -> EdgeMiningApp:
    return EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0, **kw)


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def first_state(pilot, tries: int, every_s: float) -> None:
    """Wait until the console has its first engine state (or the tries run out)."""
    for _ in range(tries):
        await pilot.pause(every_s)
        if pilot.app.state is not None:
            return


async def settle(pilot) -> None:
    """Let messages and short workers finish (not the engine/observer loop, which never does)."""
    for _ in range(200):        # the panels behind the tabs mount after the first frame
        await pilot.pause()
        if pilot.app.panels_ready:
            break
    for w in [w for w in pilot.app.workers if w.group != "engine"]:
        try:
            await w.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
    await pilot.pause()


async def cycle(pilot, rt, n: int = 1) -> None:
    await run_cycles(rt, n) if n == 1 else [await run_cycles(rt, 1) for _ in range(n)]
    rt.clock.advance(5)
    await settle(pilot)


async def to_fleet(pilot, miner: str = "garage-s19") -> None:
    await pilot.press("2")
    await settle(pilot)
    t = pilot.app.query_one("#fleet-table", DataTable)
    t.move_cursor(row=t.get_row_index(miner))
    await pilot.pause()


async def confirm(pilot, answer: str = "y") -> str:
    await pilot.pause()
    scr = pilot.app.screen
    assert isinstance(scr, ConfirmScreen), f"expected a confirmation, got {scr!r}"
    body = scr.body
    await pilot.press(answer)
    await pilot.pause()
    return body


# --- panels ---------------------------------------------------------------------------------------

def flow_text(app) -> str:
    from edgemining_tui.ui.panels.energy import FlowView
    return str(app.query_one(FlowView).render())


async def test_energy_panel_shows_flows_reason_and_ages(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "OWNER" in app.sub_title
        pic = flow_text(app)
        # PV 6.2 kW flows in, 2.6 kW is exported, the battery charges at 72 %
        assert "6.2 kW" in pic and "exporting" in pic and "2.6 kW" in pic
        assert "charging" in pic and "72 %" in pic
        assert "◀" in pic and "▶" in pic
        budget = text_of(app, "#budget")
        assert "controlled miners on, drawing" in budget
        assert "Readings" in text_of(app, "#ages")
        # the chart covers the named window, filled from the store at start
        ep = app.energy_panel
        assert ep.chart is not None and ep.chart["xs"]
        assert ep.chart["now"] - ep.chart["start"] == 3600.0


async def test_decision_sentence_that_grows_or_shrinks_moves_what_is_below_it(owner):
    """The sentence is updated without a screen layout when it keeps its number of rows (a layout
    repaints both charts); when it needs another row, the widgets below make room."""
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        panel = app.energy_panel
        budget, ages = app.query_one("#budget", Static), app.query_one("#ages", Static)
        panel._set("budget", "All four miners on.")
        await settle(pilot)
        assert budget.size.height == 1
        row = ages.region.y
        panel._set("budget", "All four miners on.\n[b]Held back by[/]  minimum rest time: desk-bitaxe")
        await settle(pilot)
        assert budget.size.height == 2 and ages.region.y == row + 1
        assert "Held back by" in text_of(app, "#budget")
        panel._set("budget", "Three of four miners on.\n[b]Held back by[/]  price too high: desk-bitaxe")
        await settle(pilot)
        assert budget.size.height == 2 and ages.region.y == row + 1 and "price too high" in text_of(app, "#budget")
        panel._set("budget", "All four miners on.")
        await settle(pilot)
        assert budget.size.height == 1 and ages.region.y == row


async def test_energy_panel_says_when_data_is_stale(owner):
    owner.source.fail = True
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await cycle(pilot, owner)
        assert "STALE" in text_of(app, "#ages")
        assert "no data" in flow_text(app)
        assert "STALE" in text_of(app, "#status")
        # in words, as the readings line names them, not the engine's field names
        for where in ("#ages", "#status"):
            assert "_w" not in text_of(app, where) and "_pct" not in text_of(app, where), where


async def test_a_cycle_that_changes_nothing_shown_sends_no_frame(owner):
    """Readings move by a few watts every cycle: the console sends the terminal a frame only when
    what it shows changes (power to 0.1 kW from 1 kW, the clock to the minute)."""
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await run_cycles(owner, 30)            # the miners have ramped and settled
        await settle(pilot)
        frames = []
        display = app._display

        def counted(screen, renderable):
            if renderable is not None:
                frames.append(renderable)
            display(screen, renderable)
        app._display = counted
        src = owner.source.values
        for dw in (12.0, -7.0, 3.0):          # 6.2 kW PV, 1.2 kW into the battery: the same on screen
            src["pv_w"] += dw
            src["battery_charge_w"] -= dw
            await run_cycles(owner, 2, step_s=1.0)
            await settle(pilot)
        assert frames == []
        src["pv_w"] += 400.0
        await run_cycles(owner, 1)
        await settle(pilot)
        assert frames and "6.6 kW" in flow_text(app)
        # and only the rows that changed are sent: the PV figures, not the whole picture
        flow = app.query_one("#flow")
        rows = {y for f in frames for y, _, _ in f.spans if flow.region.y <= y < flow.region.bottom}
        assert rows and len(rows) <= 3, rows


async def test_status_line_says_when_the_engine_falls_silent(tmp_path, monkeypatch):
    """The status line's clock is to the minute; a stuck engine is said in words instead."""
    import asyncio
    import edgemining_tui.ui.app as app_mod
    from edgemining_tui.ui.fixtures import ScriptedSource
    monkeypatch.setattr(app_mod, "SILENT_AFTER_MIN_S", 0.3)
    monkeypatch.setattr(app_mod, "SILENT_CHECK_S", 0.05)

    class Hanging(ScriptedSource):
        hang = asyncio.Event()
        go_on = asyncio.Event()

        async def read(self):
            if self.hang.is_set():
                await self.go_on.wait()
            return await super().read()

    cfg = make_config()
    cfg = replace(cfg, site=replace(cfg.site, cycle_interval=0.05))
    rt = build_owner(tmp_path / "data", cfg=cfg, source=None)
    src = Hanging(rt.clock)
    rt.engine.source = src
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=True, fleet_throttle_s=0)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await first_state(pilot, 100, 0.02)
            assert "mining" in text_of(app, "#status") and "silent" not in text_of(app, "#status")
            assert re.match(r"\s*\d\d:\d\d ·", text_of(app, "#status"))     # no seconds, no cycle number
            src.hang.set()
            await pilot.pause(0.6)
            assert "engine silent for 0:0" in text_of(app, "#status")
            src.go_on.set()
            src.hang.clear()
            await pilot.pause(0.3)
            assert "silent" not in text_of(app, "#status")
            app._stop.set()
    finally:
        await close(rt)


async def test_energy_panel_at_80x24_swaps_picture_and_chart(owner):
    from edgemining_tui.ui.panels.energy import FlowView
    app = make_app(owner)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        flow, chart = app.query_one(FlowView), app.query_one("#energy-chart")
        assert flow.display and not chart.display          # the picture first
        assert "6.2 kW" in flow_text(app)
        await pilot.press("v")
        await settle(pilot)
        assert chart.display and not flow.display and chart.size.height >= 8
        await pilot.press("v")
        await settle(pilot)
        assert flow.display and not chart.display


async def test_energy_chart_window_switches_by_key(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for want, span in (("24h", 86400.0), ("7d", 7 * 86400.0), ("1h", 3600.0)):
            await pilot.press("r")
            await settle(pilot)
            ep = app.energy_panel
            assert ep.window == want and ep.chart["window"] == want
            assert ep.chart["now"] - ep.chart["start"] == span
            assert {"1h": "last hour", "24h": "last 24 hours", "7d": "last 7 days"}[want] in ep.border_title


async def test_fleet_panel_rows_filter_sort_and_diffing(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot)
        t = app.query_one("#fleet-table", DataTable)
        assert t.row_count == 4
        row = [str(c) for c in t.get_row("garage-s19")]
        assert row[1] in ("mining", "ramping") and row[2] == "auto" and "kW" in row[3]
        # a cycle with nothing visible changed does not touch the table
        before = t._update_count
        app.fleet_panel.show(app.state)
        assert t._update_count == before
        # filter
        await pilot.press("slash")
        await pilot.press(*"loft")
        await settle(pilot)
        assert [k.value for k in t.rows] == ["loft-s21"]
        await pilot.press("enter")           # back to the table
        app.query_one("#fleet-filter").value = ""
        await settle(pilot)
        assert t.row_count == 4
        await pilot.press("slash", "escape", "3")   # escape leaves the filter too: 3 shows Rules
        await settle(pilot)
        assert app.active_panel_id == "rules" and app.query_one("#fleet-filter").value == ""
        await pilot.press("2")
        await settle(pilot)
        # sort: name -> state -> power (highest first)
        t.focus()
        await pilot.press("s", "s")
        await settle(pilot)
        assert app.fleet_panel.sort_key == "power"
        first = t.coordinate_to_cell_key((0, 0)).row_key.value
        assert first == "loft-s21"           # 3.5 kW, the biggest


async def test_fleet_detail_strip_shows_the_full_reason_at_80_columns(owner):
    app = make_app(owner)
    async with app.run_test(size=(80, 24)) as pilot:
        await to_fleet(pilot, "loft-s21")
        await settle(pilot)
        d = app.state.decision.miners["loft-s21"]
        strip = text_of(app, "#fleet-detail")
        assert "loft-s21" in strip and d.reason in strip.replace("\n", " ").replace("  ", " ")
        assert "desk-bitaxe" not in strip
        t = app.query_one("#fleet-table", DataTable)
        assert t.fixed_columns == 1                     # the name stays when scrolling right
        labels = [str(c.label) for c in t.columns.values()]
        assert "Fan rpm" in labels and "Temp °C" in labels and "Hash TH/s" in labels
        await pilot.press("down")                        # the strip follows the cursor
        await settle(pilot)
        assert "office-avalon" in text_of(app, "#fleet-detail")


async def test_fleet_detail_screen_shows_boards_and_commands(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "loft-s21")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MinerDetailScreen) and app.screen.miner == "loft-s21"
        assert app.screen.query_one("#detail-boards", DataTable).row_count == 3
        assert "loft-s21" in text_of(app.screen, "#detail-head")
        assert "Recent commands" in text_of(app.screen, "#detail-commands")
        more = text_of(app.screen, "#detail-more")   # one story about the pool, never "none" then a pool line
        assert not ("none reported" in more and "pool:" in more), more
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MinerDetailScreen)
        await pilot.press("i")
        await settle(pilot)
        assert isinstance(app.screen, MinerDetailScreen)
        await pilot.press("i")                      # again, on the detail: it ended the console
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, MinerDetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MinerDetailScreen)    # one screen to leave, not two


async def test_rules_panel_terms_timers_and_decision_log(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        await settle(pilot)
        policy = text_of(app, "#rules-policy")
        assert "Policy" in policy and "surplus" in policy
        terms = text_of(app, "#rules-terms")
        assert "Safety margin kept unused: 100 W" in terms
        assert "desk-bitaxe: starts in" in terms
        # plain words: no internal identifiers, no empty rows
        for internal in ("headroom", "left", "min_interval", "_"):
            assert internal not in terms.lower(), internal
        assert not [line for line in terms.splitlines()[1:] if line.rstrip().endswith(":")]
        t = app.query_one("#rules-miners", DataTable)
        assert all("_" not in str(c) for c in t.get_column("term"))
        assert app.query_one("#rules-miners", DataTable).row_count == 4
        assert "Decision log" in text_of(app, "#rules-log") and "garage-s19" in text_of(app, "#rules-log")
        assert "no rule traces" in text_of(app, "#rules-traces")


def test_rule_traces_are_read_defensively():
    assert rule_trace_lines({}) == []
    assert rule_trace_lines(None) == []
    lines = rule_trace_lines({"rules": [{"name": "battery full", "kind": "start", "fired": True,
                                         "detail": ["soc 95 >= 90"]}, {"rule": "night", "fired": None}, "odd"]})
    assert lines[0] == "start battery full: [$success]fired[/]  soc 95 >= 90"
    assert "unknown" in lines[1] and lines[2] == "2: odd"
    assert rule_trace_lines({"rule_traces": {"r1": {"fired": False}}}) == ["r1: no"]


async def test_heat_panel_without_and_with_zones(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(pilot)
        assert "No zones configured" in text_of(app, "#heat-note")
        heat = {"office": {"temperature": 19.2, "target_min": 20.0, "target_max": 22.5, "state": "wants heat",
                           "heat_demand": True, "miners": ["office-avalon"], "today_kwh": 3.25}}
        app.state = replace(app.state, extra={"heat": heat})
        app._render(force=True)
        await pilot.pause()
        t = app.query_one("#heat-table", DataTable)
        assert t.row_count == 1
        assert [str(c) for c in t.get_row("office")][:6] == ["office", "19.2", "20.0–22.5", "wants heat",
                                                           "office-avalon", "3.25"]


def test_heat_zone_shapes():
    assert zones_of(None) == [] and zones_of({}) == []
    assert zones_of([{"temp_c": 20}])[0]["name"] == "zone 1"
    assert zone_cells({"name": "x"})[1] == "—"


async def test_history_panel_bars_by_day_week_month_with_a_date_picker(tmp_path):
    rt = build_owner(tmp_path / "data")
    await run_cycles(rt, 60, step_s=60.0)    # an hour of minute samples
    app = make_app(rt)
    try:
        async with app.run_test(size=SIZE) as pilot:
            # the panel loads its days when a state arrives: after the first frame, the panels
            # behind the tabs and the chart's backfill
            await first_state(pilot, 100, 0.02)
            await pilot.press("5")
            await settle(pilot)
            hp = app.query_one("#panel-history")
            t = app.query_one("#history-table", DataTable)
            assert t.row_count == 14 and "14 days" in hp.border_title
            today = [str(c) for c in t.get_row_at(0)]
            assert today[0].startswith("Sun 15 Jun")       # the fixture's day, newest first
            surplus, exported, sats = float(today[1]), float(today[4]), float(today[5].replace(",", ""))
            assert 3.0 < surplus < 9.0                     # ~8 kW of miners on surplus for most of an hour
            assert exported > 1.0 and sats > 0 and today[6].startswith(("+", "-"))
            assert str(t.columns["net"].label) == "Net EUR"
            assert "kWh from surplus" in text_of(app, "#history-head")
            await pilot.press("r")
            await settle(pilot)
            assert t.row_count == 8 and "by week" in hp.border_title
            await pilot.press("left_square_bracket")
            await settle(pilot)
            assert "to Sun 08 Jun 2025" in hp.border_title
            assert all(str(c) in ("0.00", "0", "+0.00") for c in t.get_row_at(0)[1:])   # before any data
            await pilot.press("g")
            await pilot.press(*"2025-06-15", "enter")
            await settle(pilot)
            assert "to Sun 15 Jun 2025" in hp.border_title
            await pilot.press("g")
            await pilot.press(*"15/06", "enter")
            await settle(pilot)
            assert any("type a date like" in str(n.message) for n in app._notifications)
    finally:
        await close(rt)


async def test_events_panel_logs_commands_and_overrides(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        n0 = app.events_panel.count
        owner.engine.event("fault", "garage-s19 offline: test", "garage-s19", "warning")
        await settle(pilot)
        assert app.events_panel.count == n0 + 1
        assert any("offline" in str(n.message) for n in app._notifications)


# --- manual actions, each with its confirmation ---------------------------------------------------

async def test_override_on_asks_then_applies(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "desk-bitaxe")
        await pilot.press("o")
        body = await confirm(pilot, "y")
        assert "desk-bitaxe" in body and "force ON" in body and "for 1:00:00" in body
        await cycle(pilot, owner)
        assert owner.engine.state.overrides["desk-bitaxe"]["kind"] == "force_on"
        mode = str(app.query_one("#fleet-table", DataTable).get_cell("desk-bitaxe", "mode"))
        assert mode.startswith("on ")


async def test_cancelled_confirmation_sends_nothing(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot)
        await pilot.press("x")
        await confirm(pilot, "n")
        await cycle(pilot, owner)
        assert owner.engine.state.overrides == {}
        assert owner.engine._requests == []


async def test_override_off_and_release(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "garage-s19")
        await pilot.press("x")
        assert "force OFF" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.state.overrides["garage-s19"]["kind"] == "force_off"
        await pilot.press("a")
        assert "return to automatic" in await confirm(pilot)
        await cycle(pilot, owner)
        assert "garage-s19" not in owner.engine.state.overrides


async def test_power_step_up_and_down(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "office-avalon")          # runs at 1600 W, its maximum
        await pilot.press("minus")
        assert "fix power at 1.55 kW" in await confirm(pilot)
        await cycle(pilot, owner)
        ov = owner.engine.state.overrides["office-avalon"]
        assert ov["kind"] == "power" and ov["watts"] == 1550
        await pilot.press("plus")
        assert "fix power at 1.60 kW" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.state.overrides["office-avalon"]["watts"] == 1600


def level_fleet():
    """A miner whose power goes in levels (LuxOS profiles, Avalon work modes, Bitaxe frequencies)."""
    from edgemining_tui.miners.config import LevelSpec, MinerConfig, SimulatedSpec
    levels = tuple(LevelSpec(n, w) for n, w in (("-4", 1500), ("-2", 2167), ("default", 2833), ("+2", 3500)))
    return [MinerConfig(name="loft-s21", driver="simulated", priority=1,
                        simulated=SimulatedSpec(max_w=3500, min_w=1500, control="levels", levels=levels))]


async def test_a_power_step_on_a_miner_with_levels_goes_to_the_next_level(tmp_path):
    """`+` added 100 W: 1.60 kW on a miner at its 1.50 kW level, which the decider quantised straight
    back down, so the confirmed step changed nothing (and `-` from the lowest said nothing useful)."""
    rt = build_owner(tmp_path / "data", miners=level_fleet())
    await run_cycles(rt, 2)
    rt.engine.request("override", {"miner": "loft-s21", "mode": "power", "watts": 1500, "for_s": 3600})
    await run_cycles(rt, 2)
    app = make_app(rt)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await to_fleet(pilot, "loft-s21")
            await pilot.press("plus")
            assert "fix power at level -2 (2.17 kW)" in await confirm(pilot)
            await cycle(pilot, rt)
            assert rt.engine.state.decision.miners["loft-s21"].target_w == 2167
            await pilot.press("minus", "minus")     # back to -4 (the first is confirmed), then none lower
            await confirm(pilot)
            await cycle(pilot, rt)
            await pilot.press("minus")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert any("already at its lowest level" in str(n.message) for n in app._notifications)
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, PromptScreen)
            assert "its levels: 1.50 kW, 2.17 kW, 2.83 kW, 3.50 kW" in app.screen.help_text
            inp = app.screen.query_one("#prompt-input")
            inp.value = ""
            await pilot.press(*"3000", "enter")
            assert ("fix power at level default (2.83 kW), the nearest it can run at or below 3.00 kW"
                    in await confirm(pilot, "n"))
    finally:
        await close(rt)


async def test_an_observer_steps_by_the_owners_levels(tmp_path):
    data = tmp_path / "data"
    owner = build_owner(data, miners=level_fleet())
    await run_cycles(owner, 2)
    owner.engine.request("override", {"miner": "loft-s21", "mode": "power", "watts": 1500, "for_s": 3600})
    await run_cycles(owner, 2)
    obs = build_observer(data, clock=owner.clock)
    app = make_app(obs)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await first_state(pilot, 50, 0.05)
            await to_fleet(pilot, "loft-s21")
            await pilot.press("plus")
            assert "fix power at level -2 (2.17 kW)" in await confirm(pilot, "n")
    finally:
        await close(owner)
        obs.store.close()


async def test_set_power_by_typing_watts(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "loft-s21")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        inp = app.screen.query_one("#prompt-input")
        inp.value = ""
        await pilot.press(*"2.2kW", "enter")
        assert "fix power at 2.20 kW" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.state.overrides["loft-s21"]["watts"] == 2200


async def test_override_for_a_duration(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await to_fleet(pilot, "garage-s19")
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "enter")             # "Force off"
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("#prompt-input").value = ""
        await pilot.press(*"90m", "enter")
        body = await confirm(pilot)
        assert "force OFF" in body and "for 1:30:00" in body
        await cycle(pilot, owner)
        ov = owner.engine.state.overrides["garage-s19"]
        assert ov["kind"] == "force_off" and 5380 <= ov["remaining_s"] <= 5400
        # the prompt shows "2h": enter gives 2 h (it was a placeholder, and enter meant until released)
        await pilot.press("d")
        await pilot.pause()
        await pilot.press("down", "enter")
        await pilot.pause()
        await pilot.press("enter")
        body = await confirm(pilot)
        assert "for 2:00:00" in body and "until released" not in body
        await cycle(pilot, owner)
        assert 7180 <= owner.engine.state.overrides["garage-s19"]["remaining_s"] <= 7200


async def test_pause_resume_and_observe_only(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("p")
        assert "nothing will be commanded" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.state.paused
        assert "PAUSED" in text_of(app, "#status")
        await pilot.press("p")
        assert "commands the miners again" in await confirm(pilot)
        await cycle(pilot, owner)
        assert not owner.engine.state.paused
        await pilot.press("O")
        assert "no miner is commanded" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.state.observe_only
        assert "OBSERVE ONLY" in text_of(app, "#status")
        # observe only is said once: not also counted as "1 override" (no miner has one; setup's
        # site.observe_only: true showed "OBSERVE ONLY · 0/0 mining · 1 override" on a first start)
        assert "override" not in text_of(app, "#status"), text_of(app, "#status")


async def test_force_cycle_reload_and_switch_policy(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")                      # no confirmation: a cycle changes nothing by itself
        await pilot.pause()
        assert owner.engine._wake.is_set()
        await pilot.press("R")
        assert "re-reads its config" in await confirm(pilot)
        await cycle(pilot, owner)
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("down", "down", "enter")  # manual
        assert "manual" in await confirm(pilot)
        await cycle(pilot, owner)
        assert owner.engine.decider.cfg.mode == "manual"
        events = owner.store.query("select message from events where kind = 'override'")
        assert any("policy mode: manual" in e["message"] for e in events)
        await pilot.press("P")                      # the switch shows as current, not the config's mode
        await pilot.pause()
        shown = [str(o.prompt) for o in app.screen.query_one("OptionList")._options]
        assert [o for o in shown if o.endswith("(current)")] == [next(o for o in shown if o.startswith("manual"))]


async def test_miner_actions_need_the_fleet_panel(owner):
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.check_action("miner_on", ()) is False
        await pilot.press("o")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await to_fleet(pilot)
        assert app.check_action("miner_on", ()) is True


# --- observer ---------------------------------------------------------------------------------------

async def test_observer_renders_owner_state_and_its_requests_reach_the_owner(tmp_path):
    data = tmp_path / "data"
    owner = build_owner(data)
    await run_cycles(owner, 3)
    obs = build_observer(data, clock=owner.clock)
    assert not obs.lock.acquire()               # the owner holds the lock
    app = make_app(obs)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await first_state(pilot, 50, 0.05)
            assert app.state is not None and app.state.role == "observer"
            assert "OBSERVER" in app.sub_title
            await to_fleet(pilot, "garage-s19")
            await pilot.press("x")
            await confirm(pilot)
            for _ in range(50):                     # the request lands in the owner's inbox
                await pilot.pause(0.05)
                if owner.store.pending_requests():
                    break
            assert owner.store.pending_requests()[0]["action"] == "override"
            owner.clock.advance(5)
            await owner.engine.cycle()              # the owner applies it on its next cycle
            assert owner.engine.state.overrides["garage-s19"]["kind"] == "force_off"
            for _ in range(60):                     # and the observer sees the result
                await pilot.pause(0.05)
                if "garage-s19" in (app.state.overrides or {}):
                    break
            assert app.state.overrides["garage-s19"]["kind"] == "force_off"
            await settle(pilot)
            assert any("garage-s19" in str(n.message) for n in app._notifications)
    finally:
        await close(owner)
        obs.store.close()


async def test_observer_header_says_when_the_owner_is_gone(tmp_path):
    """The header named the owner's pid long after it stopped; the lock says whether anyone is there."""
    import os
    from edgemining_tui.store.lock import OwnerLock
    data = tmp_path / "data"
    owner = build_owner(data)
    await run_cycles(owner, 2)
    obs = build_observer(data, clock=owner.clock)
    app = make_app(obs)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await first_state(pilot, 50, 0.05)
            assert f"OBSERVER (owner pid {os.getpid()})" in app.sub_title
            await close(owner)                      # the owner stops: its lock goes with it
            for _ in range(60):
                await pilot.pause(0.05)
                if "owner gone" in app.sub_title:
                    break
            assert "owner gone: requests will not be acted on" in app.sub_title, app.sub_title
            assert "owner pid" not in app.sub_title
            again = OwnerLock(data)                 # an owner starts again: the header follows
            assert again.acquire()
            try:
                for _ in range(60):
                    await pilot.pause(0.05)
                    if "owner pid" in app.sub_title:
                        break
                assert f"OBSERVER (owner pid {os.getpid()})" in app.sub_title, app.sub_title
            finally:
                again.release()
    finally:
        await close(owner)
        obs.store.close()


# --- keys, help, palette, themes --------------------------------------------------------------------

async def test_keymap_from_config_and_help_screen(tmp_path):
    cfg = make_config(keymap={"miner.on": "g", "nav.fleet": "f"})
    rt = build_owner(tmp_path / "data", cfg=cfg)
    await run_cycles(rt, 2)
    app = make_app(rt)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("f")
            await settle(pilot)
            assert app.active_panel_id == "fleet"
            await pilot.press("g")
            await confirm(pilot, "n")
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            rows = {r[2]: r[0] for r in app.screen.rows}
            assert rows["miner.on"] == "g" and rows["nav.fleet"] == "f" and rows["miner.off"] == "x"
            assert all(bid for bid in rows)
            await pilot.press("escape")
    finally:
        await close(rt)


def test_every_binding_has_an_id():
    ids = [b.id for b in EdgeMiningApp.BINDINGS]
    assert all(ids) and len(ids) == len(set(ids))


async def test_command_palette_lists_actions_and_runs_them(owner):
    from edgemining_tui.ui.commands import ConsoleCommands
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        provider = ConsoleCommands(app.screen)
        names = [text for text, _, _ in provider._commands()]
        for want in ("Stop garage-s19 (override off)", "Set power of loft-s21…", "Pause automation",
                     "Observe only: on", "Force a cycle now", "Reload config", "Switch policy: rules",
                     "Theme: edgemining-light", "Release desk-bitaxe (back to automatic)"):
            assert want in names
        hits = [h async for h in provider.search("stop garage")]
        assert hits
        hits[0].command()
        assert "garage-s19" in await confirm(pilot, "n")


@pytest.mark.parametrize("broken", ["import", "compose"])
async def test_a_panel_that_cannot_be_built_after_the_first_frame_stops_the_start_visibly(owner, monkeypatch, broken):
    """The panels behind the other tabs are built after the first frame. One that cannot be (its
    module does not import, or it fails to compose) ends the console with its error, as a panel
    that failed with the rest did, and the engine is not started: nothing half-started."""
    import sys
    from edgemining_tui.ui.panels import events

    def fails(self):
        raise RuntimeError("events panel broken")
    if broken == "import":
        monkeypatch.setitem(sys.modules, "edgemining_tui.ui.panels.events", None)
    else:
        monkeypatch.setattr(events.EventsPanel, "compose", fails)
    app = make_app(owner)
    with pytest.raises((ImportError, RuntimeError), match="events"):
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause(0.5)
    assert app.return_code == 1 and app.state is None and app.link is None   # never connected to the engine


async def test_the_collector_paused_for_start_up_runs_again_after_the_first_frame(owner):
    """The console starts with the cyclic garbage collector paused (cli → ui/launch.pause_gc); it
    must run again once the first frame is out, not only when the console ends."""
    import gc
    from edgemining_tui.ui.launch import pause_gc, resume_gc
    app = make_app(owner)
    pause_gc()
    try:
        assert not gc.isenabled()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert gc.isenabled()
    finally:
        resume_gc()
        gc.enable()


def test_a_collector_the_user_turned_off_stays_off():
    import gc
    from edgemining_tui.ui.launch import pause_gc, resume_gc
    gc.disable()
    try:
        pause_gc()
        resume_gc()
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_engine_messages_that_arrive_while_the_console_closes_are_dropped(owner):
    """Textual marks the app as no longer running before it removes the widgets; the engine can
    still post a state or an event then (quitting right after the start, while the emulators come
    up): they are dropped, not a NoMatches traceback printed at exit."""
    from edgemining_tui.ui.app import EventArrived, StateArrived
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen, state = app.events_panel.count, app.state
        app._running = False
        try:
            app._event_arrived(EventArrived(owner.clock.now(), "command", "set power 2950 W"))
            app._state_arrived(StateArrived(await owner.engine.cycle()))
        finally:
            app._running = True
        assert app.events_panel.count == seen and app.state is state


async def test_themes_load_and_switch(owner):
    from edgemining_tui.ui.theming import load_themes
    themes, problems = load_themes()
    assert problems == []
    assert {"edgemining-dark", "edgemining-light", "edgemining-16"} <= set(themes)
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.theme == "edgemining-dark"
        for name in ("edgemining-light", "edgemining-16"):
            app.theme = name
            await pilot.pause()
            assert app.get_css_variables()["solar"]
        await pilot.press("2")
        await settle(pilot)


def test_stylesheets_use_theme_variables_not_hex():
    ui = Path(__file__).parent.parent / "edgemining_tui" / "ui"
    for css in ui.rglob("*.tcss"):
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b(?![-\w])", re.sub(r"^\s*#[\w-]+.*\{", "", css.read_text(),
                                                                      flags=re.M)), css


def test_bad_theme_file_is_reported(tmp_path):
    from edgemining_tui.ui.theming import load_themes
    (tmp_path / "bad.yaml").write_text("name: bad\nprimary: notacolour\n")
    (tmp_path / "ok.yaml").write_text("name: ok\nprimary: '#123456'\nvariables: {solar: '#ffcc00'}\n")
    themes, problems = load_themes([tmp_path])
    assert list(themes) == ["ok"] and "bad.yaml" in problems[0] and "notacolour" in problems[0]


def test_duration_text():
    from edgemining_tui.ui.fmt import parse_duration_text
    assert parse_duration_text("2h") == {"for_s": 7200}
    assert parse_duration_text("for 30 min") == {"for_s": 1800}
    assert parse_duration_text("until 18:00") == {"until": "18:00"}
    assert parse_duration_text("until sunset") == {"until": "sunset"}
    assert parse_duration_text("") == {}
    with pytest.raises(ValueError):
        parse_duration_text("soon")


async def test_an_energy_chart_of_nothing_but_zeros_draws(owner):
    """A first start with Home Assistant unreachable and the miners off or offline: the only series
    with values is the miners' 0 W. The console ended in a ZeroDivisionError traceback (plotext was
    given the axis 0..0 kW)."""
    app = make_app(owner)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        now = owner.clock.now()
        xs = [now - 3600 + 60 * k for k in range(5)]
        panel = app.energy_panel
        panel.chart = {"window": panel.window, "start": now - 3600, "now": now, "xs": xs,
                       "series": {"pv": [None] * 5, "house": [None] * 5, "miners": [0.0] * 5,
                                  "grid": [None] * 5, "battery": [None] * 5, "soc": [None] * 5}}
        panel.draw_charts(app.tz)
        await pilot.pause()
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert "Power in kW" in str(app.query_one("#energy-chart").render())
