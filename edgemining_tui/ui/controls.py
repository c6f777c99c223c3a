"""The console's manual controls: which miner is selected, overrides, power steps, site switches.

Every change goes through ``confirm_and_send``: a confirmation naming what will change, then the
request to the owner's engine (or, from an observer, to the store's inbox). Nothing here decides.
"""
from __future__ import annotations

import logging

from textual import work

from ..engine import actions
from ..format import duration
from .fmt import describe_expiry, parse_duration_text, watts

log = logging.getLogger("edgemining_tui.ui")

DEFAULT_OVERRIDE_S = 3600.0     # a manual override lasts an hour unless the user says otherwise
DEFAULT_STEP_W = 100.0


def _detail_cls():
    from .screens import MinerDetailScreen
    return MinerDetailScreen


class MinerControls:
    """Mixed into the App: it relies on the App's screens, workers, notify() and link."""

    def selected_miner(self) -> str | None:
        scr = self.screen
        if isinstance(scr, _detail_cls()):
            return scr.miner
        if self.active_panel_id != "fleet":
            return None
        try:
            return self.fleet_panel.selected()
        except Exception:
            return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MINER_ACTIONS:
            if self.active_panel_id != "fleet" and not isinstance(self.screen, _detail_cls()):
                return False
            return True if self.selected_miner() is not None else None
        if action in ("fleet_filter", "fleet_sort"):
            return self.active_panel_id == "fleet" and not isinstance(self.screen, _detail_cls())
        if action == "history_range":
            return self.active_panel_id in ("history", "energy")
        if action == "energy_view":
            return self.active_panel_id == "energy"
        if action in ("history_shift", "history_date"):
            return self.active_panel_id == "history"
        if action == "show_panel" and parameters and parameters[0] == self.active_panel_id:
            return None
        return True

    # --- sending --------------------------------------------------------------------------------
    @work(group="requests", exit_on_error=False)
    async def confirm_and_send(self, title: str, body: str, action: str, args: dict,
                               confirm: bool = True) -> str | None:
        """Ask (a ModalScreen naming what will change), then send; the UI never waits on the engine."""
        from .screens import ConfirmScreen
        why = self.request_refusal(action, args)
        if why:
            self.notify(f"{title}: refused: {why}", severity="error", timeout=10)
            return None
        if confirm and not await self.push_screen_wait(ConfirmScreen(title, body)):
            self.notify(f"{title}: cancelled", timeout=3)
            return None
        if self.link is None:
            self.notify("not connected to the engine yet", severity="warning")
            return None
        via = "owner" if self.link.role == "owner" else "owner's inbox"
        self.notify(f"{title}: sent to the {via}", timeout=3)
        try:
            result = await self.link.send(action, args)
        except Exception as e:
            self.notify(f"{title}: refused: {e}", severity="error", timeout=10)
            return None
        severity = "error" if str(result).startswith("refused") else "information"
        self.notify(str(result), title=title, severity=severity, timeout=6)
        return result

    def request_refusal(self, action: str, args: dict) -> str:
        """Why this request cannot go out ('' if it can): no live owner to take it, or the decider
        would refuse it (engine/requests.py, with the capabilities the owner last published)."""
        from ..engine.requests import refusal
        gone = getattr(self.link, "owner_gone", None)
        if gone is not None:
            st = self.state
            why = gone(st.ts if st is not None else None)
            if why:
                return f"{why}; nothing was queued (start the owner: systemctl start edgemining-tui)"
        st = self.state
        caps = dict(st.caps) if st is not None and st.caps else None
        return refusal(action, args, caps)

    def _caps(self, name: str):
        eng = getattr(self.rt, "engine", None)
        if eng is None:
            # an observer: what the owner last published (a step of 100 W on a miner with levels
            # was a power the owner quantised straight back to where it was)
            st = self.state
            return (st.caps or {}).get(name) if st is not None else None
        try:
            return eng.fleet.capabilities(name)
        except Exception:
            return None

    def miner_override(self, name: str, mode: str, expiry: dict | None = None, watts_: float | None = None) -> None:
        expiry = {"for_s": DEFAULT_OVERRIDE_S} if expiry is None else expiry
        args = {"miner": name, "mode": mode, **expiry}
        if mode == "power":
            args["watts"] = float(watts_ or 0)
        what = {"on": "force ON (mining, automation will not stop it)",
                "off": "force OFF (paused, automation will not start it)",
                "power": f"fix power at {self._power_words(name, float(watts_ or 0))}"}[mode]
        self.confirm_and_send(f"Override {name}", f"{name}: {what} {describe_expiry(args)}.\n"
                              f"Release it any time with [b]a[/] (back to automatic).", actions.OVERRIDE, args)

    def miner_release(self, name: str) -> None:
        who = "every miner" if name == "*" else name
        self.confirm_and_send(f"Release {who}", f"{who}: drop the manual override and return to automatic "
                              "control.", actions.RELEASE, {"miner": name})

    def _current_target(self, name: str) -> float | None:
        st = self.state
        if st is None:
            return None
        ov = (st.overrides or {}).get(name)
        if isinstance(ov, dict) and ov.get("watts"):
            return float(ov["watts"])
        d = st.decision.miners.get(name) if st.decision else None
        if d is not None and d.target_w:
            return float(d.target_w)
        s = st.samples.get(name)
        if s is not None:
            return s.power_limit_w or s.power_w
        return None

    def _power_words(self, name: str, w: float) -> str:
        """A power override as the miner will run it: the decider quantises it down to the miner's
        step or level (policy/quantize.py), so the confirmation names that, not the typed watts."""
        caps = self._caps(name)
        if caps is None or not (caps.power_target or caps.levels):
            return watts(w)
        lad = _ladder(caps)
        runs = lad.snap(w)
        level = lad.level_name(runs)
        shown = f"level {level} ({watts(runs)})" if level is not None else watts(runs)
        if abs(runs - w) < 0.5:
            return shown
        return f"{shown}, the nearest it can run at or below {watts(w)}"

    def miner_step(self, name: str, direction: int) -> None:
        caps = self._caps(name)
        base = self._current_target(name)
        if base is None:
            self.notify(f"{name}: no current power to step from; type watts with w", severity="warning")
            return
        levels = _ladder(caps).levels if caps is not None and not caps.power_target else ()
        if levels:
            # one level up or down: 100 W more is quantised back down to the same level
            nxt = ([w for w in levels if w > base + 0.5][:1] if direction > 0
                   else [w for w in levels if w < base - 0.5][-1:])
            if not nxt:
                self.notify(f"{name}: already at its {'highest' if direction > 0 else 'lowest'} level",
                            severity="warning")
                return
            self.miner_override(name, "power", watts_=nxt[0])
            return
        step = (caps.step_w if caps is not None and caps.step_w else 0.0) or DEFAULT_STEP_W
        target = base + direction * step
        if caps is not None and caps.power_target:
            target = min(max(target, caps.min_w), caps.max_w)
        if target <= 0:
            self.notify(f"{name}: already at its lowest power", severity="warning")
            return
        self.miner_override(name, "power", watts_=target)

    @work(group="prompts", exit_on_error=False)
    async def miner_set_power(self, name: str) -> None:
        from .screens import PromptScreen
        caps = self._caps(name)
        rng = ""
        if caps is not None and caps.power_target:
            rng = f" ({watts(caps.min_w)}–{watts(caps.max_w)})"
        elif caps is not None and caps.levels:
            rng = f" (its levels: {', '.join(watts(w) for w in _ladder(caps).levels)})"
        cur = self._current_target(name)
        text = await self.push_screen_wait(PromptScreen(
            f"Power target for {name}", f"Watts{rng}, e.g. 1800 or 1.8kW. Held for "
            f"{duration(DEFAULT_OVERRIDE_S)}.", "watts", "" if cur is None else f"{cur:.0f}"))
        if text is None or not text.strip():
            return
        from ..config.types import parse_power
        try:
            w = parse_power(text.strip())
            if w <= 0:
                raise ValueError("power must be positive")
        except ValueError as e:
            self.notify(f"{name}: {e}", severity="error")
            return
        self.miner_override(name, "power", watts_=w)

    @work(group="prompts", exit_on_error=False)
    async def miner_override_for(self, name: str) -> None:
        from .screens import ChoiceScreen, PromptScreen
        mode = await self.push_screen_wait(ChoiceScreen(
            f"Override {name}", [("on", "Force on"), ("off", "Force off"), ("power", "Fixed power…")]))
        if mode is None:
            return
        w = None
        if mode == "power":
            text = await self.push_screen_wait(PromptScreen(f"Power for {name}", "Watts, e.g. 1800 or 1.8kW",
                                                            "watts"))
            if not text:
                return
            from ..config.types import parse_power
            try:
                w = parse_power(text.strip())
            except ValueError as e:
                self.notify(str(e), severity="error")
                return
        text = await self.push_screen_wait(PromptScreen(
            f"How long for {name}?", "2h, 30m, 1h30m, until 18:00, until sunset, or until released", "2h",
            # filled in, not a placeholder: a grey "2h" looked like the default while enter on the
            # empty field meant "until released"
            "2h"))
        if text is None:
            return
        try:
            expiry = parse_duration_text(text)
        except ValueError as e:
            self.notify(str(e), severity="error")
            return
        self.miner_override(name, mode, expiry, w)

    def open_detail(self, name: str) -> None:
        from .screens import MinerDetailScreen
        if isinstance(self.screen, MinerDetailScreen):
            return      # `i` on the open detail: a second screen with its id ended the console (DuplicateIds)
        self.push_screen(MinerDetailScreen(name))

    def site_pause(self, pause: bool) -> None:
        if pause:
            self.confirm_and_send("Pause automation", "The whole site: nothing will be commanded until you "
                                  "resume. Miners keep their current state.", actions.PAUSE, {})
        else:
            self.confirm_and_send("Resume automation", "The whole site: the engine commands the miners "
                                  "again from the next cycle.", actions.RESUME, {})

    def site_observe(self, on_: bool) -> None:
        body = ("The whole site: decisions are still made and shown, but no miner is commanded."
                if on_ else "The whole site: miners are commanded again from the next cycle.")
        self.confirm_and_send(f"Observe only {'on' if on_ else 'off'}", body, actions.OBSERVE_ONLY, {"on": on_})

    def site_policy(self, mode: str) -> None:
        self.confirm_and_send(f"Switch policy to {mode}", f"The whole site: decisions follow the "
                              f"[b]{mode}[/] policy from the next cycle.", actions.SET_POLICY, {"mode": mode})

    # --- key actions ----------------------------------------------------------------------------


def _ladder(caps):
    """The miner's powers as the decider quantises a target to them (policy/quantize.py): its
    levels in order, the level a power snaps to."""
    from ..policy.quantize import Ladder
    return Ladder(caps)
