"""SVG snapshots of every panel at 80x24 and 160x50 in every theme, and 16-colour renders (the screen
as a 16-colour terminal receives it, ANSI text): a simulated fleet on a virtual clock, so the pictures
are the same on every run. Regenerate with ``pytest tests/test_ui_snapshots.py --snapshot-update``
and review the diff."""
from __future__ import annotations

import pytest
from textual.worker import WorkerCancelled, WorkerFailed

from edgemining_tui.ui.app import EdgeMiningApp
from edgemining_tui.ui.fixtures import build_owner, make_config, run_cycles

PANELS = {"energy": "1", "fleet": "2", "rules": "3", "heat": "4", "history": "5", "events": "6"}


async def _settle(pilot) -> None:
    await pilot.pause()
    for w in [w for w in pilot.app.workers if w.group != "engine"]:
        try:
            await w.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
    await pilot.pause()


THEMES = ("edgemining-dark", "edgemining-light", "edgemining-16")


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(80, 24), (160, 50)], ids=["80x24", "160x50"])
@pytest.mark.parametrize("panel", list(PANELS))
def test_panel_snapshot(panel, size, theme, snap_compare, tmp_path):
    rt = build_owner(tmp_path / "data", cfg=make_config(theme=theme))
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)

    async def run_before(pilot) -> None:
        await run_cycles(rt, 40, step_s=60.0)     # 40 minutes of history, one sample a minute
        await _settle(pilot)
        await pilot.press(PANELS[panel])
        await _settle(pilot)
        # a table sizes its columns on the refresh after its rows arrive: let that one happen too
        await pilot.pause(0.2)
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        rt.store.close()
        rt.lock.release()


def _ansi16(app) -> str:
    """The screen as a 16-colour terminal gets it: Rich's downgrade, the one Textual's output uses."""
    from rich.console import Console
    console = Console(color_system="standard", force_terminal=True, width=app.size.width, legacy_windows=False)
    with console.capture() as cap:
        for strip in app.screen._compositor.render_strips():
            console.file.write(console._render_buffer(list(strip)))
            console.file.write("\n")
    return cap.get()


@pytest.mark.parametrize("panel", list(PANELS))
async def test_panel_16_colour_render(panel, snapshot, tmp_path):
    """The dark theme on a 16-colour terminal, each panel: the render is recorded, and no text is
    drawn in its own background colour (the old grey-on-grey "mining" rows)."""
    from rich.color import ColorSystem
    rt = build_owner(tmp_path / "data")
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await run_cycles(rt, 40, step_s=60.0)
            await _settle(pilot)
            await pilot.press(PANELS[panel])
            await _settle(pilot)
            invisible = []
            for y, strip in enumerate(app.screen._compositor.render_strips()):
                for seg in strip:
                    st = seg.style
                    if seg.text.strip() and st and st.color and st.bgcolor and not st.color.is_default:
                        fg = st.color.downgrade(ColorSystem.STANDARD)
                        bg = st.bgcolor.downgrade(ColorSystem.STANDARD)
                        if fg.number == bg.number and not st.reverse:
                            invisible.append((y, seg.text))
            assert not invisible, invisible[:10]
            assert _ansi16(app) == snapshot
    finally:
        rt.store.close()
        rt.lock.release()


def test_miner_detail_snapshot(snap_compare, tmp_path):
    rt = build_owner(tmp_path / "data")
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)

    async def run_before(pilot) -> None:
        await run_cycles(rt, 10, step_s=30.0)
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)
        await pilot.press("down", "enter")
        await _settle(pilot)

    try:
        assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
    finally:
        rt.store.close()
        rt.lock.release()


def test_confirmation_snapshot(snap_compare, tmp_path):
    rt = build_owner(tmp_path / "data")
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)

    async def run_before(pilot) -> None:
        await run_cycles(rt, 5, step_s=30.0)
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)
        await pilot.press("x")
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
    finally:
        rt.store.close()
        rt.lock.release()
