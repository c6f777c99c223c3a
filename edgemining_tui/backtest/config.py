"""The backtest's config: the app's own config file plus an optional ``backtest:`` section.

A backtest reads the same file the console runs on (``site``, ``miners``, ``policy``), so the
policy under test is the one you deploy. ``energy``, ``heat``, ``notify``, ``secrets_file`` and the
miners' credentials are not read (the trace is the energy source; nothing is contacted), and
``demo.miners`` are not replayed. Extra keys, all optional::

    backtest:
      label: allocator           # the column title in --compare (default: the file name)
      battery:                   # the home battery, self-consumption mode (default: demo.site.battery,
        capacity: 10kWh          #   else no battery); capacity: 0 means no battery
        max_charge: 5kW
        max_discharge: 5kW
        min_soc: 10%
        round_trip_efficiency: 90%
        initial_soc: 50%
      decision_interval: null    # default: the trace's step; e.g. 10s (must divide the step)
      hashprice: 50              # sats per TH/s per day, for the sats estimate
      forecast:                  # the PV forecast replayed for policy.battery.reserve: forecast
        model: auto              #   builtin (the console's own) | noisy (below) | auto: builtin
                                 #   unless energy: names a forecast sensor
        error: 20%               #   (ignored when the trace has a pv_forecast_w column)
        smoothing: 1h
        seed: 1
      efficiency_j_th: 29.5      # for miners without a simulated: section
      standby_cut: null          # e.g. {after: 30m, boot: 2m}: a smart plug in front of every miner
                                 #   cuts its standby after a pause of `after`; a start boots first

Miners are simulated in-process from their ``simulated:`` section (the emulators' physics);
a pyasic miner without one is simulated from its capabilities (family defaults plus the
``capabilities:`` overrides) at ``efficiency_j_th``.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from ..config.errors import ConfigError
from ..config.types import Duration
from ..sim.battery import BatteryConfig
from .forecast import ForecastSpec


@dataclass(frozen=True)
class StandbyCut:
    """A smart plug in front of every miner: cut after a pause of ``after``, boot for ``boot``."""

    after: Duration = 1800.0
    boot: Duration = 120.0

    def validate(self) -> None:
        if self.after <= 0:
            raise ValueError("after: must be positive (e.g. 30m)")
        if self.boot < 0:
            raise ValueError("boot: cannot be negative")


@dataclass(frozen=True)
class BacktestSection:
    label: Optional[str] = None
    battery: Optional[BatteryConfig] = None
    decision_interval: Optional[Duration] = None
    hashprice: float = 50.0
    efficiency_j_th: float = 29.5
    forecast: ForecastSpec = ForecastSpec()
    standby_cut: Optional[StandbyCut] = None

    def validate(self) -> None:
        if self.battery is not None:
            self.battery.validate()
        self.forecast.validate()
        if self.decision_interval is not None and self.decision_interval <= 0:
            raise ValueError("decision_interval: must be positive")
        if self.hashprice < 0:
            raise ValueError("hashprice: cannot be negative")
        if self.efficiency_j_th <= 0:
            raise ValueError("efficiency_j_th: must be positive")


@dataclass(frozen=True)
class BacktestConfig:
    app: Any                       # AppConfig
    section: BacktestSection
    battery: BatteryConfig         # resolved (capacity 0: none)
    path: str
    label: str
    decision_line: int | None = None   # where decision_interval is written, for errors
    forecast_sensor: bool = False      # the config's energy section names a PV forecast sensor

    @property
    def forecast_model(self) -> str:
        """builtin | noisy: what the replay feeds ``battery.reserve: forecast`` (a trace's
        pv_forecast_w column beats both)."""
        m = self.section.forecast.model
        if m == "auto":
            return "noisy" if self.forecast_sensor else "builtin"
        return m


IGNORED_SECTIONS = ("energy", "notify", "secrets_file")
NO_BATTERY = BatteryConfig(capacity=0.0, max_charge=0.0, max_discharge=0.0, min_soc=0.0, initial_soc=0.0)


def load_backtest_config(path: str | Path, text: str | None = None, env=None) -> BacktestConfig:
    """Load a config for a backtest; raises ConfigError (file:line) like the app's own loader."""
    from ..config.loader import Builder, read_yaml
    from ..config.schema import AppConfig
    doc = read_yaml(path, text)
    if not isinstance(doc.data, dict):
        raise ConfigError("expected a mapping of sections (site, miners, policy, backtest...) at the top",
                          doc.file, 1)
    data = dict(doc.data)
    bt_data = data.pop("backtest", None)
    sensor = _names_forecast(data.get("energy"))
    # the trace is the energy source and nothing is contacted: energy sources, heat sensors,
    # notifiers and miner credentials are not needed (nor their ${SECRETS})
    for key in IGNORED_SECTIONS:
        data.pop(key, None)
    data["energy"] = {"source": "sim"}
    # zones replay against simulated rooms (their room: model), whatever sensor they use live
    heat = data.get("heat")
    if isinstance(heat, dict) and isinstance(heat.get("zones"), list):
        data["heat"] = {**heat, "zones": [{**z, "sensor": "simulated"} if isinstance(z, dict) else z
                                          for z in heat["zones"]]}
    if isinstance(data.get("miners"), list):
        data["miners"] = [{k: v for k, v in m.items() if k not in ("username", "password")}
                          if isinstance(m, dict) else m for m in data["miners"]]
    builder = Builder(doc, env=env)
    app = builder.build(AppConfig, data)
    section = builder.build(BacktestSection, bt_data, ("backtest",))
    if section.battery is not None:
        battery = section.battery
    elif app.demo is not None:
        battery = app.demo.site.battery
    else:
        battery = NO_BATTERY
    if battery.capacity <= 0:
        battery = NO_BATTERY
    if not any(m.enabled for m in app.miners):
        raise ConfigError("miners: a backtest needs at least one enabled miner", doc.file,
                          doc.line_of(("miners",)) or 1)
    label = section.label or Path(path).stem
    return BacktestConfig(app=app, section=section, battery=battery, path=str(path), label=label,
                          decision_line=doc.line_of(("backtest", "decision_interval")),
                          forecast_sensor=sensor)


def _names_forecast(node) -> bool:
    """Does this (raw) energy section name a forecast of the energy still to come today?"""
    if isinstance(node, dict):
        return any(k == "forecast_energy_today_remaining" and v is not None or _names_forecast(v)
                   for k, v in node.items())
    if isinstance(node, list):
        return any(_names_forecast(v) for v in node)
    return False


def with_policy(cfg: BacktestConfig, **changes) -> BacktestConfig:
    """The same backtest with some policy keys changed (for sweeps in tests and benchmarks)."""
    app = replace(cfg.app, policy=replace(cfg.app.policy, **changes))
    return replace(cfg, app=app)
