"""Notifications: what a user must know, once when it appears and once when it clears, through Apprise
to a real local HTTP endpoint; a dead or slow endpoint never touches the engine."""
from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path

import pytest

from edgemining_tui.clock import VirtualClock
from edgemining_tui.notify import MemoryNotifier, NotifyConfig
from edgemining_tui.notify.hub import NotificationHub, build_hub
from edgemining_tui.secrets import register
from edgemining_tui.sim.http import HttpServer, Request, Response
from edgemining_tui.store.db import Store

sys.path.insert(0, str(Path(__file__).parent))
from test_reliability_faults import SiteRig  # noqa: E402

pytest.importorskip("apprise")


class Endpoint:
    """A webhook receiver on loopback (the project's tiny HTTP server)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.status = 200
        self.delay = 0.0
        self.server = HttpServer(self.handle)

    async def handle(self, req: Request) -> Response:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.posts.append({"path": req.path, **req.json()})
        return Response.json({"ok": True}, self.status)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.port}/hook"


@pytest.fixture
async def endpoint():
    ep = Endpoint()
    await ep.server.start()
    yield ep
    await ep.server.close()


async def test_fault_and_clear_arrive_once_each_through_apprise(tmp_path, endpoint):
    r = SiteRig(tmp_path)
    cfg = NotifyConfig(urls=(endpoint.url,), daily_summary=None, log=False)
    hub = build_hub(cfg, r.clock, store=r.store)
    r.engine.subscribe(hub)
    hub.start()
    try:
        await r.run(120)
        r.driver("m1").faults.offline = True
        await r.run(300)                               # 60 cycles with the miner offline
        r.driver("m1").faults.offline = False
        await r.run(120)
        await asyncio.wait_for(hub._queue.join(), 20)
        titles = [p["title"] for p in endpoint.posts]
        assert titles == ["edgemining: m1 is not answering", "edgemining: m1 is back"], titles
        assert endpoint.posts[0]["type"] == "warning" and endpoint.posts[1]["type"] == "success"
        assert "connection refused" in endpoint.posts[0]["message"]
        assert endpoint.posts[0]["path"] == "/hook"
    finally:
        await hub.close()
        await r.close()


async def test_a_dead_or_slow_endpoint_never_slows_the_engine(tmp_path, endpoint):
    r = SiteRig(tmp_path)
    endpoint.delay = 5.0
    cfg = NotifyConfig(urls=(endpoint.url, "json://127.0.0.1:9/nobody-listens"), daily_summary=None, log=False,
                       timeout=0.5, retries=1)
    hub = build_hub(cfg, r.clock, store=r.store)
    hub.backoff_s = 0.05
    r.engine.subscribe(hub)
    hub.start()
    try:
        r.driver("m1").faults.offline = True
        t0 = time.perf_counter()
        await r.run(300)
        assert time.perf_counter() - t0 < 3.0, "60 cycles did not wait for the notification channel"
        await asyncio.wait_for(hub._queue.join(), 20)
        assert hub.failed >= 1
    finally:
        await hub.close(timeout=0.5)
        await r.close()


async def test_secrets_never_reach_a_notification(tmp_path, endpoint):
    register("pool-password-Xy9z")
    clock = VirtualClock(1_750_000_000)
    hub = build_hub(NotifyConfig(urls=(endpoint.url,), daily_summary=None, log=False), clock)
    hub.start()
    from edgemining_tui.engine.events import Event
    hub(Event(clock.now(), "command", "m1: set pool failed: auth pool-password-Xy9z rejected "
              "(http://admin:hunter22@10.0.0.5/api?token=abcdef123456)", "m1", "warning"))
    await asyncio.wait_for(hub._queue.join(), 10)
    await hub.close()
    body = json.dumps(endpoint.posts)
    assert endpoint.posts and "pool-password-Xy9z" not in body and "hunter22" not in body and "abcdef123456" not in body
    assert "***" in body


async def test_dedup_survives_a_restart_and_a_fault_that_cleared_while_down_gets_its_all_clear(tmp_path):
    r = SiteRig(tmp_path)
    await r.run(60)
    r.driver("m2").faults.unresponsive = True
    await r.run(60)
    await r.settle()
    await r.hub.close()                                 # the hub saved its active set
    assert "miner:m2" in r.store.get("notify:active")
    # restart while the fault persists: no second "not answering"
    r2 = SiteRig(tmp_path, clock=r.clock, store=r.store, fleet=r.fleet)
    await r2.run(30)
    assert [n.key for n in await r2.settle()] == []
    await r2.hub.close()
    # the fault clears while nobody runs; the next owner sends the all-clear on its first cycle
    r.driver("m2").faults.unresponsive = False
    r3 = SiteRig(tmp_path, clock=r.clock, store=r.store, fleet=r.fleet)
    try:
        await r3.run(5)
        sent = await r3.settle()
        assert [(n.key, n.cleared) for n in sent] == [("miner:m2", True)]
    finally:
        await r3.close()


async def test_a_storm_is_capped(tmp_path):
    clock = VirtualClock(1_750_000_000)
    mem = MemoryNotifier()
    hub = NotificationHub(NotifyConfig(daily_summary=None, log=False, max_per_hour=5), [mem], clock).start()
    from edgemining_tui.engine.events import Event
    for i in range(40):
        hub(Event(clock.now(), "command", f"m{i}: stop failed: refused", f"m{i}", "warning"))
    await asyncio.wait_for(hub._queue.join(), 5)
    await hub.close()
    assert len(mem.sent) == 5 and hub.suppressed == 35


async def summaries_sent(tmp_path, at: str, run_s: float) -> tuple[list, object]:
    """The demo rig from 2025-06-21 10:00 UTC (12:00 in Berlin) for ``run_s``, with a daily summary
    at ``at`` local: the summaries sent, and the hub (closed)."""
    r = SiteRig(tmp_path)
    await r.hub.close()
    mem = MemoryNotifier()
    hub = NotificationHub(NotifyConfig(daily_summary=at, log=False), [mem], r.clock, store=r.store,
                          tz="Europe/Berlin")
    r.engine.subscribe(hub)
    hub.start()
    try:
        await r.run(run_s)
        await asyncio.wait_for(hub._queue.join(), 5)
    finally:
        await hub.close()
        await r.engine.close()
        r.store.close()
    return [n for n in mem.sent if n.kind == "summary"], hub


async def test_daily_summary_once_a_day_at_the_local_time(tmp_path):
    summaries, _ = await summaries_sent(tmp_path, "13:00", 3 * 3600)
    assert len(summaries) == 1, [n.title for n in summaries]
    assert "Daily summary 2025-06-21" in summaries[0].title
    assert "kWh" in summaries[0].body and "starts" in summaries[0].body
    # one hour was recorded before 13:00: the summary counts that hour (two 3 kW miners at most:
    # 6 kWh), not the hour's average times 24, and says how much of the day it covers
    body = summaries[0].body
    mined_kwh = float(re.search(r"miners used ([\d.]+) kWh", body).group(1))
    assert 0 < mined_kwh <= 6.0, body
    assert re.search(r"\(data for (59|60) min of the 24 h 00 min\)", body), body


async def test_a_first_start_after_the_summary_time_sends_no_0_kwh_summary(tmp_path):
    # 12:00 in Berlin, after the 10:00 summary: the day before it has no data at all
    summaries, hub = await summaries_sent(tmp_path, "10:00", 600)
    assert [n.body for n in summaries] == []
    assert hub._summary_day == "2025-06-21"      # the day counts as done: a restart sends none either


def test_unknown_apprise_url_falls_back_to_the_log(caplog):
    hub = build_hub(NotifyConfig(urls=("nosuchscheme://secret-token-123/x",), daily_summary=None), VirtualClock())
    assert hub is not None and [n.name for n in hub.notifiers] == ["log"]
    text = caplog.text
    assert "Apprise does not understand entry 1" in text and "secret-token-123" not in text


def test_store_kv_roundtrip(tmp_path):
    s = Store(tmp_path / "h.db")
    s.put("notify:active", {"miner:a": {"kind": "offline", "since": 1.0}})
    assert s.get("notify:active")["miner:a"]["kind"] == "offline"
    s.close()
