"""Build the configured EnergySource."""
from __future__ import annotations

from ..clock import Clock
from .config import EnergyConfig
from .source import EnergySource


def build_source(cfg: EnergyConfig, clock: Clock) -> EnergySource:
    if cfg.source == "home_assistant":
        from .homeassistant import HomeAssistantSource
        assert cfg.home_assistant is not None
        return HomeAssistantSource(cfg.home_assistant, clock)
    raise ValueError(f"energy source {cfg.source!r} must be set up by the demo runner")
