"""Step 2: the energy source: which kind, and the connection form of every kind but Home Assistant
(whose connection and entities are in energy_ha.py); both lead to the live sign check (energy_flow.py)."""
from __future__ import annotations

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..state import ENERGY_KINDS, POWER_ROLES, ROLES, SECRET_NAMES
from .base import StepScreen
from .energy_flow import FlowScreen
from .energy_ha import HaConnectScreen
from .policy import PolicyScreen


class EnergyKindScreen(StepScreen):
    STEP = 2
    HEADING = "Energy · where do the power readings come from?"

    def body(self) -> ComposeResult:
        yield Static("Pick the source of PV, house, grid and battery readings (↑↓, enter).", classes="intro")
        options = []
        for kind, label in ENERGY_KINDS.items():
            missing = self.wizard.kinds_missing.get(kind)
            text = label if not missing else f"{label}  [dim](not available: {escape(missing)})[/]"
            options.append(Option(text, id=kind, disabled=bool(missing)))
        yield OptionList(*options, id="kinds")
        yield Static("Other combinations (PV from the inverter, grid from a meter) are written by hand "
                     "as energy.sources: see docs/energy-sources.md.", classes="hint")

    def on_mount(self) -> None:
        ol = self.query_one("#kinds", OptionList)
        ol.focus()
        try:
            ol.highlighted = ol.get_option_index(self.state.energy_kind)
        except Exception:  # noqa: BLE001 - an unavailable kind: leave the highlight where it is
            pass

    @on(OptionList.OptionSelected, "#kinds")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option_id)

    async def action_next(self) -> None:
        opt = self.query_one("#kinds", OptionList).highlighted_option
        if opt is not None and not opt.disabled:
            self._choose(opt.id)

    def _choose(self, kind: str | None) -> None:
        if not kind:
            return
        s = self.state
        if kind != s.energy_kind:
            s.fields = {}
            s.inverts = {r: False for r in POWER_ROLES}
            s.flow_confirmed = False
            s.flow_text = ""
        s.energy_kind = kind
        if kind == "home_assistant":
            self.app.push_screen(HaConnectScreen())
        elif kind == "demo":
            # no miner step: the demo brings its own emulated fleet (a scan would find nothing to add)
            screen = PolicyScreen()
            self.app.push_screen(screen)
            self.app.call_after_refresh(screen.say, "The demo site brings its own four emulated miners; "
                                        "there is nothing to scan. Pick a policy.")
        else:
            self.app.push_screen(SourceFormScreen(kind))


FORMS: dict[str, list[tuple[str, str, str, bool]]] = {
    # kind -> [(field, label, default, secret)]
    "fronius": [("url", "Inverter address (Solar API v1)", "http://192.168.1.20", False)],
    "shelly": [("url", "Shelly Pro 3EM address", "http://192.168.1.30", False),
               ("id", "EM component id (0 unless you have several)", "0", False)],
    "mqtt": [("host", "Broker host", "127.0.0.1", False), ("port", "Broker port", "1883", False),
             ("username", "Username (optional)", "", False), ("password", "Password (optional)", "", True),
             ("pv", "PV power topic (W)", "", False), ("house", "House load topic (W)", "", False),
             ("grid", "Grid power topic (W, + import)", "", False),
             ("battery", "Battery power topic (W, + charging)", "", False),
             ("soc", "Battery SoC topic (%)", "", False)],
    "victron": [("host", "GX device address (MQTT broker on the GX)", "192.168.1.40", False),
                ("port", "MQTT port", "1883", False),
                ("portal_id", "VRM portal id (Settings → VRM online portal)", "", False)],
    "sunspec": [("host", "Inverter address (Modbus TCP switched on)", "192.168.1.20", False),
                ("port", "Modbus TCP port (SolarEdge with LCD: 1502)", "502", False),
                ("preset", "Vendor: generic, solaredge, fronius, sma or kostal", "generic", False),
                ("meter_unit_id", "Grid meter's unit id, if not in the inverter's map (Fronius Symo with "
                 "Datamanager: 240; empty: the preset's)", "", False)],
    "homewizard": [("url", "P1 meter address", "http://192.168.1.41", False),
                   ("token", "v2 API token (empty: the v1 API, switched on in the app)", "", True)],
    "opendtu": [("url", "OpenDTU address", "http://192.168.1.40", False)],
    "enphase": [("url", "IQ Gateway address", "https://envoy.local", False),
                ("token", "Owner token (firmware 7 and later)", "", True)],
    "powerwall": [("url", "Gateway address", "https://192.168.91.1", False),
                  ("password", "Customer password (the last 5 characters on the gateway's label)", "", True)],
    "sonnen": [("url", "sonnenBatterie address", "http://192.168.1.50", False),
               ("token", "API token (Software-Integration page; empty if none)", "", True)],
    "sma_em": [("interface", "This machine's address on the meter's network (0.0.0.0: any)", "0.0.0.0", False),
               ("serial", "Meter serial number, on its label (empty: the only meter sending)", "", False)],
}
PRESETS = ("generic", "solaredge", "fronius", "sma", "kostal")


class SourceFormScreen(StepScreen):
    """The connection details of Fronius, Shelly, MQTT and Victron sources."""

    STEP = 2

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.HEADING = f"Energy · {ENERGY_KINDS[kind].split(' (')[0]}"

    def body(self) -> ComposeResult:
        s = self.state
        for key, label, default, secret in FORMS[self.kind]:
            yield Label(label)
            if secret:
                kept = SECRET_NAMES.get((self.kind, key), "") in s.secrets
                yield Input("", id=f"f-{key}", password=True,
                            placeholder="kept (type to replace)" if kept else "stored in secrets.env")
            else:
                yield Input(s.fields.get(key, default), id=f"f-{key}")
        if self.kind == "mqtt":
            yield Static("JSON payloads with a path, and units other than W, are set in config.yaml "
                         "afterwards (see docs/energy-sources.md).", classes="hint")

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        inputs = list(self.query(Input))
        if event.input is inputs[-1]:
            await self.action_next()
        else:
            self.focus_next()

    async def action_next(self) -> None:
        s = self.state
        values = {key: self.value(f"#f-{key}") for key, *_ in FORMS[self.kind]}
        if "url" in values and not values["url"].startswith(("http://", "https://")):
            return self.say("The address starts with http:// or https://", "error")
        for key in ("port", "id"):
            if key in values:
                try:
                    n = int(values[key])
                    if key == "port" and not 0 < n < 65536:
                        raise ValueError
                except ValueError:
                    return self.say(f"{key}: a whole number{' 1..65535' if key == 'port' else ''}.", "error")
        if self.kind == "victron" and not values.get("portal_id"):
            return self.say("The portal id is needed: the GX publishes under N/<portal id>/…", "error")
        if self.kind == "mqtt" and not any(values.get(r) for r in ROLES):
            return self.say("Give at least one topic (the grid topic is the important one).", "error")
        if self.kind == "sma_em":
            import ipaddress
            try:
                ipaddress.IPv4Address(values.get("interface") or "0.0.0.0")
            except ValueError:
                return self.say("The interface is this machine's IPv4 address (ip -4 addr), or 0.0.0.0.", "error")
            if values.get("serial") and not (values["serial"].isdigit() and int(values["serial"]) < 2 ** 32):
                return self.say("The serial is the number on the meter's label (digits only).", "error")
        if self.kind == "sunspec" and values.get("preset") not in PRESETS:
            return self.say(f"preset: one of {', '.join(PRESETS)}.", "error")
        if self.kind == "sunspec" and values.get("meter_unit_id") and not (
                values["meter_unit_id"].isdigit() and int(values["meter_unit_id"]) <= 255):
            return self.say("meter_unit_id: a Modbus unit id 0..255, or empty.", "error")
        for key, *_rest, secret in FORMS[self.kind]:
            if secret:
                value = values.pop(key, "")
                if value:
                    s.secrets[SECRET_NAMES[(self.kind, key)]] = value
        if self.kind == "powerwall" and "POWERWALL_PASSWORD" not in s.secrets:
            return self.say("The gateway's customer password is needed to read it.", "error")
        s.fields = {k: v for k, v in values.items() if v != ""}
        s.flow_confirmed = False
        self.app.push_screen(FlowScreen())
