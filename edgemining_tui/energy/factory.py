"""Build the configured EnergySource (simple form or a composition of named sources)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..clock import Clock
from .config import EnergyConfig, SourceConfig, UseConfig
from .snapshot import ALL_FIELDS
from .source import EnergySource

if TYPE_CHECKING:
    from ..sim.site import SimSite


def build_one(kind: str, section: Any, clock: Clock, name: str, *, site: "SimSite | None" = None,
              get_miners_w: Callable[[], float] | None = None) -> EnergySource:
    """One adapter of ``kind`` from its config section."""
    if kind == "home_assistant":
        if section.websocket:
            from .ha_websocket import HomeAssistantWsSource
            return HomeAssistantWsSource(section, clock, name)
        from .homeassistant import HomeAssistantSource
        return HomeAssistantSource(section, clock, name)
    if kind == "fronius":
        from .fronius import FroniusSource
        return FroniusSource(section, clock, name)
    if kind == "shelly":
        from .shelly import ShellySource
        return ShellySource(section, clock, name)
    if kind == "mqtt":
        from .mqtt import MqttSource
        return MqttSource(section, clock, name)
    if kind == "victron":
        from .victron import VictronSource
        return VictronSource(section, clock, name)
    if kind == "sunspec":
        from .sunspec import SunSpecSource
        return SunSpecSource(section, clock, name)
    if kind == "sma_em":
        from .sma_em import SmaEmSource
        return SmaEmSource(section, clock, name)
    if kind in ("homewizard", "opendtu", "enphase", "powerwall", "sonnen"):
        from . import local_apis
        cls = {"homewizard": local_apis.HomeWizardSource, "opendtu": local_apis.OpenDtuSource,
               "enphase": local_apis.EnphaseSource, "powerwall": local_apis.PowerwallSource,
               "sonnen": local_apis.SonnenSource}[kind]
        return cls(section, clock, name)
    if kind in ("sim", "demo"):
        if site is None:
            raise ValueError(f"energy source {kind!r} must be set up by the demo runner (it needs the simulated site)")
        from .sim_source import SimSource
        return SimSource(site, clock, get_miners_w, name=name)
    raise ValueError(f"unknown energy source kind {kind!r}")


def build_source(cfg: EnergyConfig, clock: Clock, *, site: "SimSite | None" = None,
                 get_miners_w: Callable[[], float] | None = None) -> EnergySource:
    """The EnergySource for ``cfg``. ``site``/``get_miners_w`` serve the ``sim`` kind (demo, backtest).

    Raises RuntimeError when an optional dependency (aiomqtt, websockets) is missing, with the
    pip command in the message; ValueError for a kind that cannot be built here.
    """
    if cfg.composed:
        from .composite import CompositeSource
        subs = {name: build_one(sc.kind, sc.section, clock, name, site=site, get_miners_w=get_miners_w)
                for name, sc in cfg.sources.items()}
        use = cfg.use or UseConfig()
        only = next(iter(cfg.sources)) if len(cfg.sources) == 1 else None
        mapping = {f: (use.for_field(f) or only) for f in ALL_FIELDS}
        return CompositeSource(subs, mapping, use.forecast or only, clock)
    kind = cfg.source
    section = getattr(cfg, kind, None) if kind not in ("sim", "demo", "composite") else None
    if kind == "composite":
        raise ValueError("energy source 'composite' needs sources:")
    if kind not in ("sim", "demo") and section is None:
        raise ValueError(f"energy source {kind!r} needs a {kind}: section")
    return build_one(kind, section, clock, kind, site=site, get_miners_w=get_miners_w)


