"""Money: what mining earned, what it cost, and what was given up.

For every interval of history:

- **kWh mined**, split by where it came from. The grid meter and the battery say it: while the
  site imports, the miners' power up to that import came from the grid; then, while the battery
  discharges, from the battery; the rest was surplus that would otherwise have been exported
  (the allocator leaves the battery its share before the miners get any, so that surplus had no
  other taker). With no grid reading the interval is "unattributed" and carries no cost.
- **sats earned (estimated)**: hashprice × the hash rate each miner reported × time; a miner that
  reports no hash rate is valued from its power and efficiency (J/TH).
- **feed-in revenue forgone**: surplus kWh (and battery kWh: energy the battery stored from
  surplus) × the feed-in price then.
- **grid cost of mining**: grid kWh × the import price then.
- **net** = sats in currency − forgone − grid cost (also in sats).

:func:`summary` reads the history tables (raw rows where the store still keeps them, per-minute
and per-hour rollups before that), so "today" and "this month" cost one query each.
:class:`LedgerAccumulator` does the same per cycle or tick (the backtest uses it).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Mapping
from zoneinfo import ZoneInfo

from .config import EconomicsConfig
from .value import SATS_PER_BTC, sats_for, sats_for_hashrate

_ONE_DAY = timedelta(days=1)
PRICE_TABLE = "econ_prices"   # hourly record of the prices seen live (Home Assistant prices, pool hashprice)


def split_sources(miners_w: float | None, grid_import_w: float | None,
                  battery_charge_w: float | None) -> tuple[float, float, float, float]:
    """``(surplus_w, battery_w, grid_w, unattributed_w)`` of the miners' power (each ≥ 0)."""
    m = max(0.0, miners_w or 0.0)
    if grid_import_w is None:
        return 0.0, 0.0, 0.0, m
    grid = min(m, max(0.0, grid_import_w))
    batt = 0.0 if battery_charge_w is None else min(m - grid, max(0.0, -battery_charge_w))
    return m - grid - batt, batt, grid, 0.0


@dataclass
class Money:
    seconds: float = 0.0
    mined_kwh: float = 0.0
    surplus_kwh: float = 0.0
    battery_kwh: float = 0.0
    grid_kwh: float = 0.0
    unattributed_kwh: float = 0.0
    sats: float = 0.0                  # estimated earnings
    value: float = 0.0                 # the sats in currency, at the BTC price of each interval
    feed_in_forgone: float = 0.0       # currency
    grid_cost: float = 0.0             # currency
    unpriced_kwh: float = 0.0          # kWh whose price was unknown (not in the costs)

    @property
    def net(self) -> float:
        return self.value - self.feed_in_forgone - self.grid_cost

    def add(self, o: "Money") -> "Money":
        for k in asdict(self):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        return self

    def as_dict(self, btc_price: float | None = None, currency: str = "") -> dict:
        d = {k: round(v, 6) for k, v in asdict(self).items()}
        d["net"] = round(self.net, 6)
        if btc_price:
            d["net_sats"] = round(self.net * SATS_PER_BTC / btc_price, 1)
        if currency:
            d["currency"] = currency
        return d


def priced(seconds: float, surplus_w: float, battery_w: float, grid_w: float, unattributed_w: float,
           sats: float, prices: Mapping[str, float | None], btc_price: float | None) -> Money:
    """The money of ``seconds`` of mining at these average powers by source, having earned ``sats``."""
    h = seconds / 3.6e6                           # W over the interval -> kWh
    m = Money(seconds=seconds, mined_kwh=(surplus_w + battery_w + grid_w + unattributed_w) * h,
              surplus_kwh=surplus_w * h, battery_kwh=battery_w * h, grid_kwh=grid_w * h,
              unattributed_kwh=unattributed_w * h, sats=sats)
    if btc_price:
        m.value = sats * btc_price / SATS_PER_BTC
    exp, imp = prices.get("export"), prices.get("import")
    if exp is None:
        m.unpriced_kwh += m.surplus_kwh + m.battery_kwh
    else:
        m.feed_in_forgone = (m.surplus_kwh + m.battery_kwh) * exp
    if imp is None:
        m.unpriced_kwh += m.grid_kwh
    else:
        m.grid_cost = m.grid_kwh * imp
    return m


def interval_money(seconds: float, miners_w: float | None, grid_import_w: float | None,
                   battery_charge_w: float | None, sats: float, prices: Mapping[str, float | None],
                   btc_price: float | None) -> Money:
    """The money of one interval: ``seconds`` long at these (average) powers, having earned ``sats``.

    ``prices``: ``{"import": currency/kWh, "export": currency/kWh}`` (None: unknown)."""
    return priced(seconds, *split_sources(miners_w, grid_import_w, battery_charge_w), sats, prices, btc_price)


class LedgerAccumulator:
    """Sum the money cycle by cycle (the backtest; the live "now" rates)."""

    def __init__(self) -> None:
        self.total = Money()

    def add(self, seconds: float, miners_w: float | None, grid_import_w: float | None,
            battery_charge_w: float | None, sats: float, prices: Mapping[str, float | None],
            btc_price: float | None) -> Money:
        m = interval_money(seconds, miners_w, grid_import_w, battery_charge_w, sats, prices, btc_price)
        self.total.add(m)
        return m


# --- reading the history -------------------------------------------------------------------------

class _Prices:
    """Prices at a time: the hourly record the live extra wrote, else the config (fixed, time of use)."""

    def __init__(self, store: Any, cfg: EconomicsConfig, tz: ZoneInfo, since: float, until: float) -> None:
        from .prices import price_at
        self._price_at = price_at
        self.cfg = cfg
        self.tz = tz
        self.rec: dict[float, dict] = {}
        try:
            for r in store.query(f"select * from [{PRICE_TABLE}] where ts >= ? and ts < ?",
                                 [since - 3600.0, until + 3600.0]):
                self.rec[float(r["ts"])] = r
        except Exception:   # no record yet (no live extra ran): config only
            pass
        self._imp, self._exp = cfg.import_source, cfg.export_source

    def _recorded(self, ts: float, key: str) -> float | None:
        r = self.rec.get(math.floor(ts / 3600.0) * 3600.0)
        return None if r is None else r.get(key)

    def at(self, ts: float) -> tuple[dict[str, float | None], float, float]:
        """(``{"import","export"}``, hashprice, btc) at ``ts``."""
        out: dict[str, float | None] = {}
        for key, src in (("import", self._imp), ("export", self._exp)):
            if src is None:
                out[key] = None
            elif src.entity is not None:
                out[key] = self._recorded(ts, key)
            else:
                out[key] = self._price_at(src, ts, self.tz, {})
        hp = self._recorded(ts, "hashprice")
        btc = self._recorded(ts, "btc")
        return (out, self.cfg.hashprice_sats_per_th_day if hp is None else hp,
                self.cfg.btc_price if btc is None else btc)


def _tier_bounds(store: Any, since: float, until: float) -> list[tuple[str, str, float, float, int]]:
    """[(energy table, miner table, start, end, bucket seconds)]: hours, then minutes, then raw rows.

    Raw rows are pruned only once rolled up, so the finest table that reaches back wins; a rollup
    bucket cut by the raw cutoff is taken whole from the rollup, the raw rows start at the next one."""
    def first(table: str) -> float | None:
        try:
            r = store.query(f"select min(ts) as t from [{table}] where ts >= ? and ts < ?", [since, until])
        except Exception:
            return None
        return None if not r or r[0]["t"] is None else float(r[0]["t"])

    raw0, min0, hour0 = first("energy"), first("energy_minute"), first("energy_hour")
    if raw0 is None:
        b_raw = until
    elif min0 is None or min0 >= raw0:
        b_raw = since                       # raw rows reach back to the start
    else:
        b_raw = min(until, math.ceil(raw0 / 60.0) * 60.0)
    if min0 is None or min0 >= b_raw:
        b_min = b_raw                       # no minute tier
    elif hour0 is None or hour0 >= min0:
        b_min = since
    else:
        b_min = min(b_raw, math.ceil(min0 / 3600.0) * 3600.0)
    tiers = []
    if since < b_min:
        tiers.append(("energy_hour", "miner_hour", since, b_min, 3600))
    if b_min < b_raw:
        tiers.append(("energy_minute", "miner_minute", b_min, b_raw, 60))
    if b_raw < until:
        tiers.append(("energy", "miner_samples", b_raw, until, 0))
    return tiers


def _raw_energy(store: Any, a: float, b: float, cycle_s: float, max_gap_s: float) -> Iterable[dict]:
    """Raw rows summed per minute: watt-seconds from the miners, by source."""
    return store.query(
        "with r as (select ts, max(coalesce(miners_w, 0), 0) as m, grid_import_w as g, battery_charge_w as bc, "
        "  lead(ts) over (order by ts) - ts as d0 from energy where ts >= ? and ts < ?), "
        "r2 as (select *, case when d0 is null or d0 > ? then ? else d0 end as dt from r), "
        "s as (select ts, dt, m, case when g is null then 0 else min(m, max(g, 0)) end as gw, "
        "  case when g is null then m else 0 end as uw, bc from r2), "
        "t as (select ts, dt, m, gw, uw, case when bc is null or uw > 0 then 0 else min(m - gw, max(-bc, 0)) end as bw "
        "  from s) "
        "select cast(ts / 60 as integer) * 60 as bucket, sum(dt) as secs, sum(m * dt) as m_ws, sum(gw * dt) as g_ws, "
        "sum(bw * dt) as b_ws, sum(uw * dt) as u_ws from t group by bucket order by bucket",
        [a, b, max_gap_s, cycle_s])


def _raw_miners(store: Any, a: float, b: float, cycle_s: float, max_gap_s: float) -> Iterable[dict]:
    return store.query(
        "with r as (select ts, name, hashrate_ths as h, power_w as p, "
        "  lead(ts) over (partition by name order by ts) - ts as d0 from miner_samples where ts >= ? and ts < ?), "
        "r2 as (select *, case when d0 is null or d0 > ? then ? else d0 end as dt from r) "
        "select cast(ts / 60 as integer) * 60 as bucket, name, sum(case when h is not null then h * dt else 0 end) "
        "as th_s, sum(case when h is null then coalesce(p, 0) * dt else 0 end) as nohash_ws "
        "from r2 group by bucket, name",
        [a, b, max_gap_s, cycle_s])


def _rolled_energy(store: Any, table: str, a: float, b: float, size: int, cycle_s: float) -> list[dict]:
    out = []
    for r in store.query(f"select ts, n, miners_w, grid_import_w, battery_charge_w from [{table}] "
                         "where ts >= ? and ts < ? order by ts", [a, b]):
        secs = min(float(size), (r["n"] or 0) * cycle_s)
        s, bw, g, u = split_sources(r["miners_w"], r["grid_import_w"], r["battery_charge_w"])
        out.append({"bucket": r["ts"], "secs": secs, "m_ws": (s + bw + g + u) * secs, "g_ws": g * secs,
                    "b_ws": bw * secs, "u_ws": u * secs})
    return out


def _rolled_miners(store: Any, table: str, a: float, b: float, size: int, cycle_s: float) -> list[dict]:
    out = []
    for r in store.query(f"select ts, name, n, power_w, hashrate_ths from [{table}] where ts >= ? and ts < ?",
                         [a, b]):
        secs = min(float(size), (r["n"] or 0) * cycle_s)
        h = r["hashrate_ths"]
        out.append({"bucket": r["ts"], "name": r["name"], "th_s": (h or 0.0) * secs,
                    "nohash_ws": (r["power_w"] or 0.0) * secs if h is None else 0.0})
    return out


def summary(store: Any, since_ts: float, until_ts: float, cfg: EconomicsConfig | None = None, *,
            tz: str = "UTC", cycle_s: float = 5.0, max_gap_s: float | None = None,
            efficiency: Callable[[str], float] | None = None) -> dict:
    """Money between ``since_ts`` and ``until_ts`` from the history tables, as a dict for the UI.

    ``cycle_s`` is the engine's cycle (it turns rollup row counts back into time, and is the length
    of the last raw row); a row followed by a gap longer than ``max_gap_s`` (default 6 cycles, at
    least 60 s) counts one cycle: the console was not running in the gap. ``efficiency(name)`` values miners
    that report no hash rate (default: the config's per-miner or default J/TH).
    """
    cfg = cfg or EconomicsConfig()
    z = ZoneInfo(tz)
    gap = max_gap_s if max_gap_s is not None else max(60.0, 6 * cycle_s)
    eff = efficiency or (lambda n: cfg.miner_efficiency.get(n, cfg.default_efficiency_j_th))
    prices = _Prices(store, cfg, z, since_ts, until_ts)
    total = Money()
    for e_table, m_table, a, b, size in _tier_bounds(store, since_ts, until_ts):
        if size == 0:
            erows, mrows, bsize = _raw_energy(store, a, b, cycle_s, gap), _raw_miners(store, a, b, cycle_s, gap), 60
        else:
            erows, mrows, bsize = (_rolled_energy(store, e_table, a, b, size, cycle_s),
                                   _rolled_miners(store, m_table, a, b, size, cycle_s), size)
        sats_by_bucket: dict[float, float] = {}
        for r in mrows:
            _, hp, _ = prices.at(r["bucket"] + bsize / 2)
            s = sats_for_hashrate(r["th_s"] or 0.0, 1.0, hp)
            if r["nohash_ws"]:
                s += sats_for((r["nohash_ws"] or 0.0) / 3600.0, eff(r["name"]), hp)
            sats_by_bucket[r["bucket"]] = sats_by_bucket.get(r["bucket"], 0.0) + s
        seen = set()
        for r in erows:
            secs = r["secs"] or 0.0
            if secs <= 0:
                continue
            seen.add(r["bucket"])
            p, _, btc = prices.at(r["bucket"] + bsize / 2)
            m_w, g_w, b_w, u_w = (r[k] / secs for k in ("m_ws", "g_ws", "b_ws", "u_ws"))
            total.add(priced(secs, max(0.0, m_w - g_w - b_w - u_w), b_w, g_w, u_w,
                             sats_by_bucket.get(r["bucket"], 0.0), p, btc))
        for bucket, s in sats_by_bucket.items():   # miner rows with no energy row: sats only
            if bucket not in seen:
                _, _, btc = prices.at(bucket + bsize / 2)
                total.add(Money(sats=s, value=s * btc / SATS_PER_BTC))
    out = total.as_dict(cfg.btc_price, cfg.currency)
    out.update({"since": since_ts, "until": until_ts})
    return out


def day_start(ts: float, tz: str) -> float:
    d = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_start(ts: float, tz: str) -> float:
    d = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return d.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


_DAY_CACHE: dict[tuple, dict] = {}
_SUM_KEYS = ("seconds", "mined_kwh", "surplus_kwh", "battery_kwh", "grid_kwh", "unattributed_kwh", "sats", "value",
             "feed_in_forgone", "grid_cost", "unpriced_kwh")


def periods(store: Any, now: float, cfg: EconomicsConfig | None = None, *, tz: str = "UTC",
            cycle_s: float = 5.0) -> dict[str, dict]:
    """``{"today": summary, "month": summary}`` in the site's time zone: the history panel's figures.

    Days of this month that are over are summed once and remembered (per store file and config), so
    calling this every minute costs about one day's query. Call it off the event loop
    (``asyncio.to_thread``): a day of 5 s rows takes a few tens of milliseconds on a PC.
    """
    cfg = cfg or EconomicsConfig()
    today0, month0 = day_start(now, tz), month_start(now, tz)
    today = summary(store, today0, now, cfg, tz=tz, cycle_s=cycle_s)
    month = {k: today[k] for k in _SUM_KEYS}
    z = ZoneInfo(tz)
    d = datetime.fromtimestamp(month0, z)
    while d.timestamp() < today0:
        nxt = (d.replace(hour=12) + _ONE_DAY).replace(hour=0)      # DST-safe next local midnight
        key = (str(getattr(store, "path", id(store))), id(cfg), tz, cycle_s, d.timestamp())
        past = _DAY_CACHE.get(key)
        if past is None:
            past = summary(store, d.timestamp(), nxt.timestamp(), cfg, tz=tz, cycle_s=cycle_s)
            if len(_DAY_CACHE) > 400:
                _DAY_CACHE.clear()
            _DAY_CACHE[key] = past
        for k in _SUM_KEYS:
            month[k] += past[k]
        d = nxt
    m = Money(**month)
    out = m.as_dict(cfg.btc_price, cfg.currency)
    out.update({"since": month0, "until": now})
    return {"today": today, "month": out}


__all__ = ["Money", "interval_money", "split_sources", "LedgerAccumulator", "summary", "periods",
           "day_start", "month_start", "PRICE_TABLE"]
