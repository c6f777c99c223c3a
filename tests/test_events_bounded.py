"""Events are bounded (issue 16): a flapping miner is one "flapping" event with a count, not a row
per flap; the events table never grows beyond history.events_max_rows."""
from __future__ import annotations

from test_reliability_faults import SiteRig

from edgemining_tui.store.config import HistoryConfig
from edgemining_tui.store.retention import maintain


async def _flap(rig: SiteRig, seconds: float, every_cycles: int = 2) -> None:
    """Offline / back every ``every_cycles`` cycles (10 s at a 5 s cycle)."""
    drv = rig.driver("m1")
    end = rig.clock.now() + seconds
    i = 0
    while rig.clock.now() < end:
        drv.faults.offline = (i // every_cycles) % 2 == 0
        i += 1
        rig.clock.advance(5)
        await rig.engine.cycle()
    drv.faults.offline = False


async def test_a_flapping_miner_is_one_event_with_a_count(tmp_path):
    rig = SiteRig(tmp_path)
    try:
        await rig.run(120)
        await _flap(rig, 2 * 3600)                   # 360 flaps in two hours
        per_flap = rig.kinds("fault", "miner:m1") + rig.kinds("fault_cleared", "miner:m1")
        flapping = rig.kinds("flapping", "miner:m1")
        assert len(per_flap) <= 5, [e.message for e in per_flap]     # the first two flaps, before it is called flapping
        assert 1 <= len(flapping) <= 3, [e.message for e in flapping]  # the start, then one an hour
        assert "flapping: m1 offline" in flapping[0].message and "3 times in 10:00" in flapping[0].message
        assert "flaps in the last" in flapping[-1].message
        # on screen (and for the notification hub) one steady fault with the running count
        shown = rig.states[-1].faults["miner:m1"]
        assert shown.startswith("flapping (") and "flaps so far" in shown
        # it settles: one end event with the total, then the fault is gone
        await rig.run(15 * 60)
        ended = rig.kinds("flapping_ended", "miner:m1")
        assert len(ended) == 1 and "stopped flapping after" in ended[0].message
        assert "it is fine now" in ended[0].message
        assert "miner:m1" not in rig.states[-1].faults
        await rig.engine.recorder.flush()
        rows = rig.store.count("events")
        assert rows < 40, rows          # was ~1,440 rows for these two hours
        # after it settled, a single outage is an ordinary fault again
        rig.driver("m1").faults.offline = True
        await rig.run(30)
        rig.driver("m1").faults.offline = False
        await rig.run(30)
        assert len(rig.kinds("fault", "miner:m1")) == len([e for e in per_flap if e.kind == "fault"]) + 1
    finally:
        await rig.close()


async def test_retention_caps_the_events_table(tmp_path):
    rig = SiteRig(tmp_path)
    try:
        now = rig.clock.now()
        rows = [{"ts": now - 1000 + i * 0.01, "kind": "fault", "severity": "warning", "miner": "m1",
                 "message": f"m1 offline #{i}"} for i in range(3000)]
        rig.store.insert_many("events", rows)
        out = maintain(rig.store, now, HistoryConfig(events_max_rows=1000))
        assert out["deleted"]["events_over_cap"] == 2000
        left = rig.store.query("select message from events order by rowid")
        assert len(left) == 1000 and left[0]["message"] == "m1 offline #2000"   # the newest are kept
    finally:
        await rig.close()


def test_events_max_rows_is_validated():
    import pytest
    with pytest.raises(ValueError, match="events_max_rows"):
        HistoryConfig(events_max_rows=10).validate()
