"""Climate zones: a temperature sensor, a comfort band (optionally by time of day), the miners that heat it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Optional

from ..config.types import bounded

Celsius = bounded(float, -40, 60, unit=" °C")    # a room, a shed, a greenhouse

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_hhmm(s: str) -> int:
    """'06:30' -> minutes after midnight."""
    m = _HHMM.match(s.strip())
    if not m:
        raise ValueError(f"expected a time like 06:30, got {s!r}")
    return int(m.group(1)) * 60 + int(m.group(2))


@dataclass(frozen=True)
class BandPeriod:
    """From ``start`` (local time) until the next period starts, the band is min_c..max_c."""

    start: str
    min_c: Celsius
    max_c: Celsius

    def validate(self) -> None:
        parse_hhmm(self.start)
        if self.min_c >= self.max_c:
            raise ValueError(f"min_c: {self.min_c} °C must be below max_c {self.max_c} °C")


@dataclass(frozen=True)
class ZoneSensor:
    kind: Literal["home_assistant", "mqtt", "simulated"] = "simulated"
    entity: Optional[str] = None      # Home Assistant entity id (uses energy.home_assistant's url/token)
    topic: Optional[str] = None       # MQTT topic with a plain number or JSON
    json_path: Optional[str] = None

    @classmethod
    def from_scalar(cls, value: str) -> "ZoneSensor":
        if value == "simulated":
            return cls()
        return cls(kind="home_assistant", entity=value)

    def validate(self) -> None:
        if self.kind == "home_assistant" and not self.entity:
            raise ValueError("entity: a home_assistant sensor needs an entity id")
        if self.kind == "mqtt" and not self.topic:
            raise ValueError("topic: an mqtt sensor needs a topic")


@dataclass(frozen=True)
class RoomModel:
    """First-order thermal model of the zone, for the simulated site and the backtest."""

    heat_loss_w_per_k: bounded(float, 0, 10_000, above=True) = 40.0        # UA: watts lost per kelvin above outdoors
    thermal_mass_wh_per_k: bounded(float, 0, 1_000_000, above=True) = 400.0   # C: energy to warm the zone by one kelvin
    other_heat_w: bounded(float, 0, 100_000, unit=' W') = 0.0              # other heating that is always on
    initial_c: Celsius = 19.0

    def validate(self) -> None:
        if self.heat_loss_w_per_k <= 0 or self.thermal_mass_wh_per_k <= 0:
            raise ValueError("heat_loss_w_per_k: and thermal_mass_wh_per_k must be positive")


@dataclass(frozen=True)
class ZoneConfig:
    name: str
    miners: tuple[str, ...]
    min_c: Celsius = 19.0
    max_c: Celsius = 22.0
    schedule: tuple[BandPeriod, ...] = ()
    sensor: ZoneSensor = field(default_factory=ZoneSensor)
    grid_heat: bool = False                 # may a miner run on grid power to heat this zone?
    max_grid_price: Optional[bounded(float, -1000, 1000)] = None  # ...only while the import price is at or below this
    hysteresis_c: bounded(float, 0, 10, unit=' °C') = 0.3
    room: RoomModel = field(default_factory=RoomModel)

    def validate(self) -> None:
        if self.min_c >= self.max_c:
            raise ValueError(f"min_c: {self.min_c} °C must be below max_c {self.max_c} °C")
        if not self.miners:
            raise ValueError("miners: a zone needs at least one miner to heat it")
        starts = [parse_hhmm(p.start) for p in self.schedule]
        if len(set(starts)) != len(starts):
            raise ValueError("schedule: two periods start at the same time")
        if self.hysteresis_c < 0 or self.hysteresis_c * 2 >= self.max_c - self.min_c:
            raise ValueError("hysteresis_c: must be >= 0 and less than half the band")

    def band_at(self, minute_of_day: int) -> tuple[float, float]:
        """The comfort band in force at a local minute of the day."""
        if not self.schedule:
            return self.min_c, self.max_c
        periods = sorted(self.schedule, key=lambda p: parse_hhmm(p.start))
        current = periods[-1]      # before the first start of the day, yesterday's last period holds
        for p in periods:
            if parse_hhmm(p.start) <= minute_of_day:
                current = p
        return current.min_c, current.max_c


@dataclass(frozen=True)
class HeatConfig:
    zones: tuple[ZoneConfig, ...] = ()

    def validate(self) -> None:
        names = [z.name for z in self.zones]
        if len(set(names)) != len(names):
            raise ValueError("zones: two zones share a name")
        seen: dict[str, str] = {}
        for z in self.zones:
            for m in z.miners:
                if m in seen:
                    raise ValueError(f"zones: miner {m!r} heats both {seen[m]!r} and {z.name!r}")
                seen[m] = z.name
