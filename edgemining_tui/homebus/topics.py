"""Topic names and payloads, with no I/O: what the owner publishes and what Home Assistant is told.

Under the site's prefix::

    <prefix>/status                 online | offline (retained; the broker sends offline as the last will)
    <prefix>/state                  the site: energy flows, decision, faults (retained JSON)
    <prefix>/state/full             the whole engine state, for consoles watching through the broker
    <prefix>/miner/<name>/state     one miner (retained JSON)
    <prefix>/miner/<name>/mode/set  auto | on | off            (Home Assistant select)
    <prefix>/miner/<name>/power/set watts                      (Home Assistant number)
    <prefix>/pause/set              ON | OFF                   (Home Assistant switch)
    <prefix>/cycle/press            PRESS                      (Home Assistant button)
    <prefix>/events                 {"ts", "kind", "message", "severity", "miner"}: each event (not retained)
    <prefix>/request                {"id", "action", "args", "ts"} from a console watching this site
    <prefix>/result                 {"id", "ok", "message", "topic", "ts"}: every command's outcome
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

from ..engine.events import EngineState
from ..miners.model import Capabilities

_SLUG = re.compile(r"[^a-z0-9_]+")


def slug(text: str) -> str:
    return _SLUG.sub("_", text.lower()).strip("_") or "x"


class Topics:
    def __init__(self, prefix: str, discovery_prefix: str = "homeassistant") -> None:
        self.prefix = prefix.rstrip("/")
        self.discovery_prefix = discovery_prefix.rstrip("/")
        self.node = slug(self.prefix)          # the site's id in unique_ids and discovery topics

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def full_state(self) -> str:
        return f"{self.prefix}/state/full"

    @property
    def events(self) -> str:
        return f"{self.prefix}/events"

    @property
    def request(self) -> str:
        return f"{self.prefix}/request"

    @property
    def result(self) -> str:
        return f"{self.prefix}/result"

    @property
    def pause_set(self) -> str:
        return f"{self.prefix}/pause/set"

    @property
    def cycle_press(self) -> str:
        return f"{self.prefix}/cycle/press"

    def miner_state(self, name: str) -> str:
        return f"{self.prefix}/miner/{name}/state"

    def miner_mode_set(self, name: str) -> str:
        return f"{self.prefix}/miner/{name}/mode/set"

    def miner_power_set(self, name: str) -> str:
        return f"{self.prefix}/miner/{name}/power/set"

    def command_filters(self) -> list[str]:
        return [f"{self.prefix}/miner/+/mode/set", f"{self.prefix}/miner/+/power/set",
                self.pause_set, self.cycle_press, self.request]

    def parse_miner_command(self, topic: str) -> tuple[str, str] | None:
        """'<prefix>/miner/<name>/mode/set' -> (name, 'mode')."""
        head = f"{self.prefix}/miner/"
        if not topic.startswith(head):
            return None
        rest = topic[len(head):]
        for what in ("mode", "power"):
            tail = f"/{what}/set"
            if rest.endswith(tail) and rest[: -len(tail)]:
                return rest[: -len(tail)], what
        return None

    def discovery(self, component: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{self.node}/{slug(object_id)}/config"


def _num(x: Any, nd: int = 1) -> float | None:
    if x is None or isinstance(x, bool):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, nd) if math.isfinite(v) else None


def mode_of(override: Mapping[str, Any] | None) -> str:
    """The Home Assistant select's value for a miner's override."""
    kind = (override or {}).get("kind")
    return {"force_on": "on", "force_off": "off", "power": "on"}.get(kind or "", "auto")


def site_payload(state: EngineState) -> dict:
    snap = state.snapshot
    dec = state.decision
    ov = state.overrides or {}
    return {
        "ts": round(state.ts, 3), "cycle": state.cycle,
        "pv_w": _num(snap.pv_w.value), "house_w": _num(snap.house_w.value),
        "grid_import_w": _num(snap.grid_import_w.value), "battery_charge_w": _num(snap.battery_charge_w.value),
        "battery_soc_pct": _num(snap.battery_soc_pct.value), "miners_w": _num(state.miners_w),
        "available_w": _num(dec.available_w) if dec else None,
        "reason": dec.summary if dec else "",
        "paused": "ON" if (state.paused or "pause" in ov) else "OFF",
        "observe_only": state.observe_only or "observe" in ov,
        "stale": list(state.stale), "faults": list(state.faults.values()),
    }


def miner_payload(name: str, state: EngineState) -> dict:
    s = state.samples.get(name)
    d = state.decision.miners.get(name) if state.decision else None
    v = state.verifications.get(name)
    ov = (state.overrides or {}).get(name)
    return {
        "ts": round(state.ts, 3),
        "state": s.state.value if s else "unknown",
        "power_w": _num(s.power_w if s else None),
        "target_w": _num(d.target_w if d and d.run else (0.0 if d else None)),
        "run": bool(d.run) if d else None,
        "hashrate_ths": _num(s.hashrate_ths if s else None, 3),
        "chip_temp_c": _num(s.chip_temp_c if s else None),
        "board_temp_c": _num(s.temp_c if s else None),
        "efficiency_j_th": _num(s.efficiency_j_th if s else None),
        "firmware": s.firmware if s else None,
        "mode": mode_of(ov),
        "override": ov.get("text") if ov else None,
        "override_watts": _num(ov.get("watts")) if ov else None,
        "override_until": _num(ov.get("until"), 0) if ov else None,
        "reason": d.reason if d else "",
        "fault": (s.error if s and s.error else None) or state.faults.get(name),
        "command": v.detail if v else None,
    }


# ---- Home Assistant MQTT discovery --------------------------------------------------------------

# (key in the payload, name, device_class, unit, state_class); HA's sensor device classes and units
_MINER_SENSORS = (
    ("power_w", "Power", "power", "W", "measurement"),
    ("target_w", "Power target", "power", "W", "measurement"),
    ("energy_kwh", "Energy", "energy", "kWh", "total_increasing"),
    ("hashrate_ths", "Hashrate", None, "TH/s", "measurement"),
    ("chip_temp_c", "Chip temperature", "temperature", "°C", "measurement"),
    ("board_temp_c", "Board temperature", "temperature", "°C", "measurement"),
    ("efficiency_j_th", "Efficiency", None, "J/TH", "measurement"),
    ("state", "State", None, None, None),
    ("reason", "Reason", None, None, None),
    ("override", "Override", None, None, None),
    ("fault", "Fault", None, None, None),
)
_SITE_SENSORS = (
    ("pv_w", "PV power", "power", "W", "measurement"),
    ("house_w", "House power", "power", "W", "measurement"),
    ("grid_import_w", "Grid import", "power", "W", "measurement"),
    ("battery_charge_w", "Battery charging", "power", "W", "measurement"),
    ("battery_soc_pct", "Battery", "battery", "%", "measurement"),
    ("miners_w", "Miners power", "power", "W", "measurement"),
    ("available_w", "Available for mining", "power", "W", "measurement"),
    ("reason", "Decision", None, None, None),
)


def _value_template(key: str) -> str:
    # a missing value is unknown in HA ('None' would be a state, not unknown)
    return f"{{{{ value_json.{key} if value_json.{key} is not none else 'unknown' }}}}"


def _sensor(topics: Topics, uid: str, device: dict, state_topic: str, key: str, name: str,
            device_class: str | None, unit: str | None, state_class: str | None) -> dict:
    cfg: dict = {"name": name, "unique_id": uid, "object_id": uid, "state_topic": state_topic,
                 "value_template": _value_template(key), "availability_topic": topics.status,
                 "device": device}
    if device_class:
        cfg["device_class"] = device_class
    if unit:
        cfg["unit_of_measurement"] = unit
    if state_class:
        cfg["state_class"] = state_class
    return cfg


def site_device(topics: Topics, site_name: str) -> dict:
    return {"identifiers": [f"edgemining_{topics.node}"], "name": site_name,
            "manufacturer": "edgemining-tui", "model": "solar mining site"}


def discovery_messages(topics: Topics, site_name: str, miners: Mapping[str, Capabilities],
                       models: Mapping[str, tuple[str | None, str | None]] | None = None) -> dict[str, dict]:
    """Every discovery topic and its config: one device for the site, one per miner (via the site)."""
    models = models or {}
    out: dict[str, dict] = {}
    site_dev = site_device(topics, site_name)
    for key, name, dc, unit, sc in _SITE_SENSORS:
        uid = f"edgemining_{topics.node}_{key}"
        out[topics.discovery("sensor", key)] = _sensor(topics, uid, site_dev, topics.state, key, name, dc, unit, sc)
    out[topics.discovery("switch", "pause")] = {
        "name": "Pause automation", "unique_id": f"edgemining_{topics.node}_pause",
        "object_id": f"edgemining_{topics.node}_pause",
        "command_topic": topics.pause_set, "state_topic": topics.state, "value_template": "{{ value_json.paused }}",
        "payload_on": "ON", "payload_off": "OFF", "state_on": "ON", "state_off": "OFF",
        "availability_topic": topics.status, "device": site_dev, "icon": "mdi:pause-circle"}
    out[topics.discovery("button", "cycle")] = {
        "name": "Cycle now", "unique_id": f"edgemining_{topics.node}_cycle",
        "object_id": f"edgemining_{topics.node}_cycle",
        "command_topic": topics.cycle_press, "payload_press": "PRESS",
        "availability_topic": topics.status, "device": site_dev, "icon": "mdi:refresh"}
    for name, caps in miners.items():
        ms = slug(name)
        model, firmware = models.get(name, (None, None))
        dev = {"identifiers": [f"edgemining_{topics.node}_{ms}"], "name": name, "manufacturer": "edgemining-tui",
               "model": model or "ASIC miner", "via_device": f"edgemining_{topics.node}"}
        if firmware:
            dev["sw_version"] = firmware
        st = topics.miner_state(name)
        for key, label, dc, unit, sc in _MINER_SENSORS:
            uid = f"edgemining_{topics.node}_{ms}_{key}"
            out[topics.discovery("sensor", f"{ms}_{key}")] = _sensor(topics, uid, dev, st, key, label, dc, unit, sc)
        if caps.controllable:
            out[topics.discovery("select", f"{ms}_mode")] = {
                "name": "Mode", "unique_id": f"edgemining_{topics.node}_{ms}_mode",
                "object_id": f"edgemining_{topics.node}_{ms}_mode",
                "command_topic": topics.miner_mode_set(name), "state_topic": st,
                "value_template": "{{ value_json.mode }}", "options": ["auto", "on", "off"],
                "availability_topic": topics.status, "device": dev}
        if caps.controllable and (caps.power_target or caps.levels):
            lo, hi = caps.lowest_w, caps.highest_w
            out[topics.discovery("number", f"{ms}_power")] = {
                "name": "Fixed power", "unique_id": f"edgemining_{topics.node}_{ms}_power",
                "object_id": f"edgemining_{topics.node}_{ms}_power",
                "command_topic": topics.miner_power_set(name), "state_topic": st,
                "value_template": "{{ value_json.override_watts if value_json.override_watts is not none "
                                  "else (value_json.target_w or 0) }}",
                "min": float(lo), "max": float(hi), "step": float(caps.step_w or 1.0), "mode": "box",
                "unit_of_measurement": "W", "device_class": "power",
                "availability_topic": topics.status, "device": dev}
    return out


# What HA's MQTT discovery requires of each component (homeassistant/components/mqtt/<platform>.py
# PLATFORM_SCHEMA: required keys), the device classes used here and their units.
REQUIRED_KEYS = {
    "sensor": ("state_topic",),
    "switch": ("command_topic",),
    "button": ("command_topic",),
    "select": ("command_topic", "options"),
    "number": ("command_topic",),
}
SENSOR_UNITS = {"power": {"W", "kW"}, "energy": {"Wh", "kWh"}, "temperature": {"°C", "°F"}, "battery": {"%"}}
STATE_CLASSES = {"measurement", "total", "total_increasing"}


def discovery_problems(topic: str, cfg: Mapping[str, Any]) -> list[str]:
    """Why Home Assistant would reject or mis-file this discovery config; [] when it is right."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[-1] != "config":
        return [f"{topic}: expected <prefix>/<component>/<node_id>/<object_id>/config"]
    component = parts[1]
    problems = [f"{topic}: missing {k}" for k in REQUIRED_KEYS.get(component, ("?",)) if k not in cfg]
    if component not in REQUIRED_KEYS:
        problems.append(f"{topic}: unknown component {component}")
    if not cfg.get("unique_id"):
        problems.append(f"{topic}: no unique_id (HA cannot put it on a device or rename it)")
    dev = cfg.get("device") or {}
    if not (dev.get("identifiers") or dev.get("connections")):
        problems.append(f"{topic}: device block without identifiers")
    dc, unit, sc = cfg.get("device_class"), cfg.get("unit_of_measurement"), cfg.get("state_class")
    if component == "sensor" and dc is not None and unit not in SENSOR_UNITS.get(dc, {unit}):
        problems.append(f"{topic}: unit {unit!r} does not fit device_class {dc}")
    if sc is not None and sc not in STATE_CLASSES:
        problems.append(f"{topic}: unknown state_class {sc}")
    if sc == "total_increasing" and dc not in ("energy", None):
        problems.append(f"{topic}: total_increasing on {dc}")
    if component == "select" and not cfg.get("options"):
        problems.append(f"{topic}: select without options")
    if component == "number" and not float(cfg.get("min", 1)) <= float(cfg.get("max", 100)):
        problems.append(f"{topic}: number min above max")
    return problems
