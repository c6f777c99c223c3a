"""The Decider the engine builds: policy modes (surplus | rules | manual, per fleet or per miner),
overrides on top, and the stale-data fail-safe underneath.

    decider = build_decider(app_cfg.policy, tz=app_cfg.site.timezone, rules=ruleset_or_hook,
                            sunset=lambda now: next_sunset_ts, miners=app_cfg.miners,
                            economics=app_cfg.economics)
    fleet = decider.decide(DecisionInput(...))

Order of precedence for one miner each cycle:
monitor-only / offline  >  per-miner override  >  global pause  >  manual mode  >  stale-data
fail-safe  >  rules mode (start/stop rules + hardware protection) | surplus mode (allocator, with
stop rules as vetoes and start rules forcing a miner on).  A global "observe" override lets all of
that be decided and shown, but strips every command.

Surplus-mode miners also pass two gates each cycle (policy/gates.py): heat, from ``DecisionInput.climate
["status"]`` (heat/zones.py ZoneStatus per zone; a miner belongs to the zone whose ``miners`` names it,
else to ``MinerView.zone``), and price, from ``DecisionInput.prices`` with the ``economics:`` switches
``mine_only_above_feed_in`` / ``grid_mining_below_break_even`` (same comparison as econ/decision.py
``mining_pays``, inlined for speed; tests/test_price_decision.py pins that they agree). The allocator applies them (policy/allocator.py).

Here: the decide loop, the fail-safe, rules mode and the commands with their read-back. Mixed in:
overrides as asked for and as applied to a miner (policy/requests.py), the saved state and the mode
switch (policy/decider_state.py).
"""
from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable, Iterable

from ..fastobj import checked
from ..miners.model import NOT_ONLINE_STATES, RUNNING_STATES, CommandKind, MinerCommand, MinerState
from .allocator import Slot, allocate
from .gates import Gates
from .config import PolicyConfig
from .decider_state import DeciderState
from .decision import DecisionInput, FleetDecision, MinerDecision, MinerView, make_decision, make_fleet
from .overrides import OverrideEvent, Overrides
from .requests import OverrideRequests
from .rule_hook import RuleHook, RuleSetHook, SiteFeeds, _as_hook
from .site_terms import INF, Site, site_terms
from .protection import min_on_left, start_block
from .quantize import CONTINUOUS, LEVELS, ON_OFF, Ladder
from .timers import DayKey, MinerState as CtlState, fmt_dur, fmt_kw

_START, _STOP, _SETP, _SETL = CommandKind.START, CommandKind.STOP, CommandKind.SET_POWER, CommandKind.SET_LEVEL
_FAULT = MinerState.FAULT
GIVE_UP_AFTER = 3          # unconfirmed start/stop sends before we accept what the miner reports
# MinerCommand(...) positionally, without the frozen-init cost (a power-target miner's setpoint moves
# every few minutes of sun: a year's replay sends tens of thousands)
_make_command = checked(MinerCommand, ("kind", "watts", "level", "reason"), (_START, 1.0, None, ""))
_NAME_PRIO = attrgetter("name", "priority")


class PolicyDecider(DeciderState, OverrideRequests):
    """Implements policy.decision.Decider. Not thread-safe: one engine owns it."""

    def __init__(self, cfg: PolicyConfig | None = None, tz: str = "UTC", rules: Any = None,
                 sunset: Callable[[float], float | None] | None = None,
                 sunrise: Callable[[float], float | None] | None = None, sun: Any = None,
                 economics: Any = None, feeds: SiteFeeds | None = None) -> None:
        """``economics``: the ``economics:`` section (econ/config.py EconomicsConfig) or None (no price terms);
        ``feeds``: what feeds the rules besides the snapshot (forecast, home load, pool, capacity)."""
        self.cfg = cfg or PolicyConfig()
        self.gates = Gates(economics)
        self.tz = tz
        self.feeds = feeds
        self.home_load = feeds.home_load if feeds is not None else None
        self.rules = _as_hook(rules, sun, tz, feeds)
        self.overrides = Overrides(tz, sunset, sunrise)
        self._day = DayKey(tz)
        self._slots: dict[str, Slot] = {}
        self._restored: dict[str, dict] = {}
        self._events: list[OverrideEvent] = []
        self._bad_since: float | None = None
        self._order_key: tuple | None = None
        self._order_src: tuple | None = None     # the miners tuple the order was last asked for
        self._order: list[MinerView] = []
        self._lean: tuple | None = None          # (views, cfg, slots, draws, min, steps) while the views stay
        # a slot may carry a mark (forced, veto, failsafe, nocmd) from the last cycle: only the
        # fail-safe and the rules set them, and only then must the same views' pass clear them
        self._marked = False
        # False: not the replay's shortcut (reusing a cycle's per-miner pass for the same views):
        # what the tests compare it with
        self.specialise = True
        self.last: FleetDecision | None = None
        # a miner whose sample is older than this is never commanded ("grace": policy.stale.grace;
        # None: no check, for the replay, whose samples carry the time they last changed)
        self.miner_data_max_age_s: float | str | None = "grace"
        # False: decide only (run, target, level, term, command) and leave the words out (reasons,
        # summary, terms), which are most of a cycle's cost; for the replay, which reads none of them
        self.explain = True
        self._battery: bool | None = self.cfg.battery.present
        b = self.cfg.battery
        self.reserve = None
        if b.capacity and (b.reserve == "forecast" or (b.reserve == "auto" and sunset and sunrise)):
            from .reserve import ForecastReserve
            self.reserve = ForecastReserve(b.capacity, b.forecast_trust, sunset=sunset, sunrise=sunrise,
                                           trust_sunrise_pct=b.forecast_trust_sunrise,
                                           learned_quantile_pct=b.forecast_learned,
                                           load=self.home_load.mean_w if self.home_load is not None else None)
        self.headroom = None
        if cfg is not None and self.cfg.headroom_w == "auto":
            from .headroom import AdaptiveHeadroom
            self.headroom = AdaptiveHeadroom()
        self.headroom_w = 100.0 if self.headroom is not None else float(self.cfg.headroom_w)

    # ------------------------------------------------------------------------------------------
    def _slot(self, name: str) -> Slot:
        sl = self._slots.get(name)
        if sl is None:
            d = self._restored.pop(name, None)
            st = CtlState.restore(d) if d else CtlState()
            sl = self._slots[name] = Slot(name, st, self.cfg.timers_for(name))
            sl.mode = self.cfg.mode_of(name)
        return sl

    def _ordered(self, miners: tuple[MinerView, ...]) -> list[MinerView]:
        return [miners[i] for i in self._order_of(miners)]

    def _order_of(self, miners: tuple[MinerView, ...]) -> list[int]:
        """Indexes of ``miners`` in priority order (sorted again only when a name or priority changes)."""
        if miners is self._order_src:
            # the same tuple as last cycle (the replay hands over one while no view changed): the
            # same frozen views, so the same names and priorities (it is kept, so never another
            # tuple at the same address)
            return self._order_idx
        self._order_src = miners
        key = tuple(map(_NAME_PRIO, miners))
        if key != self._order_key:
            self._order_key = key
            self._order_idx = sorted(range(len(miners)), key=lambda i: (miners[i].priority, miners[i].name))
        return self._order_idx

    def _reconcile(self, st: CtlState, sample, now: float) -> None:
        """Bring our belief in line with what the miner reports, without counting it as our start."""
        running = sample.running
        if not st.known:
            st.known = True
            if running and not st.on:
                st.on = True
                st.last_start = now            # unknown start: protect it from now (min on-time)
            elif not running and st.on:
                st.on = False
                if st.restored:
                    st.last_stop = now
            if running and st.setpoint_w is None:
                st.setpoint_w = sample.power_limit_w if sample.power_limit_w is not None else sample.power_w
            return
        if st.awaiting:
            if running == st.on:
                st.awaiting = False
                st.attempts = 0
            elif st.attempts >= GIVE_UP_AFTER and st.sent_ts is not None \
                    and now - st.sent_ts >= self.cfg.command_retry:
                # the miner never did it: accept what it reports and let the timers decide again
                st.awaiting = False
                st.attempts = 0
                st.on = running
                if running:
                    st.last_start = now
                else:
                    st.last_stop = now
            return
        if running != st.on:
            st.on = running
            st.enable_since = st.disable_since = None
            if running:
                st.last_start = now
                if sample.power_limit_w is not None:
                    st.setpoint_w = sample.power_limit_w
            else:
                st.last_stop = now

    # ------------------------------------------------------------------------------------------
    def decide(self, inp: DecisionInput) -> FleetDecision:
        now = inp.now
        cfg = self.cfg
        ov = self.overrides
        snp = inp.snapshot
        if self.home_load is not None:
            r = snp.house_w
            if r.error is None:
                self.home_load.observe(now, r.value)
        if ov._next_expiry is not None and now >= ov._next_expiry:
            self._events.extend(ov.expire(now))
        dk = self._day
        day = dk._key if dk._lo <= now < dk._hi else dk(now)       # (DayKey's own test, inline)
        pause = observe = None
        has_ov = bool(ov._miner or ov._global)   # bool(ov), asked once: a release below leaves for_miner() answering None
        if has_ov:
            pause = ov.global_("pause")
            observe = ov.global_("observe")
        out: dict[str, MinerDecision] = {}
        max_age = self.miner_data_max_age_s
        if max_age is not None and max_age == "grace":
            max_age = cfg.stale.grace
        min_w = step_w = 0.0       # the surplus miners' smallest minimum; a running power-target miner's smallest step
        miners = inp.miners
        lean = self._lean
        if lean is not None and lean[0] is miners and lean[1] is cfg and not has_ov and max_age is None \
                and self.specialise:
            # the same views as last cycle (the replay hands over the same tuple while no miner's
            # reading changed), which went all to the allocator then: the same slots, draws and
            # minimum; only what our own state decides is worked out again
            surplus = acted = lean[2]
            rules_slots: list[Slot] | tuple = ()
            alloc_draw, all_draw, min_w = lean[3], lean[4], lean[5]
            marked = self._marked
            for sl in surplus:
                st = sl.st
                if not st.known or st.awaiting or sl.running is not st.on:     # (both bools)
                    self._reconcile(st, sl.view.sample, now)
                if marked:
                    sl.forced = False
                    sl.veto = ""
                    sl.failsafe = False
                    sl.nocmd = False
                sl.timer = ""
            self._marked = False
            for sl, step in lean[6]:
                if sl.st.on and (step_w == 0.0 or step < step_w):
                    step_w = step
        else:
            self._lean = None
            self._marked = False      # every slot below has its marks cleared
            surplus = []
            rules_slots = []
            acted = []             # slots whose decision may carry a command
            alloc_draw = 0.0
            all_draw: float | None = 0.0
            slots = self._slots
            steps: list = []
            for i in self._order_of(miners):
                v = miners[i]
                name = v.name
                sample = v.sample
                caps = v.caps
                if sample is not None:
                    state = sample.state
                    running = state in RUNNING_STATES        # sample.running / .online, the state read once
                    pw = sample.power_w
                    if pw is None:
                        if running:
                            all_draw = None
                    elif all_draw is not None:
                        all_draw += pw
                else:
                    all_draw = None
                if has_ov and ov.for_miner(name) is not None:
                    self._check_override(name, caps, now)
                if caps.monitor_only:
                    why = f" ({caps.why_limited})" if caps.why_limited else ""    # e.g. not identified yet
                    out[name] = MinerDecision(name, sample is not None and running, None, None, "monitor_only",
                                              "monitor only: never commanded" + why)
                    continue
                if sample is None or state in NOT_ONLINE_STATES or state is _FAULT:
                    why = "no data yet" if sample is None else (sample.error or sample.state.value)
                    out[name] = MinerDecision(name, False, None, None, "offline", f"offline: {why}")
                    sl = self._slots.get(name)
                    if sl is not None:
                        sl.st.enable_since = sl.st.disable_since = None
                    continue
                age = now - sample.ts
                if max_age is not None and age > max_age:
                    # its data is older than the fail-safe's hold (a command in flight, a stuck poll):
                    # never command a miner on what it said that long ago
                    out[name] = MinerDecision(name, running, None, None, "stale",
                                              f"miner data {fmt_dur(age)} old: not commanded")
                    continue
                sl = slots.get(name)
                if sl is None:
                    sl = self._slot(name)
                if sl.caps is not caps:
                    if sl.caps is None or sl.caps != caps:
                        sl.ladder = Ladder(caps)
                    sl.caps = caps
                sl.view = v
                sl.running = running
                st = sl.st
                if not st.known or st.awaiting or running is not st.on:
                    self._reconcile(st, sample, now)
                lad = sl.ladder
                if running:
                    m = pw if pw is not None else (sample.power_limit_w or st.setpoint_w or lad.lo)
                else:
                    m = pw if pw is not None else lad.idle
                sl.measured = m
                sl.forced = False
                sl.veto = ""
                sl.failsafe = False
                sl.nocmd = False
                sl.timer = ""
                o = ov.for_miner(name) if has_ov else None
                if o is not None:
                    self._override(sl, o, now)
                    acted.append(sl)
                    continue
                if pause is not None:
                    st.enable_since = st.disable_since = None
                    out[name] = MinerDecision(name, st.on, st.setpoint_w if st.on else None, st.level if st.on else None,
                                              "paused", pause.describe(now))
                    continue
                if sl.mode == "manual":
                    out[name] = MinerDecision(name, running, None, None, "manual", "manual mode: not automated")
                    continue
                if sl.mode == "rules":
                    rules_slots.append(sl)
                else:
                    surplus.append(sl)
                    alloc_draw += m
                    lo = lad.lo
                    if lo > 0.0 and (min_w == 0.0 or lo < min_w):
                        min_w = lo
                    if lad.kind == CONTINUOUS and lad.step > 0.0:
                        steps.append((sl, lad.step))
                        if st.on and (step_w == 0.0 or lad.step < step_w):
                            step_w = lad.step
                acted.append(sl)
            if len(surplus) == len(miners) and all_draw is not None and not has_ov and max_age is None:
                # every miner went to the allocator and each draw is its reading: while the views
                # stay the same tuple, so does all of this
                self._lean = (miners, cfg, surplus, alloc_draw, all_draw, min_w, steps)

        has_batt = self._battery
        if has_batt is None:
            if snp.battery_charge_w.value is not None or snp.battery_soc_pct.value is not None:
                has_batt = self._battery = True
        res = None
        if self.reserve is not None:
            res = self.reserve.update(now, snp.battery_soc_pct.value, snp.house_w.value, snp.forecast,
                                      min_w, snp.pv_w.value, snp.grid_import_w.value)
        batt = True if has_batt else False          # bool(has_batt), without the call
        if self.headroom is not None:
            self.headroom_w = self.headroom.update(snp.grid_import_w.value, batt, step_w)
        site = site_terms(cfg, snp, inp.stale, alloc_draw, all_draw,
                          None if has_batt is False else batt, res, self.headroom_w)
        stale_for = 0.0
        left = reserved = 0.0
        if site.ok:
            self._bad_since = None
        else:
            if self._bad_since is None:
                self._bad_since = now
            stale_for = max(inp.stale_for_s, now - self._bad_since)
            self._marked = True
            for sl in surplus:
                self._failsafe(sl, stale_for, site.why)
            for sl in rules_slots:
                self._failsafe(sl, stale_for, site.why)
        gates = None
        if self.gates.on or inp.climate or self.gates.gated:
            gates = self.gates.apply(surplus, inp)
        if site.ok:
            hook = self.rules
            if rules_slots:
                for sl in rules_slots:
                    self._rules_mode(sl, inp, now, day, hook)
            if surplus:
                if hook is not None:
                    self._marked = True
                    for sl in surplus:
                        st = sl.st
                        act, why = hook.evaluate(inp, sl.view, True, running_since=st.last_start,
                                                 stopped_since=st.last_stop)
                        if act == "stop":
                            sl.veto = why
                            continue
                        act, why = hook.evaluate(inp, sl.view, False, running_since=st.last_start,
                                                 stopped_since=st.last_stop)
                        if act == "start":
                            sl.forced = True
                left, reserved = allocate(cfg, site, surplus, now, day, self.explain)

        # commands
        retry = cfg.command_retry
        explain = self.explain
        timers: dict[str, dict] = {}
        for sl in acted:
            run = sl.run
            want = sl.want
            if run or sl.running:        # (off and meant to be off: nothing to send)
                cmd, resend = self._command(sl, now, retry)
            else:
                cmd = None
            term, reason, level = sl.term, sl.reason, sl.level    # (_commit below reads the slot's own)
            if view_pending := sl.view.pending:
                # its last command is still in flight (engine.py): send nothing new, believe nothing new
                reason = f"{reason}; waiting for \"{view_pending.describe()}\" to finish"
                cmd = None
            elif cmd is not None:
                if observe is not None:
                    term = "observe"
                    reason = f"observe only: would {cmd.describe()} ({reason})"
                    cmd = None
                else:
                    self._commit(sl, cmd, resend, now, day)
            elif run and observe is None and want is not None:
                st = sl.st
                if st.on:
                    st.setpoint_w = want
                    st.level = level
            if explain and sl.timer:
                timers[sl.name] = {"action": sl.timer, "remaining_s": sl.timer_left,
                                   "starts_today": sl.st.starts_on(day)}
            d = sl.decision
            # (level by identity: the ladder's own names, or None; an equal name that is another
            # object only costs a new, equal decision)
            if cmd is None and d is not None and d.run is run and d.term == term and d.reason == reason \
                    and d.level is level and d.command is None \
                    and (d.target_w == want if want is not None else d.target_w is None):
                pass                # the same decision as last cycle: the same immutable object
            else:                   # (one with a command is never reused)
                d = sl.decision = make_decision(sl.name, run, want, level, term, reason, cmd)
            out[sl.name] = d

        if not explain:
            fd = self.last = make_fleet(now, site.available_w, out, {}, "")
            return fd
        terms = {
            "mode": cfg.mode,
            "available_w": site.available_w,
            "left_w": left if site.ok else None,
            "reserved_w": reserved,
            "headroom_w": self.headroom_w,
            "import_w": site.import_w,
            "battery_charge_w": site.charge_w,
            "battery_kept_w": site.kept_w,
            "battery_soc_pct": site.soc,
            "battery": site.battery,
            "import_cap_w": cfg.import_cap_w,
            "stale_for_s": stale_for,
            "failsafe": self._stage(stale_for) if not site.ok else "",
            "paused": pause is not None,
            "observe": observe is not None,
            "timers": timers,
        }
        r = site.reserve
        if r is not None:
            # numbers, not text: formatting costs more than the reserve itself; the UI words them
            terms["reserve"] = {"keeps_pct": r.share * 100.0, "needs_wh": r.need_wh, "coming_wh": r.coming_wh,
                                "tail_wh": r.tail_wh, "lends_w": site.lend_w, "careful": r.careful,
                                "full_yesterday": r.full_yesterday}
        elif self.reserve is not None:
            terms["reserve"] = "no forecast (or SoC) this cycle: the fixed SoC levels apply"
        if gates is not None:
            terms["heat"], terms["mining_value"] = gates
        if site.ok:
            summary = f"available {fmt_kw(site.available_w)}"
        else:
            summary = f"{site.why}: {terms['failsafe']} ({fmt_dur(stale_for)})"
        fd = self.last = make_fleet(now, site.available_w, out, terms, summary)
        return fd

    # ------------------------------------------------------------------------------------------
    def _stage(self, age: float) -> str:
        s = self.cfg.stale
        if age <= s.grace:
            return "hold"
        if age <= s.grace + s.minimum_for:
            return "minimum"
        return "pause"

    def _failsafe(self, sl: Slot, age: float, why: str) -> None:
        st = sl.st
        lad = sl.ladder
        g = self.cfg.stale.grace
        end = g + self.cfg.stale.minimum_for
        st.enable_since = st.disable_since = None
        sl.failsafe = True
        sl.term = "stale"
        sl.level = None
        if not st.on:
            sl.run, sl.want = False, None
            sl.reason = f"{why} for {fmt_dur(age)}: not starting"
        elif age <= g:
            sl.run, sl.want = True, st.setpoint_w
            sl.level = st.level
            sl.nocmd = True
            sl.reason = f"{why} for {fmt_dur(age)}: holding, minimum in {fmt_dur(g - age)}"
            sl.timer, sl.timer_left = "stale", g - age
        elif age <= end:
            sl.run = True
            if lad.kind == ON_OFF:
                sl.want = st.setpoint_w
                sl.nocmd = True
                sl.reason = f"{why} for {fmt_dur(age)}: pause in {fmt_dur(end - age)}"
            else:
                sl.want = lad.lo
                sl.level = lad.level_name(lad.lo)
                sl.reason = f"{why} for {fmt_dur(age)}: minimum {lad.lo:.0f} W, pause in {fmt_dur(end - age)}"
            sl.timer, sl.timer_left = "stale", end - age
        else:
            sl.run, sl.want = False, None
            sl.reason = f"{why} for {fmt_dur(age)}: paused until data returns"

    def _rules_mode(self, sl: Slot, inp: DecisionInput, now: float, day: str, hook: RuleHook | None) -> None:
        st = sl.st
        t = sl.timing
        sl.want = None
        sl.level = None
        st.enable_since = st.disable_since = None
        if hook is None:
            sl.run, sl.term, sl.reason = st.on, "rule", "no rules loaded: not automated"
            sl.nocmd = True   # never command
            return
        act, why = hook.evaluate(inp, sl.view, st.on, running_since=st.last_start, stopped_since=st.last_stop)
        sl.run = st.on
        if st.on and act == "stop":
            left = min_on_left(st, t, now)
            if left > 0:
                sl.term, sl.reason = "min_on", f"min on-time: {fmt_dur(left)} left ({why})"
                sl.timer, sl.timer_left = "min_on", left
            else:
                sl.run, sl.term, sl.reason = False, "rule", why
        elif not st.on and act == "start":
            block = start_block(st, t, now, day)
            if block is not None:
                sl.term, sl.reason, bl = block
                if bl > 0:
                    sl.timer, sl.timer_left = sl.term, bl
            else:
                sl.run, sl.term, sl.reason = True, "rule", why
        else:
            sl.term, sl.reason = ("rule" if why else "idle"), (why or "no rule fired")

    # ------------------------------------------------------------------------------------------
    def _command(self, sl: Slot, now: float, retry: float) -> tuple[MinerCommand | None, bool]:
        """What to send so the miner does what the slot says; None when nothing needs to change,
        when the rules/fail-safe forbid commands, or when an identical command awaits confirmation."""
        view = sl.view
        running = sl.running
        st = sl.st
        kind = None
        w = lvl = None
        if sl.run:
            lad = sl.ladder
            if not running:
                kind = _START
                if lad.kind == CONTINUOUS:
                    w = sl.want
                elif lad.kind == LEVELS:
                    lvl = sl.level
            elif sl.want is not None:
                if lad.kind == CONTINUOUS:
                    cur = view.sample.power_limit_w
                    if cur is None:
                        cur = st.setpoint_w
                    if cur is None or not lad.same(sl.want, cur):
                        kind, w = _SETP, sl.want
                elif lad.kind == LEVELS and sl.level is not None:
                    cur = view.sample.level
                    if cur is None:
                        cur = st.level
                    if cur != sl.level:
                        kind, lvl = _SETL, sl.level
        elif running:
            kind = _STOP
        if kind is None:
            # the engine read back our last power/level change and it did not take: resend it
            if view.confirmed is False and st.sent_kind in (_SETP, _SETL) and st.sent_ts is not None \
                    and now - st.sent_ts >= retry and sl.run and running and \
                    (st.sent_w == sl.want if st.sent_kind is _SETP else st.sent_level == sl.level):
                return _make_command(st.sent_kind, st.sent_w, st.sent_level, sl.reason), True
            return None, False
        if sl.nocmd or (sl.failsafe and kind is _START):
            return None, False
        if (kind is _START or kind is _STOP) and not view.caps.on_off:
            return None, False      # it cannot be started or stopped: the fleet would refuse it anyway

        same = st.sent_kind is kind and st.sent_w == w and st.sent_level == lvl and st.sent_ts is not None
        resend = (st.awaiting and same) if kind is _START or kind is _STOP else same
        if resend and now - st.sent_ts < retry:
            return None, False
        return _make_command(kind, w, lvl, sl.reason), resend

    def _commit(self, sl: Slot, cmd: MinerCommand, resend: bool, now: float, day: str) -> None:
        st = sl.st
        kind = cmd.kind
        if kind is _START:
            st.on = True
            st.awaiting = True
            st.stopped_by = ""
            st.enable_since = None
            if resend:
                st.attempts += 1
            else:
                st.attempts = 1
                st.count_start(day)
                st.last_start = now
                st.last_change = now
            st.setpoint_w = sl.want
            st.level = sl.level
        elif kind is _STOP:
            st.on = False
            st.awaiting = True
            st.disable_since = None
            if resend:
                st.attempts += 1
            else:
                st.attempts = 1
                st.last_stop = now
                st.stopped_by = "failsafe" if sl.failsafe else ""
        else:
            if not resend:
                st.last_change = now
            st.setpoint_w = sl.want
            st.level = sl.level
        st.sent_kind, st.sent_w, st.sent_level, st.sent_ts = kind, cmd.watts, cmd.level, now


def build_decider(policy: PolicyConfig | None = None, tz: str = "UTC", rules: Any = None, *,
                  sunset: Callable[[float], float | None] | None = None,
                  sunrise: Callable[[float], float | None] | None = None, sun: Any = None,
                  miners: Iterable[Any] = (), economics: Any = None,
                  feeds: SiteFeeds | None = None) -> PolicyDecider:
    """The decider for a config. ``rules``: a loaded RuleSet (policy/rules_loader.py) or any RuleHook;
    ``miners``: the configured miners (MinerConfig), to check that ``groups`` names real miners;
    ``economics``: the ``economics:`` section (EconomicsConfig) for the price terms, None = off."""
    cfg = policy or PolicyConfig()
    names = {getattr(m, "name", None) for m in miners}
    if names:
        for name in list(cfg.groups) + list(cfg.miners):
            if name not in names:
                raise ValueError(f"policy: miner {name!r} is not configured (known: {', '.join(sorted(names))})")
    return PolicyDecider(cfg, tz=tz, rules=rules, sunset=sunset, sunrise=sunrise, sun=sun, economics=economics,
                         feeds=feeds)


__all__ = ["PolicyDecider", "build_decider", "RuleHook", "RuleSetHook", "SiteFeeds", "INF", "Site"]
