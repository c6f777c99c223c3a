"""Step 4: a policy starting point, its key parameters explained in one line each."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioButton, RadioSet, Static

from ..state import POLICY_CHOICES
from .base import StepScreen
from .review import ReviewScreen


class PolicyScreen(StepScreen):
    STEP = 4
    HEADING = "Policy · a starting point"

    def body(self) -> ComposeResult:
        s = self.state
        yield Static("How should the console decide? You can refine every key in config.yaml later.",
                     classes="intro")
        missing = self.missing
        chosen = s.policy if s.policy not in missing else "surplus"
        with RadioSet(id="policy"):
            for key, label in POLICY_CHOICES.items():
                why = missing.get(key)
                # the forecast label is long: its reason goes on the line below, not off-screen
                note = "" if not why else " (unavailable)" if key == "forecast" else f" (not available: {why})"
                yield RadioButton(label + note, value=(key == chosen), id=f"pol-{key}", disabled=bool(why))
        why = missing.get("forecast")
        if why:
            yield Static(f"Battery filled by sunset: not available, {why}. It reads a PV forecast "
                         "(a Home Assistant entity, or the built-in one) and needs the site's "
                         "latitude/longitude.",
                         id="p-why", classes="hint")
        with Vertical(id="p-params"):
            yield Label("Headroom in W: kept unused so the site leans to export, not import "
                        "(auto: twice the meter's noise)", id="l-headroom")
            yield Input("auto" if s.headroom_w is None else f"{s.headroom_w:.0f}", id="p-headroom")
            yield Label("Battery first until SoC %: below it the battery charges, miners get what is left",
                        id="l-soc")
            yield Input(f"{s.priority_soc:g}", id="p-soc")
            yield Label("Usable battery capacity in kWh: what the battery stores from empty to full",
                        id="l-capacity")
            cap = s.battery_capacity_kwh
            yield Input("" if cap is None else f"{cap:g}", id="p-capacity", placeholder="10")
            yield Label("PV array peak in kWp (optional): the built-in forecast learns it otherwise",
                        id="l-kwp")
            yield Input("" if s.pv_peak_kwp is None else f"{s.pv_peak_kwp:g}", id="p-kwp", placeholder="8")
            yield Label("Rules file: an Edge Mining policy YAML with start_rules / stop_rules",
                        id="l-rules")
            yield Input(s.rules_file, id="p-rules", placeholder="/path/to/policy.yaml")
            h = s.heat
            yield Label("Zone: the room the miners heat. Below its band they run even on grid power",
                        id="l-zone")
            yield Input(h.get("zone", ""), id="p-zone", placeholder="living-room")
            yield Label("Comfort band °C, min and max: heat below min, cap miners above max",
                        id="l-band")
            with Horizontal(classes="pair", id="p-band"):
                yield Input(h.get("min_c", "19"), id="p-min-c")
                yield Input(h.get("max_c", "22"), id="p-max-c")
            sensor_hint = {"home_assistant": "a Home Assistant temperature entity, e.g. sensor.living_temp",
                           "mqtt": "an MQTT topic with the temperature"}.get(s.energy_kind, "")
            yield Label(f"Temperature sensor: {sensor_hint or 'none for this source yet (simulated)'}",
                        id="l-sensor")
            yield Input(h.get("sensor", ""), id="p-sensor", placeholder="sensor.living_room_temperature",
                        disabled=not sensor_hint)

    @property
    def missing(self) -> dict[str, str]:
        """Choices not available, with why: this build's config, and (forecast) the earlier answers."""
        out = dict(self.wizard.policy_missing)
        if "forecast" not in out:
            why = self.state.forecast_policy_missing()
            if why:
                out["forecast"] = why
        return out

    def on_mount(self) -> None:
        self._sync()
        self.query_one("#policy", RadioSet).focus()

    @property
    def choice(self) -> str:
        rs = self.query_one("#policy", RadioSet)
        pressed = rs.pressed_button
        return pressed.id[4:] if pressed is not None and pressed.id else "surplus"

    @on(RadioSet.Changed)
    def _changed(self) -> None:
        self._sync()

    def _sync(self) -> None:
        c = self.choice
        show = {"headroom": True, "soc": c == "battery", "capacity": c in ("forecast", "battery"),
                "kwp": c in ("forecast", "battery") and not self.state.forecast_ref,
                "rules": c == "rules", "zone": c == "heat",
                "band": c == "heat", "sensor": c == "heat"}
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
        text = self.value("#p-headroom").strip().lower()
        try:
            headroom = None if text in ("", "auto") else float(text.rstrip("Ww"))
            if headroom is not None and headroom < 0:
                raise ValueError
        except ValueError:
            return self.say("Headroom is auto or watts, 0 or more (e.g. 100).", "error")
        if c in ("battery", "forecast"):
            kwp = self.value("#p-kwp").strip().lower().rstrip("p").rstrip("kw").strip()
            try:
                s.pv_peak_kwp = float(kwp) if kwp else None
                if s.pv_peak_kwp is not None and not 0 < s.pv_peak_kwp < 10000:
                    raise ValueError
            except ValueError:
                return self.say("PV peak is the array's kWp, a number above 0 (e.g. 8), or empty.", "error")
        if c == "battery":
            try:
                soc = float(self.value("#p-soc").rstrip("%"))
                if not 0 <= soc <= 100:
                    raise ValueError
            except ValueError:
                return self.say("The state of charge is a percentage 0..100.", "error")
            s.priority_soc = soc
            cap = self.value("#p-capacity").strip()
            s.battery_capacity_kwh = parse_kwh(cap) if cap else None
            if cap and s.battery_capacity_kwh is None:
                return self.say("Battery capacity is the usable energy in kWh, a number above 0 "
                                "(e.g. 10 or 13.5), or empty.", "error")
        if c == "forecast":
            why = self.missing.get("forecast")
            if why:
                return self.say(f"The forecast reserve is not available: {why}.", "error")
            kwh = parse_kwh(self.value("#p-capacity"))
            if kwh is None:
                return self.say("Battery capacity is the usable energy in kWh, a number above 0 "
                                "(e.g. 10 or 13.5).", "error")
            s.battery_capacity_kwh = kwh
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
                return self.say("Name the zone (e.g. living-room).", "error")
            if not s.managed:
                return self.say("Heat first needs at least one managed miner (step 3) to heat the zone.",
                                "error")
            try:
                lo, hi = float(self.value("#p-min-c")), float(self.value("#p-max-c"))
            except ValueError:
                return self.say("The comfort band is two temperatures in °C, e.g. 19 and 22.", "error")
            if hi - lo < 1:
                return self.say("Leave at least 1 °C between min and max (the zone needs a band).", "error")
            s.heat = {"zone": zone, "min_c": f"{lo:g}", "max_c": f"{hi:g}", "sensor": self.value("#p-sensor")}
        s.policy = c
        s.headroom_w = headroom
        self.app.push_screen(ReviewScreen())


def parse_kwh(text: str) -> float | None:
    """'10', '13.5 kWh' or '10000Wh' -> kWh; None unless it is a number above 0 (at least 1 Wh)."""
    t = text.strip().lower().replace(" ", "")
    scale = 1.0
    if t.endswith("kwh"):
        t = t[:-3]
    elif t.endswith("wh"):
        t, scale = t[:-2], 0.001
    try:
        kwh = float(t) * scale
    except ValueError:
        return None
    if not kwh * 1000 >= 1 or kwh == float("inf"):    # also refuses nan
        return None
    return kwh


def check_rules_file(path) -> str:
    """'' when the Edge Mining policy file loads, else the loader's message (with file:line)."""
    try:
        from ....policy.rules_loader import load_policy
    except ImportError:
        return ""
    try:
        load_policy(path)
    except Exception as e:  # noqa: BLE001 - ConfigError and friends: show the message
        return f"The rules file does not load: {e}"
    return ""
