"""Heat: climate zones from ``state.extra["heat"]`` (shape-tolerant), or a note when none exist."""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from ...engine.events import EngineState
from ..fmt import num
from ..table import measure_now
from . import Panel

COLS = (("zone", "Zone"), ("temp", "°C"), ("band", "Band"), ("demand", "Demand"), ("miners", "Miners"),
        ("heat", "kWh today"), ("note", "Note"))


def zones_of(heat: Any) -> list[dict]:
    """Normalise {name: {...}} / [{name: ...}] / {"zones": ...} into a list of dicts with a name."""
    if not heat:
        return []
    if isinstance(heat, dict) and "zones" in heat:
        heat = heat["zones"]
    out = []
    if isinstance(heat, dict):
        for name, z in heat.items():
            z = dict(z) if isinstance(z, dict) else {"value": z}
            z.setdefault("name", name)
            out.append(z)
    elif isinstance(heat, (list, tuple)):
        for i, z in enumerate(heat):
            z = dict(z) if isinstance(z, dict) else {"value": z}
            z.setdefault("name", f"zone {i + 1}")
            out.append(z)
    return out


def zone_cells(z: dict) -> tuple[str, ...]:
    def first(*keys):
        for k in keys:
            if z.get(k) is not None:
                return z[k]
        return None
    lo, hi = first("target_min", "min_c", "min", "low_c"), first("target_max", "max_c", "max", "high_c")
    band = "—" if lo is None and hi is None else f"{num(lo, '{:.1f}')}–{num(hi, '{:.1f}')}"
    demand = first("state", "demand", "status", "wants")
    if isinstance(demand, bool):
        demand = "heat" if demand else "—"
    if z.get("heat_demand") is True and demand in (None, "—"):
        demand = "wants heat"
    if z.get("capped"):
        demand = f"{demand or ''} capped".strip()
    miners = first("miners", "miner_names") or ()
    if isinstance(miners, (list, tuple)):
        miners = ", ".join(str(m) for m in miners)
    heat_kwh = first("today_kwh", "heat_kwh", "delivered_kwh")
    if heat_kwh is None and first("heat_wh", "delivered_wh") is not None:
        heat_kwh = first("heat_wh", "delivered_wh") / 1000
    return (str(z.get("name")), num(first("temperature", "temp_c", "temperature_c", "temp"), "{:.1f}"), band,
            str(demand or "—"), str(miners or "—"), num(heat_kwh, "{:.2f}"),
            str(first("sensor_error", "reason", "note", "error") or ""))


class HeatPanel(Panel):
    title = "Heat"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.border_title = "Heat zones"

    def compose(self) -> ComposeResult:
        yield Static("", id="heat-note")
        yield DataTable(id="heat-table", cursor_type="row", show_cursor=False)

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        for key, text in COLS:
            t.add_column(text, key=key)

    def show(self, st: EngineState) -> None:
        extra = st.extra if isinstance(st.extra, dict) else {}
        zones = zones_of(extra.get("heat"))
        note = self.query_one("#heat-note", Static)
        t = self.query_one(DataTable)
        t.display = bool(zones)
        if not zones:
            note.update("No zones configured.\n\nAdd a [b]heat:[/] section to the config (a temperature sensor, "
                        "a comfort band and the miners that warm each zone) to see them here.")
            return
        note.update(f"{len(zones)} zone{'s' if len(zones) != 1 else ''}")
        seen = set()
        with self.app.batch_update():
            for z in zones:
                cells = zone_cells(z)
                key = cells[0]
                seen.add(key)
                if key in t.rows:
                    for (ck, _), val, was in zip(COLS, cells, t.get_row(key)):
                        if val != was:
                            t.update_cell(key, ck, val)
                else:
                    t.add_row(*cells, key=key)
            for key in [k.value for k in list(t.rows) if k.value not in seen]:
                t.remove_row(key)
            measure_now(t)
