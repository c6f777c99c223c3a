"""Config of the energy sources (which vendor, which entities, which signs and units)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config.types import Duration, Secret


@dataclass(frozen=True)
class EntityRef:
    """One value read from one entity. ``invert`` flips the vendor's sign into ours."""

    entity: str
    invert: bool = False
    unit: str | None = None      # force a unit when the entity has none

    @classmethod
    def from_scalar(cls, value: str) -> "EntityRef":
        return cls(entity=value)


@dataclass(frozen=True)
class HomeAssistantConfig:
    url: str
    token: Secret
    pv: EntityRef | None = None
    house: EntityRef | None = None
    grid: EntityRef | None = None            # canonical: + import, - export
    battery: EntityRef | None = None         # canonical: + charging, - discharging
    soc: EntityRef | None = None
    forecast_power_now: EntityRef | None = None
    forecast_energy_next_hour: EntityRef | None = None
    forecast_energy_today_remaining: EntityRef | None = None
    timeout: Duration = 3.0

    def validate(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url: expected an http:// or https:// address")
        if self.grid is None and (self.pv is None or self.house is None):
            raise ValueError("grid: a grid entity is required unless both pv and house are given")


@dataclass(frozen=True)
class EnergyConfig:
    source: Literal["home_assistant", "demo"] = "demo"
    home_assistant: HomeAssistantConfig | None = None
    house_includes_miners: bool = False      # many house sensors measure everything behind the meter

    def validate(self) -> None:
        if self.source == "home_assistant" and self.home_assistant is None:
            raise ValueError("home_assistant: required when source is home_assistant")
