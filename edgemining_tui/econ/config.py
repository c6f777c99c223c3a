"""The ``economics:`` section: what grid energy costs, what feed-in pays, what mining earns.

Example (see docs/economics.md and docs/economics.example.yaml)::

    economics:
      currency: EUR
      import_price:                    # a number, a time-of-use table, or a Home Assistant entity
        time_of_use:
          - {start: "07:00", price: 0.34}
          - {start: "22:00", price: 0.24}   # until 07:00 the next morning
      export_price: 0.08               # feed-in tariff, currency per kWh
      hashprice_sats_per_th_day: 50    # what 1 TH/s earns per day
      hashprice_from: config           # or: pool (read from the first pool that reports it)
      btc_price: 90000                 # currency per BTC
      mine_only_above_feed_in: true    # surplus goes to the grid while feed-in pays more
      grid_mining_below_break_even: false
      pools:
        - {name: braiins, kind: braiins, token: "${BRAIINS_TOKEN}"}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional, Union

from ..config.types import Duration, Secret, bounded

# a price per kWh in economics.currency: a plain number. Dynamic tariffs go negative; beyond ±1000 per
# kWh is a typo in any currency in use (ct vs EUR is caught by scale:, not here)
PricePerKwh = bounded(float, -1000, 1000)
from ..heat.config import parse_hhmm


@dataclass(frozen=True)
class TouPeriod:
    """From ``start`` (local time) until the next period, energy costs ``price`` per kWh."""

    start: str
    price: PricePerKwh

    def validate(self) -> None:
        parse_hhmm(self.start)


@dataclass(frozen=True)
class PriceSource:
    """One price: a fixed number, a time-of-use table, or a Home Assistant entity (currency/kWh).

    ``scale`` multiplies an entity's value (a tariff entity in ct/kWh: ``scale: 0.01``; in
    EUR/MWh: ``scale: 0.001``).
    """

    fixed: Optional[PricePerKwh] = None
    time_of_use: tuple[TouPeriod, ...] = ()
    entity: Optional[str] = None
    scale: bounded(float, -1000, 1000) = 1.0

    @classmethod
    def from_scalar(cls, value: str) -> "PriceSource":
        """"0.30" written as a string. A unit is refused: the price is in economics.currency per kWh."""
        return cls(fixed=parse_price(value))

    def validate(self) -> None:
        given = sum(x is not None and x != () for x in (self.fixed, self.time_of_use or None, self.entity))
        if given != 1:
            raise ValueError("fixed: give exactly one of fixed, time_of_use or entity")
        if self.time_of_use:
            starts = [parse_hhmm(p.start) for p in self.time_of_use]
            if len(set(starts)) != len(starts):
                raise ValueError("time_of_use: two periods start at the same time")
        if self.scale == 0:
            raise ValueError("scale: cannot be 0")


# a price is a number (fixed), or a PriceSource mapping
Price = Union[PriceSource, PricePerKwh]


def parse_price(value: str) -> float:
    import math
    try:
        x = float(value)
    except ValueError:
        raise ValueError(f"expected a price per kWh as a plain number in economics.currency, like 0.30 "
                         f"(no unit: write 0.30, not {value.strip()!r}; a tariff in ct/kWh goes in an entity "
                         f"with scale: 0.01)") from None
    if not math.isfinite(x):
        raise ValueError(f"expected a finite number, got {value!r}")
    if not -1000 <= x <= 1000:
        raise ValueError(f"expected -1000 .. 1000 per kWh, got {x:g}")
    return x


def as_source(p: Price | None) -> PriceSource | None:
    if p is None or isinstance(p, PriceSource):
        return p
    return PriceSource(fixed=float(p))


@dataclass(frozen=True)
class PoolConfig:
    name: str
    kind: Literal["braiins", "ocean"]
    url: Optional[str] = None            # default: the pool's public API; tests point it at loopback
    token: Optional[Secret] = None       # Braiins Pool access-profile token (write ${BRAIINS_TOKEN})
    user: Optional[str] = None           # OCEAN: the payout address / username
    poll_interval: bounded(Duration, 30, 86400) = 300.0      # Braiins asks for at most one request per ~5 s
    timeout: Duration = 10.0
    # your payout threshold in sats (pools do not publish it): Edge Mining's
    # mining_performance.payout_schedule.threshold for rules; None leaves that field unknown
    payout_threshold: Optional[float] = None

    def validate(self) -> None:
        if not self.name.strip():
            raise ValueError("name: a pool needs a name")
        if self.kind == "braiins" and not self.token:
            raise ValueError("token: Braiins Pool needs an access-profile token with web API access")
        if self.kind == "ocean" and not self.user:
            raise ValueError("user: OCEAN needs your payout address (or username)")
        if self.poll_interval < 30:
            raise ValueError("poll_interval: at least 30s (pools rate-limit their APIs)")
        if not 0 < self.timeout <= 120:
            raise ValueError("timeout: expected between 0 and 2 min")
        if self.payout_threshold is not None and self.payout_threshold < 0:
            raise ValueError("payout_threshold: sats, cannot be negative")

    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        return "https://pool.braiins.com" if self.kind == "braiins" else "https://api.ocean.xyz"

    def __repr__(self) -> str:  # never show the token
        return f"PoolConfig(name={self.name!r}, kind={self.kind!r}, url={self.url!r})"


@dataclass(frozen=True)
class EconomicsConfig:
    currency: str = "EUR"
    import_price: Optional[Price] = None           # currency per kWh bought
    export_price: Optional[Price] = None           # currency per kWh fed in
    hashprice_sats_per_th_day: bounded(float, 0, 1e6) = 50.0        # what 1 TH/s earns per day, in sats
    hashprice_from: Literal["config", "pool"] = "config"
    hashprice_pool: Optional[str] = None           # which pool (by name) when from: pool; default: first
    btc_price: bounded(float, 0, 1e9, above=True) = 90000.0                     # currency per BTC, to compare sats with tariffs
    # miner efficiency (J/TH) when the miner does not tell (it is off, or reports no hashrate);
    # per-miner values win over what the miner reports
    default_efficiency_j_th: bounded(float, 1, 1000) = 29.5
    miner_efficiency: dict[str, bounded(float, 1, 1000)] = field(default_factory=dict)
    # allocator switches
    mine_only_above_feed_in: bool = False          # surplus goes to the grid while feed-in pays more
    grid_mining_below_break_even: bool = False     # mine on grid power while it is cheaper than mining earns
    margin_pct: float = 0.0                        # mining must beat the price by this much (hysteresis)
    price_poll_interval: bounded(Duration, 5, 86400) = 60.0           # Home Assistant price entities are read this often
    pools: tuple[PoolConfig, ...] = ()

    def validate(self) -> None:
        if self.hashprice_sats_per_th_day < 0:
            raise ValueError("hashprice_sats_per_th_day: cannot be negative")
        if self.btc_price <= 0:
            raise ValueError("btc_price: must be positive")
        if self.default_efficiency_j_th <= 0:
            raise ValueError("default_efficiency_j_th: must be positive")
        for name, e in self.miner_efficiency.items():
            if e <= 0:
                raise ValueError(f"miner_efficiency: {name}: must be positive")
        if not 0 <= self.margin_pct <= 100:
            raise ValueError("margin_pct: expected 0..100")
        if self.grid_mining_below_break_even and self.import_price is None:
            raise ValueError("grid_mining_below_break_even: needs import_price")
        if self.mine_only_above_feed_in and self.export_price is None:
            raise ValueError("mine_only_above_feed_in: needs export_price")
        names = [p.name for p in self.pools]
        if len(set(names)) != len(names):
            raise ValueError("pools: two pools share a name")
        if self.hashprice_from == "pool":
            if not self.pools:
                raise ValueError("hashprice_from: 'pool' needs a pool under pools:")
            if self.hashprice_pool is not None and self.hashprice_pool not in names:
                raise ValueError(f"hashprice_pool: no pool named {self.hashprice_pool!r}")
        if self.price_poll_interval < 5:
            raise ValueError("price_poll_interval: at least 5s")

    @property
    def import_source(self) -> PriceSource | None:
        return as_source(self.import_price)

    @property
    def export_source(self) -> PriceSource | None:
        return as_source(self.export_price)

    def entities(self) -> tuple[str, ...]:
        """Home Assistant entities the prices are read from."""
        return tuple(s.entity for s in (self.import_source, self.export_source) if s is not None and s.entity)

    def efficiency_for(self, miner: str) -> float | None:
        return self.miner_efficiency.get(miner)
