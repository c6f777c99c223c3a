"""Pool login and worker health in the miner detail: Braiins Pool's per-worker figures (its
``/accounts/workers/json/btc/`` served by the loopback stand-in), the miner's own accepted and
rejected shares (AxeOS ``sharesAccepted``/``sharesRejected`` from a reply recorded from a real
Bitaxe, through pyasic against the AxeOS emulator), matched by the worker name after the dot."""
from __future__ import annotations

import httpx
import pytest

from edgemining_tui.econ.config import PoolConfig
from edgemining_tui.econ.pools import BraiinsPoolTracker, OceanTracker, find_worker
from edgemining_tui.miners import axeos
from edgemining_tui.miners.model import MinerSample, MinerState
from edgemining_tui.sim.pool_servers import BraiinsPoolServer, OceanServer
from edgemining_tui.emulators.bitaxe import recorded
from edgemining_tui.ui.screens import pool_line

from miner_fixtures import spec, start

NOW = 1_750_000_000.0


def sample(**kw) -> MinerSample:
    base = dict(name="s19", ts=NOW, state=MinerState.MINING, hashrate_ths=60.0,
                pool_user="demo.worker1", shares_accepted=990, shares_rejected=10)
    return MinerSample(**{**base, **kw})


async def _braiins(srv) -> dict:
    await srv.start()
    cfg = PoolConfig(name="braiins", kind="braiins", token="pool-token", url=srv.url)
    t = BraiinsPoolTracker(cfg)
    try:
        st = await t.poll(NOW)
    finally:
        await t.close()
        await srv.close()
    return {"braiins": st.view()}


async def test_detail_line_compares_pool_and_miner_for_the_matched_worker():
    srv = BraiinsPoolServer(clock=lambda: NOW)
    srv.workers = {"demo.worker1": ("low", 41.5), "demo.worker2": ("ok", 55.0)}
    pools = await _braiins(srv)
    w = pools["braiins"]["workers"]["demo.worker1"]
    assert w["state"] == "low" and w["hashrate_ths"] == pytest.approx(41.5)
    assert w["last_share_ts"] == pytest.approx(NOW - 3607)
    line = pool_line(sample(), pools)
    assert "demo.worker1" in line and "low" in line
    assert "pool sees 41.5 TH/s vs miner 60.0 TH/s" in line and "rejected 1.00 %" in line
    # the worker name matches whatever account it sits under, and case-insensitively
    assert find_worker(pools, "WORKER2", "other.WORKER2")[1] == "demo.worker2"
    # a worker the pool does not list is said so, never matched to another one
    line = pool_line(sample(pool_user="demo.worker9"), pools)
    assert "lists no worker worker9" in line and "pool sees" not in line


async def test_a_failing_workers_endpoint_is_a_warning_not_a_lost_poll():
    srv = BraiinsPoolServer(clock=lambda: NOW)
    srv.status_for = {"/accounts/workers": 500}
    pools = await _braiins(srv)
    assert pools["braiins"]["ok"] and pools["braiins"]["hashrate_ths"] == pytest.approx(110.0)
    assert any(w.startswith("workers:") for w in pools["braiins"]["warnings"])
    assert pools["braiins"]["workers"] == {}


async def test_ocean_shows_the_account_only():
    srv = OceanServer(clock=lambda: NOW)
    await srv.start()
    t = OceanTracker(PoolConfig(name="ocean", kind="ocean", user="bc1qdemo", url=srv.url))
    try:
        pools = {"ocean": (await t.poll(NOW)).view()}
    finally:
        await t.close()
        await srv.close()
    line = pool_line(sample(), pools)
    assert "ocean reports the account only: 110.0 TH/s" in line and "rejected 1.00 %" in line


def test_no_worker_name_and_no_shares_say_so():
    line = pool_line(sample(pool_user="bc1qaddressonly", shares_accepted=None, shares_rejected=None), {"b": {"workers": {}}})
    assert "set pool_user" in line and "rejected —" in line
    assert sample(shares_accepted=0, shares_rejected=0).rejected_pct is None


def test_axeos_reading_carries_shares_and_login_from_the_recorded_reply():
    info = recorded("info-v2.12.2.json")
    r = axeos.reading(info)
    assert (r.shares_accepted, r.shares_rejected) == (4768, 13)
    assert r.stratum_user and r.stratum_user.endswith(".bitaxe")
    assert axeos.reading({**info, "sharesRejected": "garbage", "stratumUser": ""}).shares_rejected is None


async def test_bitaxe_sample_has_worker_and_rejected_rate_through_pyasic():
    handle, fleet = await start([spec("axe", "bitaxe", firmware="v2.14.0", poll_timeout=5.0)])
    try:
        s = (await fleet.read_all())["axe"]
        s = (await fleet.read_all())["axe"]
        assert s.worker == "bitaxe"
        assert s.rejected_pct == pytest.approx(100 * 13 / (4768 + 13))
    finally:
        await handle.stop()


def test_detail_says_none_only_when_the_miner_reports_no_pool():
    """'Pools none reported' followed by a pool line said two things; each case says one."""
    from edgemining_tui.ui.screens import pools_block
    # a pool login and shares but no URL: the standing, not "none reported"
    text = pools_block(sample(), None)
    assert "none reported" not in text and text.startswith("[b]Pools[/]  pool: worker1") and "rejected 1.00 %" in text
    # the URLs it reports, then its standing
    text = pools_block(sample(pools=("stratum+tcp://eu.braiins.com:3333",)), None)
    assert text.splitlines()[0] == "[b]Pools[/]  stratum+tcp://eu.braiins.com:3333"
    assert text.splitlines()[1].startswith("pool: worker1") and "none" not in text
    # nothing at all: "none reported", and no pool line after it
    text = pools_block(sample(pool_user=None, shares_accepted=None, shares_rejected=None), None)
    assert text == "[b]Pools[/]  none reported"
    assert pools_block(None, None) == "[b]Pools[/]  none reported"
