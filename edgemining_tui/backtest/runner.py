"""Replay a trace through the decider the console runs live, on a virtual clock.

The live Engine's cycle is async with I/O ports (energy source, pyasic fleet, store). A replay has
no I/O, so this loop calls the same ``Decider.decide()`` directly from a tight synchronous loop and
steps the miners' physics itself: the decision code is the live one, only the ports differ
(trace + simulated battery instead of a meter, MinerModel instead of pyasic, a virtual clock).

Per decision tick ``t`` (the trace's step, or a finer ``backtest.decision_interval`` holding the
trace's values):

1. step every miner's model to ``t`` and read it (what a poll would return);
2. settle the site for ``[t, t + dt)`` with those draws (battery, grid = balance), with and
   without the miners;
3. build the snapshot the meter would show at ``t`` and ask the decider;
4. apply its commands to the models at ``t`` (they ramp from there).
"""
from __future__ import annotations

import inspect
import logging
import math
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Callable
from zoneinfo import ZoneInfo

from ..clock import VirtualClock
from ..config.errors import ConfigError
from .config import BacktestConfig
from .days import LocalDays
from .fast import make_decision_input
from .heat import ReplayZones
from .metrics import Result, Totals
from .miners import Fleet, SimMiner
from .site import Baselines, ReplaySite
from .trace import Trace, TraceError

log = logging.getLogger("edgemining_tui.backtest")

STEP_COLUMNS = ("timestamp", "pv_w", "load_w", "miners_w", "battery_charge_w", "battery_soc_pct",
                "grid_import_w")


@dataclass
class DeciderInfo:
    decider: Any
    name: str
    clock: VirtualClock | None = None
    notes: list[str] = field(default_factory=list)


def make_decider(cfg: BacktestConfig, clock: VirtualClock, trace: Trace | None = None) -> DeciderInfo:
    """The decider the app would build from this config (policy/decider.py), with the config's
    Edge Mining rules file (relative to the config file) and the site's sun, on a virtual clock."""
    app = cfg.app
    miners = [m for m in app.miners if m.enabled]
    try:
        from ..policy.decider import build_decider
    except ImportError:
        from ..policy.simple import SimpleDecider
        return DeciderInfo(SimpleDecider(headroom_w=getattr(app.policy, "headroom_w", 100.0)), "simple",
                           notes=["policy/decider.py is not available: replaying the placeholder SimpleDecider"])
    pol = app.policy
    notes: list[str] = []
    tz = ZoneInfo(app.site.timezone)
    sun = sunset = sunrise = None
    if app.site.latitude is not None and app.site.longitude is not None:
        try:
            from ..policy.sun import SunCalculator, next_event
            sun = SunCalculator(app.site.latitude, app.site.longitude, tz)
            sunset, sunrise = next_event(sun, tz, "sunset"), next_event(sun, tz, "sunrise")
        except (ImportError, RuntimeError) as e:  # pragma: no cover - astral is a dependency
            notes.append(f"no sun times: {e}")
    from ..config.rules import energy_source_fields, load_rules_for
    from ..policy.fields import SiteSupply
    from ..policy.forecast_fields import CURVE_KEYS
    from ..policy.home_load import HomeLoadForecaster
    from ..policy.rule_hook import SiteFeeds
    prices = frozenset()
    if trace is not None:
        prices = frozenset(k for k, col in (("import", trace.price_import), ("export", trace.price_export))
                           if col is not None)
        if prices:
            prices |= {"btc", "hashprice"}
    battery = cfg.battery.capacity > 0
    # what the replay feeds the rules: the trace's columns, the simulated battery, the replayed PV
    # forecast (shaped by the sun), the house load model learning from the trace's load, the zones
    supply = SiteSupply(battery=battery, battery_capacity=battery, grid=True, location=sun is not None,
                        outdoor_temperature=trace is not None and trace.temp_out_c is not None,
                        price_keys=prices, home_load=True,
                        forecast_keys=frozenset({"power_now", "energy_next_hour", "energy_rest_of_day"}
                                                | (set(CURVE_KEYS) if sun is not None else set())),
                        climate_zones=frozenset(z.name for z in app.heat.zones),
                        miner_details=False,
                        energy_source=frozenset(energy_source_fields(app, cfg.battery.capacity or None)))
    rules, warnings = load_rules_for(app, cfg.path, supply)
    notes.extend(str(w) for w in warnings)
    # the house load model costs a little every step: only when a rule or the reserve reads it
    reserve = getattr(pol.battery, "reserve", "levels") != "levels"
    load_rules = rules is not None and any(f.startswith("home_load.") for f in rules.fields())
    feeds = SiteFeeds(battery_capacity_wh=cfg.battery.capacity if battery else None,
                      energy_source=energy_source_fields(app, cfg.battery.capacity or None),
                      home_load=HomeLoadForecaster(tz) if load_rules or reserve else None, lean=True)
    kw: dict[str, Any] = {}
    try:
        params = inspect.signature(build_decider).parameters
    except (TypeError, ValueError):
        params = {}
    used_clock = None
    if "clock" in params:
        kw["clock"] = clock
        used_clock = clock
    for key, val in (("sun", sun), ("sunset", sunset), ("sunrise", sunrise), ("feeds", feeds)):
        if key in params:
            kw[key] = val
    if "miners" in params:
        kw["miners"] = miners
    if "economics" in params:
        kw["economics"] = app.economics
    try:
        dec = build_decider(pol, app.site.timezone, rules, **kw)
    except ValueError as e:
        raise ConfigError(str(e), cfg.path, None, "policy") from None
    # the replay observes every simulated miner at every step and reuses an unchanged sample with
    # the time it last changed (backtest/miners.py): its age says nothing about freshness here
    dec.miner_data_max_age_s = None
    # nothing reads a replayed decision's words (reasons, summary, terms): decide without them
    dec.explain = False
    mode = getattr(pol, "mode", "policy")
    name = f"{mode} + rules" if rules is not None and mode != "rules" else mode
    return DeciderInfo(dec, name, used_clock, notes)


def builtin_remaining(cfg: BacktestConfig, trace: Trace, tz: ZoneInfo, history: Trace | None = None):
    """The built-in forecast's "energy still to come today" at every row, from the rows before
    (and ``history``'s PV, the days before the trace, as the console's database gives it)."""
    from ..forecast.builtin import remaining_series
    site = cfg.app.site
    if site.latitude is None or site.longitude is None:
        raise ConfigError("the built-in PV forecast needs site.latitude and site.longitude", cfg.path, None, "site")
    hist = None
    if history is not None:
        hist = ((history.ts0 + i * history.step_s, w) for i, w in enumerate(history.pv_w))
    return remaining_series(trace.pv_w, trace.ts0, trace.step_s, site.latitude, site.longitude, tz,
                            site.pv_array, hist)


class Prepared:
    """What a replay works out from the trace alone, kept for the next replay of the same trace:
    the sites that need no decision (backtest/site.py Baselines) and the PV forecast series.
    ``tune`` replays one history under many policy settings; each setting reuses these instead of
    working them out again (each is keyed by everything it depends on, so a config that differs
    where it matters gets its own)."""

    def __init__(self, trace: Trace, history: Trace | None = None) -> None:
        self.trace = trace
        self.history = history
        self._cache: dict = {}

    def baselines(self, cfg: BacktestConfig, sub: int, dt: float, idle_w: float) -> Baselines:
        tr = self.trace
        key = ("base", cfg.battery, sub, dt, idle_w)
        b = self._cache.get(key)
        if b is None:
            b = self._cache[key] = Baselines(cfg.battery, tr.pv_w, tr.load_w, sub, dt, idle_w,
                                             tr.price_import, tr.price_export)
        return b

    def warm(self, cfg: BacktestConfig) -> None:
        """Work out now what a replay of ``cfg`` will ask for (before forking workers that share it)."""
        dt, sub = decision_step(cfg, self.trace)
        idle_w = sum(SimMiner(m, self.trace.ts0, cfg.section.efficiency_j_th).model.idle_w
                     for m in cfg.app.miners if m.enabled)
        self.baselines(cfg, sub, dt, idle_w)
        dec = make_decider(cfg, VirtualClock(self.trace.ts0), self.trace).decider
        if getattr(dec, "reserve", None) is not None or reads_forecast_rules(dec):
            self.forecast(cfg, ZoneInfo(cfg.app.site.timezone))

    def misses(self, cfg: BacktestConfig, reserve, tz: ZoneInfo, min_w: float) -> list:
        site = cfg.app.site
        key = ("miss", cfg.forecast_model, cfg.section.forecast, str(tz), min_w,
               (site.latitude, site.longitude, site.pv_array))
        m = self._cache.get(key)
        if m is None:
            m = self._cache[key] = warm_misses(cfg, reserve, self.history, tz, min_w)
        return m

    def forecast(self, cfg: BacktestConfig, tz: ZoneInfo):
        """"Wh still to come today" at every row: the trace's recorded forecast, the built-in
        forecast run on the rows before, or the noisy stand-in (backtest/forecast.py)."""
        tr = self.trace
        builtin = tr.pv_forecast_w is None and cfg.forecast_model == "builtin"
        site = cfg.app.site
        key = ("fc", builtin, str(tz), (site.latitude, site.longitude, site.pv_array) if builtin
               else cfg.section.forecast)
        f = self._cache.get(key)
        if f is None:
            if builtin:
                f = builtin_remaining(cfg, tr, tz, self.history)
            else:
                from .forecast import remaining_today
                f = remaining_today(tr, tz, cfg.section.forecast)
            self._cache[key] = f
        return f


def warm_misses(cfg: BacktestConfig, reserve, history: Trace, tz: ZoneInfo, min_w: float):
    """The reserve's record of how far its surplus forecast missed (policy/reserve.py
    SurplusMisses), learnt on ``history`` as the running console would have learnt it on those
    days: the forecast as it was said then (the built-in one from the history's own past), the
    surplus that came."""
    from ..policy.reserve import ForecastReserve
    if history.pv_forecast_w is None and cfg.forecast_model == "builtin":
        f = builtin_remaining(cfg, history, tz, None)
    else:
        from .forecast import remaining_today
        f = remaining_today(history, tz, cfg.section.forecast)
    w = ForecastReserve(10000.0, 100.0, sunset=reserve.sunset, sunrise=reserve.sunrise,
                        learned_quantile_pct=100.0 * reserve.quantile)
    fc = {"energy_today_remaining_wh": 0.0}
    up = w.update
    ts0, step = history.ts0, history.step_s
    pvs, loads = history.pv_w, history.load_w
    for i in range(len(history)):
        fc["energy_today_remaining_wh"] = f[i]
        up(ts0 + i * step, 50.0, loads[i], fc, min_w, pvs[i], None)
    w.misses.close()
    return w.misses.export()


WARM_DAYS = 2     # the days before a trace replayed to know whether the battery was full the day before


def warm_full(cfg: BacktestConfig, history: Trace) -> list | None:
    """The forecast reserve's "battery full" record (ForecastReserve.export_full) at the end of
    ``history``, as the console saves it: the last WARM_DAYS days replayed under ``cfg`` with its
    miners (the battery from the config's initial SoC at their start: the first day is its lead-in),
    the forecast's misses learnt on the days before them. None when the history is shorter."""
    rows = int(round(WARM_DAYS * 86400.0 / history.step_s))
    if len(history) < rows:
        return None
    tail = history.slice(len(history) - rows, len(history))
    head = history.slice(0, len(history) - rows) if len(history) > rows else None
    info = make_decider(cfg, VirtualClock(tail.ts0), tail)
    run_backtest(cfg, tail, history=head, decider=info, warm=False)
    res = getattr(info.decider, "reserve", None)
    return res.export_full() if res is not None else None


def reads_forecast_rules(decider) -> bool:
    rules = getattr(getattr(decider, "rules", None), "ruleset", None)
    return rules is not None and any(f.startswith("forecast.") for f in rules.fields())


def replay_forecast_now(rem, i: int, rows_per_hour: int, step_s: float) -> tuple[float, float]:
    """(power now W, energy next hour Wh) from a "Wh still to come today" series: what is left
    now minus what is left later the same day (the series jumps up at midnight)."""
    n = len(rem)
    r = rem[i]
    nxt = rem[i + 1] if i + 1 < n else 0.0
    p = (r - nxt) * 3600.0 / step_s if nxt <= r else r * 3600.0 / step_s
    j = i + rows_per_hour
    later = rem[j] if j < n else 0.0
    e = r - later if later <= r else r
    return (p if p > 0.0 else 0.0), (e if e > 0.0 else 0.0)


def night_skip_ok(decider, zones) -> bool:
    """May the replay skip the decider at night while every miner is paused and the last decision
    was "idle"? Only when nothing can start a miner without PV: surplus mode for every miner, no
    rules, no battery start level, no price or heat gates (prices then reach only the money
    ledger), no overrides."""
    cfg = getattr(decider, "cfg", None)
    if cfg is None or zones is not None:
        return False
    gates = getattr(decider, "gates", None)
    return (cfg.mode == "surplus" and not cfg.groups and getattr(decider, "rules", True) is None
            and cfg.battery.buffer_start_soc is None and not getattr(gates, "on", True)
            and not getattr(decider, "overrides", True))


def decision_step(cfg: BacktestConfig, trace: Trace) -> tuple[float, int]:
    """(dt, ticks per trace row) for the configured decision interval."""
    step = trace.step_s
    want = cfg.section.decision_interval
    if want is None or abs(want - step) < 1e-9:
        return step, 1
    if want > step:
        raise TraceError(f"backtest.decision_interval {want:g} s is longer than the trace's step {step:g} s",
                         cfg.path, cfg.decision_line)
    k = step / want
    if abs(k - round(k)) > 1e-6:
        raise TraceError(f"backtest.decision_interval {want:g} s does not divide the trace's step {step:g} s",
                         cfg.path, cfg.decision_line)
    return step / round(k), int(round(k))


def run_backtest(cfg: BacktestConfig, trace: Trace, *, steps_out: IO[str] | None = None,
                 history: Trace | None = None,
                 decider: Any = None, progress: Callable[[int, int], None] | None = None,
                 prepared: Prepared | None = None, warm: bool = True) -> Result:
    """Replay ``trace`` under ``cfg`` and return the scores. ``steps_out``: a text stream for the
    per-step CSV. ``decider``: a DeciderInfo from make_decider (built ahead, so bad rules fail before
    anything runs) or any Decider (tests); default: built from the config. ``prepared``: a Prepared
    for this trace (and ``history``) from an earlier replay, to reuse its work. ``warm`` False: the
    first day does not learn from ``history`` whether the battery was full the day before."""
    app = cfg.app
    tz = ZoneInfo(app.site.timezone)
    tzname = app.site.timezone
    dt, sub = decision_step(cfg, trace)
    if decider is None:
        info = make_decider(cfg, VirtualClock(trace.ts0), trace)
    elif isinstance(decider, DeciderInfo):
        info = decider
    else:
        info = DeciderInfo(decider, type(decider).__name__)
    decide = info.decider.decide
    vclock = info.clock
    fleet = [SimMiner(m, trace.ts0, cfg.section.efficiency_j_th) for m in app.miners if m.enabled]
    by_name = {m.name: m for m in fleet}
    cut = cfg.section.standby_cut
    if cut is not None:
        for sm in fleet:
            sm.plug(cut.after, cut.boot)
    plugged = any(sm.cut_after is not None for sm in fleet)
    stepper = Fleet(fleet)
    models = stepper.models
    step_fleet = stepper.step
    site = ReplaySite(cfg.battery)
    settle = site.battery.settler(dt)
    idle_w = sum(m.model.idle_w for m in fleet)      # the fleet's standby draw, all asleep
    bat = site.battery
    has_battery = site.has_battery
    soc_k = 100.0 / cfg.battery.capacity if has_battery else 0.0
    days = LocalDays(tz)
    zones = ReplayZones(app.heat.zones, tz) if app.heat.zones else None
    notes_extra: list[str] = []
    if zones is not None and trace.temp_out_c is None:
        notes_extra.append("the trace has no temp_out_c: rooms lose heat to a constant 10 °C outdoors")

    pvs, loads = trace.pv_w, trace.load_w
    temps, pimp, pexp = trace.temp_out_c, trace.price_import, trace.price_export
    has_prices = pimp is not None or pexp is not None
    econ = app.economics
    btc = econ.btc_price
    hashprice = cfg.section.hashprice
    ledger = None
    if has_prices:
        from ..econ.ledger import LedgerAccumulator
        ledger = LedgerAccumulator()
        sats_k = hashprice * dt / 86400.0
    empty: dict = {}
    t_start = time.perf_counter()     # the run time counts the forecast's making too
    if prepared is None or prepared.trace is not trace or prepared.history is not history:
        prepared = Prepared(trace, history)
    # the PV forecast ("energy still to come today"), when the policy reads it
    fc_rem = None
    fc: dict = empty
    fc_rules = reads_forecast_rules(info.decider)
    res_obj = getattr(info.decider, "reserve", None)
    if res_obj is not None and history is not None and getattr(res_obj, "quantile", None) is not None:
        mins = [m.model.min_w for m in fleet if m.model.min_w > 0]
        res_obj.misses.restore(prepared.misses(cfg, res_obj, tz, min(mins) if mins else 0.0))
    if res_obj is not None and history is not None and warm:
        # the console persists whether the battery was full yesterday (decider_state.py): the
        # trace's first day knows it as a running console would
        res_obj.restore_full(warm_full(cfg, history))
    if getattr(info.decider, "reserve", None) is not None or fc_rules:
        fc_rem = prepared.forecast(cfg, tz)
        fc = {"energy_today_remaining_wh": 0.0}
    # the rules' forecast fields: power now and the next hour from the same replayed forecast
    fc_hour = int(round(3600.0 / trace.step_s)) if fc_rules else 0
    n = len(trace)
    ts0 = trace.ts0
    # the sites without miners and with them asleep need no decision: settled ahead in one pass
    base = prepared.baselines(cfg, sub, dt, idle_w)
    imp0 = base.imp0

    # running sums in W·tick; scaled to Wh at the end
    s_mined = s_imp = s_exp = s_ch = s_dis = 0.0
    c_imp = c_exp = 0.0      # money: W·tick·price
    max_imp_extra = 0.0
    errors = 0
    first_error = ""
    decide_s = 0.0
    calls = 0
    perf = time.perf_counter
    writer = steps_out.write if steps_out is not None else None
    if writer is not None:
        writer(",".join(STEP_COLUMNS + tuple(f"{m.name}_w" for m in fleet)) + "\n")
    quiet = night_skip_ok(info.decider, zones)
    hl = getattr(info.decider, "home_load", None)
    hl_observe = hl.observe if hl is not None else None
    idle_last = False
    tick = 0
    fc_row = -1
    # a quiet night's rows in a tight loop of their own: one decision tick a row, nothing but the
    # battery, the sums and the house-load model to move on (the same arithmetic, in the same order)
    reps = range(sub)        # a row's decision ticks (built once, not a range() a row)
    nights = quiet and sub == 1 and zones is None and ledger is None and writer is None and not plugged
    night_end = 0
    for i in range(n):
        if i < night_end:
            continue
        pv = pvs[i]
        load = loads[i]
        if nights and pv <= 0.0 and idle_last and stepper.all_steady() and stepper.all_paused():
            # every miner asleep at its standby and untouched: each row until the PV returns is a
            # skipped decision (below) and a fleet step that only adds each standby draw
            mw = stepper.steady_w()
            asleep = stepper.miners
            j = i
            while True:
                t = ts0 + tick * dt
                tick += 1
                for sm in asleep:
                    sm.p_sum += sm.steady_p
                ch = settle(pv - load - mw)
                grid = load + mw + ch - pv
                s_mined += mw
                if grid > 0.0:
                    s_imp += grid
                else:
                    s_exp -= grid
                if ch > 0.0:
                    s_ch += ch
                else:
                    s_dis -= ch
                extra = (grid if grid > 0.0 else 0.0) - imp0[tick - 1]
                if extra > max_imp_extra:
                    max_imp_extra = extra
                if hl_observe is not None:
                    hl_observe(t, load)
                if progress is not None and (j & 0x3FFF) == 0:
                    progress(j, n)
                j += 1
                if j >= n:
                    break
                pv = pvs[j]
                if pv > 0.0:
                    break
                load = loads[j]
            stepper.moved_to(t)
            night_end = j
            continue
        if temps is not None:
            tv = temps[i]
            climate = {"outdoor_temperature": tv} if tv == tv else empty
        else:
            climate = empty
        if has_prices:
            pi = pimp[i] if pimp is not None else math.nan
            pe = pexp[i] if pexp is not None else math.nan
            prices = {"import": pi if pi == pi else None, "export": pe if pe == pe else None,
                      "btc": btc, "hashprice": hashprice}
            pi = pi if pi == pi else 0.0
            pe = pe if pe == pe else 0.0
        else:
            prices = empty
            pi = pe = 0.0
        for _ in reps:
            t = ts0 + tick * dt
            tick += 1
            # 1. the fleet as a poll would see it now (its views: stepper.views)
            mw = step_fleet(t)
            # 2. the site over [t, t + dt)
            ch = settle(pv - load - mw)
            grid = load + mw + ch - pv
            s_mined += mw
            if zones is not None:
                per = {fm.name: fm.model.power_w for fm in fleet}
                climate = zones.step(t, dt, (climate.get("outdoor_temperature") if climate else None), per,
                                     prices.get("import") if prices else None)
            if grid > 0.0:
                s_imp += grid
                c_imp += grid * pi
            else:
                s_exp -= grid
                c_exp -= grid * pe
            if ch > 0.0:
                s_ch += ch
            else:
                s_dis -= ch
            if ledger is not None:
                hr = 0.0
                for mo in models:
                    hr += mo.hashrate_ths
                ledger.add(dt, mw, grid, ch, hr * sats_k, prices, btc)
            extra = (grid if grid > 0.0 else 0.0) - imp0[tick - 1]
            if extra > max_imp_extra:
                max_imp_extra = extra
            # 3. what the meter shows now, and the decision
            if quiet and pv <= 0.0 and idle_last and stepper.all_paused():
                # night, the fleet paused and nothing that starts a miner without PV: the decider
                # would say "idle" again; skip it (its house-load model still sees the house)
                if hl_observe is not None:
                    hl_observe(t, load)
                dec = None
                if writer is not None:
                    soc = soc_k * bat.soc_wh if has_battery else None
                    stamp = datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")
                    soc_s = f"{soc:.2f}" if soc is not None else ""
                    per = ",".join(f"{mo.power_w:.1f}" for mo in models)
                    writer(f"{stamp},{pv:.1f},{load:.1f},{mw:.1f},{ch:.1f},{soc_s},{grid:.1f},{per}\n")
                continue
            # (what only a decision reads is made only for one)
            if vclock is not None:
                vclock.set(t)
            if fc_row != i and fc_rem is not None:
                fc_row = i
                fc["energy_today_remaining_wh"] = fc_rem[i]
                if fc_hour:
                    fc["power_now_w"], fc["energy_next_hour_wh"] = replay_forecast_now(fc_rem, i, fc_hour,
                                                                                       trace.step_s)
            soc = soc_k * bat.soc_wh if has_battery else None
            inp = make_decision_input(t, pv, load, grid, ch if has_battery else None, soc, fc, stepper.views,
                                      prices, climate, tzname)
            d0 = perf()
            calls += 1
            try:
                dec = decide(inp)
            except Exception as e:  # like the live engine: a decider bug commands nothing
                errors += 1
                if not first_error:
                    first_error = f"{type(e).__name__}: {e}"
                    log.exception("decider failed at %s", t)
                dec = None
            decide_s += perf() - d0
            # 4. its commands, applied now
            if dec is not None:
                idle_last = True
                day = -1
                for md in dec.miners.values():
                    cmd = md.command
                    if cmd is not None:
                        idle_last = False
                        sm = by_name.get(md.name)
                        if sm is not None:
                            if day < 0:
                                day = days.of(t)
                            sm.apply(cmd, day)
                        continue
                    if idle_last and (md.run or md.term != "idle"):
                        idle_last = False
                    if plugged and md.term == "enable_timer":
                        # a start is coming: the plug switches on now, so the boot overlaps the delay
                        sm = by_name.get(md.name)
                        if sm is not None and sm.cut and sm.ahead:
                            sm.restore(t)
            if writer is not None:
                stamp = datetime.fromtimestamp(t, tz).isoformat(timespec="seconds")
                soc_s = f"{soc:.2f}" if soc is not None else ""
                per = ",".join(f"{mo.power_w:.1f}" for mo in models)
                writer(f"{stamp},{pv:.1f},{load:.1f},{mw:.1f},{ch:.1f},{soc_s},{grid:.1f},{per}\n")
        if progress is not None and (i & 0x3FFF) == 0:
            progress(i, n)
    stepper.catch_up()
    wall = perf() - t_start

    h = dt / 3600.0
    s_pv = math.fsum(pvs) * sub
    s_load = math.fsum(loads) * sub
    totals = Totals(pv_wh=s_pv * h, load_wh=s_load * h, mined_wh=s_mined * h, import_wh=s_imp * h,
                    export_wh=s_exp * h, charged_wh=s_ch * h, discharged_wh=s_dis * h,
                    import0_wh=base.s_imp0 * h, export0_wh=base.s_exp0 * h, charged0_wh=base.s_ch0 * h,
                    discharged0_wh=base.s_dis0 * h, max_extra_import_w=max_imp_extra,
                    import_asleep_wh=base.s_imp_s * h, export_asleep_wh=base.s_exp_s * h,
                    standby_wh=idle_w * tick * h)
    if has_prices:
        k = h / 1000.0
        totals.money = {"import_cost": c_imp * k, "export_revenue": c_exp * k,
                        "import_cost_without_miners": base.c_imp0 * k,
                        "export_revenue_without_miners": base.c_exp0 * k}
    for sm in fleet:
        sm.energy_wh = sm.p_sum * h
        sm.th_s_s = sm.hr_sum * dt
    return Result(label=cfg.label, config=cfg.path, trace=trace.source, decider=info.name, steps=tick,
                  step_s=dt, trace_step_s=trace.step_s, start_ts=ts0, end_ts=ts0 + tick * dt, tz=tzname,
                  battery=cfg.battery, totals=totals, miners=fleet, hashprice=cfg.section.hashprice,
                  run_s=wall, decide_s=decide_s, decide_calls=calls, decider_errors=errors, first_error=first_error,
                  soc_end_pct=site.soc_pct, soc0_end_pct=base.soc0_end_pct,
                  notes=list(info.notes) + notes_extra,
                  zones=zones.to_dict() if zones is not None else None,
                  economics=ledger.total.as_dict(btc, econ.currency) if ledger is not None else None)
