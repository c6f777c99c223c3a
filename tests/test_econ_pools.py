"""Pool trackers against Braiins Pool- and OCEAN-shaped servers on loopback, over real HTTP."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from edgemining_tui.config.types import Secret
from edgemining_tui.econ.config import PoolConfig
from edgemining_tui.econ.pools import BraiinsPoolTracker, OceanTracker, build_tracker
from edgemining_tui.sim.http import HttpServer, Response
from edgemining_tui.sim.pool_servers import BraiinsPoolServer, OceanServer

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=timezone.utc).timestamp()
DAY0 = datetime(2025, 6, 10, tzinfo=timezone.utc).timestamp()


def braiins_cfg(url: str, token: str = "pool-token", **kw) -> PoolConfig:
    return PoolConfig(name="braiins", kind="braiins", url=url, token=Secret(token), **kw)


def ocean_cfg(url: str, user: str = "bc1qdemo", **kw) -> PoolConfig:
    return PoolConfig(name="ocean", kind="ocean", url=url, user=user, **kw)


async def test_braiins_profile_rewards_and_hashprice():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        t = build_tracker(braiins_cfg(srv.url))
        assert isinstance(t, BraiinsPoolTracker)
        st = await t.poll(NOW)
        await t.close()
    assert st.ok and st.error is None and not st.warnings
    assert st.hashrate_ths == pytest.approx(110.0)              # served as 110000 Gh/s
    assert st.balance_sats == 123_456 and st.today_sats == 4_321 and st.estimated_sats == 1_194
    assert st.yesterday_sats == 5_500 and st.all_time_sats == 15_000_000
    assert st.hashprice_sats_per_th_day == pytest.approx(50.0)   # fpps_rate 0.0000005 BTC/TH/day
    assert st.workers_ok == 2 and st.updated_ts == NOW
    assert "/accounts/profile/json/btc/" in srv.requests


async def test_braiins_sends_the_documented_auth_header():
    seen = {}

    async def handler(req):
        seen.update(req.headers)
        return Response.json({}, 401)
    async with HttpServer(handler) as srv:
        t = BraiinsPoolTracker(braiins_cfg(srv.url, token="s3cret"))
        st = await t.poll(NOW)
        await t.close()
    assert seen["slushpool-auth-token"] == "s3cret" and seen["pool-auth-token"] == "s3cret"
    assert not st.ok and "refused the token (HTTP 401)" in st.error


async def test_braiins_wrong_token_500_garbage_and_hang_are_visible_errors():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        t = BraiinsPoolTracker(braiins_cfg(srv.url, token="wrong"))
        st = await t.poll(NOW)
        assert not st.ok and "HTTP 401" in st.error and st.hashrate_ths is None and not st.stale
        await t.close()

        t = BraiinsPoolTracker(braiins_cfg(srv.url, timeout=0.5))
        assert (await t.poll(NOW)).ok
        srv.status = 500
        st = await t.poll(NOW + 300)
        assert not st.ok and "HTTP 500" in st.error
        assert st.stale and st.hashrate_ths == pytest.approx(110.0)     # last good figures stay, marked stale
        assert t.next_due == NOW + 300 + 30                             # retried sooner than the poll interval
        srv.status = None
        srv.garbage = True
        st = await t.poll(NOW + 400)
        assert not st.ok and "not JSON" in st.error
        srv.garbage = False
        srv.hang = True
        st = await t.poll(NOW + 500)
        assert not st.ok and "no answer in 0.5 s" in st.error
        srv.hang = False
        st = await t.poll(NOW + 600)
        assert st.ok and st.error is None and not st.stale and t.failures == 0
        await t.close()


async def test_braiins_optional_parts_failing_are_warnings_not_errors():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        srv.status_for["/accounts/rewards"] = 503
        t = BraiinsPoolTracker(braiins_cfg(srv.url))
        st = await t.poll(NOW)
        await t.close()
    assert st.ok and st.hashrate_ths == pytest.approx(110.0) and st.yesterday_sats is None
    assert st.warnings == ("rewards: the pool answered HTTP 503",)


async def test_braiins_unexpected_shape_is_an_error():
    async def handler(req):
        return Response.json({"detail": "ok", "eth": {}})
    async with HttpServer(handler) as srv:
        t = BraiinsPoolTracker(braiins_cfg(srv.url))
        st = await t.poll(NOW)
        await t.close()
    assert not st.ok and "no 'btc' object" in st.error


async def test_rate_limit_honours_retry_after():
    async def handler(req):
        return Response(429, b"{}", headers={"Retry-After": "120"})
    async with HttpServer(handler) as srv:
        t = BraiinsPoolTracker(braiins_cfg(srv.url))
        st = await t.poll(NOW)
        await t.close()
    assert "rate limited" in st.error and t.next_due == NOW + 120


async def test_ocean_statsnap_hashrate_and_earnings():
    async with OceanServer(clock=lambda: NOW) as srv:
        srv.earnings = [(DAY0 + 3600, 1000.0), (DAY0 + 7200, 1500.0),          # today
                        (DAY0 - 3600, 2000.0), (DAY0 - 80000, 500.0),          # yesterday
                        (DAY0 - 3 * 86400, 9999.0)]                            # older: not asked for
        t = build_tracker(ocean_cfg(srv.url))
        assert isinstance(t, OceanTracker)
        st = await t.poll(NOW)
        await t.close()
    assert st.ok and not st.warnings, st
    assert st.hashrate_ths == pytest.approx(110.0) and st.hashrate_24h_ths == pytest.approx(110.0)
    assert st.balance_sats == 654_321 and st.estimated_sats == 2_500
    assert st.today_sats == 2500.0 and st.yesterday_sats == 2500.0
    # last 24 h: 1000 + 1500 + 2000 (the 500 at DAY0-80000 is 123200 s ago) over 110 TH/s
    assert st.hashprice_sats_per_th_day == pytest.approx(4500.0 / 110.0)
    assert any(p.startswith("/v1/earnpay/bc1qdemo/") for p in srv.requests)


async def test_ocean_unknown_user_500_and_garbage():
    async with OceanServer(clock=lambda: NOW) as srv:
        t = OceanTracker(ocean_cfg(srv.url, user="bc1qnobody"))
        st = await t.poll(NOW)
        assert not st.ok and "HTTP 404" in st.error
        await t.close()
        t = OceanTracker(ocean_cfg(srv.url))
        srv.status = 500
        assert "HTTP 500" in (await t.poll(NOW)).error
        srv.status = None
        srv.garbage = True
        assert "not JSON" in (await t.poll(NOW)).error
        await t.close()


async def test_ocean_answer_without_result_says_why():
    async def handler(req):
        return Response.json({"error": "no such user"})
    async with HttpServer(handler) as srv:
        t = OceanTracker(ocean_cfg(srv.url))
        st = await t.poll(NOW)
        await t.close()
    assert not st.ok and "no such user" in st.error


async def test_unreachable_pool_is_an_error():
    async with HttpServer(lambda r: None) as srv:
        url = srv.url
    t = OceanTracker(ocean_cfg(url, timeout=1.0))
    st = await t.poll(NOW)
    await t.close()
    assert not st.ok and "cannot reach the pool" in st.error


async def test_tracker_with_an_injected_client():
    async with BraiinsPoolServer(clock=lambda: NOW) as srv:
        async with httpx.AsyncClient(base_url=srv.url, timeout=5) as c:
            t = BraiinsPoolTracker(braiins_cfg(srv.url), client=c)
            assert (await t.poll(NOW)).ok
            await t.close()          # does not close a client it does not own
            assert not c.is_closed
