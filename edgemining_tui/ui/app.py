"""The console. It renders engine state and sends requests; it never decides anything itself."""
from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, RichLog, Static

from ..engine.events import EngineState, Event
from ..format import duration, kw


class EnergyPanel(Static):
    def show(self, st: EngineState) -> None:
        snap = st.snapshot
        now = st.ts
        soc = snap.value("battery_soc_pct")
        grid = snap.value("grid_import_w")
        bat = snap.value("battery_charge_w")
        grid_txt = "—" if grid is None else (f"importing {kw(grid)}" if grid > 0 else f"exporting {kw(-grid)}")
        bat_txt = "—" if bat is None else (f"charging {kw(bat)}" if bat > 0 else f"discharging {kw(-bat)}")
        avail = st.decision.available_w if st.decision else None
        ages = " ".join(f"{n.split('_')[0]} {r.age(now):.0f}s" for n, r in snap.readings().items())
        lines = [
            f"PV      {kw(snap.value('pv_w'))}",
            f"House   {kw(snap.value('house_w'))}",
            f"Miners  {kw(st.miners_w)}",
            f"Grid    {grid_txt}",
            f"Battery {bat_txt}{'' if soc is None else f'  SoC {soc:.0f} %'}",
            f"For miners {kw(avail)}",
            f"age: {ages}",
        ]
        if st.stale:
            lines.append(f"STALE: {', '.join(st.stale)}")
        self.update("\n".join(lines))


class EdgeMiningApp(App):
    TITLE = "edgemining-tui"
    CSS = """
    #top { height: 10; }
    EnergyPanel { width: 44; border: round $primary; padding: 0 1; }
    #fleet { border: round $primary; }
    RichLog { border: round $primary; height: 1fr; }
    """
    BINDINGS = [Binding("q", "quit", "Quit", id="quit"),
                Binding("c", "force_cycle", "Cycle now", id="force_cycle")]

    def __init__(self, cfg, data_dir: Path | None = None, observe: bool = False,
                 config_path: Path | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.data_dir = data_dir
        self.observe = observe
        self.config_path = config_path
        self.tz = ZoneInfo(cfg.site.timezone)
        self.rt = None
        self._stop = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="top"):
            yield EnergyPanel("starting…", id="energy")
            yield DataTable(id="fleet", cursor_type="row")
        yield RichLog(id="events", max_lines=500, wrap=False)
        yield Footer()

    def on_mount(self) -> None:
        t = self.query_one("#fleet", DataTable)
        for key in ("miner", "state", "power", "target", "reason"):
            t.add_column(key, key=key)
        self.run_worker(self._start(), exclusive=True, group="engine")

    async def _start(self) -> None:
        from ..runtime import open_runtime
        self.rt = await open_runtime(self.cfg, data_dir=self.data_dir, observe=self.observe)
        self.sub_title = f"{self.cfg.site.name} · {self.rt.role}"
        if self.rt.engine is not None:
            self.rt.engine.subscribe(self._on_engine)
            await self.rt.engine.run(self._stop)
        else:
            from ..engine.serialize import state_from_dict
            while not self._stop.is_set():
                d = await asyncio.to_thread(self.rt.store.get, "state")
                if d:
                    self.render_state(state_from_dict(d))
                await asyncio.sleep(self.cfg.ui.refresh_interval)

    def _on_engine(self, item: EngineState | Event) -> None:
        if isinstance(item, EngineState):
            self.render_state(item)
        else:
            t = datetime.fromtimestamp(item.ts, self.tz).strftime("%H:%M:%S")
            self.query_one(RichLog).write(f"{t} {item.kind}: {item.message}")

    def render_state(self, st: EngineState) -> None:
        self.query_one(EnergyPanel).show(st)
        t = self.query_one("#fleet", DataTable)
        for name, s in st.samples.items():
            d = st.decision.miners.get(name) if st.decision else None
            row = (name, s.state.value, "—" if s.power_w is None else f"{s.power_w:.0f} W",
                   "—" if d is None or d.target_w is None else f"{d.target_w:.0f} W",
                   "" if d is None else d.reason)
            if name in t.rows:
                for key, val in zip(("miner", "state", "power", "target", "reason"), row):
                    t.update_cell(name, key, val)
            else:
                t.add_row(*row, key=name)

    def action_force_cycle(self) -> None:
        if self.rt is not None and self.rt.engine is not None:
            self.rt.engine.force_cycle()
        elif self.rt is not None:
            self.rt.store.send_request("cycle", {}, 0.0)

    async def action_quit(self) -> None:
        self._stop.set()
        if self.rt is not None:
            await self.rt.close()
        self.exit(0)
