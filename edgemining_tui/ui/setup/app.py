"""The setup wizard app: ``run_setup_app(path, args)`` is what ``edgemining-tui setup`` runs."""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from textual.app import App

from .scan import Scanner, default_scan, own_subnet
from .screens import SiteScreen
from .state import SetupState, detect_timezone
from .yaml_writer import WriteResult

CSS = """
Screen { layout: vertical; }
.step-title { height: 1; background: $primary; color: $text; text-style: bold; padding: 0 1; }
.body { height: 1fr; padding: 0 1; }
.status { height: auto; max-height: 3; padding: 0 1; color: $text-muted; }
.status.-error { color: $error; }
.status.-ok { color: $success; }
.intro { margin: 0 0 1 0; }
.hint { color: $text-muted; margin: 1 0 0 0; }
.flow { text-style: bold; margin: 0 0 1 0; }
Label { margin: 0; }
Input { margin: 0 0 0 0; }
.pair { height: 3; }
.pair Input { width: 1fr; }
.buttons { height: 3; }
.scanbar { height: 3; }
.scanbar .inline { padding: 1 0 0 0; width: auto; }
.scanbar Input { width: 1fr; }
#kinds { height: auto; }   /* every kind in sight: a clipped list hid five of thirteen */
#roles { height: 7; }
#entity-list { height: 1fr; min-height: 4; }
#miners { height: 1fr; min-height: 5; }
#flow-table { height: 7; }
#edit-box { width: 70; height: auto; border: round $primary; background: $surface; padding: 0 1; }
MinerEditScreen { align: center middle; }
"""


def missing_energy_kinds() -> dict[str, str]:
    """Energy kinds whose config class or adapter is not in this build, with what is missing."""
    try:
        from ...energy import config as ec
    except ImportError:
        return {k: "energy package" for k in ("home_assistant", "fronius", "shelly", "mqtt", "victron")}
    need = {"home_assistant": ("HomeAssistantConfig", "homeassistant", None),
            "fronius": ("FroniusConfig", "fronius", None),
            "shelly": ("ShellyConfig", "shelly", None),
            "mqtt": ("MqttConfig", "mqtt", "aiomqtt"),
            "victron": ("VictronConfig", "mqtt", "aiomqtt"),
            "sunspec": ("SunSpecConfig", "sunspec", "pymodbus"),
            **{k: (c, "local_apis", None) for k, c in (("homewizard", "HomeWizardConfig"), ("opendtu", "OpenDtuConfig"),
                                                       ("enphase", "EnphaseConfig"), ("powerwall", "PowerwallConfig"),
                                                       ("sonnen", "SonnenConfig"))}}
    out: dict[str, str] = {}
    for kind, (cls, module, dep) in need.items():
        if not hasattr(ec, cls):
            out[kind] = f"energy/config.py has no {cls} yet"
        elif importlib.util.find_spec(f"edgemining_tui.energy.{module}") is None:
            out[kind] = f"no energy/{module}.py adapter yet"
        elif dep and importlib.util.find_spec(dep) is None:
            out[kind] = f"pip install {dep}"
    return out


def missing_policies() -> dict[str, str]:
    from ...config.schema import AppConfig
    names = {f.name for f in dataclasses.fields(AppConfig)}
    out: dict[str, str] = {}
    if "heat" not in names:
        out["heat"] = "no heat: config in this build"
    try:
        from ...policy.config import PolicyConfig
        pnames = {f.name for f in dataclasses.fields(PolicyConfig)}
        if "rules_file" not in pnames:
            out["rules"] = "policy config has no rules_file"
        if "battery" not in pnames:
            out["battery"] = "policy config has no battery section"
    except ImportError:
        out["rules"] = out["battery"] = "no policy config in this build"
    return out


class SetupApp(App[str]):
    """First-run setup. Returns "start" (open the console), "done" (written) or None (cancelled)."""

    TITLE = "edgemining-tui setup"
    CSS = CSS

    def __init__(self, config_path: Path, *, scanner: Scanner | None = None,
                 default_subnet: str | None = None, state: SetupState | None = None) -> None:
        super().__init__()
        self.state = state or SetupState(Path(config_path), timezone=detect_timezone())
        self.scanner: Scanner = scanner or default_scan
        self.default_subnet = default_subnet or own_subnet()
        self.kinds_missing = missing_energy_kinds()
        self.policy_missing = missing_policies()
        if self.state.energy_kind in self.kinds_missing:
            self.state.energy_kind = "demo"
        self.written: WriteResult | None = None
        self.written_problem = ""
        self.animation_level = "none"

    def on_mount(self) -> None:
        self.push_screen(SiteScreen())


def run_setup_app(path: Path, args: Any = None) -> int:
    """Run the wizard; on "start" open the console on the new config. Exit code as the CLI's."""
    path = Path(path)
    app = SetupApp(path)
    result = app.run(mouse=True)
    if app.written is None:
        print("edgemining-tui setup: cancelled, nothing written.", file=sys.stderr)
        return 1 if result is None else 0
    print(f"edgemining-tui: wrote {app.written.path}"
          + (f" (previous file kept as {app.written.backup})" if app.written.backup else ""))
    if result != "start":
        return 0
    from ...config import ConfigError, load_config
    from .secrets_file import read_secrets
    env = {**os.environ, **read_secrets(app.state.secrets_path)}
    try:
        cfg = load_config(path, env=env)
    except ConfigError as e:
        print(f"edgemining-tui: {e}", file=sys.stderr)
        return 2
    for name, value in read_secrets(app.state.secrets_path).items():
        os.environ.setdefault(name, value)        # for anything the console loads later
    from ...cli import run_data_dir
    from ..launch import run_app
    with run_data_dir(args or argparse.Namespace(data_dir=None, demo=False), cfg, prefill=False) as data_dir:
        return run_app(cfg, data_dir=data_dir, config_path=path, prefill_demo=True)
