"""Does mining pay? The comparison the allocator makes for each miner, as a pure function.

A kWh mined earns ``value_per_kwh`` (from the miner's efficiency, the hashprice and the BTC price,
see :mod:`.value`). Mining *surplus* gives up the feed-in tariff, so it pays while that value is
above ``price.export``. Mining on *grid* power costs the import price, so it pays only below the
break-even import price, which is that same value. ``margin_pct`` asks mining to win by a margin
(a little hysteresis against prices hovering at the line).

Unknown inputs never invent money: with no feed-in price surplus mining is allowed (the plain
surplus-controller behaviour); with no import price, or an unknown value, grid mining never pays.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .value import sats_per_kwh, value_per_kwh

_EPS = 1e-9                       # prices equal to the value (to float noise) do not pay
EFFICIENCY_KEY = "efficiency."    # prices["efficiency.<miner>"]: J/TH the economics extra settled on


def _fmt(v: float) -> str:
    return f"{v:.3f}"


def mining_pays(miner_efficiency_j_th: float | None, prices: Mapping[str, float | None],
                hashprice: float | None = None, btc_price: float | None = None, *,
                margin_pct: float = 0.0, currency: str = "") -> tuple[bool, bool, str]:
    """``(pays_on_surplus, pays_on_grid, reason)`` for one miner.

    ``prices`` is ``DecisionInput.prices`` (keys ``import``, ``export``, ``hashprice``, ``btc``);
    ``hashprice`` (sats per TH/s per day) and ``btc_price`` default to ``prices["hashprice"]`` and
    ``prices["btc"]``.
    """
    hp = prices.get("hashprice") if hashprice is None else hashprice
    btc = prices.get("btc") if btc_price is None else btc_price
    exp, imp = prices.get("export"), prices.get("import")
    cur = f" {currency}" if currency else ""
    if not miner_efficiency_j_th or miner_efficiency_j_th <= 0 or hp is None or btc is None or btc <= 0:
        missing = ("efficiency" if not miner_efficiency_j_th or miner_efficiency_j_th <= 0 else
                   "hashprice" if hp is None else "BTC price")
        return True, False, f"mining value unknown (no {missing}): surplus allowed, no grid mining"
    value = value_per_kwh(miner_efficiency_j_th, hp, btc)
    k = 1.0 + margin_pct / 100.0
    head = f"mining earns {_fmt(value)}{cur}/kWh ({sats_per_kwh(miner_efficiency_j_th, hp):.0f} sat)"
    if exp is None:
        surplus, s_why = True, "no feed-in price"
    elif value > (exp * k if exp > 0 else exp) + _EPS:
        surplus, s_why = True, f"beats feed-in {_fmt(exp)}"
    else:
        surplus, s_why = False, f"feed-in {_fmt(exp)} pays more: surplus to the grid"
    if imp is None:
        grid, g_why = False, "no import price: no grid mining"
    elif imp < value / k - _EPS or imp < 0:
        grid, g_why = True, f"import {_fmt(imp)} below break-even"
    else:
        grid, g_why = False, f"import {_fmt(imp)} above break-even {_fmt(value)}"
    return surplus, grid, f"{head}; {s_why}; {g_why}"


@dataclass(frozen=True)
class Gate:
    """What the economics allow one miner this cycle, after the config switches."""

    surplus_ok: bool          # may take surplus power
    grid_ok: bool             # may run on grid power (for profit; heat zones may still ask separately)
    pays_on_surplus: bool
    pays_on_grid: bool
    value_per_kwh: float | None
    reason: str


def efficiency_of(view: Any, prices: Mapping[str, float | None] | None = None,
                  default: float | None = None) -> float | None:
    """The J/TH to value a miner with: the economics extra's figure (``prices["efficiency.<name>"]``:
    configured, or the last measured while mining), else the miner's own reading now, else ``default``."""
    name = getattr(view, "name", None)
    if prices and name is not None:
        e = prices.get(EFFICIENCY_KEY + name)
        if e:
            return e
    sample = getattr(view, "sample", None)
    e = getattr(sample, "efficiency_j_th", None) if sample is not None else None
    return e if e else default


def gate(efficiency_j_th: float | None, prices: Mapping[str, float | None], cfg: Any) -> Gate:
    """Apply ``cfg.mine_only_above_feed_in`` / ``cfg.grid_mining_below_break_even`` (an EconomicsConfig,
    or anything with those attributes and ``margin_pct``/``currency``)."""
    s, g, why = mining_pays(efficiency_j_th, prices, margin_pct=getattr(cfg, "margin_pct", 0.0),
                            currency=getattr(cfg, "currency", ""))
    hp, btc = prices.get("hashprice"), prices.get("btc")
    value = (value_per_kwh(efficiency_j_th, hp, btc)
             if efficiency_j_th and hp is not None and btc else None)
    surplus_ok = s or not getattr(cfg, "mine_only_above_feed_in", False)
    grid_ok = g and bool(getattr(cfg, "grid_mining_below_break_even", False))
    return Gate(surplus_ok, grid_ok, s, g, value, why)


def route_surplus(surplus_w: float, miners: list[tuple[str, float | None, float]],
                  prices: Mapping[str, float | None], cfg: Any) -> tuple[dict[str, float], float, dict[str, str]]:
    """A reference sharing, to pin the behaviour the allocator must have (and to test it).

    ``miners``: ``(name, efficiency J/TH, max W)`` in priority order. Surplus goes to miners whose
    gate allows surplus, in order, up to their max; a miner whose gate allows grid mining runs at
    max whatever the surplus. Returns ``(watts per miner, watts left for the grid, reasons)``."""
    left = max(0.0, surplus_w)
    out: dict[str, float] = {}
    why: dict[str, str] = {}
    for name, eff, max_w in miners:
        g = gate(eff, prices, cfg)
        w = 0.0
        if g.surplus_ok:
            w = min(max_w, left)
            left -= w
        if g.grid_ok and w < max_w:
            w = max_w
        out[name] = w
        why[name] = g.reason
    return out, left, why
