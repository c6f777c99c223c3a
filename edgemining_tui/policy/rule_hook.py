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
    # lean: build only the namespaces the rules read (the replay); else all (the console shows them)
    lean: bool = False


class RuleHook(Protocol):
    """The rule engine as the decider sees it. ``running``: which list to try (True: stop rules).
    Returns ("start" | "stop" | None, reason)."""

    def evaluate(self, inp: DecisionInput, miner: MinerView, running: bool, *,
                 running_since: float | None = None, stopped_since: float | None = None
                 ) -> tuple[str | None, str]: ...


class Lazy(Mapping):
    """A mapping made on first use: the context's site fields cost nothing until a rule reads them."""

    __slots__ = ("_make", "_d")

    def __init__(self, make: Callable[[], Mapping | None]) -> None:
        self._make = make
        self._d: Mapping | None = None

    def _data(self) -> Mapping:
        d = self._d
        if d is None:
            d = self._d = self._make() or {}
        return d

    def __getitem__(self, key):
        return self._data()[key]

    def __iter__(self):
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


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
        # the namespaces the rules read: the others are not built every cycle
        fields = ruleset.fields() if self.feeds.lean and hasattr(ruleset, "fields") else None
        self._uses = None if fields is None else {p.split(".", 1)[0] for p in fields}
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
            now = inp.now
            uses = self._uses
            src = f.forecast if uses is None or "forecast" in uses else None
            hl = f.home_load if uses is None or "home_load" in uses else None
            pool = f.pool if uses is None or "mining_performance" in uses else None
            # each worked out only when a rule reads one of its fields
            fc = ForecastFields(lambda: src.pv_forecast(now, inp.snapshot.forecast), tz) \
                if src is not None else {}
            self._ctx = build_context(now, tz=tz, snapshot=inp.snapshot, sun=self.sun,
                                      climate=inp.climate or None, price=inp.prices or None, miners_w=miners_w,
                                      forecast=fc, battery_capacity_wh=f.battery_capacity_wh,
                                      home_load=Lazy(lambda: hl.fields(now)) if hl is not None else None,
                                      mining_performance=Lazy(pool) if pool is not None else None,
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
