"""Pool trackers over httpx: Braiins Pool and OCEAN (hashrate, balance, estimated earnings, rewards).

Every poll returns a :class:`PoolStats` and never raises: a refused token, a 500, a timeout or a
garbled body is an ``error`` string on screen, and the last good figures stay (marked stale).

Braiins Pool (https://pool.braiins.com, help-center "API configuration guide"): the access-profile
token goes in the ``SlushPool-Auth-Token`` header (Edge Mining sends ``Pool-Auth-Token``, which the
pool also accepts; we send both). Payloads sit under ``"btc"``; hash rates come with
``hash_rate_unit`` ("Gh/s" ...); BTC amounts are decimal strings.

- ``GET /accounts/profile/json/btc/``: ``hash_rate_5m|60m|24h``, ``current_balance``,
  ``today_reward`` (confirmed reward for this day), ``estimated_reward`` (for the current block),
  ``all_time_reward``, ``ok_workers``/``low_workers``/``off_workers``/``dis_workers``.
- ``GET /accounts/rewards/json/btc``: ``daily_rewards[]`` of ``{date (UTC day start), total_reward,
  mining_reward, bos_plus_reward, referral_bonus, referral_reward, calculation_date}``.
- ``GET /stats/json/btc/``: ``fpps_rate`` (BTC per TH/s per day): the pool's hashprice.
- ``GET /accounts/workers/json/btc/``: ``workers`` keyed by the full worker name
  ("account.worker"), each ``{state: ok|low|off|dis, last_share, hash_rate_unit, hash_rate_5m,
  hash_rate_60m, hash_rate_24h, shares_5m, ...}``: the per-worker view the miner detail shows.

OCEAN (https://api.ocean.xyz/v1, no auth; the user is the payout address). Payloads sit under
``"result"``; numbers often arrive as strings; hash rates in H/s; amounts in BTC.

- ``GET /v1/statsnap/<user>``: ``hashrate_60s``, ``hashrate_300s``, ``unpaid``,
  ``estimated_earn_next_block``, ``estimated_payout_next_block``, ``shares_in_tides``, ``snap_ts``.
- ``GET /v1/user_hashrate/<user>``: ``hashrate_3600s``, ``hashrate_86400s``, ``active_worker_count``.
- ``GET /v1/earnpay/<user>/<start>/<end>``: ``earnings[]`` (``ts``, ``block_hash``,
  ``satoshis_net_earned``) and ``payouts[]`` (``ts``, ``total_satoshis_net_paid``, ...).
  Today's and yesterday's rewards are the earnings credited on those (UTC) days; the pool's
  hashprice is the last 24 h of earnings over the 24 h hash rate (noisy: TIDES pays per block).
  OCEAN's per-worker figures are not read (no documented reply shape to build on): a miner on
  OCEAN shows the account's hash rate only.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import httpx

from ..energy.snapshot import number
from .config import PoolConfig
from .value import SATS_PER_BTC

log = logging.getLogger("edgemining_tui.econ.pools")

_UNIT_TO_TH = {"h/s": 1e-12, "kh/s": 1e-9, "mh/s": 1e-6, "gh/s": 1e-3, "th/s": 1.0, "ph/s": 1e3, "eh/s": 1e6}


class PoolError(Exception):
    """One request failed; the message is what the console shows."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class PoolStats:
    name: str
    kind: str
    ok: bool = False
    error: str | None = None          # why the last poll failed (None: it worked)
    warnings: tuple[str, ...] = ()    # optional parts that failed (rewards, pool stats)
    checked_ts: float | None = None   # last poll attempt
    updated_ts: float | None = None   # last successful poll: the figures are from then
    stale: bool = False               # the figures are from an earlier poll (the last one failed)
    hashrate_ths: float | None = None         # ~5 min average
    hashrate_1h_ths: float | None = None
    hashrate_24h_ths: float | None = None
    balance_sats: float | None = None         # unpaid balance at the pool
    estimated_sats: float | None = None       # estimated earnings (Braiins: current block; OCEAN: next block)
    today_sats: float | None = None
    yesterday_sats: float | None = None
    all_time_sats: float | None = None
    workers_ok: int | None = None
    workers_off: int | None = None
    hashprice_sats_per_th_day: float | None = None
    # Edge Mining's mining_performance fields (docs/rules.md "Fields")
    hashrate_7d_ths: float | None = None      # mean of our own polls over the last 7 days
    next_payout_sats: float | None = None     # what the next payout would be (OCEAN: if a block is found now)
    # per worker, keyed by the full worker name: {state, hashrate_ths, hashrate_1h_ths, last_share_ts}
    workers: dict[str, dict] = field(default_factory=dict)

    def view(self) -> dict:
        return asdict(self) | {"warnings": list(self.warnings)}

    def as_fields(self, payout_threshold_sats: float | None = None) -> dict:
        """Edge Mining's ``mining_performance.*`` shape for rules (sats, TH/s)."""
        freq = PAYOUT_FREQUENCY.get(self.kind, "unknown")
        nxt = None
        if self.kind == "braiins" and self.updated_ts is not None:
            nxt = _day_start(self.updated_ts) + 86400.0      # FPPS: credited per UTC day
        est = self.next_payout_sats if self.next_payout_sats is not None else self.estimated_sats
        return {
            "current_hashrate": {"value": self.hashrate_ths, "unit": "TH/s"},
            "pool_stats": {
                "current_hashrate": {"value": self.hashrate_ths, "unit": "TH/s"},
                "average_hashrate_24h": {"value": self.hashrate_24h_ths, "unit": "TH/s"},
                "average_hashrate_7d": {"value": self.hashrate_7d_ths, "unit": "TH/s"},
                "unpaid_balance": self.balance_sats, "estimated_next_payout": est,
            },
            "payout_schedule": {"frequency": freq, "threshold": payout_threshold_sats,
                                "next_payout_at": nxt},
        }


# Edge Mining's PayoutSchedule.frequency per pool (its trackers: Braiins daily FPPS, OCEAN threshold)
PAYOUT_FREQUENCY = {"braiins": "daily", "ocean": "threshold"}
# which mining_performance.* fields each pool kind fills (the rest stay unknown)
POOL_FIELDS = {
    "braiins": frozenset({"current_hashrate.value", "current_hashrate.unit", "pool_stats.current_hashrate.value",
                          "pool_stats.average_hashrate_24h.value", "pool_stats.average_hashrate_7d.value",
                          "pool_stats.unpaid_balance", "pool_stats.estimated_next_payout",
                          "payout_schedule.frequency", "payout_schedule.next_payout_at"}),
    "ocean": frozenset({"current_hashrate.value", "current_hashrate.unit", "pool_stats.current_hashrate.value",
                        "pool_stats.average_hashrate_24h.value", "pool_stats.average_hashrate_7d.value",
                        "pool_stats.unpaid_balance", "pool_stats.estimated_next_payout",
                        "payout_schedule.frequency"}),
}


_num = number      # a JSON number or numeric string; None for anything else (NaN/inf too)


def _btc_sats(v: Any) -> float | None:
    f = _num(v)
    return None if f is None else round(f * SATS_PER_BTC)


def _to_th(v: Any, unit: Any) -> float | None:
    f = _num(v)
    factor = _UNIT_TO_TH.get(str(unit or "").strip().lower())
    return None if f is None or factor is None else f * factor


def _day_start(ts: float) -> float:
    d = datetime.fromtimestamp(ts, timezone.utc)
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc).timestamp()


def _parse_ts(v: Any) -> float | None:
    """OCEAN writes epoch seconds (as string or number) or ISO-8601 UTC without a zone."""
    f = _num(v)
    if f is not None:
        return f
    if isinstance(v, str):
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
        if d.tzinfo is None:
            d = d.replace(tzinfo=timezone.utc)
        return d.timestamp()
    return None


class _Tracker:
    kind = "?"

    def __init__(self, cfg: PoolConfig, client: httpx.AsyncClient | None = None) -> None:
        self.cfg = cfg
        self._client = client
        self._own_client = client is None
        self.stats = PoolStats(cfg.name, cfg.kind)
        self.failures = 0
        self.next_due = 0.0
        self._week: deque[tuple[float, float]] = deque()    # (ts, hash rate TH/s) of the last 7 days

    @property
    def name(self) -> str:
        return self.cfg.name

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(base_url=self.cfg.base_url(), timeout=self.cfg.timeout,
                                             headers=self._headers())
        return self._client

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    async def close(self) -> None:
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _get(self, path: str) -> Any:
        try:
            r = await asyncio.wait_for(self.client().get(path, headers=self._headers()),
                                       self.cfg.timeout + 1.0)
        except (httpx.TimeoutException, asyncio.TimeoutError):
            raise PoolError(f"no answer in {self.cfg.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise PoolError(f"cannot reach the pool ({type(e).__name__})") from None
        if r.status_code in (401, 403):
            raise PoolError(f"the pool refused the token (HTTP {r.status_code})")
        if r.status_code == 404:
            raise PoolError("not found (HTTP 404): check the user/address and the url")
        if r.status_code == 429:
            ra = _num(r.headers.get("retry-after"))
            raise PoolError("rate limited by the pool (HTTP 429)", retry_after=ra)
        if r.status_code != 200:
            raise PoolError(f"the pool answered HTTP {r.status_code}")
        try:
            return r.json()
        except ValueError:
            raise PoolError("the pool answered something that is not JSON") from None

    async def _fetch(self, now: float) -> PoolStats:  # pragma: no cover - per pool
        raise NotImplementedError

    async def poll(self, now: float | None = None) -> PoolStats:
        """Read the pool once. Never raises; on failure the last good figures stay, marked stale."""
        now = time.time() if now is None else now
        try:
            fresh = await self._fetch(now)
        except PoolError as e:
            self.failures += 1
            self.stats = replace(self.stats, ok=False, error=str(e), checked_ts=now,
                                 stale=self.stats.updated_ts is not None)
            back = min(self.cfg.poll_interval, 30.0 * 2 ** (self.failures - 1))
            self.next_due = now + max(back, e.retry_after or 0.0)
            return self.stats
        except Exception as e:  # a parser bug must not take the engine down
            log.exception("pool %s: poll failed", self.cfg.name)
            self.failures += 1
            self.stats = replace(self.stats, ok=False, error=f"unexpected answer ({type(e).__name__})",
                                 checked_ts=now, stale=self.stats.updated_ts is not None)
            self.next_due = now + min(self.cfg.poll_interval, 30.0 * 2 ** (self.failures - 1))
            return self.stats
        self.failures = 0
        wk = self._week
        if fresh.hashrate_ths is not None:
            wk.append((now, fresh.hashrate_ths))
        while wk and wk[0][0] < now - 7 * 86400.0:
            wk.popleft()
        h7 = sum(h for _, h in wk) / len(wk) if wk else None
        self.stats = replace(fresh, ok=True, error=None, checked_ts=now, updated_ts=now, stale=False,
                             hashrate_7d_ths=h7)
        self.next_due = now + self.cfg.poll_interval
        return self.stats

    def due(self, now: float) -> bool:
        return now >= self.next_due


class BraiinsPoolTracker(_Tracker):
    kind = "braiins"
    PROFILE = "/accounts/profile/json/btc/"
    REWARDS = "/accounts/rewards/json/btc"
    STATS = "/stats/json/btc/"
    WORKERS = "/accounts/workers/json/btc/"

    def _headers(self) -> dict[str, str]:
        tok = str(self.cfg.token or "")
        return {"Accept": "application/json", "SlushPool-Auth-Token": tok, "Pool-Auth-Token": tok}

    @staticmethod
    def _btc(body: Any, what: str) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("btc"), dict):
            raise PoolError(f"unexpected {what} answer (no 'btc' object)")
        return body["btc"]

    async def _fetch(self, now: float) -> PoolStats:
        p = self._btc(await self._get(self.PROFILE), "profile")
        unit = p.get("hash_rate_unit")
        if _to_th(p.get("hash_rate_5m"), unit) is None:
            raise PoolError(f"unexpected profile answer (hash rate {p.get('hash_rate_5m')!r} {unit!r})")
        st = PoolStats(
            self.cfg.name, self.kind,
            hashrate_ths=_to_th(p.get("hash_rate_5m"), unit), hashrate_1h_ths=_to_th(p.get("hash_rate_60m"), unit),
            hashrate_24h_ths=_to_th(p.get("hash_rate_24h"), unit),
            balance_sats=_btc_sats(p.get("current_balance")), estimated_sats=_btc_sats(p.get("estimated_reward")),
            today_sats=_btc_sats(p.get("today_reward")), all_time_sats=_btc_sats(p.get("all_time_reward")),
            workers_ok=_int(p.get("ok_workers")),
            workers_off=_sum_int(p.get("off_workers"), p.get("low_workers")),
        )
        warnings: list[str] = []
        try:
            rw = self._btc(await self._get(self.REWARDS), "rewards")
            days = rw.get("daily_rewards")
            if not isinstance(days, list):
                raise PoolError("unexpected rewards answer (no daily_rewards)")
            y0 = _day_start(now) - 86400.0
            for d in days:
                if isinstance(d, dict) and _num(d.get("date")) is not None and abs(_num(d["date"]) - y0) < 3600:
                    st.yesterday_sats = _btc_sats(d.get("total_reward"))
        except PoolError as e:
            warnings.append(f"rewards: {e}")
        try:
            s = self._btc(await self._get(self.STATS), "pool stats")
            rate = _num(s.get("fpps_rate"))          # BTC per TH/s per day
            if rate is not None and rate >= 0:
                st.hashprice_sats_per_th_day = rate * SATS_PER_BTC
        except PoolError as e:
            warnings.append(f"pool stats: {e}")
        try:
            st.workers = braiins_workers(self._btc(await self._get(self.WORKERS), "workers"))
        except PoolError as e:
            warnings.append(f"workers: {e}")
        st.warnings = tuple(warnings)
        return st


def braiins_workers(btc: dict) -> dict[str, dict]:
    """Braiins Pool's ``workers`` object, each worker's hash rates in TH/s; malformed entries skipped."""
    workers = btc.get("workers")
    if not isinstance(workers, dict):
        raise PoolError("unexpected workers answer (no 'workers' object)")
    out: dict[str, dict] = {}
    for name, w in workers.items():
        if not isinstance(w, dict):
            continue
        unit = w.get("hash_rate_unit")
        state = w.get("state")
        out[str(name)] = {"state": state if isinstance(state, str) else None,
                          "hashrate_ths": _to_th(w.get("hash_rate_5m"), unit),
                          "hashrate_1h_ths": _to_th(w.get("hash_rate_60m"), unit),
                          "last_share_ts": _num(w.get("last_share"))}
    return out


def find_worker(pools: dict, worker: str | None, pool_user: str | None = None) -> tuple[str, str, dict] | None:
    """(pool name, worker's full name, its figures) for a miner's worker in the trackers' views
    (``{pool name: PoolStats.view()}``): the full login matches first, then the part after the
    dot, case-insensitively (pools lower-case names in their UIs)."""
    if not worker and not pool_user:
        return None
    for exact in (True, False):
        for pool_name, view in (pools or {}).items():
            ws = view.get("workers") if isinstance(view, dict) else None
            for full, w in (ws or {}).items():
                if not isinstance(w, dict):
                    continue
                if exact and pool_user and full == pool_user:
                    return pool_name, full, w
                if not exact and worker and full.split(".", 1)[-1].lower() == worker.lower():
                    return pool_name, full, w
    return None


class OceanTracker(_Tracker):
    kind = "ocean"

    @staticmethod
    def _result(body: Any, what: str) -> dict:
        if isinstance(body, dict) and isinstance(body.get("result"), dict):
            return body["result"]
        why = body.get("error") or body.get("message") if isinstance(body, dict) else None
        raise PoolError(f"unexpected {what} answer" + (f": {str(why)[:60]}" if why else " (no 'result')"))

    async def _fetch(self, now: float) -> PoolStats:
        user = self.cfg.user
        snap = self._result(await self._get(f"/v1/statsnap/{user}"), "statsnap")
        h300 = _num(snap.get("hashrate_300s"))
        if h300 is None:
            raise PoolError(f"unexpected statsnap answer (hashrate_300s {snap.get('hashrate_300s')!r})")
        st = PoolStats(self.cfg.name, self.kind, hashrate_ths=h300 / 1e12,
                       balance_sats=_btc_sats(snap.get("unpaid")),
                       estimated_sats=_btc_sats(snap.get("estimated_earn_next_block")),
                       next_payout_sats=_btc_sats(snap.get("estimated_payout_next_block")))
        warnings: list[str] = []
        try:
            hr = self._result(await self._get(f"/v1/user_hashrate/{user}"), "user_hashrate")
            h1 = _num(hr.get("hashrate_3600s"))
            h24 = _num(hr.get("hashrate_86400s"))
            st.hashrate_1h_ths = None if h1 is None else h1 / 1e12
            st.hashrate_24h_ths = None if h24 is None else h24 / 1e12
            st.workers_ok = _int(hr.get("active_worker_count"))
        except PoolError as e:
            warnings.append(f"user_hashrate: {e}")
        try:
            today0 = _day_start(now)
            start = int(today0 - 86400.0)
            ep = self._result(await self._get(f"/v1/earnpay/{user}/{start}/{int(now)}"), "earnpay")
            earnings = ep.get("earnings") or []
            if not isinstance(earnings, list):
                raise PoolError("unexpected earnpay answer (earnings is not a list)")
            today = yesterday = last24 = 0.0
            for e in earnings:
                if not isinstance(e, dict):
                    continue
                ts, sats = _parse_ts(e.get("ts")), _num(e.get("satoshis_net_earned"))
                if ts is None or sats is None:
                    continue
                if ts >= today0:
                    today += sats
                elif ts >= today0 - 86400.0:
                    yesterday += sats
                if now - 86400.0 <= ts <= now:
                    last24 += sats
            st.today_sats, st.yesterday_sats = today, yesterday
            if st.hashrate_24h_ths and st.hashrate_24h_ths > 0 and last24 > 0:
                st.hashprice_sats_per_th_day = last24 / st.hashrate_24h_ths
        except PoolError as e:
            warnings.append(f"earnpay: {e}")
        st.warnings = tuple(warnings)
        return st


def _int(v: Any) -> int | None:
    f = _num(v)
    return None if f is None else int(f)


def _sum_int(*vs: Any) -> int | None:
    xs = [_int(v) for v in vs]
    return None if all(x is None for x in xs) else sum(x or 0 for x in xs)


def build_tracker(cfg: PoolConfig, client: httpx.AsyncClient | None = None) -> _Tracker:
    return (BraiinsPoolTracker if cfg.kind == "braiins" else OceanTracker)(cfg, client)


PoolTracker = _Tracker
__all__ = ["PoolStats", "PoolError", "BraiinsPoolTracker", "OceanTracker", "build_tracker", "PoolTracker"]
