"""A wrong Home Assistant token costs one login attempt per backoff step (10 s, 20 s ... 5 min),
never one per entity per cycle -- Home Assistant's IP ban would lock the console out -- and one log
line per change of state. REST and WebSocket share the backoff. Virtual clock: no waiting."""
from __future__ import annotations

import asyncio
import logging

from edgemining_tui.clock import VirtualClock
from edgemining_tui.energy.ha_websocket import HomeAssistantWsSource
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.state import SiteState

STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=1000.0,
                  battery_soc_pct=61.0, grid_import_w=-3200.0)
FIELDS = ("pv_w", "house_w", "grid_import_w", "battery_charge_w", "battery_soc_pct")


async def test_rest_wrong_token_backs_off_and_recovers(caplog):
    caplog.set_level(logging.INFO, logger="edgemining_tui.energy")
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE, token="right").start()
    src = HomeAssistantSource(srv.source_config(token="right"), clock)
    srv.token = "rotated"                          # the token was revoked in Home Assistant
    try:
        for _ in range(4 * 60 // 5):               # four minutes of 5 s cycles
            snap = await src.read()
            assert all(snap.value(f) is None and "refused the token" in snap.readings()[f].error
                       for f in FIELDS)
            clock.advance(5)
        # one probe at 0, 10, 30, 70, 150 s (10 s doubling): 5 attempts, not 48 cycles x 5 entities
        assert srv.requests == 5, srv.requests
        assert "next try in" in (await src.read()).grid_import_w.error
        refused = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused) == 1 and refused[0].levelno == logging.WARNING
        srv.token = "right"                        # fixed in Home Assistant
        clock.advance(300)
        snap = await src.read()
        assert all(snap.readings()[f].ok for f in FIELDS)
        assert sum("accepts the token again" in r.getMessage() for r in caplog.records) == 1
    finally:
        await src.close()
        await srv.close()


async def test_backoff_ceiling_is_five_minutes():
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE, token="right").start()
    src = HomeAssistantSource(srv.source_config(token="wrong"), clock)
    try:
        for _ in range(20):
            await src.read()
            clock.advance(src.auth.next_try - clock.now())
        before = srv.requests
        await src.read()
        assert srv.requests == before + 1 and src.auth.next_try - clock.now() == 300
    finally:
        await src.close()
        await srv.close()


async def test_forbidden_403_counts_as_refused():
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE).start()
    srv.status = 403                               # an IP ban answers 403
    src = HomeAssistantSource(srv.source_config(), clock)
    try:
        for _ in range(5):
            snap = await src.read()
            clock.advance(1)
        assert "(403)" in snap.grid_import_w.error and srv.requests == 1
    finally:
        await src.close()
        await srv.close()


async def test_websocket_and_rest_share_one_backoff(caplog):
    caplog.set_level(logging.INFO, logger="edgemining_tui.energy")
    clock = VirtualClock()
    srv = await HomeAssistantServer(lambda: STATE, token="right", websocket=True).start()
    src = HomeAssistantWsSource(srv.source_config(token="wrong"), clock)
    await src.start()
    try:
        for _ in range(30):                        # cycles while the socket keeps being refused
            snap = await src.read()
            await asyncio.sleep(0.05)
        assert "refused the token" in snap.grid_import_w.error
        # within the first backoff step: one failed round (the REST fallback's first probe and the
        # socket's login), then neither asks again
        assert src.rest.auth.failures == 1 and srv.requests <= 1, (src.rest.auth.failures, srv.requests)
        assert sum("refused" in r.getMessage() for r in caplog.records) == 1
        srv.token = "wrong"                        # now the configured token is valid
        clock.advance(11)
        for _ in range(100):
            if src.connected:
                break
            await asyncio.sleep(0.05)
        assert src.connected and (await src.read()).grid_import_w.ok
    finally:
        await src.close()
        await srv.close()
