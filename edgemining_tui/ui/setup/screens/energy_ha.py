"""Step 2 with Home Assistant: the connection test, then which entity is which (discovery, search, guesses)."""
from __future__ import annotations

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from .. import ha_probe
from ..state import FORECAST_LABEL, FORECAST_PICK, ROLES
from .base import StepScreen, _cut
from .energy_flow import FlowScreen


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
