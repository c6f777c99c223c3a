"""`R` in the console: the owner re-reads its config file. The policy (and its rules files) apply
from the next cycle with the running decider's timers and overrides kept; a change the running
engine cannot take (miners, energy source, site...) or a file that does not load refuses the whole
reload, says why, and leaves everything as it was."""
from __future__ import annotations

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import load_config
from edgemining_tui.engine import actions as A
from edgemining_tui.engine.events import Event
from edgemining_tui.runtime import open_runtime

# Home Assistant on a loopback port nobody listens on: the readings are stale, which the engine
# handles (it holds the miners); the reload does not depend on the energy source at all
CONFIG = """\
site: {{name: Reload test, timezone: Europe/Berlin, cycle_interval: 5s}}
energy:
  source: home_assistant
  home_assistant: {{url: "http://127.0.0.1:9", token: "abcdefghijklmnopqrstuvwxyz0123456789", grid: sensor.grid}}
miners:
  - {{name: loft, driver: simulated, priority: 1}}
{extra_miner}policy:
  mode: surplus
  headroom: {headroom}
"""


def write(path, headroom="150W", extra_miner=""):
    path.write_text(CONFIG.format(headroom=headroom, extra_miner=extra_miner))


async def reload(engine) -> tuple[str | None, str | None]:
    fut = engine.request(A.RELOAD, {})
    await engine.cycle()
    if fut.exception() is not None:
        return None, str(fut.exception())
    return fut.result(), None


@pytest.fixture
async def owner(tmp_path):
    """The owner's runtime started from a config file, one cycle run, and that file's path."""
    path = tmp_path / "config.yaml"
    write(path)
    rt = await open_runtime(load_config(path), clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data",
                            config_path=path)
    assert rt.engine is not None
    await rt.engine.cycle()
    try:
        yield rt, path
    finally:
        await rt.close()


async def test_a_policy_change_applies_and_keeps_the_overrides(owner):
    rt, path = owner
    eng = rt.engine
    eng.request(A.OVERRIDE, {"miner": "loft", "mode": "off", "for_s": 3600})
    await eng.cycle()
    before = eng.decider
    assert before.cfg.headroom_w == 150.0
    write(path, headroom="400W")
    msg, err = await reload(eng)
    assert err is None and "config reloaded" in msg and "surplus" in msg
    assert eng.decider is not before and eng.decider.cfg.headroom_w == 400.0
    assert rt.cfg.policy.headroom_w == 400.0
    # the user's override came over to the new decider
    assert eng.decider.overrides.for_miner("loft").kind == "force_off"
    # unchanged file: it says so
    msg, err = await reload(eng)
    assert err is None and "as before" in msg


async def test_a_miner_added_needs_a_restart_and_nothing_changes(owner):
    rt, path = owner
    eng = rt.engine
    before = eng.decider
    seen = []
    eng.subscribe(lambda item: seen.append(item) if isinstance(item, Event) else None)
    write(path, headroom="400W", extra_miner="  - {name: garage, driver: simulated, priority: 2}\n")
    msg, err = await reload(eng)
    assert msg is None and "miners applies only at a restart" in err and "nothing changed" in err
    assert eng.decider is before and eng.decider.cfg.headroom_w == 150.0   # the policy change too
    assert any("only at a restart" in e.message and e.severity == "warning" for e in seen)   # Events panel


async def test_a_broken_file_is_refused_with_its_line(owner):
    rt, path = owner
    eng = rt.engine
    before = eng.decider
    path.write_text(path.read_text().replace("headroom: 150W", "headroom: lots"))
    msg, err = await reload(eng)
    assert msg is None and f"{path}:" in err and "headroom" in err
    assert eng.decider is before


async def test_without_a_config_file_the_reload_says_so(tmp_path):
    path = tmp_path / "config.yaml"
    write(path)
    rt = await open_runtime(load_config(path), clock=VirtualClock(1_750_000_000), data_dir=tmp_path / "data")
    try:
        msg, err = await reload(rt.engine)
        assert msg is None and "not started from a config file" in err
    finally:
        await rt.close()


async def test_the_console_that_owns_the_fleet_reloads_its_config_file(tmp_path):
    """The console opens its own runtime (not the headless runner): `R` there must re-read the file
    it was started with, not answer "not available" after a confirmation that promised a re-read."""
    from edgemining_tui.ui.app import EdgeMiningApp
    from edgemining_tui.ui.screens import ConfirmScreen
    path = tmp_path / "config.yaml"
    write(path)
    app = EdgeMiningApp(load_config(path), data_dir=tmp_path / "data", config_path=path, fleet_throttle_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(300):
            if app.state is not None:
                break
            await pilot.pause(0.05)
        assert app.link is not None and app.link.role == "owner"
        write(path, headroom="400W")
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        said: list[str] = []
        for _ in range(200):
            said = [n.message for n in app._notifications]
            if any("config reloaded" in m or "not available" in m for m in said):
                break
            await pilot.pause(0.05)
        assert any("config reloaded from config.yaml" in m for m in said), said
        assert app.rt.engine.decider.cfg.headroom_w == 400.0
