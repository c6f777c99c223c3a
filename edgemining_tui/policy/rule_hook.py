"""The rule engine as the decider sees it: Edge Mining rules (policy/rules.py) behind one call."""
from __future__ import annotations

from typing import Any, Protocol

from .decision import DecisionInput, MinerView


class RuleHook(Protocol):
    """The rule engine as the decider sees it. ``running``: which list to try (True: stop rules).
    Returns ("start" | "stop" | None, reason)."""

    def evaluate(self, inp: DecisionInput, miner: MinerView, running: bool, *,
                 running_since: float | None = None, stopped_since: float | None = None
                 ) -> tuple[str | None, str]: ...


class RuleSetHook:
    """Adapts policy/rules.py's RuleSet (+ policy/context.py) to RuleHook. The site context is
    built once per cycle and shared by the miners."""

    def __init__(self, ruleset: Any, sun: Any = None, tz: Any = None) -> None:
        from zoneinfo import ZoneInfo
        self.ruleset = ruleset
        self.sun = sun
        self.tz = tz if tz is None or not isinstance(tz, str) else ZoneInfo(tz)
        self._inp: DecisionInput | None = None
        self._ctx: Any = None

    def _site(self, inp: DecisionInput) -> Any:
        if self._inp is not inp:
            from zoneinfo import ZoneInfo
            from .context import build_context
            tz = self.tz or ZoneInfo(inp.tz or "UTC")
            miners_w = 0.0
            for v in inp.miners:
                if v.sample is not None and v.sample.power_w is not None:
                    miners_w += v.sample.power_w
            self._ctx = build_context(inp.now, tz=tz, snapshot=inp.snapshot, sun=self.sun,
                                      climate=inp.climate or None, price=inp.prices or None, miners_w=miners_w)
            self._inp = inp
        return self._ctx

    def evaluate(self, inp: DecisionInput, miner: MinerView, running: bool, *,
                 running_since: float | None = None, stopped_since: float | None = None
                 ) -> tuple[str | None, str]:
        from .rules import RuleKind
        ctx = self._site(inp).for_miner(miner.sample, capabilities=miner.caps, running_since=running_since,
                                         stopped_since=stopped_since)
        d = self.ruleset.match(RuleKind.STOP if running else RuleKind.START, ctx)
        if d.fired:
            return ("stop" if running else "start"), d.reason
        return None, d.reason


def _as_hook(rules: Any, sun: Any = None, tz: Any = None) -> RuleHook | None:
    if rules is None:
        return None
    if hasattr(rules, "evaluate"):
        return rules
    if hasattr(rules, "match"):
        return RuleSetHook(rules, sun, tz)
    raise TypeError(f"rules: expected a RuleSet or an object with evaluate(), got {type(rules).__name__}")
