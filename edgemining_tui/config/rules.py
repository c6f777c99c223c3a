"""Load the Edge Mining rules a config refers to, checked against what this site can supply."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError


def site_supply(cfg: Any):
    from ..policy.fields import SiteSupply
    ha = cfg.energy.home_assistant
    battery = cfg.energy.source == "demo" or (ha is not None and ha.battery is not None)
    forecast = frozenset()
    if cfg.energy.source == "demo" or (ha is not None and ha.forecast_power_now is not None):
        forecast = frozenset({"power_now", "energy_next_hour", "energy_rest_of_day"})
    return SiteSupply(battery=battery, location=cfg.site.latitude is not None and cfg.site.longitude is not None,
                      forecast_keys=forecast, climate_zones=frozenset(z.name for z in cfg.heat.zones),
                      price_keys=frozenset({"import", "export", "btc", "hashprice"}),
                      pool=bool(cfg.economics.pools))


def load_rules_for(cfg: Any, config_path: str | Path | None) -> tuple[Any, list]:
    """(RuleSet or None, warnings). ``policy.rules_file`` is relative to the config file."""
    rules_file = getattr(cfg.policy, "rules_file", None)
    if getattr(cfg.policy, "start_rules", ()) or getattr(cfg.policy, "stop_rules", ()):
        raise ConfigError("inline start_rules/stop_rules are not supported here: put the Edge Mining "
                          "policy in its own file and name it in policy.rules_file",
                          str(config_path) if config_path else None, None, "policy")
    if not rules_file:
        return None, []
    from ..policy.rules_loader import load_policy
    return load_policy(rules_path(rules_file, config_path), site_supply(cfg))


def rules_path(rules_file: str, config_path: str | Path | None) -> Path:
    path = Path(rules_file).expanduser()
    if not path.is_absolute() and config_path is not None:
        path = Path(config_path).resolve().parent / path
    return path


def load_rules_raw(data: Any, config_path: str | Path | None) -> list:
    """Check the rules file named in a config that did not load (so its problems show in the same
    run); without the site, fields the site cannot supply are not warned about. Returns warnings."""
    policy = data.get("policy") if isinstance(data, dict) else None
    rules_file = policy.get("rules_file") if isinstance(policy, dict) else None
    if not isinstance(rules_file, str) or not rules_file.strip():
        return []
    from ..policy.rules_loader import load_policy
    return load_policy(rules_path(rules_file, config_path), None)[1]
