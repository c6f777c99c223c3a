"""The demo site steps when it is read, in one-second strides, with no timer of its own (issue 19:
a second wake-up every second in the console it runs in)."""
from __future__ import annotations

import asyncio

from edgemining_tui.cli import demo_config_path
from edgemining_tui.clock import VirtualClock
from edgemining_tui.config import load_config
from edgemining_tui.sim.demo import DemoSite

T0 = 1_750_000_000.0


def _site(clock: VirtualClock) -> DemoSite:
    cfg = load_config(demo_config_path())
    return DemoSite(cfg.demo.site, clock, lambda: {"a": 3000.0, "b": 1450.0}, time_offset_s=-6 * 3600.0)


def test_a_reader_every_five_seconds_sees_what_a_reader_every_second_sees():
    fast_clock, slow_clock = VirtualClock(T0), VirtualClock(T0)
    fast, slow = _site(fast_clock), _site(slow_clock)
    fast.step()
    slow.step()
    for second in range(1, 301):
        fast_clock.advance(1.0)
        a = fast.current()
        slow_clock.advance(1.0)
        if second % 5 == 0:
            b = slow.current()
            assert b.ts == a.ts
            assert b.battery_soc_pct == a.battery_soc_pct and b.grid_import_w == a.grid_import_w
    assert fast.current().battery_soc_pct != _site(VirtualClock(T0)).step().battery_soc_pct   # it moved


def test_reads_within_a_second_share_one_step_and_a_clock_set_back_steps_again():
    clock = VirtualClock(T0)
    site = _site(clock)
    first = site.step()
    clock.advance(0.3)
    assert site.current() is first       # the five entities of a cycle read one state
    clock.advance(0.3)
    later = site.current()
    assert later is not first and later.ts == first.ts + 0.6
    clock.set(T0 - 50)
    assert site.current().ts == T0 - 50 - 6 * 3600.0


def test_a_long_gap_is_caught_up_without_stepping_forever():
    clock = VirtualClock(T0)
    site = _site(clock)
    site.step()
    steps = []
    real = site.site.step
    site.site.step = lambda *a, **kw: steps.append(a[0]) or real(*a, **kw)
    clock.advance(7 * 86400.0)           # a week suspended
    site.current()
    assert len(steps) <= 120 and steps[-1] == T0 + 7 * 86400.0 - 6 * 3600.0


async def test_the_demo_site_runs_no_task_of_its_own():
    site = _site(VirtualClock(T0))
    before = set(asyncio.all_tasks())
    await site.start()
    try:
        assert set(asyncio.all_tasks()) == before
    finally:
        await site.close()


def test_a_room_added_after_the_start_is_in_the_next_read_without_a_tick():
    from edgemining_tui.heat.config import RoomModel
    clock = VirtualClock(T0)
    site = _site(clock)
    site.step()
    site.add_zone("Office", ("a",), RoomModel())
    assert "Office" in site.current().rooms_c     # the clock has not moved: no tick came
