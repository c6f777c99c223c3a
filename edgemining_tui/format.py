"""Plain-text formatting shared by the headless log, the UI and the CLI."""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:       # the console imports this before its first frame, the engine after it
    from .engine.events import EngineState


def kw(w: float | None, signed: bool = False) -> str:
    if w is None:
        return "—"
    s = f"{w / 1000:+.2f}" if signed else f"{w / 1000:.2f}"
    return s + " kW"


def duration(s: float | None) -> str:
    if s is None:
        return "—"
    s = int(max(0, s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def cycle_line(st: EngineState, tz: tzinfo) -> str:
    snap = st.snapshot
    t = datetime.fromtimestamp(st.ts, tz).strftime("%H:%M:%S")
    soc = snap.value("battery_soc_pct")
    head = (f"#{st.cycle} {t} pv {kw(snap.value('pv_w'))} house {kw(snap.value('house_w'))} "
            f"grid {kw(snap.value('grid_import_w'), True)} bat {kw(snap.value('battery_charge_w'), True)}"
            f"{'' if soc is None else f' {soc:.0f}%'} miners {kw(st.miners_w)}")
    if st.stale:
        head += f" STALE[{','.join(st.stale)}]"
    parts = []
    if st.decision is not None:
        for name, d in st.decision.miners.items():
            s = st.samples.get(name)
            p = "—" if s is None or s.power_w is None else f"{s.power_w:.0f}W"
            parts.append(f"{name} {s.state.value if s else '?'} {p} ({d.term}: {d.reason})")
    return head + (" | " + "; ".join(parts) if parts else "")
