"""The console. It renders engine state and sends requests; it never decides anything itself.

Owner: this process holds the data directory's lock and runs the engine as a worker; requests go to
``engine.request``. Observer: another process owns the fleet; we poll its state from the store and
write requests to the store's inbox. The header says which one we are.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Header, Static, TabbedContent, TabPane

from ..energy.snapshot import reading_names
from ..engine import actions
from ..format import duration
from .commands import ConsoleCommands
from .controls import MinerControls, _detail_cls
from .fmt import power
from .panels import Panel
from .panels.energy import EnergyPanel

if TYPE_CHECKING:
    from ..engine.events import EngineState, Event     # the runtime's: imported with it, after the first frame
    from .panels.events import EventsPanel
    from .panels.fleet import FleetPanel

log = logging.getLogger("edgemining_tui.ui")

HISTORY_RELOAD_S = 60.0
DECISION_LOG_RELOAD_S = 10.0
# The status line shows the state's time to the minute (a seconds clock repainted the screen every
# cycle); that the engine is alive is checked instead: no state for this long says so in red.
SILENT_AFTER_MIN_S = 30.0
SILENT_CHECK_S = 5.0

# Colour variables the stylesheets use, declared once; themes/*.yaml override them.
THEME_VARIABLE_DEFAULTS = {
    "solar": "#F5B700", "house": "#9BA8B8", "grid-import": "#E5484D", "grid-export": "#46A758",
    "battery": "#3FB7C9", "miners": "#B689F0", "miner-mining": "#46A758", "miner-ramping": "#F5B700",
    "miner-idle": "#8B96A5", "miner-fault": "#E5484D", "heat-demand": "#F2784B", "stale": "#F5A524",
    "override": "#D68CF0", "zebra": "#1A222C",
}
# The panels the first frame does not show: built, and their modules imported, once it is out
# (about a tenth of the start-up's CPU; RichLog alone brings rich.pretty and attrs).
LATER_PANELS = {"fleet": "FleetPanel", "rules": "RulesPanel", "heat": "HeatPanel", "history": "HistoryPanel",
                "events": "EventsPanel"}


class StateArrived(Message, bubble=False):
    def __init__(self, state: EngineState) -> None:
        super().__init__()
        self.state = state

    def can_replace(self, message: Message) -> bool:   # a newer state supersedes a queued one
        return isinstance(message, StateArrived)


class EventArrived(Message, bubble=False):
    def __init__(self, ts: float, kind: str, message: str, severity: str = "info", miner: str | None = None) -> None:
        super().__init__()
        self.ts, self.kind, self.text, self.severity, self.miner = ts, kind, message, severity, miner


class EdgeMiningApp(MinerControls, App[int]):
    TITLE = "edgemining-tui"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
    PANELS = (("energy", "Energy"), ("fleet", "Fleet"), ("rules", "Rules"), ("heat", "Heat"),
              ("history", "History"), ("events", "Events"))
    BINDINGS = [
        Binding("1", "show_panel('energy')", "Energy", id="nav.energy", tooltip="Energy flow panel"),
        Binding("2", "show_panel('fleet')", "Fleet", id="nav.fleet", tooltip="Fleet table"),
        Binding("3", "show_panel('rules')", "Rules", id="nav.rules", tooltip="Policy, terms, timers, decision log"),
        Binding("4", "show_panel('heat')", "Heat", id="nav.heat", tooltip="Heat zones"),
        Binding("5", "show_panel('history')", "History", id="nav.history", tooltip="24 h / 7 d charts and totals"),
        Binding("6", "show_panel('events')", "Events", id="nav.events", tooltip="Commands, faults, overrides"),
        Binding("o", "miner_on", "Run", id="miner.on", tooltip="Force the selected miner on (asks first)"),
        Binding("x", "miner_off", "Stop", id="miner.off", tooltip="Force the selected miner off (asks first)"),
        Binding("plus", "miner_step(1)", "+W", id="miner.power_up", tooltip="One power step up (asks first)"),
        Binding("minus", "miner_step(-1)", "-W", id="miner.power_down", tooltip="One power step down (asks first)"),
        Binding("w", "miner_set_power", "Watts", id="miner.set_power", tooltip="Type a power target (asks first)"),
        Binding("d", "miner_override_for", "For…", id="miner.override_for",
                tooltip="Override on/off/watts for a duration: 2h, until 18:00, until sunset"),
        Binding("a", "miner_release", "Auto", id="miner.release", tooltip="Release the override (asks first)"),
        Binding("i", "miner_detail", "Info", id="miner.detail", tooltip="Boards, pools, errors, commands"),
        Binding("slash", "fleet_filter", "Filter", id="fleet.filter", tooltip="Filter the fleet table"),
        Binding("s", "fleet_sort", "Sort", id="fleet.sort", tooltip="Sort by the next column"),
        Binding("r", "history_range", "Range", id="history.range",
                tooltip="Energy: chart 1 h / 24 h / 7 d; History: day / week / month"),
        Binding("v", "energy_view", "Picture/chart", id="energy.view",
                tooltip="Energy: when both do not fit, show the chart instead of the picture (or back)"),
        Binding("left_square_bracket", "history_shift(-1)", "Earlier", id="history.earlier",
                tooltip="History: the periods before"),
        Binding("right_square_bracket", "history_shift(1)", "Later", id="history.later",
                tooltip="History: the periods after"),
        Binding("g", "history_date", "Date", id="history.date", tooltip="History: type the last date to show"),
        Binding("p", "toggle_pause", "Pause", id="site.pause", tooltip="Pause / resume automation (asks first)"),
        Binding("O", "toggle_observe", "Observe", id="site.observe", show=False,
                tooltip="Observe only on/off: decide but never command (asks first)"),
        Binding("c", "force_cycle", "Cycle", id="site.cycle", tooltip="Run a cycle now"),
        Binding("R", "reload_config", "Reload", id="site.reload", show=False, tooltip="Re-read the config (asks first)"),
        Binding("P", "switch_policy", "Policy", id="site.policy", show=False, tooltip="Switch policy (asks first)"),
        Binding("S", "next_site", "Site", id="app.next_site", show=False, tooltip="Next site (ui.sites / --site)"),
        Binding("t", "switch_theme", "Theme", id="app.theme", show=False, tooltip="Pick a theme"),
        Binding("colon", "command_palette", "Palette", id="app.palette", show=False, tooltip="Command palette"),
        Binding("question_mark,f1", "help", "Help", id="app.help", tooltip="All keys"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Quit (the owner stops controlling)"),
    ]
    MINER_ACTIONS = {"miner_on", "miner_off", "miner_step", "miner_set_power", "miner_override_for",
                     "miner_release", "miner_detail"}

    def __init__(self, cfg, data_dir: Path | None = None, observe: bool = False,
                 config_path: Path | None = None, *, runtime: Any = None, clock: Any = None,
                 run_engine: bool = True, fleet_throttle_s: float | None = None, prefill_demo: bool = False) -> None:
        # NO_COLOR: Textual's default is its Monochrome filter, greys in 256-colour codes; with ANSI
        # colours allowed it strips colour altogether (NoColor), and app.tcss marks the cursor, focus
        # and selection with reverse / bold instead (the :nocolor rules)
        super().__init__(ansi_color=True if "NO_COLOR" in os.environ else None)
        self.cfg = cfg
        self.data_dir = data_dir
        self.observe = observe
        self.config_path = config_path
        self.tz = ZoneInfo(cfg.site.timezone)
        self.rt = runtime
        self._own_runtime = runtime is None
        self.clock = clock or (runtime.clock if runtime is not None else None)
        self.run_engine = run_engine
        self.prefill_demo = prefill_demo   # write the demo's simulated days into data_dir after the first frame
        self.link: Any = None
        self.state: EngineState | None = None
        self.store: Any = runtime.store if runtime is not None else None
        self.refresh_s = max(0.1, float(cfg.ui.refresh_interval))
        self.fleet_throttle_s = max(1.0, self.refresh_s) if fleet_throttle_s is None else fleet_throttle_s
        self._fleet_last = -1e18
        self._fleet_timer = None
        self._fleet_had_miner: bool | None = None
        self._energy_last = -1e18
        self._stop = asyncio.Event()
        self._unsubscribe = None
        self._log_loaded_at = -1e18
        self._status_text = ""
        self._clock_minute: int | None = None
        self._clock_text = ""
        self._state_at: float | None = None     # monotonic time of the last state, while we run the engine
        self.active_panel_id = "energy"
        self.animation_level = "full" if cfg.ui.animations else "none"
        self._theme_problems: list[str] = []
        self.panels_ready = False      # the panels of LATER_PANELS are mounted

    def get_driver_class(self):
        """Textual's choice, except that its Linux terminal driver becomes one whose input thread
        sleeps while no key comes (ui/driver.py): ~0.25 % of a core at rest."""
        chosen = super().get_driver_class()
        from textual.drivers.linux_driver import LinuxDriver
        if chosen is LinuxDriver:
            try:
                # it reuses Textual's private parser modules: a Textual release that moves them
                # costs the quarter per cent, never the start
                from .driver import QuietLinuxDriver
            except Exception as e:
                log.warning("console: Textual's own terminal driver (the idle one cannot load: %s)", e)
                return chosen
            return QuietLinuxDriver
        return chosen

    # --- look ---------------------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        return dict(THEME_VARIABLE_DEFAULTS)

    def compose(self) -> ComposeResult:
        yield Header(icon="⚡")
        yield Static("starting…", id="status")
        with TabbedContent(initial="energy", id="panels"):
            for n, (pid, title) in enumerate(self.PANELS, 1):
                with TabPane(f"{n} {title}", id=pid):
                    if pid not in LATER_PANELS:
                        yield EnergyPanel(id=f"panel-{pid}")
        yield Footer()

    def on_load(self) -> None:
        # the theme is chosen before the widgets are mounted: choosing it later restyles them all
        from .theming import load_themes
        themes, problems = load_themes()
        for t in themes.values():
            self.register_theme(t)
        want = self.cfg.ui.theme or "edgemining-dark"
        try:
            self.theme = want
        except Exception:
            self.theme = "edgemining-dark" if "edgemining-dark" in themes else "textual-dark"
            problems.append(f"ui.theme: unknown theme {want!r}; using {self.theme}")
        self._theme_problems = problems
        if self.cfg.ui.keymap:
            self.set_keymap(dict(self.cfg.ui.keymap))

    def on_mount(self) -> None:
        for p in self._theme_problems:
            self.notify(p, severity="error", timeout=15)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.sub_title = f"{self.cfg.site.name} · starting"
        # the first frame goes out before the heavy work (the other panels, demo history, imports,
        # opening the store)
        self.call_after_refresh(self._after_first_frame)

    async def _after_first_frame(self) -> None:
        from .launch import resume_gc
        resume_gc()
        await self._mount_later_panels()
        if self.return_code is None:        # else the app is ending (a panel failed, or `q`)
            self._start_worker()

    async def _mount_later_panels(self) -> None:
        """The panels behind the other tabs. Any state arrives after them (the engine starts once
        they are in); a tab chosen meanwhile is shown now. A panel that cannot be built fails the
        start as it did when it was composed with the rest: shown, and no engine started."""
        panels = []
        for pid, cls_name in LATER_PANELS.items():
            module = importlib.import_module(f"{__package__}.panels.{pid}")
            panels.append((self.query_one(f"#{pid}", TabPane), getattr(module, cls_name)(id=f"panel-{pid}")))
        await asyncio.gather(*(pane.mount(panel) for pane, panel in panels))
        self.panels_ready = True
        active = self.query_one("#panels", TabbedContent).active
        if active != self.active_panel_id:
            self._panel_shown(active)

    def _start_worker(self) -> None:
        self.run_worker(self._start(), name="engine", group="engine", exit_on_error=False)

    def _theme_changed(self, _theme) -> None:
        if not self.panels_ready:
            return          # they take the theme's styles when they mount
        for p in (self.fleet_panel, self.events_panel):
            p.refresh_styles()
        if self.state is not None:
            self._render(force=True)

    # --- panels -------------------------------------------------------------------------------
    @property
    def fleet_panel(self) -> FleetPanel:
        return self.panel("fleet")

    @property
    def events_panel(self) -> EventsPanel:
        return self.panel("events")

    @property
    def energy_panel(self) -> EnergyPanel:
        return self.query_one("#panel-energy", EnergyPanel)

    def panel(self, pid: str) -> Panel:
        return self.query_one(f"#panel-{pid}", Panel)

    def action_show_panel(self, pid: str) -> None:
        self.query_one("#panels", TabbedContent).active = pid

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # a tab chosen before its panel is mounted (keys typed ahead) is shown once it is, and
        # until then the keys act as on the panel before it
        if self.panels_ready:
            self._panel_shown(event.pane.id or "energy")

    def _panel_shown(self, pid: str) -> None:
        self.active_panel_id = pid
        self.refresh_bindings()
        if self.state is not None:
            self._render(force=True)
        panel = self.query_one(f"#panel-{pid}", Panel)
        # after the layout that gives the panel its size: a resize while another panel showed
        # reaches it without a Resize event of its own
        self.call_after_refresh(panel.activated)
        if pid == "fleet":
            self.call_after_refresh(self.fleet_panel.table.focus)

    # --- engine / observer --------------------------------------------------------------------
    async def _start(self) -> None:
        if self.rt is None:
            if self.prefill_demo and self.data_dir is not None:
                from ..cli import prefill_demo_dir
                try:
                    await asyncio.to_thread(prefill_demo_dir, self.data_dir, self.cfg)
                except Exception as e:  # the demo runs without its back story
                    log.warning("demo history not pre-filled: %s: %s", type(e).__name__, e)
            # imported off the event loop, so keys and repaints are served meanwhile
            await asyncio.to_thread(importlib.import_module, "edgemining_tui.runtime")
            from ..runtime import open_runtime
            # the config file too: `R` re-reads it (without it the owner answers "not available")
            self.rt = await open_runtime(self.cfg, data_dir=self.data_dir, observe=self.observe,
                                         on_store=self._first_chart, config_path=self.config_path)
        rt = self.rt
        self.store = rt.store
        self.clock = self.clock or rt.clock
        from .link import ObserverLink, make_link
        self.link = make_link(rt, poll_s=self.refresh_s)
        role = rt.role
        if self.cfg.ui.sites and rt.engine is None:
            # sites watched through the broker: their owners publish state and take requests there
            from ..homebus.remote import MqttSitesLink
            self.link = MqttSitesLink(self.cfg.mqtt_publish, list(self.cfg.ui.sites), now=self.clock.now)
            self.link.start()
            self.sub_title = self.link.describe()
            self.set_class(True, "-observer")
            try:
                await self._observe_loop()
            finally:
                await self.link.close()
            return
        if role == "owner":
            self.sub_title = f"{self.cfg.site.name} · OWNER (controls the fleet)"
        elif isinstance(self.link, ObserverLink):
            self.sub_title = self.link.title(self.cfg.site.name)
        self.set_class(role == "observer", "-observer")
        await self._backfill()
        if rt.engine is not None:
            self._unsubscribe = rt.engine.subscribe(self._on_engine)
            if rt.engine.state is not None:
                self.post_message(StateArrived(rt.engine.state))
            if self.run_engine:
                self._state_at = time.monotonic()
                self.set_interval(SILENT_CHECK_S, self._check_silent)
                await rt.engine.run(self._stop)
        else:
            await self._observe_loop()

    async def _first_chart(self, store) -> None:
        """The energy chart from history as soon as the store is open (before miners come up)."""
        try:
            await self.energy_panel.load_chart(store, time.time(), self.tz)
        except Exception as e:  # history is nice to have; never a reason not to start
            log.warning("could not read history: %s", e)

    async def _backfill(self) -> None:
        """Fill the energy chart's window and the event log from the store, off the UI thread."""
        try:
            if self.energy_panel.chart_due(self.clock.now()):
                await self.energy_panel.load_chart(self.store, self.clock.now(), self.tz)
            if self.rt.engine is not None:
                evs = await asyncio.to_thread(
                    self.store.query, "select * from events order by rowid desc limit 200")
                for r in reversed(evs):
                    self.events_panel.add(r["ts"], r["kind"], r["message"] or "", r["severity"] or "info", self.tz)
        except Exception as e:  # history is nice to have; never a reason not to start
            log.warning("could not read history: %s", e)

    async def _observe_loop(self) -> None:
        from .link import ObserverLink
        first = True
        while not self._stop.is_set():
            if isinstance(self.link, ObserverLink):   # the owner stopped, or another one took over
                self.sub_title = self.link.title(self.cfg.site.name)
            try:
                st = await self.link.poll_state()
                if st is not None:
                    self.post_message(StateArrived(st))
                for r in await self.link.poll_events(first=first):
                    self.post_message(EventArrived(r["ts"], r["kind"], r["message"] or "", r["severity"] or "info",
                                                   r.get("miner")))
                first = False
            except Exception as e:  # a locked or busy database: try again next tick
                log.warning("observer poll failed: %s", e)
            if self.state is not None:
                self._update_status(self.state)
            await asyncio.sleep(self.refresh_s)

    def _on_engine(self, item: EngineState | Event) -> None:
        if isinstance(item, _engine_state_cls()):
            if self._thread_id == threading.get_ident():
                # the engine runs in this app's loop: shown now, in the cycle's own turn, not after
                # a round trip through Textual's message queue (a fifth of the UI's CPU per state)
                self._show_state(item)
            else:
                self.post_message(StateArrived(item))
        else:
            self.post_message(EventArrived(item.ts, item.kind, item.message, item.severity, item.miner))

    @on(StateArrived)
    def _state_arrived(self, message: StateArrived) -> None:
        self._show_state(message.state)

    def _show_state(self, state: EngineState) -> None:
        if not self.is_running:     # closing: its widgets are going or gone
            return
        self.state = state
        if self._state_at is not None:
            self._state_at = time.monotonic()
        self._render()

    def _silent_for(self) -> float | None:
        """Seconds without a state from the engine this console runs, once that is too long."""
        if self._state_at is None:
            return None
        gap = time.monotonic() - self._state_at
        limit = max(SILENT_AFTER_MIN_S, 3 * float(self.cfg.site.cycle_interval))
        return gap if gap >= limit else None

    def _check_silent(self) -> None:
        if self.state is not None:
            self._update_status(self.state)

    @on(EventArrived)
    def _event_arrived(self, m: EventArrived) -> None:
        if not self.is_running:     # an engine event while the console closes: no traceback at exit
            return
        self.events_panel.add(m.ts, m.kind, m.text, m.severity, self.tz)
        if m.severity in ("warning", "error") and m.kind in ("fault", "failsafe"):
            self.notify(m.text, severity="warning" if m.severity == "warning" else "error", timeout=8)

    def _render(self, force: bool = False) -> None:
        st = self.state
        if st is None:
            return
        try:
            self._update_status(st)
            pid = self.active_panel_id
            if pid == "fleet":
                self._render_fleet(force)
            elif pid == "energy":
                ep = self.energy_panel
                ep.show(st, force=force)
                self._maybe_load_chart(force, ep)
            elif pid in ("rules", "heat"):
                self.panel(pid).show(st)
            if pid == "rules":
                self._maybe_load_decision_log(force)
            elif pid == "history":
                self._maybe_load_history(force)
            if isinstance(self.screen, _detail_cls()):
                self.screen.show(st)
        except Exception:  # rendering must never take the console down
            log.exception("render failed")

    def _render_fleet(self, force: bool) -> None:
        now = time.monotonic()
        wait = self.fleet_throttle_s - (now - self._fleet_last)
        if force or wait <= 0:
            self._fleet_last = now
            if self._fleet_timer is not None:
                self._fleet_timer.stop()
                self._fleet_timer = None
            self.fleet_panel.show(self.state)
            # the footer recomposes on every refresh_bindings: only when the miner keys come or go
            has_miner = self.fleet_panel.selected() is not None
            if has_miner != self._fleet_had_miner:
                self._fleet_had_miner = has_miner
                self.refresh_bindings()
        elif self._fleet_timer is None:
            self._fleet_timer = self.set_timer(wait, self._fleet_flush)

    def _fleet_flush(self) -> None:
        self._fleet_timer = None
        if self.active_panel_id == "fleet" and self.state is not None:
            self._render_fleet(force=True)

    def action_next_site(self) -> None:
        """S: the next site watched through the broker (ui.sites / --site)."""
        switch = getattr(self.link, "switch", None)
        if switch is None:
            self.notify("only one site here: list more under ui.sites or with --site", timeout=4)
            return
        switch()
        self.sub_title = self.link.describe()
        self.notify(self.link.describe(), timeout=3)

    def _update_status(self, st: EngineState) -> None:
        describe = getattr(self.link, "describe", None)
        if describe is not None:
            self.sub_title = describe()
        minute = int(st.ts // 60)
        if minute != self._clock_minute:      # the status line shows the time to the minute
            self._clock_minute, self._clock_text = minute, _clock(st.ts, self.tz)
        parts = [self._clock_text]
        silent = self._silent_for()
        if silent is not None:
            parts.append(f"[$error]engine silent for {duration(silent)}[/]")
        if self.link is not None and self.link.role == "observer" and self.clock is not None:
            gone = self.link.owner_gone(st.ts) if hasattr(self.link, "owner_gone") else ""
            lag = self.clock.now() - st.ts
            if gone:
                parts.append(f"[$error]{gone}[/]")
            else:
                parts.append(f"owner's state {duration(lag)} old" if lag < 3600 else "[$error]owner silent[/]")
        parts.append("[$warning]PAUSED[/]" if st.paused else "automation on")
        if st.observe_only:
            parts.append("[$warning]OBSERVE ONLY[/]")
        parts.append(f"policy {self.policy_mode() or '?'}")
        running = sum(1 for s in st.samples.values() if s.running)
        parts.append(f"{running}/{len(st.samples)} mining {power(st.miners_w)}")
        if st.stale:
            parts.append(f"[$stale]STALE {reading_names(st.stale)}[/]")
        if st.faults:
            parts.append(f"[$error]{len(st.faults)} fault{'s' if len(st.faults) > 1 else ''}[/]")
        # miners' overrides: pause and observe only (site.observe_only is one) say so above
        n_ov = sum(1 for v in (st.overrides or {}).values() if isinstance(v, dict) and v.get("miner"))
        if n_ov:
            parts.append(f"[$override]{n_ov} override{'s' if n_ov > 1 else ''}[/]")
        text = " · ".join(parts)
        if text != self._status_text:
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)   # one row, always

    def _maybe_load_history(self, force: bool) -> None:
        hp = self.panel("history")
        now = self.clock.now()
        if force or now - hp.loaded_at >= HISTORY_RELOAD_S:
            hp.loaded_at = now   # no second query while this one runs
            gap = max(60.0, 3 * float(self.cfg.site.cycle_interval))
            self.run_worker(hp.load(self.store, now, self.tz, gap, self.cfg.economics,
                                    float(self.cfg.site.cycle_interval)),
                            group="history", exclusive=True, exit_on_error=False)

    def _maybe_load_chart(self, force: bool, ep: EnergyPanel | None = None) -> None:
        ep = ep or self.energy_panel
        now = self.clock.now()
        if force and ep.chart is not None and ep.chart.get("window") == ep.window and not ep.chart_due(now):
            ep.draw_charts(self.tz)     # a theme or panel switch: redraw what we have
        elif ep.chart_due(now):
            ep.chart_loaded_at = now    # no second query while this one runs
            self.run_worker(ep.load_chart(self.store, now, self.tz), group="chart", exclusive=True,
                            exit_on_error=False)

    def _maybe_load_decision_log(self, force: bool) -> None:
        now = self.clock.now()
        if not force and now - self._log_loaded_at < DECISION_LOG_RELOAD_S:
            return
        self._log_loaded_at = now

        async def load() -> None:
            rows = await asyncio.to_thread(self.store.query,
                                           "select * from decisions order by ts desc limit 40")
            self.panel("rules").show_log(rows, self.tz)
        self.run_worker(load(), group="decision-log", exclusive=True, exit_on_error=False)

    # --- which actions apply now ----------------------------------------------------------------
    def _need_miner(self) -> str | None:
        name = self.selected_miner()
        if name is None:
            self.notify("select a miner in the Fleet panel first", severity="warning", timeout=3)
        return name

    def action_miner_on(self) -> None:
        if name := self._need_miner():
            self.miner_override(name, "on")

    def action_miner_off(self) -> None:
        if name := self._need_miner():
            self.miner_override(name, "off")

    def action_miner_step(self, direction: int) -> None:
        if name := self._need_miner():
            self.miner_step(name, int(direction))

    def action_miner_set_power(self) -> None:
        if name := self._need_miner():
            self.miner_set_power(name)

    def action_miner_override_for(self) -> None:
        if name := self._need_miner():
            self.miner_override_for(name)

    def action_miner_release(self) -> None:
        if name := self._need_miner():
            self.miner_release(name)

    def action_miner_detail(self) -> None:
        if name := self._need_miner():
            self.open_detail(name)

    def on_data_table_row_selected(self, event) -> None:
        if event.data_table.id == "fleet-table" and event.row_key is not None:
            self.open_detail(event.row_key.value)

    def action_fleet_filter(self) -> None:
        self.query_one("#fleet-filter").focus()

    def action_fleet_sort(self) -> None:
        self.fleet_panel.cycle_sort()

    def action_history_range(self) -> None:
        if self.active_panel_id == "energy":
            self.energy_panel.next_window()
            self._maybe_load_chart(force=False)
            return
        self.panel("history").toggle_range()
        self._maybe_load_history(force=True)

    def action_energy_view(self) -> None:
        self.energy_panel.toggle_view()
        if self.energy_panel.chart is not None:
            self.call_after_refresh(self.energy_panel.draw_charts, self.tz)

    def action_history_shift(self, steps: int) -> None:
        hp = self.panel("history")
        hp.shift(int(steps), self._today())
        self._maybe_load_history(force=True)

    def action_history_date(self) -> None:
        self.query_one("#history-date").focus()

    def _today(self):
        from datetime import datetime
        return datetime.fromtimestamp(self.clock.now(), self.tz).date()

    def on_input_submitted(self, event) -> None:
        if event.input.id != "history-date":
            return
        hp = self.panel("history")
        problem = hp.pick(event.value, self._today())
        if problem:
            self.notify(problem, severity="warning", timeout=5)
            return
        self.query_one("#history-table").focus()
        self._maybe_load_history(force=True)

    def action_toggle_pause(self) -> None:
        self.site_pause(not (self.state.paused if self.state else False))

    def action_toggle_observe(self) -> None:
        self.site_observe(not (self.state.observe_only if self.state else False))

    def action_force_cycle(self) -> None:
        if self.link is None:
            return
        if self.link.role == "owner":
            self.link.force_cycle()
            self.notify("cycle requested", timeout=2)
        else:
            self.confirm_and_send("Cycle now", "", actions.CYCLE, {}, confirm=False)

    def action_reload_config(self) -> None:
        where = f" from {self.config_path}" if self.config_path else ""
        self.confirm_and_send("Reload config", f"The engine re-reads its config{where}: the policy and its rules "
                              "files apply from the next cycle, with timers and overrides kept. If another "
                              "section changed (miners, energy, site...), nothing is applied: those need a "
                              "restart.", actions.RELOAD, {})

    @work(group="prompts", exit_on_error=False)
    async def action_switch_policy(self) -> None:
        from ..policy.config import MODES
        from .screens import ChoiceScreen
        labels = {"surplus": "surplus — share the solar surplus (allocator)",
                  "rules": "rules — start/stop rules decide", "manual": "manual — only overrides"}
        mode = await self.push_screen_wait(ChoiceScreen("Switch policy", [(m, labels.get(m, m)) for m in MODES],
                                                        self.policy_mode()))
        if mode:
            self.site_policy(mode)

    def policy_mode(self) -> str | None:
        """The policy the engine runs now, as its last decision says (P switches it at run time, so
        the config's own mode is only what it started with)."""
        st = self.state
        mode = st.decision.terms.get("mode") if st is not None and st.decision is not None else None
        return mode or getattr(self.cfg.policy, "mode", None)

    def action_switch_theme(self) -> None:
        self.search_themes()

    def help_rows(self) -> list[tuple[str, str, str, str]]:
        keymap = dict(self.cfg.ui.keymap or {})
        rows = []
        for b in self.BINDINGS:
            if isinstance(b, Binding):
                key = keymap.get(b.id or "", b.key)
                rows.append((self.get_key_display(Binding(key.split(",")[0], b.action)) + (
                    "" if "," not in key else " " + " ".join(self.get_key_display(Binding(k, b.action))
                                                             for k in key.split(",")[1:])),
                             b.description, b.id or "", b.tooltip or ""))
        rows.append(("ctrl+p", "Palette", "(textual)", "Command palette: every action by name"))
        rows.append(("enter", "Details", "(fleet table)", "Open the selected miner"))
        return rows

    def action_help(self) -> None:
        from .screens import HelpScreen
        self.push_screen(HelpScreen(self.help_rows()))

    async def action_quit(self) -> None:
        self._stop.set()
        self.exit(0)

    async def on_unmount(self) -> None:
        self._stop.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._own_runtime and self.rt is not None:
            try:
                await self.rt.close()
            except Exception:
                log.exception("closing the runtime failed")


def _engine_state_cls():
    from ..engine.events import EngineState     # imported with the runtime, after the first frame
    return EngineState


def _clock(ts: float, tz) -> str:
    from datetime import datetime
    return datetime.fromtimestamp(ts, tz).strftime("%H:%M")


__all__ = ["EdgeMiningApp", "StateArrived", "EventArrived", "ModalScreen"]
