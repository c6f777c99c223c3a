"""SVG snapshots of every panel at 80x24 and 120x40: a simulated fleet on a virtual clock, so the
pictures are the same on every run. Regenerate with ``pytest tests/test_ui_snapshots.py --snapshot-update``
and review the diff."""
from __future__ import annotations

import pytest
from textual.worker import WorkerCancelled, WorkerFailed

from edgemining_tui.ui.app import EdgeMiningApp
from edgemining_tui.ui.fixtures import build_owner, run_cycles

PANELS = {"energy": "1", "fleet": "2", "rules": "3", "heat": "4", "history": "5", "events": "6"}


async def _settle(pilot) -> None:
    await pilot.pause()
    for w in [w for w in pilot.app.workers if w.group != "engine"]:
        try:
            await w.wait()
        except (WorkerCancelled, WorkerFailed):
            pass
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("panel", list(PANELS))
def test_panel_snapshot(panel, size, snap_compare, tmp_path):
    rt = build_owner(tmp_path / "data")
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)

    async def run_before(pilot) -> None:
        await run_cycles(rt, 40, step_s=60.0)     # 40 minutes of history, one sample a minute
        await _settle(pilot)
        await pilot.press(PANELS[panel])
        await _settle(pilot)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
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
