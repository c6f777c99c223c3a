"""The rule engine as the decider sees it: Edge Mining rules (policy/rules.py) behind one call."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol

from .decision import DecisionInput, MinerView
from .forecast_fields import ForecastFields, PVForecastProducer, SnapshotForecast
from .home_load import HomeLoadProducer


@dataclass
class SiteFeeds:
    """Everything besides the energy snapshot that feeds Edge Mining's fields, live and in replay.

    ``forecast``: the PV forecast (default: the snapshot's keys, shaped by the sun);
    ``battery_capacity_wh``: for ``energy_state.battery.remaining_capacity`` (SoC × capacity);
    ``home_load``: the house load model (``home_load.total_history|total_forecast.*``), fed each
    cycle by the decider; ``pool``: ``mining_performance.*`` now (econ/extra.py), or None;
    ``energy_source``: the static ``energy_source.*`` description.
    """

    forecast: PVForecastProducer | None = None
    battery_capacity_wh: float | None = None
    home_load: HomeLoadProducer | None = None
    pool: Callable[[], Mapping | None] | None = None
    energy_source: Mapping | None = None


class RuleHook(Protocol):
    """The rule engine as the decider sees it. ``running``: which list to try (True: stop rules).
    Returns ("start" | "stop" | None, reason)."""

    def evaluate(self, inp: DecisionInput, miner: MinerView, running: bool, *,
                 running_since: float | None = None, stopped_since: float | None = None
                 ) -> tuple[str | None, str]: ...


class RuleSetHook:
    """Adapts policy/rules.py's RuleSet (+ policy/context.py) to RuleHook. The site context is
    built once per cycle and shared by the miners."""

    def __init__(self, ruleset: Any, sun: Any = None, tz: Any = None, feeds: SiteFeeds | None = None) -> None:
        from zoneinfo import ZoneInfo
        self.ruleset = ruleset
        self.sun = sun
        self.tz = tz if tz is None or not isinstance(tz, str) else ZoneInfo(tz)
        self.feeds = feeds or SiteFeeds()
        if self.feeds.forecast is None:
            self.feeds.forecast = SnapshotForecast(sun, self.tz)
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
            f = self.feeds
            fc = f.forecast.pv_forecast(inp.now, inp.snapshot.forecast) if f.forecast is not None else None
            self._ctx = build_context(inp.now, tz=tz, snapshot=inp.snapshot, sun=self.sun,
                                      climate=inp.climate or None, price=inp.prices or None, miners_w=miners_w,
                                      forecast=ForecastFields(fc, tz) if fc is not None else {},
                                      battery_capacity_wh=f.battery_capacity_wh,
                                      home_load=f.home_load.fields(inp.now) if f.home_load is not None else None,
                                      mining_performance=f.pool() if f.pool is not None else None,
                                      energy_source=f.energy_source)
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


def _as_hook(rules: Any, sun: Any = None, tz: Any = None, feeds: SiteFeeds | None = None) -> RuleHook | None:
    if rules is None:
        return None
    if hasattr(rules, "evaluate"):
        return rules
    if hasattr(rules, "match"):
        return RuleSetHook(rules, sun, tz, feeds)
    raise TypeError(f"rules: expected a RuleSet or an object with evaluate(), got {type(rules).__name__}")
