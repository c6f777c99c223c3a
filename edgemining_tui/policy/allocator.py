"""The surplus allocator: evcc's control law, shared across miners in priority order.

Each cycle policy/site_terms.py works out what the site can give (``site.available_w``, the battery's
terms); see there for the control law.
The available power is then handed out in priority order (lower ``priority`` first), each miner taking
the highest operating point it can (continuous target quantised down to its step, the highest level
that fits, or on/off only if its full power fits), subject to enable/disable timers, the battery
buffer levels, hardware protection (min on/off time, starts per day, min interval between changes)
and the site import cap. See docs/allocator.md.

Two per-miner gates, set by the decider before ``allocate`` (policy/decider.py ``_gates``):

- heat (``Slot.heat``): its zone is above the band (CAP: held at minimum or paused, never started),
  below it with grid heat allowed (GRID: runs at least at minimum even if that imports, starts without
  the enable delay), or below it without (DEMAND: surplus as usual, the reason says so);
- price (``Slot.pblock`` / ``Slot.pgrid``): feed-in pays more than mining (does not take surplus), or
  the import price is under the miner's break-even (runs on grid power, as high as the import cap allows).

Power a miner takes *because of the grid* (heat or price) never makes the miners after it look like
they import: it takes what surplus is left in priority order and the grid tops it up. It does count
against the import cap.
"""
from __future__ import annotations

from .config import PolicyConfig, Timing
from .protection import min_on_left, start_block
from .quantize import LEVELS, ON_OFF, Ladder
from .site_terms import Site, _buffer_why, _first_why, _lend_why, _no_carry_why
from .timers import MinerState, fmt_dur, fmt_kw, fmt_kw_below

DIP_MAX = 3.0             # a dip the battery lends energy to (site.sure) still ends after this x the disable delay

# Slot.heat: what the miner's climate zone asks for this cycle
HEAT_NONE, HEAT_DEMAND, HEAT_GRID, HEAT_CAP = 0, 1, 2, 3


class Slot:
    """One miner's working record for a cycle (reused across cycles: no allocation storms)."""

    __slots__ = ("name", "view", "st", "ladder", "caps", "timing", "measured", "mode", "run", "want",
                 "level", "term", "reason", "timer", "timer_left", "forced", "veto", "failsafe", "nocmd", "kept",
                 "heat", "zone_why", "pblock", "pgrid", "note", "eff_key", "eff_seen", "value", "grid", "running",
                 "decision")

    def __init__(self, name: str, st: MinerState, timing: Timing) -> None:
        self.name = name
        self.st = st
        self.timing = timing
        self.view = None
        self.running = False       # its sample says it runs (set by the decider each cycle)
        self.decision = None       # the MinerDecision it got last cycle (reused while it is the same)
        self.ladder: Ladder | None = None
        self.caps = None
        self.measured = 0.0
        self.mode = "surplus"
        self.run = False
        self.want: float | None = None
        self.level: str | None = None
        self.term = "surplus"
        self.reason = ""
        self.timer = ""            # enable | disable | min_on | min_off | min_interval (for the UI)
        self.timer_left = 0.0
        self.forced = False        # a start rule holds it on
        self.veto = ""             # a stop rule's reason
        self.failsafe = False
        self.kept = False          # its minimum is covered in the keep-alive pass
        self.nocmd = False         # decided, but nothing may be sent (fail-safe hold, no rules)
        # heat and price gates (set by the decider each cycle; all off when no zone / no economics)
        self.heat = HEAT_NONE
        self.zone_why = ""         # ZoneStatus.reason of its zone
        self.pblock = ""           # why it must not take surplus (feed-in pays more), "" if it may
        self.pgrid = ""            # why it may run on grid power (import under break-even), "" if not
        self.note = ""             # appended to the reason (heat demand without grid heat, unknown value)
        self.eff_key = "efficiency." + name
        self.eff_seen: float | None = None   # last efficiency (J/TH) the miner reported while mining
        self.value: float | None = None      # what a kWh mined earns (= break-even import price)
        self.grid = False          # it runs on grid power this cycle because of heat or price


def allocate(cfg: PolicyConfig, site: Site, slots: list[Slot], now: float, day: str,
             explain: bool = True) -> tuple[float, float]:
    """Share ``site.available_w`` across the slots (already in priority order). Fills each slot's
    run / want / term / reason and advances its enable/disable timers. Returns (left, reserved).
    ``explain`` False: the reasons are left empty (nothing else changes; see PolicyDecider.explain).

    Precedence inside the allocator: stop rule > zone above its band > start rule > zone asking for
    heat on grid > price gate (feed-in pays more) > surplus. The import cap is a hard limit for all."""
    R = site.available_w
    C = site.cap_budget_w
    cap = cfg.import_cap_w
    en_thr = cfg.enable.threshold
    dis_thr = cfg.disable.threshold
    cap_pause = cfg.heat_cap == "pause"
    ex = explain
    reserved = 0.0
    # Keep-alive first: running miners keep their minimum, in priority order, before anyone gets
    # more. A cloud then trims the continuous miners instead of stopping the small ones (a power
    # change is cheap, a stop/start is wear); priority decides who gets the rest and who starts next.
    # Miners about to pause (stop rule, zone cap, price) reserve nothing.
    pending = 0.0
    keep = R if R < C else C
    for sl in slots:
        sl.grid = False
        if sl.st.on and not sl.veto and (lo := sl.ladder.lo) <= keep:
            if sl.heat or sl.pblock:
                h = sl.heat
                if h == HEAT_CAP and (cap_pause or lo >= sl.ladder.hi) or \
                        sl.pblock and h != HEAT_GRID and not sl.forced:
                    sl.kept = False
                    continue
            sl.kept = True
            keep -= lo
            pending += lo
        else:
            sl.kept = False
    for sl in slots:
        st = sl.st
        lad = sl.ladder
        t = sl.timing
        lo = lad.lo
        heat = sl.heat
        grid = False
        sl.timer = ""
        if sl.kept:
            pending -= lo
        R -= pending          # what lower-priority running miners need to stay alive is not on offer
        C -= pending
        if st.on:
            st.enable_since = None
            budget = R if R < C else C
            if sl.veto:
                left = min_on_left(st, t, now)
                if left > 0.0 and lo <= C:
                    want, term = lo, "min_on"
                    reason = f"stop rule waits for min on-time: {fmt_dur(left)} left ({sl.veto})" if ex else ""
                    sl.timer, sl.timer_left = "min_on", left
                else:
                    want, term, reason = None, "rule", sl.veto
            elif (heat == HEAT_CAP and (cap_pause or lo >= lad.hi)) or \
                    (sl.pblock and heat != HEAT_GRID and not sl.forced):
                # too warm (and it can't or may not go lower), or feed-in pays more: pause now
                # (no disable delay: the zone latches with hysteresis, prices move by the hour)
                st.disable_since = None
                if heat == HEAT_CAP and (cap_pause or lo >= lad.hi):
                    tm, why = "heat", sl.zone_why
                else:
                    tm, why = "price", sl.pblock
                left = min_on_left(st, t, now)
                if left > 0.0 and lo <= C:
                    want, term, reason = lo, "min_on", (f"min on-time: {fmt_dur(left)} left ({why})" if ex else "")
                    sl.timer, sl.timer_left = "min_on", left
                else:
                    want, term = None, tm
                    reason = why + ": pause" if tm == "heat" else why
            else:
                hcut = False
                if heat == HEAT_CAP and budget > lo:
                    # too warm: at most its minimum, whatever the surplus (the rest goes to other zones)
                    f = lad.fit(budget)
                    hcut = f is not None and f > lo
                    budget = lo
                fit = lad.fit(budget)
                if fit is not None:
                    st.disable_since = None
                    want = fit
                    g = lad.fit(C) if sl.pgrid and heat != HEAT_CAP else None
                    if g is not None and g > fit:
                        want, term, reason, grid = g, "price", sl.pgrid, True
                    elif hcut:
                        term, reason = "heat", (f"{sl.zone_why}: held at {lo:.0f} W" if ex else "")
                    elif C < R and fit < lad.hi:
                        term, reason = "import_cap", (f"import cap {cap:.0f} W → {fit:.0f} W" if ex else "")
                    else:
                        term, reason = "surplus", (f"surplus {fmt_kw(R)} → {fit:.0f} W" if ex else "")
                elif lo > C:
                    # even the minimum would import above the cap: the cap is a hard limit
                    st.disable_since = None
                    want, term, reason = None, "import_cap", (f"import cap {cap:.0f} W: pause" if ex else "")
                elif sl.pgrid:
                    st.disable_since = None
                    want = lo if heat == HEAT_CAP else lad.fit(C)
                    term, reason, grid = "price", sl.pgrid, True
                elif heat == HEAT_GRID:
                    st.disable_since = None
                    want, term, reason, grid = lo, "heat", sl.zone_why + ": heating on grid", True
                elif sl.forced:
                    st.disable_since = None
                    want, term, reason = lo, "rule", (f"start rule holds it at minimum {lo:.0f} W" if ex else "")
                elif site.buffered or (site.last_start_ok and st.starts_on(day) >= t.max_starts):
                    st.disable_since = None
                    want, term = lo, "soc_guard"
                    reason = _buffer_why(cfg, site, not site.buffered) if ex else ""
                elif lo - R <= dis_thr:
                    st.disable_since = None
                    want, term = lo, "surplus"
                    reason = f"surplus {fmt_kw(R)}: at minimum {lo:.0f} W (import ≤ {dis_thr:.0f} W allowed)" if ex else ""
                else:
                    want, term, reason = _wind_down(sl, R, site, now, ex)
            # minimum interval between power changes (miners ramp; toggling targets wears them)
            if want is not None and lad.kind != ON_OFF and st.setpoint_w is not None \
                    and not lad.same(want, st.setpoint_w) and st.last_change is not None \
                    and not (site.short and want < st.setpoint_w):
                # (with the forecast reserve, a step down that stops a battery drain it can't afford
                # goes at once: that drain is what the grid pays back at night)
                since = now - st.last_change
                if since < t.min_change and st.setpoint_w <= C:
                    left = t.min_change - since
                    reason = f"next change in {fmt_dur(left)} (wants {want:.0f} W)" if ex else ""
                    want, term = st.setpoint_w, "min_interval"
                    sl.timer, sl.timer_left = "min_interval", left
            if want is None:
                sl.run, sl.want = False, None
                use = sl.measured if sl.measured < lad.idle else lad.idle
            else:
                sl.run, sl.want = True, want
                use = want
        else:
            st.disable_since = None
            want = None
            need = lo + en_thr
            hgrid = heat == HEAT_GRID
            if sl.veto:
                st.enable_since = None
                term, reason = "rule", sl.veto
            elif heat == HEAT_CAP:
                st.enable_since = None
                term, reason = "heat", sl.zone_why + ": not starting"
            elif sl.pblock and not hgrid and not sl.forced:
                st.enable_since = None
                term, reason = "price", sl.pblock
            else:
                # reasons to start without surplus, and without the enable delay: a start rule, a zone
                # asking for heat on grid, an import price under break-even
                go = sl.forced or hgrid or sl.pgrid != ""
                lend = site.lend_w > 0.0 and R > 0.0 and R + site.lend_w >= need
                if lo > C and (R >= need or go or site.buffer_start or lend):
                    st.enable_since = None
                    term, reason = "import_cap", (f"import cap {cap:.0f} W: can't start ({lo:.0f} W min)" if ex else "")
                elif R >= need or go or site.buffer_start or lend:
                    if st.enable_since is None:
                        st.enable_since = now
                    left = t.enable_delay - (now - st.enable_since) if not go else 0.0
                    budget = R if R < C else C
                    fit = lad.fit(C) if sl.pgrid else lad.fit(budget)
                    if fit is None:
                        fit = lo
                    if left > 0.0:
                        term = "enable_timer"
                        if R >= need:
                            reason = f"enable in {fmt_dur(left)} (surplus {fmt_kw(R)} ≥ {fmt_kw(lo)} min)" if ex else ""
                        elif lend:
                            reason = f"enable in {fmt_dur(left)} ({_lend_why(site, R, lo)})" if ex else ""
                        else:
                            reason = (f"enable in {fmt_dur(left)} (SoC {site.soc:.0f} % ≥ buffer-start "
                                      f"{cfg.battery.buffer_start_soc:.0f} %)") if ex else ""
                        sl.timer, sl.timer_left = "enable", left
                        # evcc's reservedPVPower: lower-priority miners must not grab what this one will take
                        R -= fit
                        reserved += fit
                    else:
                        block = start_block(st, t, now, day)
                        if block is not None:
                            term, reason, bl = block
                            if bl > 0.0:
                                sl.timer, sl.timer_left = term, bl
                            if hgrid:
                                reason = f"{reason} ({sl.zone_why})" if ex else ""
                        else:
                            want = fit
                            if sl.forced:
                                term, reason = "rule", (f"start rule: start at {fit:.0f} W" if ex else "")
                            elif sl.pgrid and fit > R:
                                term, reason, grid = "price", sl.pgrid, True
                            elif R >= need:
                                term, reason = "surplus", (f"surplus {fmt_kw(R)} → {fit:.0f} W" if ex else "")
                            elif hgrid:
                                term, reason, grid = "heat", sl.zone_why + ": heating on grid", True
                            elif lend:
                                term, reason = "soc_guard", (f"start at {fit:.0f} W: {_lend_why(site, R, lo)}" if ex else "")
                            else:
                                term = "soc_guard"
                                reason = (f"SoC {site.soc:.0f} % ≥ buffer-start {cfg.battery.buffer_start_soc:.0f} %:"
                                          f" battery starts it at {fit:.0f} W") if ex else ""
                else:
                    st.enable_since = None
                    if site.kept_w > 0.0 and R + site.kept_w >= need:
                        term = "soc_guard"
                        reason = _first_why(cfg, site) if ex else ""
                    elif R <= 0.0:
                        term, reason = "idle", (f"no surplus ({fmt_kw(R)})" if ex else "")
                    else:
                        term, reason = "surplus", (f"surplus {fmt_kw_below(R, need)} min" if ex else "")
            if want is None:
                sl.run, sl.want = False, None
                use = sl.measured
            else:
                sl.run, sl.want = True, want
                use = want
        if sl.note:
            reason = f"{reason}; {sl.note}" if ex else ""
        sl.term, sl.reason = term, reason
        # level_name, inlined (sl.want is want; only a levels miner has names)
        sl.level = lad.name_of.get(want) if lad.kind == LEVELS and want is not None else None
        if grid and use > R:
            # grid-justified power takes the surplus that is left; the grid covers the rest, and the
            # miners after it are not made to look like they import
            sl.grid = True
            R += pending - (R if R > 0.0 else 0.0)
        else:
            R += pending - use
        C += pending - use
    return R, reserved


def _wind_down(sl: Slot, R: float, site: Site, now: float, ex: bool) -> tuple[float | None, str, str]:
    """(want, term, reason) for a running miner the surplus no longer keeps at its minimum: held
    there through the disable delay, then through its min on-time, then paused (its timer set)."""
    st, t, lo = sl.st, sl.timing, sl.ladder.lo
    short = lo - R
    if st.disable_since is None:
        st.disable_since = now
        st.dip_wh = 0.0
    elif short > 0.0:
        st.dip_wh += short * (now - st.dip_ts) / 3600.0      # what the battery (or grid) lent the dip so far
    st.dip_ts = now
    gone = now - st.disable_since
    lent = ""
    if site.sure and R + site.kept_w < lo:
        # the battery will get it back: a dip may draw what the miner's minimum draws through the
        # disable delay (what a dip with no surplus at all takes), so a shallow one lasts longer.
        # Only a dip of the surplus itself: a miner short only of what the battery keeps (the
        # forecast for the rest of the day came down) is short of the battery's need, not a cloud
        budget_wh = lo * t.disable_delay / 3600.0
        left = DIP_MAX * t.disable_delay - gone
        if st.dip_wh >= budget_wh:
            left = 0.0
        elif short > 0.0 and (budget_wh - st.dip_wh) * 3600.0 / short < left:
            left = (budget_wh - st.dip_wh) * 3600.0 / short
        if ex:
            lent = f"; the battery, full yesterday, lends the dip up to {budget_wh:.0f} Wh ({st.dip_wh:.0f} so far)"
    else:
        left = t.disable_delay - gone
    if left > 0.0:
        sl.timer, sl.timer_left = "disable", left
        return lo, "disable_timer", (f"pause in {fmt_dur(left)} (surplus {fmt_kw_below(R, lo)} "
                                     f"min{lent}{_no_carry_why(site)})" if ex else "")
    left = min_on_left(st, t, now)
    if left > 0.0:
        sl.timer, sl.timer_left = "min_on", left
        return lo, "min_on", (f"min on-time: {fmt_dur(left)} left" if ex else "")
    return None, "surplus", (f"surplus {fmt_kw_below(R, lo)} min: pause" if ex else "")
