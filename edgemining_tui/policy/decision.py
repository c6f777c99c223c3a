"""The seam between the engine and whatever decides: inputs, per-miner decisions, reasons."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

from ..energy.snapshot import EnergySnapshot
from ..fastobj import checked
from ..miners.model import Capabilities, MinerCommand, MinerSample


@dataclass(frozen=True, slots=True)
class MinerView:
    """What the decider may know about one miner this cycle."""

    name: str
    priority: int
    caps: Capabilities
    sample: MinerSample | None
    zone: str | None = None
    # the last command the engine sent and whether the miner confirmed it (None: not yet known)
    last_command: MinerCommand | None = None
    confirmed: bool | None = None
    # a command still in flight (its own task, engine.py): nothing new is sent until it ends
    pending: MinerCommand | None = None


@dataclass(frozen=True, slots=True)
class DecisionInput:
    now: float
    snapshot: EnergySnapshot
    miners: tuple[MinerView, ...]
    # canonical fields that are missing, invalid or too old this cycle (the fail-safe's input)
    stale: tuple[str, ...] = ()
    stale_for_s: float = 0.0
    prices: Mapping[str, float | None] = field(default_factory=dict)
    climate: Mapping[str, Any] = field(default_factory=dict)
    tz: str = "UTC"


# Terms that can bind a decision. The UI shows them; the history keeps them.
TERMS = ("surplus", "enable_timer", "disable_timer", "min_on", "min_off", "max_starts", "min_interval",
         "soc_guard", "import_cap", "heat", "price", "rule", "override", "observe", "paused", "stale",
         "offline", "monitor_only", "manual", "idle")


@dataclass(frozen=True, slots=True)
class MinerDecision:
    name: str
    run: bool
    target_w: float | None = None     # the power it should draw (continuous or level watts)
    level: str | None = None
    term: str = "surplus"
    reason: str = ""
    command: MinerCommand | None = None   # what to send now; None: nothing to change


# MinerDecision(...) positionally, without the frozen-init cost (the decider builds one per miner
# per cycle; a year's replay builds 1.5 million)
make_decision = checked(MinerDecision, ("name", "run", "target_w", "level", "term", "reason", "command"),
                        ("m", True, 1.0, None, "surplus", "", None))


@dataclass(frozen=True, slots=True)
class FleetDecision:
    ts: float
    available_w: float | None
    miners: Mapping[str, MinerDecision]
    terms: Mapping[str, Any] = field(default_factory=dict)   # allocator terms and timers, for the UI
    summary: str = ""


make_fleet = checked(FleetDecision, ("ts", "available_w", "miners", "terms", "summary"), (1.0, None, {}, {}, ""))


class Decider(Protocol):
    """What the engine asks of a decider. PolicyDecider is the product's; a decider without
    overrides, rules or modes takes those parts from PlainDecider."""

    takes_overrides: bool   # pause, observe-only and per-miner overrides go through handle()
    rules: Any              # the RuleHook whose traces the Rules panel shows, or None

    def decide(self, inp: DecisionInput) -> FleetDecision: ...

    def export_state(self) -> dict:
        """State that protects hardware (timers, starts today), persisted across restarts."""

    def restore_state(self, state: dict) -> None: ...

    def handle(self, action: str, args: dict, now: float) -> str:
        """Apply a user's override request; the message says what was done. ValueError: refused."""

    def pop_events(self) -> list:
        """Override events since the last call (OverrideEvent: expired, dropped...)."""

    def overrides_view(self, now: float) -> dict: ...

    def set_mode(self, mode: str) -> str:
        """Switch the policy mode (surplus, rules, manual) until the next start or reload."""


class PlainDecider:
    """The parts of a Decider that a decider without overrides, rules or modes has (SimpleDecider,
    the tests' deciders): pause and observe-only then stay the engine's own flags."""

    takes_overrides = False
    rules: Any = None

    def handle(self, action: str, args: dict, now: float) -> str:
        raise ValueError(f"{action}: this decider takes no overrides")

    def pop_events(self) -> list:
        return []

    def overrides_view(self, now: float) -> dict:
        return {}

    def set_mode(self, mode: str) -> str:
        raise ValueError(f"cannot switch to policy {mode!r}: this decider has no modes")

    def export_state(self) -> dict:
        return {}

    def restore_state(self, state: dict) -> None:
        return None
