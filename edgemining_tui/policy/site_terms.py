"""The site terms: what the site can give the miners this cycle (evcc's control law)::

    available = miners_draw_now - grid_import + battery_charge - battery_kept - headroom

``miners_draw_now`` is what the allocated miners *measure* (they ramp, so the command is not the draw);
``battery_kept`` is the charge power the battery keeps while its SoC is below ``priority_soc``, or
with ``battery.reserve: forecast`` the share of the surplus it needs to be full by sunset
(policy/reserve.py), with the rules for when the battery carries a running miner or lends to a
start, and the words that explain them. policy/allocator.py shares the result across the miners.
"""
from __future__ import annotations

from ..energy.snapshot import reading_names
from .config import PolicyConfig
from .timers import fmt_kw

INF = float("inf")
CARRY = 1.3               # the battery carries a running miner only with this x its need still to come
CAREFUL_CARRY = 1.5       # after a night the battery ran out: ... with this x
EXPORTING_W = 20.0     # below this import (W) the site counts as exporting, above it as importing
LEND_MIN_LEFT_S = 600.0   # the battery lends to a start only with more than this left before sunset
TYPICAL_CARRY = 1.05      # ... and a miner on its last start then, while the usual day's surplus covers this x its need
SURE_SOC = 90.0           # full yesterday and at least this SoC now: the battery lends a dip energy, not time


class Site:
    """This cycle's site terms. ``ok`` False: the energy data can't support a decision (fail-safe)."""

    __slots__ = ("ok", "why", "available_w", "import_w", "charge_w", "kept_w", "soc", "below_priority",
                 "buffered", "buffer_start", "cap_budget_w", "battery", "reserve", "short", "lend_w", "carry_wh",
                 "last_start_ok", "sure")

    def __init__(self) -> None:
        self.ok = False
        self.why = ""
        self.available_w: float | None = None
        self.import_w: float | None = None
        self.charge_w: float | None = None
        self.kept_w = 0.0
        self.soc: float | None = None
        self.below_priority = False
        self.buffered = False
        self.buffer_start = False
        self.cap_budget_w = INF
        self.battery = ""
        self.reserve = None        # policy/reserve.py Reserve when the forecast reserve decides
        self.short = False         # the battery or the grid covers the miners without leave (reserve)
        self.lend_w = 0.0          # W the battery may add to the surplus to start a miner (reserve)
        self.carry_wh = 0.0        # the surplus to come it takes for the battery to carry a miner (reserve)
        self.last_start_ok = False  # ... enough to carry one that has no start left today (reserve)
        self.sure = False          # the battery was full yesterday and is nearly full now (reserve)


def site_terms(cfg: PolicyConfig, snapshot, stale: tuple[str, ...], alloc_draw_w: float,
               all_draw_w: float | None, has_battery: bool | None = False, reserve=None,
               headroom_w: float | None = None) -> Site:
    """Compute the available power. ``alloc_draw_w``: what the allocated miners draw now (measured);
    ``all_draw_w``: what every miner draws (for deriving the grid from pv/house), None if unknown;
    ``has_battery``: the site has a battery (config, or it has reported before), so a missing battery
    reading is missing data, not "no battery"; None: configured absent (``battery.present: false``);
    ``reserve``: this cycle's forecast reserve (policy/reserve.py), None to use the fixed SoC levels."""
    value = snapshot.value
    # snapshot.value(...) for the three readings every cycle needs, without the call
    r = snapshot.grid_import_w
    grid = r.value if r.error is None else None
    if has_battery is None:
        # battery.present: false — the owner says there is none: whatever a source reports for a
        # battery (a GEN24's disabled input at SoC 0 %) is ignored, and never blocks a decision
        charge = soc = None
        has_battery = False
        stale = tuple(f for f in stale if f not in ("battery_charge_w", "battery_soc_pct"))
    else:
        r = snapshot.battery_charge_w
        charge = r.value if r.error is None else None
        r = snapshot.battery_soc_pct
        soc = r.value if r.error is None else None
        has_battery = has_battery or charge is not None or soc is not None
    if stale and ("grid_import_w" in stale or (has_battery and "battery_charge_w" in stale)):
        return _failed("energy data stale (" + reading_names(stale) + ")")
    if has_battery and charge is None:
        return _failed("battery power missing")
    if charge is None:
        charge = 0.0
    if grid is None:
        pv, house = value("pv_w"), value("house_w")
        if pv is None or house is None or all_draw_w is None:
            return _failed("grid power missing")
        grid = house + all_draw_w + charge - pv
    # (a Site without its __init__: every field is set once below, on each path)
    s = _new(Site)
    s.ok = True
    s.why = ""
    s.import_w = grid
    s.charge_w = charge
    s.soc = soc
    b = cfg.battery
    kept = 0.0
    if has_battery and reserve is not None and soc is not None:
        # the battery keeps its share of the whole surplus (also what running miners draw now), but
        # never more than it takes: if the site exports, the battery is full or at its charge limit
        share = reserve.share
        total = alloc_draw_w - grid + charge
        kept = share * total if total > 0.0 else 0.0
        if grid < -EXPORTING_W and kept > charge:
            kept = charge if charge > 0.0 else 0.0
        s.reserve = reserve
        s.below_priority = share >= 1.0
        s.buffer_start = False
        # it carries a miner through a dip only with the surplus to come well above what it needs
        # (an afternoon duller than forecast leaves it short at sunset, bought back at night; after
        # a night it ran out, further above), plus what the running miners may draw through a
        # whole disable delay (a dip's most: the reserve counts that energy nowhere else)
        carry = CAREFUL_CARRY if reserve.careful else CARRY
        dip_wh = alloc_draw_w * cfg.disable.delay / 3600.0
        s.carry_wh = carry_wh = carry * reserve.need_wh + dip_wh
        coming = reserve.coming_wh
        s.buffered = buffered = share < 1.0 and coming >= carry_wh
        # the battery was full yesterday and is nearly full now: the days have been filling it, so
        # what it lends a dip comes back (even after a night it ran out)
        s.sure = sure = reserve.full_yesterday and soc >= SURE_SOC
        # a miner with no start left today is carried whenever the battery still fills (stopping it
        # ends its day: on a cloudy day the rest of the surplus went to the grid), but not after a
        # night the battery ran out unless it is sure
        s.last_start_ok = share < 1.0 and (sure or not reserve.careful) and coming >= reserve.need_wh + dip_wh
        if sure and not s.last_start_ok:
            # ... and when the battery is sure, on what the usual day brings (the configured quantile)
            # rather than the careful count after a night it ran out: that count collapses in the last
            # hour (10 % of what it forecast) while the battery is at 99 % and the sun still shines
            s.last_start_ok = reserve.coming_typical_wh >= TYPICAL_CARRY * reserve.need_wh + dip_wh
        if buffered and grid < -EXPORTING_W and reserve.left_s > LEND_MIN_LEFT_S:
            # exporting: the battery is full or at its charge limit. The surplus still to come
            # that it will not need, spread over the time left, may make up a start's minimum
            # (the afternoon's tail below every minimum is otherwise exported)
            s.lend_w = (coming - reserve.need_wh) * 3600.0 / reserve.left_s
        else:
            s.lend_w = 0.0
        s.short = not buffered and (grid > EXPORTING_W or charge < -EXPORTING_W)
        s.battery = "reserve"
    else:
        s.reserve = None
        s.short = False
        s.lend_w = 0.0
        s.carry_wh = 0.0
        s.last_start_ok = False
        s.sure = False
        below = buffered = buffer_start = False
        battery = ""
        if has_battery:
            # SoC unknown: assume the battery still needs its charge and may not carry a miner
            below = soc is None or (b.priority_soc is not None and soc < b.priority_soc)
            if soc is not None:
                buffered = b.buffer_soc is not None and soc > b.buffer_soc
                buffer_start = b.buffer_start_soc is not None and soc >= b.buffer_start_soc
            if below and charge > 0.0:
                kept = charge
                battery = "priority"
            elif buffer_start:
                battery = "buffer_start"
            elif buffered:
                battery = "buffer"
        s.below_priority = below
        s.buffered = buffered
        s.buffer_start = buffer_start
        s.battery = battery
    s.kept_w = kept
    s.available_w = alloc_draw_w - grid + charge - kept - (
        headroom_w if headroom_w is not None else cfg.headroom_w)
    # base import if the allocated miners drew nothing; they may add up to cap - base
    s.cap_budget_w = INF if cfg.import_cap_w is None else cfg.import_cap_w - (grid - alloc_draw_w)
    return s


def _failed(why: str) -> Site:
    s = Site()
    s.why = why
    return s


_new = object.__new__



def _kwh(wh: float) -> str:
    return f"{wh / 1000.0:.1f} kWh"


def _first_why(cfg: PolicyConfig, site: Site) -> str:
    """Why the battery keeps charge power a stopped miner could start on."""
    r = site.reserve
    if r is not None:
        if r.share >= 1.0:
            return (f"battery first: it needs {_kwh(r.need_wh)}, the forecast leaves "
                    f"{_kwh(max(r.coming_wh, 0.0))} of surplus today")
        return (f"battery keeps {r.share * 100:.0f} % of the surplus ({site.kept_w:.0f} W) to be full "
                f"by sunset")
    if site.soc is None:
        return "battery SoC unknown: battery first"
    return f"SoC {site.soc:.0f} % < priority {cfg.battery.priority_soc:.0f} %: battery first"


def _lend_why(site: Site, R: float, lo: float) -> str:
    """Why the battery may make up a start's minimum: the surplus it will not need."""
    r = site.reserve
    return (f"surplus {fmt_kw(R)} + {fmt_kw(lo - R)} from the battery, which gets "
            f"{_kwh(r.coming_wh - r.need_wh)} more than it needs before sunset")


def _no_carry_why(site: Site) -> str:
    """Why the battery, which will fill anyway, does not carry a running miner through the dip."""
    r = site.reserve
    if r is None or r.share >= 1.0 or site.buffered:
        return ""
    return (f"; the battery does not carry it: {_kwh(max(r.coming_wh, 0.0))} to come, it wants "
            f"{_kwh(site.carry_wh)} ({CAREFUL_CARRY if r.careful else CARRY:g}× its need of {_kwh(r.need_wh)} "
            f"and what the miners draw through the disable delay)")


def _buffer_why(cfg: PolicyConfig, site: Site, last_start: bool = False) -> str:
    """Why the battery may carry a running miner at its minimum."""
    r = site.reserve
    if r is not None:
        if last_start and site.sure and r.coming_typical_wh > r.coming_wh:
            return (f"battery carries it (no start left today; full yesterday): {_kwh(r.coming_typical_wh)} of "
                    f"surplus to come on a usual day, it needs {_kwh(r.need_wh)}")
        return (f"battery carries it{' (no start left today)' if last_start else ''}: {_kwh(r.coming_wh)} of "
                f"surplus still to come, it needs {_kwh(r.need_wh)}")
    return f"SoC {site.soc:.0f} % > buffer {cfg.battery.buffer_soc:.0f} %: battery keeps it running"
