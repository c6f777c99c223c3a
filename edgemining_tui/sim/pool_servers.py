"""Braiins Pool- and OCEAN-shaped APIs on loopback, for the demo and the tests.

They answer with the shapes the real pools use (see econ/pools.py for the endpoints and sources):
Braiins under ``"btc"`` with a ``hash_rate_unit`` and BTC amounts as decimal strings, behind the
``SlushPool-Auth-Token``/``Pool-Auth-Token`` header; OCEAN under ``"result"`` with H/s and BTC as
strings, no auth. Figures are plain attributes a test (or the demo) sets.

Fault switches, as on the Home Assistant stand-in: ``status`` forces an HTTP status for every
request, ``hang`` accepts and never answers, ``garbage`` answers with malformed JSON,
``status_for`` forces a status for one path prefix (e.g. only the rewards endpoint fails).
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from .http import Request, Response, StandInServer


def _btc(sats: float) -> str:
    return f"{sats / 1e8:.8f}"


class _FaultyServer(StandInServer):
    GARBAGE = b'{"btc": {"hash_rate_5m": '

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self.status_for: dict[str, int] = {}
        self.requests: list[str] = []

    def failure(self, status: int) -> Response:
        return Response.json({"message": "simulated failure"}, status)

    async def _handle(self, req: Request) -> Response:
        self.requests.append(req.path)
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        for prefix, st in self.status_for.items():
            if req.path.startswith(prefix):
                return self.failure(st)
        denied = self._auth(req)
        if denied is not None:
            return denied
        if self.garbage:
            return self.garbage_reply()
        return self._route(req)

    def _auth(self, req: Request) -> Response | None:
        return None

    def _route(self, req: Request) -> Response:  # pragma: no cover - per server
        raise NotImplementedError


def braiins_worker(state: str, ths: float, last_share: int) -> dict:
    """One entry of Braiins Pool's ``/accounts/workers/json/btc/`` reply. Keys and units as the
    pool's help-center "API configuration guide" (Workers API) lists them and as public clients of
    the real endpoint read them (hash rates in ``hash_rate_unit``, Gh/s; ``state`` ok / low / off /
    dis; ``last_share`` epoch seconds); the figures are the stand-in's own."""
    gh = ths * 1000.0
    return {"state": state, "last_share": last_share, "hash_rate_unit": "Gh/s", "hash_rate_scoring": gh,
            "hash_rate_5m": gh, "hash_rate_60m": gh, "hash_rate_24h": gh,
            "shares_5m": int(ths * 12), "shares_60m": int(ths * 144), "shares_24h": int(ths * 3456)}


class BraiinsPoolServer(_FaultyServer):
    """``/accounts/profile/json/btc/``, ``/accounts/rewards/json/btc``, ``/stats/json/btc/``,
    ``/accounts/workers/json/btc/``."""

    def __init__(self, token: str = "pool-token", host: str = "127.0.0.1", port: int = 0,
                 clock=time.time) -> None:
        super().__init__(host, port)
        self.token = token
        self.clock = clock
        self.hashrate_ths = 110.0           # the account's hash rate (served in Gh/s, like the pool)
        self.balance_sats = 123_456
        self.today_sats = 4_321
        self.yesterday_sats = 5_500
        self.estimated_sats = 1_194
        self.all_time_sats = 15_000_000
        self.fpps_rate_btc = 0.00000050    # BTC per TH/s per day: 50 sats/TH/day
        self.ok_workers = 2
        # full worker name -> (state, TH/s as the pool sees it); tests set these
        self.workers: dict[str, tuple[str, float]] = {"demo.worker1": ("ok", 55.0), "demo.worker2": ("ok", 55.0)}

    def _auth(self, req: Request) -> Response | None:
        got = (req.headers.get("slushpool-auth-token") or req.headers.get("x-slushpool-auth-token")
               or req.headers.get("pool-auth-token") or req.headers.get("x-pool-auth-token"))
        if got != self.token:
            return Response.json({"detail": "Invalid token."}, 401)
        return None

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        gh = self.hashrate_ths * 1000.0
        if path == "/accounts/profile/json/btc":
            return Response.json({"username": "demo", "btc": {
                "all_time_reward": _btc(self.all_time_sats), "hash_rate_unit": "Gh/s",
                "hash_rate_5m": gh, "hash_rate_60m": gh, "hash_rate_24h": gh, "hash_rate_yesterday": gh,
                "low_workers": 0, "off_workers": 0, "ok_workers": self.ok_workers, "dis_workers": 0,
                "current_balance": _btc(self.balance_sats), "today_reward": _btc(self.today_sats),
                "estimated_reward": _btc(self.estimated_sats), "shares_5m": 123, "shares_60m": 1476,
                "shares_24h": 35424, "shares_yesterday": 35000}})
        if path == "/accounts/rewards/json/btc":
            now = self.clock()
            d = datetime.fromtimestamp(now, timezone.utc)
            today0 = datetime(d.year, d.month, d.day, tzinfo=timezone.utc)
            days = []
            for i, sats in ((1, self.yesterday_sats), (2, self.yesterday_sats * 0.9)):
                day = (today0 - timedelta(days=i)).timestamp()
                days.append({"date": int(day), "total_reward": _btc(sats), "mining_reward": _btc(sats),
                             "bos_plus_reward": "0.00000000", "referral_bonus": "0.00000000",
                             "referral_reward": "0.00000000", "calculation_date": int(day + 86400 + 3600)})
            return Response.json({"username": "demo", "btc": {"daily_rewards": days}})
        if path == "/accounts/workers/json/btc":
            last = int(self.clock()) - 7
            return Response.json({"username": "demo", "btc": {"workers": {
                name: braiins_worker(state, ths, last if state == "ok" else last - 3600)
                for name, (state, ths) in self.workers.items()}}})
        if path == "/stats/json/btc":
            return Response.json({"btc": {
                "hash_rate_unit": "Gh/s", "pool_active_workers": 219210, "pool_5m_hash_rate": 5.7e9,
                "pool_60m_hash_rate": 5.6e9, "pool_24h_hash_rate": 5.5e9, "update_ts": int(self.clock()),
                "blocks": {}, "fpps_rate": self.fpps_rate_btc}})
        return Response.json({"detail": "Not found."}, 404)


class OceanServer(_FaultyServer):
    """``/v1/statsnap/<user>``, ``/v1/user_hashrate/<user>``, ``/v1/earnpay/<user>[/<start>[/<end>]]``."""

    def __init__(self, user: str = "bc1qdemo", host: str = "127.0.0.1", port: int = 0,
                 clock=time.time) -> None:
        super().__init__(host, port)
        self.user = user
        self.clock = clock
        self.hashrate_ths = 110.0
        self.unpaid_sats = 654_321
        self.estimated_earn_sats = 2_500
        # (epoch seconds, sats) credited per block; tests set these
        self.earnings: list[tuple[float, float]] = []

    def _route(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        if len(parts) < 3 or parts[0] != "v1":
            return Response.json({"error": "not found"}, 404)
        what, user = parts[1], parts[2]
        if user != self.user:
            return Response.json({"error": "no such user"}, 404)
        now = self.clock()
        hs = f"{self.hashrate_ths * 1e12:.0f}"
        if what == "statsnap":
            return Response.json({"result": {
                "snap_ts": str(int(now)), "shares_60s": "12", "shares_300s": "60", "hashrate_60s": hs,
                "hashrate_300s": hs, "lastest_share_ts": str(int(now) - 3), "shares_in_tides": "262144",
                "estimated_earn_next_block": _btc(self.estimated_earn_sats),
                "estimated_bonus_earn_next_block": "0.00000000",
                "estimated_total_earn_next_block": _btc(self.estimated_earn_sats),
                "estimated_payout_next_block": _btc(self.estimated_earn_sats),
                "unpaid": _btc(self.unpaid_sats)}})
        if what == "user_hashrate":
            return Response.json({"result": {
                "snap_ts": str(int(now)), "db_ts": str(int(now)), "hashrate_60s": hs, "hashrate_300s": hs,
                "hashrate_600s": hs, "hashrate_1800s": hs, "hashrate_3600s": hs, "hashrate_10800s": hs,
                "hashrate_43200s": hs, "hashrate_86400s": hs, "active_worker_count": 2,
                "lastest_share_ts": str(int(now) - 3)}})
        if what == "earnpay":
            start = float(parts[3]) if len(parts) > 3 else now - 30 * 86400
            end = float(parts[4]) if len(parts) > 4 else now
            rows = [{"ts": datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                     "block_hash": f"{int(ts):064x}", "satoshis_net_earned": sats, "fees_collected_satoshis": 0}
                    for ts, sats in self.earnings if start <= ts <= end]
            return Response.json({"result": {"start_ts": int(start), "end_ts": int(end),
                                             "earnings": rows, "payouts": []}})
        return Response.json({"error": "not found"}, 404)
