"""The setup steps, one screen each. Escape goes back a step, ctrl+n goes forward after validating.

Screens read and write ``app.state`` (a SetupState); nothing touches the disk before ReviewScreen.
All network work (connection test, entity list, live reading, scan) runs in workers that report
back by updating the screen; a failure is text on the screen, never a crash.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (Button, DataTable, Footer, Input, Label, OptionList, RadioButton, RadioSet,
                             Static)
from textual.widgets.option_list import Option

from . import ha_probe
from .flow import balance_hint, describe, read_flow
from .scan import name_found, parse_subnet
from .state import ENERGY_KINDS, POLICY_CHOICES, POWER_ROLES, ROLES, FoundMiner

if TYPE_CHECKING:
    from .app import SetupApp

STEPS = 5


class StepScreen(Screen):
    """One wizard step: a title line, a body, a status line and the key footer."""

    STEP = 1
    HEADING = ""
    BINDINGS = [
        Binding("escape", "back", "Back", id="setup.back"),
        Binding("ctrl+n", "next", "Next", priority=True, id="setup.next"),
    ]

    @property
    def wizard(self) -> "SetupApp":
        return self.app  # type: ignore[return-value]

    @property
    def state(self):
        return self.wizard.state

    def compose(self) -> ComposeResult:
        yield Static(f"Setup · step {self.STEP}/{STEPS} · {self.HEADING}", classes="step-title")
        with VerticalScroll(classes="body"):
            yield from self.body()
        yield Static("", id="status", classes="status")
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def say(self, text: str, kind: str = "info") -> None:
        st = self.query_one("#status", Static)
        st.update(text)
        st.set_class(kind == "error", "-error")
        st.set_class(kind == "ok", "-ok")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:   # the default screen sits below the first step
            self.app.pop_screen()

    async def action_next(self) -> None:
        pass

    def value(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()


# --------------------------------------------------------------------------------------------
class SiteScreen(StepScreen):
    STEP = 1
    HEADING = "Site"

    def body(self) -> ComposeResult:
        s = self.state
        yield Static("Welcome. This sets up edgemining-tui in five short steps; nothing is written "
                     "until you review the result. Tab moves between fields, ctrl+n goes on, "
                     "escape goes back.", classes="intro")
        yield Label("Site name (shown in the header)")
        yield Input(s.site_name, id="site-name")
        yield Label("Time zone (IANA name: days, schedules and starts per day use it)")
        yield Input(s.timezone, id="site-tz", placeholder="Europe/Berlin")
        yield Label("Latitude, longitude (optional, for sunrise/sunset rules)")
        with Horizontal(classes="pair"):
            yield Input("" if s.latitude is None else f"{s.latitude:g}", id="site-lat", placeholder="47.4")
            yield Input("" if s.longitude is None else f"{s.longitude:g}", id="site-lon", placeholder="8.5")

    def on_mount(self) -> None:
        self.query_one("#site-name", Input).focus()

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "site-lon":
            await self.action_next()
        else:
            self.focus_next()

    async def action_next(self) -> None:
        from zoneinfo import ZoneInfo
        name = self.value("#site-name")
        tz = self.value("#site-tz")
        if not name:
            return self.say("Give the site a name.", "error")
        try:
            ZoneInfo(tz)
        except Exception:  # noqa: BLE001
            return self.say(f"Unknown time zone {tz!r}: use a name like Europe/Berlin or UTC.", "error")
        lat, lon = self.value("#site-lat"), self.value("#site-lon")
        try:
            latitude = float(lat) if lat else None
            longitude = float(lon) if lon else None
        except ValueError:
            return self.say("Latitude and longitude are numbers, e.g. 47.4 and 8.5.", "error")
        if (latitude is None) != (longitude is None):
            return self.say("Give both latitude and longitude, or neither.", "error")
        if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return self.say("Latitude is -90..90, longitude -180..180.", "error")
        s = self.state
        s.site_name, s.timezone, s.latitude, s.longitude = name, tz, latitude, longitude
        self.app.push_screen(EnergyKindScreen())


# --------------------------------------------------------------------------------------------
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
            self.app.push_screen(MinersScreen())
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
        self._refresh_roles()
        self._refresh_options()
        n = sum(len(ha_probe.candidates(self.entities, r)) for r in ("pv", "soc"))
        self.say(f"{len(self.entities)} entities, {n} power/battery sensors. Guesses are filled in; "
                 "check each row.")

    def _by_id(self, entity_id: str | None) -> ha_probe.Entity | None:
        return next((e for e in self.entities if e.entity_id == entity_id), None)

    def _refresh_roles(self) -> None:
        t = self.query_one("#roles", DataTable)
        for role in ROLES:
            ent = self.state.entities.get(role)
            e = self._by_id(ent)
            t.update_cell(role, "entity", ent or "(none)")
            t.update_cell(role, "now", e.value_text if e else "")

    @property
    def role(self) -> str:
        t = self.query_one("#roles", DataTable)
        return list(ROLES)[t.cursor_row if t.cursor_row is not None else 0]

    def _refresh_options(self) -> None:
        query = self.query_one("#entity-search", Input).value
        ol = self.query_one("#entity-list", OptionList)
        ol.clear_options()
        cands = [e for e in ha_probe.candidates(self.entities, self.role) if e.matches(query)]
        ol.add_options(Option(f"{escape(e.entity_id):<40} {escape(e.value_text):>12}  {escape(e.name)}",
                              id=e.entity_id) for e in cands)
        if cands:
            current = self.state.entities.get(self.role)
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
        if s.entities.get(self.role) != entity_id:
            if self.role in s.inverts:
                s.inverts[self.role] = False      # a new entity has its own sign
            s.flow_confirmed = False
        s.entities[self.role] = entity_id
        self._refresh_roles()
        t = self.query_one("#roles", DataTable)
        search = self.query_one("#entity-search", Input)
        search.value = ""
        t.focus()
        if t.cursor_row is not None and t.cursor_row < len(ROLES) - 1:
            t.move_cursor(row=t.cursor_row + 1)

    def action_clear_role(self) -> None:
        self.state.entities[self.role] = None
        self.state.flow_confirmed = False
        self._refresh_roles()

    async def action_next(self) -> None:
        e = self.state.entities
        if not e.get("grid") and not (e.get("pv") and e.get("house")):
            self.say("A grid entity is needed (or both PV and house) to know the surplus.", "error")
            return
        self.app.push_screen(FlowScreen())


# --------------------------------------------------------------------------------------------
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
}


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
                kept = "MQTT_PASSWORD" in s.secrets
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
        if self.kind == "mqtt":
            if not any(values.get(r) for r in ROLES):
                return self.say("Give at least one topic (the grid topic is the important one).", "error")
            pw = values.pop("password", "")
            if pw:
                s.secrets["MQTT_PASSWORD"] = pw
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
                Binding("y,enter", "confirm", "Yes, correct", id="setup.confirm")]

    def body(self) -> ComposeResult:
        yield Static("Right now the console reads:", classes="intro")
        yield Static("reading…", id="flow-line", classes="flow")
        yield DataTable(id="flow-table", cursor_type="none", show_cursor=False)
        yield Static("", id="balance", classes="hint")
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
        if r.failure:
            self.say("Reading failed; fix the details (escape) or press y to keep them anyway.", "error")
        else:
            errs = "; ".join(f"{k}: {e}" for k, e in r.errors.items())
            self.say(escape(errs) if errs else "", "error" if errs else "info")

    def action_flip(self, role: str) -> None:
        s = self.state
        if s.energy_kind == "shelly" and role != "grid":
            self.say("A Shelly meter only gives the grid value.", "error")
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


# --------------------------------------------------------------------------------------------
class MinerTable(DataTable):
    BINDINGS = [Binding("space", "toggle", "Manage on/off", id="setup.manage"),
                Binding("e", "edit", "Edit", id="setup.edit"),
                Binding("plus,equals_sign", "priority(-1)", "Priority up", show=False),
                Binding("minus", "priority(1)", "Priority down", show=False)]

    def action_toggle(self) -> None:
        self.screen.toggle_selected()  # type: ignore[attr-defined]

    def action_edit(self) -> None:
        self.screen.edit_selected()  # type: ignore[attr-defined]

    def action_priority(self, delta: int) -> None:
        self.screen.bump_priority(delta)  # type: ignore[attr-defined]


class MinersScreen(StepScreen):
    STEP = 3
    HEADING = "Miners · scan the network"

    def body(self) -> ComposeResult:
        with Horizontal(classes="scanbar"):
            yield Label("Subnet ", classes="inline")
            yield Input(self.state.subnet or self.wizard.default_subnet, id="subnet")
            yield Button("Scan", id="scan")
        yield MinerTable(id="miners", cursor_type="row")
        yield Static("enter/Scan: scan · space: manage on/off · e: name, priority, limits · "
                     "+/-: priority · no miners yet? ctrl+n skips", classes="hint")

    def on_mount(self) -> None:
        t = self.query_one("#miners", DataTable)
        for key, label, width in (("manage", "✓", 1), ("name", "name", 16), ("host", "host", 15),
                                  ("model", "model", 20), ("control", "control", 20),
                                  ("range", "power", 11), ("prio", "prio", 4)):
            t.add_column(label, key=key, width=width)
        self._fill()
        self.query_one("#subnet", Input).focus()

    def _fill(self) -> None:
        t = self.query_one("#miners", DataTable)
        row = t.cursor_row
        t.clear()
        for m in sorted(self.state.found, key=lambda m: (m.priority, m.host)):
            model = m.model if not m.firmware or m.firmware in m.model else f"{m.model} · {m.firmware}"
            t.add_row("✓" if m.manage else "·", m.name, m.host, model, m.control, m.range_text,
                      str(m.priority), key=m.host)
        if row is not None and t.row_count:
            t.move_cursor(row=min(row, t.row_count - 1))

    @on(Input.Submitted, "#subnet")
    @on(Button.Pressed, "#scan")
    def _scan_requested(self) -> None:
        text = self.value("#subnet")
        try:
            net = parse_subnet(text)
        except ValueError as e:
            self.say(str(e), "error")
            return
        self.state.subnet = text
        self.say(f"Scanning {net} ({net.num_addresses} addresses)…")
        self._scan(str(net))

    @work(exclusive=True, group="scan")
    async def _scan(self, subnet: str) -> None:
        t0 = time.monotonic()
        try:
            found = await self.wizard.scanner(subnet)
        except Exception as e:  # noqa: BLE001
            self.say(f"Scan failed: {type(e).__name__}: {e}", "error")
            return
        known = {m.host: m for m in self.state.found}
        for m in found:                       # keep the user's choices for miners seen before
            old = known.get(m.host)
            if old is not None:
                m.name, m.manage, m.priority = old.name, old.manage, old.priority
                m.limit_min_w, m.limit_max_w = old.limit_min_w, old.limit_max_w
            known[m.host] = m
        self.state.found = list(known.values())
        name_found(self.state.found)
        self.state.scanned = True
        self._fill()
        managed = len(self.state.managed)
        self.say(f"{len(found)} miner{'s' if len(found) != 1 else ''} answered on {subnet} in "
                 f"{time.monotonic() - t0:.1f} s; {managed} to manage.", "ok" if found else "info")
        if found:
            self.query_one("#miners", DataTable).focus()

    def _selected(self) -> FoundMiner | None:
        t = self.query_one("#miners", DataTable)
        if not t.row_count or t.cursor_row is None:
            return None
        key = t.coordinate_to_cell_key((t.cursor_row, 0)).row_key.value
        return next((m for m in self.state.found if m.host == key), None)

    def toggle_selected(self) -> None:
        m = self._selected()
        if m is not None:
            m.manage = not m.manage
            self._fill()

    def bump_priority(self, delta: int) -> None:
        m = self._selected()
        if m is not None:
            m.priority = max(1, m.priority + delta)
            self._fill()
            t = self.query_one("#miners", DataTable)
            t.move_cursor(row=t.get_row_index(m.host))

    def edit_selected(self) -> None:
        m = self._selected()
        if m is None:
            return
        others = {x.name for x in self.state.found if x is not m}

        def done(changed: bool | None) -> None:
            if changed:
                self._fill()
        self.app.push_screen(MinerEditScreen(m, others), done)

    async def action_next(self) -> None:
        if self.state.found and not self.state.managed and not getattr(self, "_warned", False):
            self._warned = True
            self.say("No miner is marked to manage (space marks one); the config will have none. "
                     "ctrl+n again to go on anyway.", "error")
            return
        self.app.push_screen(PolicyScreen())


class MinerEditScreen(ModalScreen[bool]):
    """Name, priority and power limits of one miner."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save", priority=True)]

    def __init__(self, miner: FoundMiner, other_names: set[str]) -> None:
        super().__init__()
        self.miner = miner
        self.other_names = other_names

    def compose(self) -> ComposeResult:
        m = self.miner
        with Vertical(id="edit-box"):
            yield Static(f"{escape(m.model or 'miner')} at {m.host} · {escape(m.control)} · "
                         f"detected {m.range_text}", classes="intro")
            yield Label("Name")
            yield Input(m.name, id="e-name")
            yield Label("Priority (lower numbers get surplus first)")
            yield Input(str(m.priority), id="e-prio")
            yield Label("Power limits in W (empty: as detected)")
            with Horizontal(classes="pair"):
                yield Input("" if m.limit_min_w is None else f"{m.limit_min_w:.0f}", id="e-min",
                            placeholder=f"min {m.min_w:.0f}" if m.min_w else "min")
                yield Input("" if m.limit_max_w is None else f"{m.limit_max_w:.0f}", id="e-max",
                            placeholder=f"max {m.max_w:.0f}" if m.max_w else "max")
            yield Static("enter: save · escape: cancel", id="e-status", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#e-name", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def _err(self, text: str) -> None:
        self.query_one("#e-status", Static).update(text)

    def action_save(self) -> None:
        name = self.query_one("#e-name", Input).value.strip()
        if not name:
            return self._err("A miner needs a name.")
        if name in self.other_names:
            return self._err(f"Another miner is already called {name!r}.")
        try:
            prio = int(self.query_one("#e-prio", Input).value.strip())
            lo_t = self.query_one("#e-min", Input).value.strip()
            hi_t = self.query_one("#e-max", Input).value.strip()
            lo = float(lo_t.rstrip("Ww")) if lo_t else None
            hi = float(hi_t.rstrip("Ww")) if hi_t else None
        except ValueError:
            return self._err("Priority is a whole number; limits are watts, e.g. 1500.")
        if prio < 1:
            return self._err("Priority starts at 1.")
        if (lo is not None and lo < 0) or (hi is not None and hi <= 0):
            return self._err("Limits are positive watts.")
        if lo is not None and hi is not None and lo > hi:
            return self._err(f"Minimum {lo:.0f} W is above maximum {hi:.0f} W.")
        m = self.miner
        m.name = name
        m.priority, m.limit_min_w, m.limit_max_w = prio, lo, hi
        self.dismiss(True)


# --------------------------------------------------------------------------------------------
class PolicyScreen(StepScreen):
    STEP = 4
    HEADING = "Policy · a starting point"

    def body(self) -> ComposeResult:
        s = self.state
        yield Static("How should the console decide? You can refine every key in config.yaml later.",
                     classes="intro")
        with RadioSet(id="policy"):
            for key, label in POLICY_CHOICES.items():
                missing = self.wizard.policy_missing.get(key)
                yield RadioButton(label + (f" (not available: {missing})" if missing else ""),
                                  value=(key == s.policy), id=f"p-{key}", disabled=bool(missing))
        with Vertical(id="p-params"):
            yield Label("Headroom in W: kept unused so the site leans to export, not import",
                        id="l-headroom")
            yield Input(f"{s.headroom_w:.0f}", id="p-headroom")
            yield Label("Battery first until SoC %: below it the battery charges, miners get what is left",
                        id="l-soc")
            yield Input(f"{s.priority_soc:g}", id="p-soc")
            yield Label("Rules file: an Edge Mining policy YAML with start_rules / stop_rules",
                        id="l-rules")
            yield Input(s.rules_file, id="p-rules", placeholder="/path/to/policy.yaml")
            yield Label("Zone: the climate zone whose heat demand comes first", id="l-zone")
            yield Input(s.heat_zone, id="p-zone", placeholder="living-room")

    def on_mount(self) -> None:
        self._sync()
        self.query_one("#policy", RadioSet).focus()

    @property
    def choice(self) -> str:
        rs = self.query_one("#policy", RadioSet)
        pressed = rs.pressed_button
        return pressed.id[2:] if pressed is not None and pressed.id else "surplus"

    @on(RadioSet.Changed)
    def _changed(self) -> None:
        self._sync()

    def _sync(self) -> None:
        c = self.choice
        show = {"headroom": True, "soc": c == "battery", "rules": c == "rules", "zone": c == "heat"}
        for key, visible in show.items():
            self.query_one(f"#l-{key}").display = visible
            self.query_one(f"#p-{key}").display = visible

    @on(Input.Submitted)
    async def _submitted(self) -> None:
        await self.action_next()

    async def action_next(self) -> None:
        from pathlib import Path
        s = self.state
        c = self.choice
        try:
            headroom = float(self.value("#p-headroom").rstrip("Ww") or 0)
            if headroom < 0:
                raise ValueError
        except ValueError:
            return self.say("Headroom is watts, 0 or more (e.g. 100).", "error")
        if c == "battery":
            try:
                soc = float(self.value("#p-soc").rstrip("%"))
                if not 0 <= soc <= 100:
                    raise ValueError
            except ValueError:
                return self.say("The state of charge is a percentage 0..100.", "error")
            s.priority_soc = soc
        if c == "rules":
            path = Path(self.value("#p-rules")).expanduser()
            if not self.value("#p-rules") or not path.is_file():
                return self.say(f"No such file: {path}", "error")
            problem = check_rules_file(path)
            if problem:
                return self.say(problem, "error")
            s.rules_file = str(path.resolve())
        if c == "heat":
            zone = self.value("#p-zone")
            if not zone:
                return self.say("Name the zone.", "error")
            s.heat_zone = zone
        s.policy = c
        s.headroom_w = headroom
        self.app.push_screen(ReviewScreen())


def check_rules_file(path) -> str:
    """'' when the Edge Mining policy file loads, else the loader's message (with file:line)."""
    try:
        from ...policy.rules_loader import load_policy
    except ImportError:
        return ""
    try:
        load_policy(path)
    except Exception as e:  # noqa: BLE001 - ConfigError and friends: show the message
        return f"The rules file does not load: {e}"
    return ""


# --------------------------------------------------------------------------------------------
class ReviewScreen(StepScreen):
    STEP = 5
    HEADING = "Review · this is what will be written"
    BINDINGS = [Binding("w", "write", "Write config", id="setup.write")]

    def body(self) -> ComposeResult:
        yield Static("", id="target", classes="intro")
        yield Static("", id="yaml", classes="yaml")

    def on_mount(self) -> None:
        from .yaml_writer import render
        self.text = render(self.state)
        self.query_one("#yaml", Static).update(escape(self.text))
        self.query_one(".body").focus()
        path = self.state.config_path
        note = " (the existing file is kept as a .bak-<timestamp> copy)" if path.exists() else ""
        self.query_one("#target", Static).update(f"w writes {escape(str(path))}{escape(note)}. "
                                                 "↑↓/PgUp/PgDn scroll.")
        self.valid = self._validate()

    def _validate(self) -> bool:
        from .yaml_writer import ConfigError, validate
        try:
            validate(self.state, self.text)
        except ConfigError as e:
            self.say(f"Not valid yet: {e}", "error")
            return False
        self.say("Valid: load_config accepts it. site.observe_only is on, so the console decides and "
                 "shows but does not command miners until you turn it off.", "ok")
        return True

    def action_write(self) -> None:
        from .yaml_writer import ConfigError, write_config
        if not self.valid:
            self.say("Fix the problem above first (escape goes back).", "error")
            return
        try:
            result = write_config(self.state, self.text)
        except (ConfigError, OSError) as e:
            self.say(f"Not written: {e}", "error")
            return
        self.wizard.written = result
        self.app.push_screen(DoneScreen())

    async def action_next(self) -> None:
        self.action_write()


class DoneScreen(StepScreen):
    STEP = 5
    HEADING = "Done"
    BINDINGS = [Binding("y,enter", "start", "Start the console", id="setup.start"),
                Binding("n,q", "finish", "Quit", id="setup.finish")]

    def body(self) -> ComposeResult:
        w = self.wizard.written
        lines = [f"Wrote {w.path}."]
        if w.backup:
            lines.append(f"The previous file is kept as {w.backup}.")
        if w.secrets_path:
            lines.append(f"Secrets are in {w.secrets_path} (mode 0600).")
        lines += ["", "The console starts in observe-only mode: it shows what it would do, and commands "
                  "no miner until you set site.observe_only: false.", "",
                  "Start the console now?  y: yes · n: quit (run edgemining-tui later)"]
        yield Static(escape("\n".join(lines)), id="done")

    def action_back(self) -> None:
        pass        # written: going back would suggest it could be undone here

    def action_start(self) -> None:
        self.app.exit("start")

    def action_finish(self) -> None:
        self.app.exit("done")
