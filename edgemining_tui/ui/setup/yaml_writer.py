"""Render the wizard's answers as a commented config.yaml, validate it, and write it safely.

Nothing here writes until ``write_config``: it validates the text with ``load_config`` first (with the
new secrets in the environment), keeps a backup of an existing file (config.yaml.bak-<timestamp>),
writes the secrets file (0600) and then the config atomically.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ...config import ConfigError, load_config
from .secrets_file import write_secrets
from .state import HOUSE_COUNTS_MINERS, SECRET_NAMES, FORECAST_LEARNED_PCT, FORECAST_TRUST_PCT, FORECAST_TRUST_SUNRISE_PCT, ROLES, \
    SetupState

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./\-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def scalar(value) -> str:
    """A YAML scalar for ``value``: plain when unambiguous, else double-quoted (JSON is valid YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:g}" if isinstance(value, float) else str(value)
    s = str(value)
    if _PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    return json.dumps(s, ensure_ascii=False)


def _w(value: float) -> str:
    return f"{value:.0f}W"


def _kwh(value: float) -> str:
    """10 -> 10kWh, 13.5 -> 13.5kWh (to the Wh; never an exponent, which the loader would refuse)."""
    return f"{value:.3f}".rstrip("0").rstrip(".") + "kWh"


WIDTH = 74     # the review screen shows the file at 80 columns (76 usable, less a margin)


def _comment(line: str, text: str, col: int = 34) -> str:
    """``line  # text`` aligned at ``col``; a comment that would not fit goes on the line above."""
    if not text:
        return line
    joined = f"{line.ljust(col)} # {text}"
    if len(joined) <= WIDTH:
        return joined
    indent = len(line) - len(line.lstrip())
    return f"{' ' * indent}# {text}\n{line}"


def _block(add, text: str, indent: int) -> None:
    """A free-standing comment, wrapped to WIDTH."""
    import textwrap
    pad = " " * indent + "# "
    for line in textwrap.wrap(text, WIDTH - len(pad)):
        add(pad + line)


def default_secrets_path() -> Path:
    try:
        from ...secrets import default_secrets_path as dsp
        return dsp()
    except ImportError:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return Path(base) / "edgemining-tui" / "secrets.env"


def render(state: SetupState) -> str:
    out: list[str] = []
    add = out.append
    add("# edgemining-tui config from `edgemining-tui setup`, "
        + time.strftime("%Y-%m-%d %H:%M") + ".")
    add("# Every key is documented in config.example.yaml.")
    add("# Check it with: edgemining-tui check")
    add("# Secrets are written ${NAME}; their values live in (mode 0600):")
    add(f"#   {state.secrets_path}")
    add("")
    if state.secrets and Path(state.secrets_path) != default_secrets_path():
        add(_comment(f"secrets_file: {scalar(str(state.secrets_path))}", "not the default location"))
        add("")
    add("site:")
    add(_comment(f"  name: {scalar(state.site_name)}", "shown in the header"))
    add(_comment(f"  timezone: {scalar(state.timezone)}", "for local days and schedules"))
    if state.latitude is not None and state.longitude is not None:
        add(_comment(f"  latitude: {state.latitude:g}", "for sunrise/sunset"))
        add(f"  longitude: {state.longitude:g}")
        if state.pv_peak_kwp:
            peak = f"{state.pv_peak_kwp:.3f}".rstrip("0").rstrip(".")
            add(_comment(f"  pv_array: {{peak: {peak}kW, tilt: 30, azimuth: 180}}",
                         "built-in forecast; 180 = south"))
    add(_comment("  cycle_interval: 5s", "read, decide and act this often"))
    add("  # true: decide and show, never command a miner. Set it to false once the")
    add("  # console's decisions look right to you.")
    add("  observe_only: true")
    add("")
    _energy(state, add)
    add("")
    _miners(state, add)
    add("")
    _policy(state, add)
    add("")
    return "\n".join(out)


def _energy(state: SetupState, add) -> None:
    kind = state.energy_kind
    f = state.fields
    inv = state.inverts
    add("energy:")
    add(_comment(f"  source: {kind}", ENERGY_NOTES.get(kind, "")))
    if kind == "demo":
        add("  # the built-in simulated site; its house and miners are described under demo: below")
        return
    if kind in HOUSE_COUNTS_MINERS:
        add(_comment("  house_includes_miners: true", "its house value is everything behind the meter"))
    else:
        add(_comment(f"  house_includes_miners: {scalar(state.house_includes_miners)}",
                     "true: the house sensor counts miners"))
    if state.flow_text:
        _block(add, f"confirmed at setup: {state.flow_text}", 2)
    _block(add, "Signs inside the console: grid + import / - export, battery + charging / "
           "- discharging. invert: true flips a sensor that reports the other way round.", 2)
    if kind == "home_assistant":
        add(f"  {kind}:")
        add(f"    url: {scalar(f.get('url', ''))}")
        add(_comment('    token: "${HA_TOKEN}"', "kept in secrets.env, not here"))
        add("    timeout: 3s")
        for role, (label, meaning) in ROLES.items():
            ent = state.entities.get(role)
            if not ent:
                add(f"    # {role}: (none)                # {label}: {meaning}")
                continue
            if inv.get(role):
                add(_comment(f"    {role}: {{entity: {scalar(ent)}, invert: true}}", f"{label}, sign flipped at setup"))
            else:
                add(_comment(f"    {role}: {scalar(ent)}", f"{label}: {meaning}"))
        _forecast_entity(state, add)
    elif kind == "fronius":
        add("  fronius:")
        add(_comment(f"    url: {scalar(f.get('url', ''))}", "the inverter's or Datamanager's address"))
        _invert_block(inv, add)
    elif kind == "shelly":
        add("  shelly:")
        add(_comment(f"    url: {scalar(f.get('url', ''))}", "the Pro 3EM's address"))
        add(f"    id: {int(f.get('id', 0) or 0)}")
        add(_comment(f"    invert: {scalar(bool(inv.get('grid')))}", "true: CT clamps mounted the other way round"))
    elif kind == "mqtt":
        add("  mqtt:")
        add(f"    host: {scalar(f.get('host', '127.0.0.1'))}")
        add(f"    port: {int(f.get('port', 1883) or 1883)}")
        if f.get("username"):
            add(f"    username: {scalar(f['username'])}")
        if state.secrets.get("MQTT_PASSWORD"):
            add(_comment('    password: "${MQTT_PASSWORD}"', "kept in secrets.env"))
        for role, (label, meaning) in ROLES.items():
            topic = f.get(role)
            if not topic:
                continue
            if inv.get(role):
                add(_comment(f"    {role}: {{topic: {scalar(topic)}, invert: true}}", f"{label}: {meaning}"))
            else:
                add(_comment(f"    {role}: {scalar(topic)}", f"{label}: {meaning}"))
    elif kind in LOCAL_FIELDS:
        add(f"  {kind}:")
        for key in LOCAL_FIELDS[kind]:
            name = SECRET_NAMES.get((kind, key))
            if name is not None:
                if name in state.secrets:
                    add(_comment(f'    {key}: "${{{name}}}"', "kept in secrets.env, not here"))
                continue
            if key == "tls_fingerprint" and key in f:
                # the SHA-256 of the certificate trusted at setup, folded to fit 80 columns
                add("    # trusted at setup: only the certificate with this SHA-256")
                add(f"    {key}: >-\n      {f[key]}")
            elif key in f:
                add(f"    {key}: {int(f[key]) if key in ('port', 'serial', 'meter_unit_id') else scalar(f[key])}")
            elif (kind, key) == ("sma_em", "interface"):
                add(_comment("    interface: 0.0.0.0", "listen on every interface"))
            elif (kind, key) == ("sma_em", "serial"):
                add("    # serial: 3015241932        # needed when several SMA meters send")
            elif (kind, key) == ("sunspec", "meter_unit_id"):
                add("    # meter_unit_id: 240         # a grid meter outside the inverter's map (Fronius Symo)")
        if kind == "homewizard":
            add(f"    api: {'v2' if 'P1_TOKEN' in state.secrets else 'v1'}")
        if kind in ("homewizard", "sma_em"):
            if inv.get("grid"):
                add("    invert: true")
    elif kind == "victron":
        add("  victron:")
        add(_comment(f"    portal_id: {scalar(f.get('portal_id', ''))}", "the GX's VRM portal id"))
        add(f"    host: {scalar(f.get('host', '127.0.0.1'))}")
        add(f"    port: {int(f.get('port', 1883) or 1883)}")
        _invert_block(inv, add)


LOCAL_FIELDS = {"sunspec": ("host", "port", "preset", "meter_unit_id"),
                "homewizard": ("url", "token", "tls_fingerprint"), "opendtu": ("url",),
                "enphase": ("url", "token", "tls_fingerprint"),
                "powerwall": ("url", "password", "tls_fingerprint"), "sonnen": ("url", "token"),
                "sma_em": ("interface", "serial")}

ENERGY_NOTES = {
    "home_assistant": "read from Home Assistant's REST API",
    "fronius": "Fronius Solar API v1",
    "shelly": "Shelly Pro 3EM as the grid meter",
    "mqtt": "values from MQTT topics",
    "victron": "Victron GX over MQTT",
    "sunspec": "Modbus TCP with SunSpec",
    "homewizard": "HomeWizard P1 meter, local API",
    "opendtu": "OpenDTU live data",
    "enphase": "Enphase IQ Gateway production.json",
    "powerwall": "Powerwall gateway, customer login",
    "sonnen": "sonnenBatterie status API",
    "sma_em": "SMA Energy Meter multicast (Speedwire)",
    "demo": "the simulated demo site",
}


FORECAST_KEY = "forecast_energy_today_remaining"


def _forecast_entity(state: SetupState, add) -> None:
    """The optional PV forecast entity; a long entity id goes on its own line (80 columns)."""
    ent = state.forecast_ref
    note = "PV forecast: energy still to come today"
    if not ent:
        add(_comment(f"    # {FORECAST_KEY}: (none)", "optional PV forecast"))
        return
    line = f"    {FORECAST_KEY}: {scalar(ent)}"
    if len(line) <= WIDTH:
        add(_comment(line, note))
    else:
        add(f"    # {note}")
        add(f"    {FORECAST_KEY}:")
        add(f"      entity: {scalar(ent)}")


def _invert_block(inv: dict[str, bool], add) -> None:
    flipped = {k: True for k, v in inv.items() if v}
    if flipped:
        add("    invert: {" + ", ".join(f"{k}: true" for k in flipped) + "}    # flipped at setup")
    else:
        add("    # invert: {grid: true}        # flip a value whose sign is the other way round")


def _miners(state: SetupState, add) -> None:
    managed = state.managed
    if not managed:
        add("# none yet: run `edgemining-tui setup` again, or add entries as in")
        add("# config.example.yaml")
        add("miners: []")
    else:
        add(_comment("miners:", "lower priority numbers get surplus first"))
        for m in managed:
            add(f"  - name: {scalar(m.name)}")
            add(_comment(f"    host: {scalar(m.host)}", f"{m.model or 'miner'}, {m.firmware or 'firmware ?'}"))
            add(_comment(f"    family: {scalar(m.family)}", m.control))
            add(f"    priority: {m.priority}")
            caps = []
            if m.limit_min_w is not None:
                caps.append(f"min_w: {_w(m.limit_min_w)}")
            if m.limit_max_w is not None:
                caps.append(f"max_w: {_w(m.limit_max_w)}")
            if caps:
                add(_comment("    capabilities: {" + ", ".join(caps) + "}", "limits set at setup"))
            elif m.max_w:
                add(f"    # detected: capabilities: {{min_w: {_w(m.min_w or 0)}, max_w: {_w(m.max_w)}}}")
    if state.energy_kind == "demo":
        add("")
        add(demo_section())


def demo_section() -> str:
    """The demo: block of the built-in demo config (its simulated site and emulated fleet)."""
    from ...cli import demo_config_path
    lines = demo_config_path().read_text(encoding="utf-8").splitlines()
    out, inside = [], False
    for line in lines:
        if line.startswith("demo:"):
            inside = True
        elif inside and line and not line.startswith((" ", "#")):
            break
        if inside:
            out.append(line)
    return "\n".join(out).rstrip()


def _policy(state: SetupState, add) -> None:
    add("policy:")
    p = state.policy
    if p == "rules":
        add(_comment("  mode: rules", "start/stop rules decide"))
        add(_comment(f"  rules_file: {scalar(state.rules_file)}", "an Edge Mining policy YAML"))
    else:
        add(_comment("  mode: surplus", "mine with what would be exported"))
    if state.headroom_w is None:
        add(_comment("  headroom: auto", "kept unused: 2 x the meter's noise"))
    else:
        add(_comment(f"  headroom: {_w(state.headroom_w)}", "kept unused: lean to export"))
    reserve = p == "forecast" or (p == "battery" and state.battery_capacity_kwh and state.latitude is not None)
    if reserve or p == "battery":
        # ride out 1-5 minute cloud dips instead of stopping (docs/backtest.md): <= 2 starts a day;
        # a start waits 2 min (5 min exported 0.2-0.5 % of the surplus while the timer ran)
        add(_comment("  enable: {delay: 2m}", "surplus must last 2 min to start"))
        add(_comment("  disable: {delay: 7m}", "and be gone 7 min to stop"))
        add(_comment("  min_off: 15m", "no quick restart"))
        add(_comment("  max_starts_per_day: 2", "a morning start, one after a cloud"))
    if p == "battery" and not reserve:
        soc = state.priority_soc
        buffer = max(90.0, soc)
        add("  battery:")
        add(_comment(f"    priority_soc: {soc:g}", "below it the battery charges first"))
        add(_comment(f"    buffer_soc: {buffer:g}", "above it the battery may feed miners"))
    if reserve:
        _block(add, "The battery keeps the share of the surplus it needs to be full by sunset, "
               "from the PV forecast for the rest of today (" + ("the entity above" if state.forecast_ref
               else "the built-in forecast, docs/forecast.md") + ").", 2)
        add("  battery:")
        add(_comment("    reserve: forecast", "fill the battery by sunset"))
        add(_comment(f"    capacity: {_kwh(state.battery_capacity_kwh or 0)}", "usable battery capacity"))
        add(_comment(f"    forecast_trust: {FORECAST_TRUST_PCT:g}%", "the share of the forecast counted on"))
        add(_comment(f"    forecast_trust_sunrise: {FORECAST_TRUST_SUNRISE_PCT:g}%", "at sunrise, rising to it by sunset"))
        add(_comment(f"    forecast_learned: {FORECAST_LEARNED_PCT:g}%", "then: the recent days' median miss"))
        add(_comment("    priority_soc: 50", "no forecast reading: these levels"))
        add(_comment("    buffer_soc: 90", "apply (as for battery first)"))
    if p == "heat":
        _heat(state, add)


def _heat(state: SetupState, add) -> None:
    z = state.heat
    add("")
    add("heat:")
    add("  zones:")
    add(_comment(f"    - name: {scalar(z.get('zone', 'zone'))}", "heat first: this zone's demand comes first"))
    add("      miners: [" + ", ".join(scalar(m.name) for m in state.managed) + "]")
    add(_comment(f"      min_c: {float(z.get('min_c', 19.0)):g}", "below this the zone asks for heat"))
    add(_comment(f"      max_c: {float(z.get('max_c', 22.0)):g}", "above this its miners are capped"))
    sensor = z.get("sensor", "")
    if sensor and state.energy_kind == "home_assistant":
        add(_comment(f"      sensor: {scalar(sensor)}", "temperature, read from Home Assistant"))
    elif sensor and state.energy_kind == "mqtt":
        add(f"      sensor: {{kind: mqtt, topic: {scalar(sensor)}}}")
    else:
        add(_comment("      sensor: simulated", "no real sensor yet: set one here"))
    add(_comment("      grid_heat: true", "below the band, mine on grid power to heat"))


@dataclass(frozen=True)
class WriteResult:
    path: Path
    backup: Path | None
    secrets_path: Path | None


def validate(state: SetupState, text: str):
    """load_config on the text as if it were the file; raises ConfigError with line numbers.

    The secrets are not on disk yet, so they come from the wizard's memory (``env``), and a
    ``secrets_file:`` line pointing at the file about to be written is left out of this check."""
    if not Path(state.secrets_path).exists():
        text = re.sub(r"(?m)^secrets_file:.*$", "", text)
    return load_config(state.config_path, text=text, env=state.env())


def check_written(path: Path) -> str:
    """Load the written file the way the console will (environment + secrets file): '' or the problem."""
    try:
        load_config(path)
    except ConfigError as e:
        return str(e)
    return ""


def write_config(state: SetupState, text: str) -> WriteResult:
    """Validate, back up, write secrets (0600) and the config. Raises ConfigError/OSError, writing nothing."""
    validate(state, text)
    path = Path(state.config_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
            n += 1
        backup.write_bytes(path.read_bytes())
    secrets = None
    if state.secrets:
        secrets = write_secrets(state.secrets_path, state.secrets)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return WriteResult(path, backup, secrets)


__all__ = ["ConfigError", "render", "scalar", "validate", "write_config", "WriteResult"]
