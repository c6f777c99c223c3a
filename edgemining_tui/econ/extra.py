"""Economics in the engine: prices now, the hashprice, each miner's worth per kWh, the pools.

An engine extra (see engine/engine.py): ``update`` runs every cycle and never waits on the
network (Home Assistant price entities and pool APIs are read in background tasks on their own
intervals, with timeouts; a failure is shown, never raised); ``contribute`` hands the decider
``prices = {"import", "export", "btc", "hashprice", "efficiency.<miner>"...}``; ``state_extra``
puts ``{"economics": ...}`` into the engine state for the console and the store.

It also records the prices it saw, once an hour, in the ``econ_prices`` table, so the history's
money (econ/ledger.py) uses the Home Assistant or pool figures of the time.
"""
from __future__ import annotations

import asyncio
import logging
import math
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from ..miners.model import MinerState
from .config import EconomicsConfig
from .decision import EFFICIENCY_KEY, gate
from .ledger import PRICE_TABLE, split_sources
from .pools import PoolStats, build_tracker
from .prices import price_at, read_ha_price
from .value import SATS_PER_BTC, sats_for_hashrate, sats_per_kwh, value_per_kwh

log = logging.getLogger("edgemining_tui.econ")

_EMA = 0.2          # smoothing of the measured efficiency (J/TH) while a miner mines


class EconomicsExtra:
    def __init__(self, cfg: EconomicsConfig, tz: str = "UTC", *,
                 ha_client: Callable[[], Any] | None = None, trackers: Iterable[Any] | None = None,
                 store: Any = None, miners: Iterable[str] = ()) -> None:
        """``ha_client``: returns an ``httpx.AsyncClient`` for Home Assistant (base_url, bearer token,
        timeout set), needed only for entity prices. ``trackers``: pool trackers (default: built from
        ``cfg.pools``). ``miners``: names to show before the first samples arrive."""
        self.cfg = cfg
        self.tz = ZoneInfo(tz)
        self.ha_client = ha_client
        self.trackers = list(trackers) if trackers is not None else [build_tracker(p) for p in cfg.pools]
        self._thresholds = {p.name: p.payout_threshold for p in cfg.pools}
        self.store = store
        self.entity_values: dict[str, float | None] = {}
        self.entity_errors: dict[str, str | None] = {}
        self._entities_due = 0.0
        self._tasks: dict[str, asyncio.Task] = {}
        self.measured_eff: dict[str, float] = {}
        self.prices: dict[str, float | None] = {}
        self.hashprice_source = "config"
        self.hashprice_note: str | None = None
        self.miners: dict[str, dict] = {n: {} for n in miners}
        self.now_rates: dict[str, float | None] = {}
        self._last_ts: float | None = None
        self._hour: float | None = None
        self._hour_sums: dict[str, tuple[float, int]] = {}
        self._table_ready = False
        if store is not None:
            saved = store.get("econ_efficiency")
            if isinstance(saved, dict):
                self.measured_eff = {k: float(v) for k, v in saved.items() if isinstance(v, (int, float)) and v > 0}

    # --- background reads ---------------------------------------------------------------------
    def _spawn(self, key: str, coro_fn: Callable[[], Any]) -> None:
        t = self._tasks.get(key)
        if t is not None and not t.done():
            return
        self._tasks[key] = asyncio.get_running_loop().create_task(coro_fn(), name=f"econ:{key}")

    async def _read_entities(self) -> None:
        ents = self.cfg.entities()
        if not ents:
            return
        if self.ha_client is None:
            for e in ents:
                self.entity_values[e] = None
                self.entity_errors[e] = f"{e}: no Home Assistant connection configured"
            return
        try:
            client = self.ha_client()
            results = await asyncio.gather(*(asyncio.wait_for(read_ha_price(client, e), 15.0) for e in ents),
                                           return_exceptions=True)
        except Exception as ex:  # never let a price read break anything
            results = [ex] * len(ents)
        for e, r in zip(ents, results):
            if isinstance(r, BaseException):
                v, err = None, f"{e}: read failed ({type(r).__name__})"
            else:
                v, err = r
            self.entity_values[e] = v
            self.entity_errors[e] = err

    async def _poll(self, tracker: Any, now: float) -> None:
        try:
            await tracker.poll(now)
        except Exception:  # trackers do not raise; if one does, it is a bug to log, not a crash
            log.exception("pool tracker %s failed", getattr(tracker, "name", tracker))

    async def refresh(self, now: float) -> None:
        """Read every price entity and pool now, waiting for them (start-up, tests)."""
        await self._read_entities()
        self._entities_due = now + self.cfg.price_poll_interval
        await asyncio.gather(*(self._poll(t, now) for t in self.trackers))

    async def close(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        for t in self._tasks.values():
            try:
                await t
            except BaseException:
                pass
        for tr in self.trackers:
            try:
                await tr.close()
            except Exception:
                log.exception("closing pool tracker failed")

    # --- the cycle ------------------------------------------------------------------------------
    def _hashprice(self) -> float:
        cfg = self.cfg
        if cfg.hashprice_from == "pool":
            wanted = cfg.hashprice_pool
            for t in self.trackers:
                if wanted is not None and t.name != wanted:
                    continue
                st: PoolStats = t.stats
                if st.hashprice_sats_per_th_day is not None:
                    self.hashprice_source = f"pool {t.name}" + (" (stale)" if st.stale else "")
                    self.hashprice_note = None
                    return st.hashprice_sats_per_th_day
                if wanted is not None:
                    break
            self.hashprice_source = "config"
            self.hashprice_note = "no hashprice from the pool yet: using the configured one"
        else:
            self.hashprice_source = "config"
            self.hashprice_note = None
        return cfg.hashprice_sats_per_th_day

    def compute(self, now: float, samples: Mapping[str, Any], snapshot: Any = None) -> None:
        """Everything ``update`` does but the network: usable from a backtest or a test."""
        cfg = self.cfg
        hp = self._hashprice()
        self.prices = {"import": price_at(cfg.import_source, now, self.tz, self.entity_values),
                       "export": price_at(cfg.export_source, now, self.tz, self.entity_values),
                       "btc": cfg.btc_price, "hashprice": hp}
        names = list(dict.fromkeys(list(self.miners) + list(samples)))
        miners: dict[str, dict] = {}
        sats_h = 0.0
        for name in names:
            s = samples.get(name)
            if s is not None and s.state == MinerState.MINING and s.efficiency_j_th:
                old = self.measured_eff.get(name)
                e = s.efficiency_j_th
                self.measured_eff[name] = e if old is None else old + _EMA * (e - old)
            if name in cfg.miner_efficiency:
                eff, src = cfg.miner_efficiency[name], "config"
            elif name in self.measured_eff:
                eff, src = self.measured_eff[name], "measured"
            else:
                eff, src = cfg.default_efficiency_j_th, "default"
            self.prices[EFFICIENCY_KEY + name] = eff
            g = gate(eff, self.prices, cfg)
            power = (s.power_w or 0.0) if s is not None and s.power_w is not None else 0.0
            if s is not None and s.hashrate_ths is not None:
                rate = sats_for_hashrate(s.hashrate_ths, 3600.0, hp)
            else:
                rate = power / 1000.0 * sats_per_kwh(eff, hp)
            sats_h += rate
            miners[name] = {"efficiency_j_th": round(eff, 2), "efficiency_from": src,
                            "sats_per_kwh": round(sats_per_kwh(eff, hp), 1),
                            "value_per_kwh": round(value_per_kwh(eff, hp, cfg.btc_price), 4),
                            "break_even_import": round(value_per_kwh(eff, hp, cfg.btc_price), 4),
                            "pays_on_surplus": g.pays_on_surplus, "pays_on_grid": g.pays_on_grid,
                            "surplus_ok": g.surplus_ok, "grid_ok": g.grid_ok, "reason": g.reason,
                            "power_w": power, "sats_per_hour": round(rate, 2)}
        self.miners = miners
        self._rates(snapshot, sats_h)
        self._record(now)

    def _rates(self, snapshot: Any, sats_h: float) -> None:
        if snapshot is None:
            self.now_rates = {"sats_per_hour": round(sats_h, 2)}
            return
        total_w = sum(m["power_w"] for m in self.miners.values())
        s_w, b_w, g_w, u_w = split_sources(total_w, snapshot.value("grid_import_w"),
                                           snapshot.value("battery_charge_w"))
        exp, imp, btc = self.prices.get("export"), self.prices.get("import"), self.cfg.btc_price
        value_h = sats_h * btc / SATS_PER_BTC
        forgone = None if exp is None else (s_w + b_w) / 1000.0 * exp
        grid = None if imp is None else g_w / 1000.0 * imp
        self.now_rates = {"surplus_w": round(s_w, 1), "battery_w": round(b_w, 1), "grid_w": round(g_w, 1),
                          "unattributed_w": round(u_w, 1), "sats_per_hour": round(sats_h, 2),
                          "value_per_hour": round(value_h, 4),
                          "feed_in_forgone_per_hour": None if forgone is None else round(forgone, 4),
                          "grid_cost_per_hour": None if grid is None else round(grid, 4),
                          "net_per_hour": round(value_h - (forgone or 0.0) - (grid or 0.0), 4)}

    def _record(self, now: float) -> None:
        """Average the prices over each hour; write the hour's row when it is over."""
        hour = math.floor(now / 3600.0) * 3600.0
        if self._hour is not None and hour != self._hour and self._hour_sums:
            row = {"ts": self._hour, **{k: (s / n if n else None) for k, (s, n) in self._hour_sums.items()}}
            for k in ("import", "export", "btc", "hashprice"):
                row.setdefault(k, None)
            self._hour_sums = {}
            if self.store is not None:
                try:
                    asyncio.get_running_loop().create_task(asyncio.to_thread(self._write_row, row))
                except RuntimeError:   # no loop (a synchronous caller): write now
                    self._write_row(row)
        self._hour = hour
        for k in ("import", "export", "btc", "hashprice"):
            v = self.prices.get(k)
            if v is not None:
                s, n = self._hour_sums.get(k, (0.0, 0))
                self._hour_sums[k] = (s + v, n + 1)

    def _write_row(self, row: dict) -> None:
        try:
            record_prices(self.store, [row])
            self.store.put("econ_efficiency", self.measured_eff)
        except Exception:
            log.exception("could not record prices")

    async def update(self, engine: Any, snapshot: Any, samples: Mapping[str, Any]) -> None:
        now = engine.clock.now()
        if self.cfg.entities() and now >= self._entities_due:
            self._entities_due = now + self.cfg.price_poll_interval
            self._spawn("prices", self._read_entities)
        for t in self.trackers:
            if t.due(now):
                t.next_due = now + t.cfg.poll_interval     # the poll sets the real next time
                self._spawn(f"pool:{t.name}", lambda t=t: self._poll(t, now))
        self.compute(now, samples, snapshot)

    def prices_now(self) -> dict[str, float | None]:
        """For other extras (heat zones' grid price cap): ``engine.prices_now = extra.prices_now``."""
        return dict(self.prices)

    def contribute(self, kw: dict) -> None:
        merged = dict(kw.get("prices") or {})
        merged.update(self.prices)
        kw["prices"] = merged

    def performance_fields(self) -> dict | None:
        """Edge Mining's ``mining_performance.*`` for rules: the hashprice pool, else the first pool that works."""
        best = None
        for t in self.trackers:
            if t.stats.updated_ts is None:
                continue
            if self.cfg.hashprice_pool is None or t.name == self.cfg.hashprice_pool:
                best = t.stats
                break
            best = best or t.stats
        return None if best is None else best.as_fields(self._thresholds.get(best.name))

    def state_extra(self) -> dict:
        cfg = self.cfg
        return {"economics": {
            "currency": cfg.currency,
            "prices": {k: self.prices.get(k) for k in ("import", "export", "btc", "hashprice")},
            "price_errors": {e: err for e, err in self.entity_errors.items() if err},
            "hashprice_source": self.hashprice_source, "hashprice_note": self.hashprice_note,
            "switches": {"mine_only_above_feed_in": cfg.mine_only_above_feed_in,
                         "grid_mining_below_break_even": cfg.grid_mining_below_break_even,
                         "margin_pct": cfg.margin_pct},
            "miners": self.miners,
            "now": self.now_rates,
            "pools": {t.name: t.stats.view() for t in self.trackers},
        }}


def record_prices(store: Any, rows: list[dict]) -> None:
    """Upsert hourly price rows ``{ts, import, export, btc, hashprice}`` into ``econ_prices``."""
    db = store.db
    lock = getattr(store, "_lock", None)

    def write() -> None:
        t = db[PRICE_TABLE]
        if not t.exists():
            t.create({"ts": float, "import": float, "export": float, "btc": float, "hashprice": float}, pk="ts")
        with db.conn:
            t.upsert_all(rows, pk="ts")
    if lock is not None:
        with lock:
            write()
    else:
        write()


def build_economics_extra(cfg: EconomicsConfig, tz: str, energy_cfg: Any = None, store: Any = None,
                          stack: Any = None, miners: Iterable[str] = ()) -> EconomicsExtra:
    """The runtime's factory: Home Assistant prices through the energy source's HA url and token."""
    ha = getattr(energy_cfg, "home_assistant", None) if energy_cfg is not None else None
    box: list = []

    def client():
        import httpx
        if not box:
            box.append(httpx.AsyncClient(base_url=ha.url.rstrip("/"), timeout=getattr(ha, "timeout", 10.0),
                                         headers={"Authorization": f"Bearer {ha.token}"}))
        return box[0]

    extra = EconomicsExtra(cfg, tz, ha_client=client if ha is not None else None, store=store, miners=miners)
    if stack is not None:
        async def _close() -> None:
            await extra.close()
            if box:
                await box[0].aclose()
        stack.push_async_callback(_close)
    return extra
