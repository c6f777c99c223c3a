"""RowDiffTable draws exactly what DataTable draws (same characters, same styles), before and after a
tick's cell updates, and a tick's updates leave unchanged rows' cached renders alone."""
from __future__ import annotations

import pytest
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import DataTable

from edgemining_tui.ui.table import RowDiffTable

ROWS = [(f"m-{i:02d}", "mining" if i % 3 else "paused", f"{i * 100} W / {i * 110} W ✓") for i in range(30)]


class Pair(App):
    def compose(self) -> ComposeResult:
        yield DataTable(id="stock", zebra_stripes=True, fixed_columns=1, cursor_type="row")
        yield RowDiffTable(id="fast", zebra_stripes=True, fixed_columns=1, cursor_type="row")

    def on_mount(self) -> None:
        for t in self.query(DataTable):
            for key in ("name", "state", "power"):
                t.add_column(key.title(), key=key)
            for name, state, power in ROWS:
                t.add_row(Text(name), Text(state, style=Style(color="green") if state == "mining" else None),
                          Text(power), key=name)
            t.styles.height = 12


def lines(table) -> list[list[tuple[str, Style | None]]]:
    return [[(s.text, s.style) for s in table.render_line(y)] for y in range(table.size.height)]


def cells(table) -> list[list[tuple]]:
    """Character by character: what the terminal shows (colour, background, bold, reverse)."""
    out = []
    for line in lines(table):
        row = []
        for text, st in line:
            look = (st.color, st.bgcolor, st.bold, st.reverse, st.italic) if st else None
            row += [(ch, look) for ch in text]
        out.append(row)
    return out


def plain(table) -> list[str]:
    return ["".join(t for t, _ in line) for line in lines(table)]


async def test_same_picture_as_datatable_before_and_after_updates():
    app = Pair()
    async with app.run_test(size=(60, 30)) as pilot:
        stock, fast = app.query_one("#stock", DataTable), app.query_one("#fast", RowDiffTable)
        for t in (stock, fast):
            t.move_cursor(row=2)
        app.set_focus(None)        # the same look for both (a focused table has its own colours)
        await pilot.pause()
        assert plain(stock) == plain(fast)
        assert cells(stock) == cells(fast)
        changes = [("m-03", "power", Text("9 W / 9 W …")), ("m-04", "state", Text("fault", style=Style(color="red")))]
        for row, col, value in changes:
            stock.update_cell(row, col, value)
        cached = fast._cell_render_cache.get
        fast.set_cells(changes)
        await pilot.pause()
        assert plain(stock) == plain(fast)
        assert any("9 W / 9 W …" in line for line in plain(fast)) and any("fault" in line for line in plain(fast))
        assert cells(stock) == cells(fast)
        # unchanged rows keep their cached cells: the update counter did not move
        assert fast._update_count < stock._update_count and cached is not None



def painted(table) -> list[list[tuple]]:
    """What a repaint draws (``render_lines``, where RowDiffTable lays body rows out itself)."""
    table.refresh()
    out = []
    for strip in table.render_lines(Region(0, 0, table.size.width, table.size.height)):
        row = []
        for seg in strip:
            st = seg.style
            look = (st.color, st.bgcolor, st.bold, st.reverse, st.italic) if st else None
            row += [(ch, look) for ch in seg.text]
        out.append(row)
    return out


async def same_when_focused(pilot, stock, fast) -> list[list[tuple]]:
    """Each table drawn twice, without the focus and with it (focused: the cursor in the focus colours)."""
    got = {}
    for t in (stock, fast):
        pilot.app.set_focus(None)
        await pilot.pause()
        blurred = painted(t)
        t.focus()
        await pilot.pause()
        got[t.id] = (blurred, painted(t))
    assert got["stock"] == got["fast"]
    return got["fast"][1]


@pytest.mark.parametrize("width", [60, 20])    # wider than the table (a filler), narrower (it scrolls sideways)
async def test_a_repaint_draws_what_datatable_draws_focused_scrolled_hovered_and_after_updates(width):
    app = Pair()
    async with app.run_test(size=(width, 30)) as pilot:
        stock, fast = app.query_one("#stock", DataTable), app.query_one("#fast", RowDiffTable)
        for t in (stock, fast):
            t.move_cursor(row=5)
            t._show_hover_cursor = True      # as after the mouse moved over it
        await same_when_focused(pilot, stock, fast)
        changes = [("m-05", "power", Text("1 W / 2 W ✗")), ("m-06", "state", Text("fault", style=Style(color="red"))),
                   ("m-07", "name", Text("m-07"))]
        for row, col, value in changes:
            stock.update_cell(row, col, value)
        fast.set_cells(changes)
        await pilot.pause()
        # the fast table has kept the focus since its last paint: the changed rows are drawn again,
        # not taken from that paint's cached lines
        after = painted(fast)
        stock.focus()
        await pilot.pause()
        assert after == painted(stock)
        for t in (stock, fast):
            t.scroll_to(x=10, y=3, animate=False)   # past the State column, into Power
            t.hover_coordinate = t.cursor_coordinate._replace(row=8)
        got = await same_when_focused(pilot, stock, fast)
        assert any("2 W ✗" in "".join(ch for ch, _ in line) for line in got)
        assert fast.scroll_offset == ((10, 3) if width < 30 else (0, 3))
        # the cursor moves: the rows it leaves and enters are drawn again, the rest from the cache
        for t in (stock, fast):
            t.move_cursor(row=9)
        await same_when_focused(pilot, stock, fast)
