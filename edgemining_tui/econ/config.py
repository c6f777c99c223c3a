"""Prices and hashprice: what grid energy costs, what feed-in pays, what mining earns."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

from ..config.types import Secret
from ..heat.config import parse_hhmm


@dataclass(frozen=True)
class TouPeriod:
    """From ``start`` (local time) until the next period, energy costs ``price`` per kWh."""

    start: str
    price: float

    def validate(self) -> None:
        parse_hhmm(self.start)


@dataclass(frozen=True)
class PriceSource:
    """One price: a fixed number, a time-of-use table, or a Home Assistant entity (currency/kWh)."""

    fixed: Optional[float] = None
    time_of_use: tuple[TouPeriod, ...] = ()
    entity: Optional[str] = None

    @classmethod
    def from_scalar(cls, value):  # "0.30" written as a string
        return cls(fixed=float(value))

    def validate(self) -> None:
        given = sum(x is not None and x != () for x in (self.fixed, self.time_of_use or None, self.entity))
        if given != 1:
            raise ValueError("fixed: give exactly one of fixed, time_of_use or entity")


@dataclass(frozen=True)
class EconomicsConfig:
    currency: str = "EUR"
    import_price: Optional[PriceSource] = None     # currency per kWh bought
    export_price: Optional[PriceSource] = None     # currency per kWh fed in
    hashprice_sats_per_th_day: float = 50.0        # what 1 TH/s earns per day, in sats
    hashprice_from: Literal["config", "pool"] = "config"
    btc_price: float = 90000.0                     # currency per BTC, to compare sats with tariffs
    # allocator switches
    mine_only_above_feed_in: bool = False          # surplus goes to the grid while feed-in pays more
    grid_mining_below_break_even: bool = False     # mine on grid power while it is cheaper than mining earns
    pools: tuple[PoolConfig, ...] = ()

    def validate(self) -> None:
        if self.hashprice_sats_per_th_day < 0:
            raise ValueError("hashprice_sats_per_th_day: cannot be negative")
        if self.btc_price <= 0:
            raise ValueError("btc_price: must be positive")
        if self.grid_mining_below_break_even and self.import_price is None:
            raise ValueError("grid_mining_below_break_even: needs import_price")
        if self.mine_only_above_feed_in and self.export_price is None:
            raise ValueError("mine_only_above_feed_in: needs export_price")


@dataclass(frozen=True)
class PoolConfig:
    name: str
    kind: Literal["braiins", "ocean"]
    url: Optional[str] = None            # default: the pool's public API; tests point it at loopback
    token: Optional[Secret] = None       # Braiins Pool API token (a secret: write ${BRAIINS_TOKEN})
    user: Optional[str] = None           # OCEAN: the payout address / username
    poll_interval: float = 300.0

