"""Load the Edge Mining rules a config refers to, checked against what this site can supply.

``policy.rules_file`` names an Edge Mining policy (start_rules / stop_rules);
``policy.start_rules_files`` / ``policy.stop_rules_files`` name Edge Mining rule-list files
(a bare ``rules:`` list each, as in its ``data/examples/rules/{start,stop}/``), alone or added to
the policy's lists. Paths are relative to the config file.

``site_supply`` says which fields this site feeds (the loader warns, with file:line, about a rule
field that will be unknown); ``site_feeds`` builds what feeds them (policy/rule_hook.py SiteFeeds).
The two are kept side by side on purpose: a field is declared supplied only when a feed exists.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError


def battery_capacity_wh(cfg: Any) -> float | None:
    """The battery's usable capacity: ``policy.battery.capacity``, else the demo battery's."""
    cap = cfg.policy.battery.capacity
    if cap:
        return float(cap)
    if cfg.energy.source == "demo" and cfg.demo is not None:
        return float(cfg.demo.site.battery.capacity) or None
    return None


def forecast_rule_keys(cfg: Any) -> frozenset[str]:
    """The ``forecast.<key>`` fields the configured source (through SnapshotForecast) fills."""
    from ..policy.forecast_fields import CURVE_KEYS, SNAPSHOT_KEYS
    snap = set(cfg.energy.forecast_keys())
    if _has_location(cfg) and cfg.energy.source != "demo" and not cfg.energy.gives_forecast_today():
        # the built-in PV forecast (forecast/source.py wrap_source) fills the snapshot's keys
        snap |= {"power_now_w", "energy_next_hour_wh", "energy_today_remaining_wh", "power_next_4h_avg_w"}
    keys = {SNAPSHOT_KEYS[k] for k in snap if k in SNAPSHOT_KEYS}
    # the shape-based fields need the rest-of-day total and the sun's times
    if "energy_today_remaining_wh" in snap and _has_location(cfg):
        keys.update(CURVE_KEYS)
    return frozenset(keys)


def _has_location(cfg: Any) -> bool:
    return cfg.site.latitude is not None and cfg.site.longitude is not None


def _has_battery(cfg: Any) -> bool:
    ha = cfg.energy.home_assistant
    if cfg.energy.source == "demo" or (ha is not None and ha.battery is not None):
        return True
    from ..runtime import _has_battery as configured
    return configured(cfg.energy)


def energy_source_fields(cfg: Any, battery_wh: float | None = "config") -> dict:
    """Edge Mining's static ``energy_source.*`` from the config (flat dotted keys)."""
    out: dict = {"name": cfg.site.name, "type": "solar"}
    peak = cfg.site.pv_array.peak if cfg.site.pv_array is not None else None
    if peak is None and cfg.energy.source == "demo" and cfg.demo is not None:
        peak = cfg.demo.site.pv_peak
    if peak:
        out["nominal_power_max"] = float(peak)
    cap = battery_capacity_wh(cfg) if battery_wh == "config" else battery_wh
    if cap:
        out["storage.nominal_capacity"] = float(cap)
    if cfg.site.contracted_power:
        out["grid.contracted_power"] = float(cfg.site.contracted_power)
    return out


def site_supply(cfg: Any):
    from ..econ.pools import POOL_FIELDS
    from ..policy.fields import SiteSupply
    battery = _has_battery(cfg)
    pools = tuple(cfg.economics.pools)
    pool_fields: set[str] = set()
    for p in pools:
        pool_fields |= POOL_FIELDS.get(p.kind, frozenset())
        if p.payout_threshold is not None:
            pool_fields.add("payout_schedule.threshold")
    return SiteSupply(battery=battery, battery_capacity=battery and battery_capacity_wh(cfg) is not None,
                      location=_has_location(cfg), forecast_keys=forecast_rule_keys(cfg),
                      climate_zones=frozenset(z.name for z in cfg.heat.zones),
                      price_keys=frozenset({"import", "export", "btc", "hashprice"}),
                      # the house load model learns from the house reading; a lone grid meter has none
                      home_load=cfg.energy.source != "shelly" or cfg.energy.composed,
                      pool=bool(pools), pool_fields=frozenset(pool_fields),
                      energy_source=frozenset(energy_source_fields(cfg)))


def site_feeds(cfg: Any, sun: Any = None, pool: Any = None):
    """What feeds the rules live (policy/rule_hook.py SiteFeeds). ``pool``: econ/extra.py's
    ``performance_fields`` (the engine's EconomicsExtra), or None before it exists."""
    from zoneinfo import ZoneInfo
    from ..policy.forecast_fields import SnapshotForecast
    from ..policy.home_load import HomeLoadForecaster
    from ..policy.rule_hook import SiteFeeds
    tz = ZoneInfo(cfg.site.timezone)
    return SiteFeeds(forecast=SnapshotForecast(sun, tz), battery_capacity_wh=battery_capacity_wh(cfg),
                     home_load=HomeLoadForecaster(tz), pool=pool, energy_source=energy_source_fields(cfg))


def rules_path(rules_file: str, config_path: str | Path | None) -> Path:
    path = Path(rules_file).expanduser()
    if not path.is_absolute() and config_path is not None:
        path = Path(config_path).resolve().parent / path
    return path


def load_rules_raw(data: Any, config_path: str | Path | None) -> list:
    """Check the rules files named in a config that did not load (so their problems show in the
    same run); without the site, fields the site cannot supply are not warned about. Returns warnings."""
    policy = data.get("policy") if isinstance(data, dict) else None
    if not isinstance(policy, dict):
        return []
    from ..policy.rules_loader import load_policy, load_rules_file
    out: list = []
    rules_file = policy.get("rules_file")
    if isinstance(rules_file, str) and rules_file.strip():
        out.extend(load_policy(rules_path(rules_file, config_path), None)[1])
    for key, kind in (("start_rules_files", "start"), ("stop_rules_files", "stop")):
        files = policy.get(key)
        for f in files if isinstance(files, list) else ():
            if isinstance(f, str) and f.strip():
                out.extend(load_rules_file(rules_path(f, config_path), kind, None)[1])
    return out


def load_rules_for(cfg: Any, config_path: str | Path | None, supply: Any = "site") -> tuple[Any, list]:
    """(RuleSet or None, warnings) from ``policy.rules_file`` and the rule-list files.
    ``supply``: a SiteSupply, None (check field names only) or "site" (from this config)."""
    pol = cfg.policy
    rules_file = getattr(pol, "rules_file", None)
    start_files = tuple(getattr(pol, "start_rules_files", ()) or ())
    stop_files = tuple(getattr(pol, "stop_rules_files", ()) or ())
    if getattr(pol, "start_rules", ()) or getattr(pol, "stop_rules", ()):
        raise ConfigError("inline start_rules/stop_rules are not supported here: put the Edge Mining "
                          "policy in its own file and name it in policy.rules_file (or its rule lists "
                          "in policy.start_rules_files / stop_rules_files)",
                          str(config_path) if config_path else None, None, "policy")
    if not rules_file and not start_files and not stop_files:
        return None, []
    from ..policy.rules import RuleSet
    from ..policy.rules_loader import load_policy, load_rules_file
    site = site_supply(cfg) if supply == "site" else supply
    warnings: list = []
    if rules_file:
        base, w = load_policy(rules_path(rules_file, config_path), site)
        warnings.extend(w)
    else:
        base = RuleSet(name="rule lists", id="rule-lists")
    start, stop = list(base.start_rules), list(base.stop_rules)
    for files, kind, out in ((start_files, "start", start), (stop_files, "stop", stop)):
        for f in files:
            rules, w = load_rules_file(rules_path(f, config_path), kind, site)
            warnings.extend(w)
            out.extend(rules)
    seen: dict[str, str] = {}
    for r in start + stop:
        if r.id and r.id in seen:
            raise ConfigError(f"duplicate rule id '{r.id}' across the policy's rule files (rule "
                              f"'{r.name}', also rule '{seen[r.id]}')",
                              str(config_path) if config_path else None, None, "policy")
        if r.id:
            seen[r.id] = r.name
    if not start_files and not stop_files:
        return base, warnings
    return RuleSet(name=base.name, start_rules=tuple(start), stop_rules=tuple(stop), id=base.id,
                   description=base.description, metadata=base.metadata, file=base.file), warnings
