"""Assembles the ports into an engine from a config: used by the app, the headless runner and tests."""
from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from zoneinfo import ZoneInfo

from .clock import Clock, RealClock
from .config.schema import AppConfig
from .engine.engine import Engine, MinerMeta
from .store.db import Store
from .store.lock import OwnerLock

if TYPE_CHECKING:      # the decider's modules load with the engine, not with every command
    from .policy.decider import PolicyDecider

log = logging.getLogger("edgemining_tui.runtime")


@dataclass
class Runtime:
    cfg: AppConfig
    clock: Clock
    data_dir: Path
    store: Store
    engine: Engine | None        # None when another process owns the fleet (we observe)
    lock: OwnerLock
    demo: Any = None
    stack: AsyncExitStack | None = None

    @property
    def role(self) -> str:
        return "owner" if self.engine is not None else "observer"

    async def close(self) -> None:
        if self.stack is not None:
            await self.stack.aclose()
            self.stack = None


def demo_time_offset(cfg: AppConfig, clock: Clock) -> float:
    """Shift the simulated day so the demo starts at ``demo.start_hour`` local time (sun in the sky)."""
    if cfg.demo is None or cfg.demo.start_hour is None:
        return 0.0
    tz = ZoneInfo(cfg.site.timezone)
    now = datetime.fromtimestamp(clock.now(), tz)
    hour_now = now.hour + now.minute / 60 + now.second / 3600
    return (cfg.demo.start_hour - hour_now) * 3600.0


def tz_offset_s(cfg: AppConfig, ts: float) -> float:
    off = datetime.fromtimestamp(ts, ZoneInfo(cfg.site.timezone)).utcoffset()
    return off.total_seconds() if off else 0.0


async def open_runtime(cfg: AppConfig, *, clock: Clock | None = None, data_dir: Path | None = None,
                       demo: bool | None = None, observe: bool = False,
                       config_path: Path | None = None,
                       on_store: Callable[[Store], Awaitable[None]] | None = None) -> Runtime:
    """Open the store, take the owner lock if free, and (as owner) build and start the engine's ports.

    ``on_store`` is awaited once the store is open, before the ports start (the console draws its
    charts from history there while emulators and miners are still coming up)."""
    clock = clock or RealClock()
    data_dir = Path(data_dir or cfg.data_dir())
    from .store.files import private_dir
    private_dir(data_dir)
    stack = AsyncExitStack()
    store = Store(data_dir / "history.db", history=cfg.history)
    stack.callback(store.close)
    if on_store is not None:
        await on_store(store)
    lock = OwnerLock(data_dir)
    owner = (not observe) and lock.acquire()
    if owner:
        stack.callback(lock.release)
    rt = Runtime(cfg, clock, data_dir, store, None, lock, stack=stack)
    if not owner:
        return rt
    try:
        rt.engine = await _build_engine(cfg, clock, store, stack, rt, demo, config_path)
    except BaseException:
        await stack.aclose()
        raise
    return rt


async def _build_engine(cfg: AppConfig, clock: Clock, store: Store, stack: AsyncExitStack, rt: Runtime,
                        demo: bool | None, config_path: Path | None = None) -> Engine:
    from .energy.factory import build_source
    from .miners.factory import build_driver
    from .miners.fleet import Fleet

    miners = [plug_defaults(m, cfg.energy) for m in cfg.miners if m.enabled]
    energy_cfg = cfg.energy
    use_demo = cfg.demo is not None if demo is None else demo
    if use_demo:
        from .sim.demo_fleet import start_demo
        demo_rt = await start_demo(cfg, clock, rt_offset=demo_time_offset(cfg, clock),
                                   tz_offset=tz_offset_s(cfg, clock.now()))
        stack.push_async_callback(demo_rt.close)
        rt.demo = demo_rt
        energy_cfg = demo_rt.energy_cfg
        miners = list(demo_rt.miner_cfgs) + miners
    if use_demo:
        for z in cfg.heat.zones:
            if z.sensor.kind == "simulated":
                rt.demo.site.add_zone(z.name, z.miners, z.room)
    source = build_source(energy_cfg, clock)
    if cfg.policy.battery.present is False:
        from .energy.composite import WithoutBattery
        source = WithoutBattery(source)
    if not use_demo:
        from .forecast.source import wrap_source
        source = wrap_source(cfg, energy_cfg, source, store, clock.now())
    drivers = [build_driver(m, clock) for m in miners]
    fleet = Fleet(drivers, clock)
    if rt.demo is not None:
        from .sim.demo_fleet import bind_fleet_power
        bind_fleet_power(rt.demo, fleet)
    decider = build_decider(cfg, miners, config_path, store=store, now=clock.now())
    saved = store.get("decider")
    if saved:
        try:
            decider.restore_state(saved)
        except Exception:
            log.exception("could not restore decider state; starting fresh")
    _observe_from_config(decider, cfg.site.observe_only, clock.now())
    # battery.present: false wins over a configured battery entity: its reading is then never required
    battery_required = _has_battery(energy_cfg) and cfg.policy.battery.present is not False
    required = ("grid_import_w",) + (("battery_charge_w",) if battery_required else ())
    engine = Engine(clock=clock, source=source, fleet=fleet, decider=decider,
                    miners=[MinerMeta(m.name, m.priority) for m in miners], store=store,
                    interval_s=cfg.site.cycle_interval, stale_after_s=cfg.site.stale_after,
                    required=required, observe_only=False,    # site.observe_only: an override, above
                    house_includes_miners=energy_cfg.house_includes_miners, tz=cfg.site.timezone,
                    request_ttl_s=cfg.site.request_expiry,
                    push_threshold_w=cfg.site.push_threshold,
                    extras=_extras(cfg, energy_cfg, rt, store, stack, miners))
    engine.prices_now = engine.extras[0].prices_now
    if decider.feeds is not None:
        decider.feeds.pool = engine.extras[0].performance_fields     # mining_performance.* for the rules
    if config_path is not None:
        engine.reloader = ConfigReloader(rt, engine, Path(config_path), miners, demo=use_demo)
    stack.push_async_callback(engine.close)
    _attach_notifications(cfg, clock, store, stack, engine)   # issue 9
    _attach_mqtt_publish(cfg, clock, stack, engine)
    return engine


class ConfigReloader:
    """`R` in the console (and `reload` from an observer): re-read the config file and hand its
    policy, and the rules file it names, to a new decider from the next cycle. The running one's
    state goes over (timers, starts today, overrides, what the forecast learned), so a reload
    neither restarts a miner nor forgets a limit.

    The other sections (site, energy, miners, heat, economics, notifications...) are wired into
    running connections and tasks at start; a change there refuses the whole reload and says which
    sections need a restart. A file that does not load refuses it too. Either way nothing changes."""

    def __init__(self, rt: Runtime, engine: Engine, path: Path, miners: list, *, demo: bool) -> None:
        self.rt, self.engine, self.path, self.miners = rt, engine, path, miners
        # a demo run replaces the file's energy and miners by the simulated site's
        self.unchecked = {"policy"} | ({"energy", "miners", "demo"} if demo else set())

    def __call__(self) -> str:
        from dataclasses import fields, replace
        from .config import ConfigError, load_config
        try:
            new = load_config(self.path)
        except ConfigError as e:
            raise ValueError(f"config not reloaded, nothing changed: {e}") from None
        except OSError as e:
            raise ValueError(f"config not reloaded, nothing changed: {self.path}: {e.strerror or e}") from None
        cur = self.rt.cfg
        changed = [f.name for f in fields(AppConfig)
                   if f.name not in self.unchecked and getattr(new, f.name) != getattr(cur, f.name)]
        if changed:
            raise ValueError(f"config not reloaded, nothing changed: {', '.join(changed)} "
                             f"{'apply' if len(changed) > 1 else 'applies'} only at a restart")
        now = self.rt.clock.now()
        old = self.engine.decider
        decider = build_decider(new, self.miners, self.path, store=self.rt.store, now=now)
        decider.restore_state(old.export_state(), now)
        _observe_from_config(decider, new.site.observe_only, now)
        if decider.feeds is not None and old.feeds is not None:
            decider.feeds.pool = old.feeds.pool      # the pool's figures, fed by the economics extra
        self.engine.decider = decider
        self.rt.cfg = replace(cur, policy=new.policy)
        p = new.policy
        if p == cur.policy:
            rule_files = p.rules_file or p.start_rules_files or p.stop_rules_files
            what = "the policy is as before" + (", its rules files read again" if rule_files else "")
        else:
            what = f"policy {new.policy.mode} from the next cycle"
        return f"config reloaded from {self.path.name}: {what}"


def _attach_mqtt_publish(cfg: AppConfig, clock: Clock, stack: AsyncExitStack, engine: Engine) -> None:
    """The site and fleet on the user's broker (Home Assistant discovery, watching consoles)."""
    mcfg = cfg.mqtt_publish
    if not mcfg.enabled:
        return
    from .homebus.publisher import attach_publisher
    pub = attach_publisher(mcfg, engine, site_name=mcfg.site_name or cfg.site.name, now=clock.now)
    engine.mqtt_publisher = pub
    stack.push_async_callback(pub.close)


def plug_defaults(m: Any, energy_cfg: Any) -> Any:
    """A Home Assistant plug without url/token borrows energy.home_assistant's."""
    ha = getattr(energy_cfg, "home_assistant", None)
    if ha is None:
        return m
    changes = {}
    for key in ("plug", "power_switch"):
        pc = getattr(m, key, None)
        if pc is not None and pc.kind == "home_assistant" and not (pc.url and pc.token):
            from dataclasses import replace
            changes[key] = replace(pc, url=pc.url or ha.url, token=pc.token or ha.token)
    return m.with_(**changes) if changes else m


def _attach_notifications(cfg: AppConfig, clock: Clock, store: Store, stack: AsyncExitStack,
                          engine: Engine) -> None:
    """Issue 9: the notification hub listens to the engine (deduplicated; never blocks a cycle)."""
    ncfg = cfg.notify
    if not (ncfg.urls or ncfg.log):
        return
    from .notify.hub import build_hub
    hub = build_hub(ncfg, clock, store=store, tz=cfg.site.timezone, cycle_s=float(cfg.site.cycle_interval))
    if hub is None:
        return
    hub.start()
    engine.subscribe(hub)
    engine.notify_hub = hub
    stack.push_async_callback(hub.close)


def _observe_from_config(decider: PolicyDecider, on: bool, now: float) -> None:
    """site.observe_only is a standing observe override owned by the config, so the decider
    knows nothing is sent (no starts counted). Turning it off in the config releases it."""
    current = decider.overrides.global_("observe")
    if on and current is None:
        decider.set_override("observe", now=now, expiry="until released", by="config")
    elif not on and current is not None and current.by == "config":
        decider.release_override(now=now, kind="observe")


def _has_battery(energy_cfg: Any) -> bool:
    """Whether a battery reading is configured: then a missing one is stale data, never 0 W."""
    ha = getattr(energy_cfg, "home_assistant", None)
    if ha is not None and getattr(ha, "battery", None) is not None:
        return True
    uses = getattr(energy_cfg, "use", None)
    return bool(uses and (getattr(uses, "battery", None) if not isinstance(uses, dict) else uses.get("battery")))


def _extras(cfg: AppConfig, energy_cfg: Any, rt: Runtime, store: Store, stack: AsyncExitStack,
            miners: list) -> list:
    from .econ.extra import build_economics_extra
    # prices first: heat zones read them for their grid price cap
    extras: list = [build_economics_extra(cfg.economics, cfg.site.timezone, energy_cfg, store, stack,
                                          miners=[m.name for m in miners])]
    if cfg.heat.zones:
        import httpx
        from .heat.extra import HeatExtra
        from .heat.sensors import ha_reader
        ha = energy_cfg.home_assistant
        client_box: list = []

        def client() -> httpx.AsyncClient:
            if not client_box:
                client_box.append(httpx.AsyncClient(base_url=ha.url.rstrip("/"), timeout=ha.timeout,
                                                    headers={"Authorization": f"Bearer {ha.token}"}))
                stack.push_async_callback(client_box[0].aclose)
            return client_box[0]

        readers = {}
        for z in cfg.heat.zones:
            if z.sensor.kind == "simulated" and rt.demo is not None:
                entity = f"sensor.{z.name.lower().replace(' ', '_')}_temperature"
                readers[z.name] = ha_reader(client, entity)
            elif z.sensor.kind == "home_assistant" and ha is not None:
                readers[z.name] = ha_reader(client, z.sensor.entity)
        extras.append(HeatExtra(cfg.heat, readers, cfg.site.timezone, store))
    return extras


def build_decider(cfg: AppConfig, miners: list, config_path: Path | None = None, *, store: Any = None,
                  now: float | None = None) -> PolicyDecider:
    from .config.rules import load_rules_for, site_feeds
    from .policy.decider import build_decider as build
    rules, warnings = load_rules_for(cfg, config_path)
    for w in warnings:
        log.warning("policy: %s", w)
    sun = sunset = sunrise = None
    if cfg.site.latitude is not None and cfg.site.longitude is not None:
        from .policy.sun import SunCalculator, next_event
        tz = ZoneInfo(cfg.site.timezone)
        sun = SunCalculator(cfg.site.latitude, cfg.site.longitude, tz)

        sunset, sunrise = next_event(sun, tz, "sunset"), next_event(sun, tz, "sunrise")
    feeds = site_feeds(cfg, sun)
    if store is not None and now is not None and feeds.home_load is not None:
        # the house load model starts from the site's own history, not from nothing
        try:
            from .forecast.source import history_rows
            feeds.home_load.observe_many(history_rows(store, now, 28, "house_w"))
        except Exception:  # noqa: BLE001 - a history we cannot read: learn from now on
            log.exception("home-load forecast: could not read the house load history")
    return build(cfg.policy, cfg.site.timezone, rules=rules, sun=sun, sunset=sunset, sunrise=sunrise,
                 miners=miners, economics=cfg.economics, feeds=feeds)

