"""Step 1: the site (name, time zone, position)."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from .base import StepScreen
from .energy import EnergyKindScreen


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
        yield Label("Latitude, longitude (optional: sunrise/sunset rules, the forecast reserve)")
        with Horizontal(classes="pair"):
            yield Input("" if s.latitude is None else f"{s.latitude:g}", id="site-lat", placeholder="e.g. 47.4")
            yield Input("" if s.longitude is None else f"{s.longitude:g}", id="site-lon", placeholder="e.g. 8.5")

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
