"""Step 2: the energy source: kind, connection (Home Assistant test), entities, live sign check."""
from __future__ import annotations

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ....energy.tls_pin import shown
from .. import ha_probe
from ..flow import balance_hint, describe, read_flow
from ..state import ENERGY_KINDS, FORECAST_LABEL, FORECAST_PICK, MEASURES, POWER_ROLES, ROLES, SECRET_NAMES
from .base import StepScreen, _cut
from .miners import MinersScreen
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


# --------------------------------------------------------------------------------------------
class HaConnectScreen(StepScreen):
    STEP = 2
    HEADING = "Energy · Home Assistant connection"
    BINDINGS = [Binding("ctrl+t", "test", "Test connection", priority=True, id="setup.test")]

    def body(self) -> ComposeResult:
        s = self.state
        yield Label("Home Assistant address")
        yield Input(s.fields.get("url", "http://homeassistant.local:8123"), id="ha-url")
        yield Label("Long-lived access token (Profile → Security → Long-lived access tokens)")
        kept = "HA_TOKEN" in s.secrets
        yield Input("", id="ha-token", password=True,
                    placeholder="token kept (type to replace)" if kept else "paste the token")
        yield Static(f"The token is stored in {escape(str(s.secrets_path))} (mode 0600), written as "
                     "${HA_TOKEN} in the config, and never shown again.", classes="hint")
        with Horizontal(classes="buttons"):
            yield Button("Test connection", id="ha-test")
        yield Static("", id="verdict")

    def on_mount(self) -> None:
        self.query_one("#ha-url", Input).focus()
        self.verdict: ha_probe.ProbeResult | None = None

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "ha-token":
            self.action_test()
        else:
            self.focus_next()

    @on(Button.Pressed, "#ha-test")
    def _pressed(self) -> None:
        self.action_test()

    def _token(self) -> str:
        typed = self.query_one("#ha-token", Input).value.strip()
        return typed or self.state.secrets.get("HA_TOKEN", "")

    def action_test(self) -> None:
        url, token = self.value("#ha-url"), self._token()
        if not token:
            self.say("Paste the token first.", "error")
            return
        self.query_one("#verdict", Static).update("Testing…")
        self._probe(url, token)

    @work(exclusive=True, group="ha-probe")
    async def _probe(self, url: str, token: str) -> None:
        result = await ha_probe.probe(url, token)
        self.verdict = result
        self.tested = (url, token)
        self.query_one("#verdict", Static).update(("✓ " if result.ok else "✗ ") + escape(result.text))
        if result.ok:
            s = self.state
            s.fields["url"] = url.rstrip("/")
            s.secrets["HA_TOKEN"] = token
            self.query_one("#ha-token", Input).value = ""
            self.query_one("#ha-token", Input).placeholder = "token kept (type to replace)"
            self.say("Connected. ctrl+n: pick the entities.", "ok")
        else:
            self.say(result.text, "error")

    async def action_next(self) -> None:
        tested_now = getattr(self, "tested", None) == (self.value("#ha-url"), self._token())
        if self.verdict is None or not self.verdict.ok or not tested_now:
            self.say("Test the connection first (ctrl+t); it must say OK.", "error")
            return
        self.app.push_screen(HaEntitiesScreen())


class SearchInput(Input):
    """The entity search: type to filter, ↑↓ move in the list below, enter picks, escape returns."""

    BINDINGS = [Binding("up", "move(-1)", show=False), Binding("down", "move(1)", show=False),
                Binding("escape", "leave", "Roles", show=False)]

    def action_move(self, delta: int) -> None:
        ol = self.screen.query_one("#entity-list", OptionList)
        if ol.option_count:
            ol.highlighted = max(0, min(ol.option_count - 1, (ol.highlighted or 0) + delta if ol.highlighted is not None else 0))

    def action_leave(self) -> None:
        self.screen.query_one("#roles", DataTable).focus()


# the rows of the entity step: the five roles, then the optional PV forecast
PICKS: tuple[str, ...] = (*ROLES, FORECAST_PICK)


class HaEntitiesScreen(StepScreen):
    STEP = 2
    HEADING = "Energy · which entity is which?"
    BINDINGS = [Binding("x", "clear_role", "Clear", id="setup.clear"),
                Binding("slash", "search", "Search", id="setup.search")]

    def body(self) -> ComposeResult:
        yield Static("↑↓ pick a value, enter to choose its entity (type to search), x clears.",
                     classes="intro")
        yield DataTable(id="roles", cursor_type="row", zebra_stripes=False)
        yield SearchInput(placeholder="search entities (name or id)", id="entity-search")
        yield OptionList(id="entity-list")

    def on_mount(self) -> None:
        self.entities: list[ha_probe.Entity] = []
        t = self.query_one("#roles", DataTable)
        t.add_column("value", key="role", width=12)
        t.add_column("entity", key="entity", width=34)
        t.add_column("now", key="now", width=14)
        for role, (label, _) in ROLES.items():
            t.add_row(label, "…", "", key=role)
        t.add_row(FORECAST_LABEL[0], "…", "", key=FORECAST_PICK)
        t.styles.height = len(PICKS) + 1          # header and every row, no scrolling at 80×24
        t.focus()
        self.say("Loading the entity list…")
        self._load()

    @work(exclusive=True, group="ha-entities")
    async def _load(self) -> None:
        s = self.state
        try:
            self.entities = await ha_probe.list_entities(s.fields["url"], s.secrets.get("HA_TOKEN", ""))
        except Exception as e:  # noqa: BLE001
            self.say(f"Could not list entities: {e}", "error")
            return
        for role in ROLES:
            if s.entities.get(role) is None:
                s.entities[role] = ha_probe.guess(self.entities, role)
        if s.forecast_entity is None:           # "" is "left empty on purpose": no new guess
            s.forecast_entity = ha_probe.guess(self.entities, FORECAST_PICK)
        self._refresh_roles()
        self._refresh_options()
        n = sum(len(ha_probe.candidates(self.entities, r)) for r in ("pv", "soc"))
        self.say(f"{len(self.entities)} entities, {n} power/battery sensors. Guesses are filled in; "
                 f"check each row. {FORECAST_LABEL[0]} ({FORECAST_LABEL[1]}) is optional.")

    def _by_id(self, entity_id: str | None) -> ha_probe.Entity | None:
        return next((e for e in self.entities if e.entity_id == entity_id), None)

    def _picked(self, role: str) -> str | None:
        if role == FORECAST_PICK:
            return self.state.forecast_entity or None
        return self.state.entities.get(role)

    def _refresh_roles(self) -> None:
        t = self.query_one("#roles", DataTable)
        for role in PICKS:
            ent = self._picked(role)
            e = self._by_id(ent)
            t.update_cell(role, "entity", _cut(ent or "(none)", 34))
            t.update_cell(role, "now", e.value_text if e else "")

    @property
    def role(self) -> str:
        t = self.query_one("#roles", DataTable)
        return PICKS[t.cursor_row if t.cursor_row is not None else 0]

    def _refresh_options(self) -> None:
        query = self.query_one("#entity-search", Input).value
        ol = self.query_one("#entity-list", OptionList)
        ol.clear_options()
        cands = [e for e in ha_probe.candidates(self.entities, self.role) if e.matches(query)]
        ol.add_options(Option(escape(f"{_cut(e.entity_id, 36):<36} {_cut(e.value_text, 11):>11}  "
                                     f"{_cut(e.name, 20)}"), id=e.entity_id) for e in cands)
        if cands:
            current = self._picked(self.role)
            ids = [e.entity_id for e in cands]
            ol.highlighted = ids.index(current) if current in ids else 0

    @on(DataTable.RowHighlighted, "#roles")
    def _role_moved(self) -> None:
        self._refresh_options()

    @on(DataTable.RowSelected, "#roles")
    def _role_selected(self) -> None:
        self.action_search()

    def action_search(self) -> None:
        self.query_one("#entity-search", Input).focus()

    @on(Input.Changed, "#entity-search")
    def _search_changed(self) -> None:
        self._refresh_options()

    @on(Input.Submitted, "#entity-search")
    def _search_submitted(self) -> None:
        opt = self.query_one("#entity-list", OptionList).highlighted_option
        if opt is not None:
            self._assign(opt.id)

    @on(OptionList.OptionSelected, "#entity-list")
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        self._assign(event.option_id)

    def _assign(self, entity_id: str | None) -> None:
        s = self.state
        if self.role == FORECAST_PICK:
            s.forecast_entity = entity_id or ""     # not a flow value: the sign check stands
        elif s.entities.get(self.role) != entity_id:
            if self.role in s.inverts:
                s.inverts[self.role] = False      # a new entity has its own sign
            s.flow_confirmed = False
        if self.role != FORECAST_PICK:
            s.entities[self.role] = entity_id
        self._refresh_roles()
        t = self.query_one("#roles", DataTable)
        search = self.query_one("#entity-search", Input)
        search.value = ""
        t.focus()
        if t.cursor_row is not None and t.cursor_row < len(PICKS) - 1:
            t.move_cursor(row=t.cursor_row + 1)

    def action_clear_role(self) -> None:
        if self.role == FORECAST_PICK:
            self.state.forecast_entity = ""          # empty on purpose: not guessed again
        else:
            self.state.entities[self.role] = None
            self.state.flow_confirmed = False
        self._refresh_roles()

    async def action_next(self) -> None:
        e = self.state.entities
        if not e.get("grid") and not (e.get("pv") and e.get("house")):
            self.say("A grid entity is needed (or both PV and house) to know the surplus.", "error")
            return
        self.app.push_screen(FlowScreen())


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


# --------------------------------------------------------------------------------------------
class FlowScreen(StepScreen):
    """The live energy flow through the real adapter; the user confirms the signs or flips them."""

    STEP = 2
    HEADING = "Energy · does this look right?"
    BINDINGS = [Binding("p", "flip('pv')", "Flip PV", id="setup.flip_pv"),
                Binding("h", "flip('house')", "Flip house", id="setup.flip_house"),
                Binding("g", "flip('grid')", "Flip grid", id="setup.flip_grid"),
                Binding("b", "flip('battery')", "Flip battery", id="setup.flip_battery"),
                Binding("r", "reread", "Read again", id="setup.reread"),
                Binding("t", "trust", "Trust this certificate", id="setup.trust_cert"),
                Binding("y,enter", "confirm", "Yes, correct", id="setup.confirm")]

    def body(self) -> ComposeResult:
        yield Static("Right now the console reads:", classes="intro")
        yield Static("reading…", id="flow-line", classes="flow")
        yield DataTable(id="flow-table", cursor_type="none", show_cursor=False)
        yield Static("", id="balance", classes="hint")
        yield Static("", id="cert", classes="hint")
        yield Static("Correct? y: yes · p/h/g/b: flip the sign of PV/house/grid/battery · "
                     "r: read again", classes="hint")

    def on_mount(self) -> None:
        self.reading = None
        t = self.query_one("#flow-table", DataTable)
        t.add_column("value", key="role", width=12)
        t.add_column("reads", key="reads", width=11)
        t.add_column("the console's sign", key="sign", width=28)
        t.add_column("", key="flip", width=10)
        for role, (label, meaning) in ROLES.items():
            t.add_row(label, "", meaning, "", key=role)
        t.focus()
        self.action_reread()

    def action_reread(self) -> None:
        self.query_one("#flow-line", Static).update("reading…")
        self._read()

    @work(exclusive=True, group="flow")
    async def _read(self) -> None:
        reading = await read_flow(self.state)
        self.reading = reading
        self._show()

    def _show(self) -> None:
        r = self.reading
        if r is None:
            return
        line = describe(r)
        self.query_one("#flow-line", Static).update(escape(line) + ("" if r.failure else " — correct?"))
        t = self.query_one("#flow-table", DataTable)
        for role in ROLES:
            v = r.value(role)
            text = "—" if v is None else (f"{v:.0f} %" if role == "soc" else f"{v / 1000:+.2f} kW")
            t.update_cell(role, "reads", text)
            t.update_cell(role, "flip", "flipped" if self.state.inverts.get(role) else "")
        self.query_one("#balance", Static).update(escape(balance_hint(r)))
        pinned = self.state.fields.get("tls_fingerprint")
        if pinned:
            cert = f"Certificate pinned: only {shown(pinned)[:23]}… is trusted."
        elif r.tls_fingerprint:
            cert = (f"This gateway's certificate: {shown(r.tls_fingerprint)}. If it matches the gateway's own, "
                    "t trusts only it (otherwise any device at this address is trusted).")
        else:
            cert = ""
        self.query_one("#cert", Static).update(escape(cert))
        if r.failure:
            self.say("Reading failed; fix the details (escape) or press y to keep them anyway.", "error")
        else:
            errs = "; ".join(f"{k}: {e}" for k, e in r.errors.items())
            self.say(escape(errs) if errs else "", "error" if errs else "info")

    def action_flip(self, role: str) -> None:
        s = self.state
        only = MEASURES.get(s.energy_kind)
        if only is not None and role not in only:
            self.say(f"This device only gives {' and '.join(only)}.", "error")
            return
        if s.energy_kind in ("sunspec", "opendtu", "enphase", "powerwall", "sonnen"):
            self.say("This device's signs are fixed by its documentation (docs/energy-sources.md).", "error")
            return
        if s.energy_kind == "home_assistant" and not s.entities.get(role):
            self.say(f"No {role} entity chosen.", "error")
            return
        s.inverts[role] = not s.inverts.get(role, False)
        s.flow_confirmed = False
        if self.reading is not None and self.reading.values.get(role) is not None:
            self.reading.values[role] = -self.reading.values[role]   # show it at once, then re-read
            self._show()
        self._read()

    def action_trust(self) -> None:
        r = self.reading
        if r is None or not r.tls_fingerprint:
            self.say("No HTTPS certificate to trust here.", "error")
            return
        self.state.fields["tls_fingerprint"] = r.tls_fingerprint
        self.state.flow_confirmed = False
        self.action_reread()                      # read again through the pin: it must still work

    async def action_confirm(self) -> None:
        r = self.reading
        s = self.state
        if r is None:
            self.say("Still reading…")
            return
        s.flow_confirmed = not r.failure
        s.flow_text = describe(r) if not r.failure else ""
        self.app.push_screen(MinersScreen())

    async def action_next(self) -> None:
        await self.action_confirm()
