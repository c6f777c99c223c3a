"""A DataTable whose cell updates repaint only the rows they touch.

Textual's ``DataTable.update_cell`` bumps one global counter that is part of every render cache key,
so changing one cell re-renders every visible cell (measured: a 500-miner fleet tick with ~1,000
changed cells cost ~115 ms of CPU, nearly all of it re-rendering unchanged cells). ``set_cells``
writes a tick's changes, then evicts only the changed rows from the caches, so the repaint re-renders only
those rows. Anything else (a new row, a wider cell, a sort) goes through the stock path.

This leans on DataTable internals (textual 8.2: ``_data``, ``_row_locations``, the four render
caches); if they are not there, it falls back to ``update_cell``, which is correct, only slower.
"""
from __future__ import annotations

from typing import Any, Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

_INTERNALS = ("_data", "_row_locations", "_cell_render_cache", "_row_render_cache", "_row_renderable_cache",
              "_line_cache")


# DataTable reads these components' styles (and its own) for every line it draws; each read walks
# the widget's ancestors (measured: ~4 reads a line, about half of a 500-miner repaint's CPU).
_LINE_COMPONENTS = frozenset({"datatable--header", "datatable--fixed", "datatable--odd-row", "datatable--even-row"})


class _ResolvedStyles:
    """What DataTable's line rendering reads from a component's styles: only ``rich_style``."""
    __slots__ = ("rich_style",)

    def __init__(self, rich_style: Style) -> None:
        self.rich_style = rich_style


def measure_now(table: DataTable) -> None:
    """Size the columns for the rows just added or widened, before the next paint.

    DataTable measures new rows on its next idle; a panel that has just been shown paints before
    that, with every column as wide as its header: "desk-" for desk-bitaxe, "minin" for mining, cut
    without an ellipsis (seen in tmux at every size; scripts/tmux_terminals.py checks it). Its own
    idle step, run here; without those internals the next idle does it, as before."""
    if not all(hasattr(table, a) for a in ("_updated_cells", "_new_rows", "_require_update_dimensions",
                                            "_update_column_widths", "_update_dimensions")):
        return
    if table._updated_cells:
        cells = table._updated_cells.copy()
        table._updated_cells.clear()
        table._update_column_widths(cells)
    if table._require_update_dimensions:
        table._require_update_dimensions = False
        rows = table._new_rows.copy()
        table._new_rows.clear()
        table._update_dimensions(rows)


class RowDiffTable(DataTable):
    _widths: tuple = ()
    _frame_styles: dict | None = None    # styles resolved once per repaint (inside render_lines only)

    def render_lines(self, crop):
        self._frame_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None

    @property
    def rich_style(self) -> Style:
        memo = self._frame_styles
        if memo is None:
            return DataTable.rich_style.fget(self)
        got = memo.get("")
        if got is None:
            got = memo[""] = DataTable.rich_style.fget(self)
        return got

    def get_component_styles(self, *names: str):
        memo = self._frame_styles
        if memo is None or len(names) != 1 or names[0] not in _LINE_COMPONENTS:
            return super().get_component_styles(*names)
        got = memo.get(names[0])
        if got is None:
            got = memo[names[0]] = _ResolvedStyles(super().get_component_styles(*names).rich_style)
        return got

    def render_line(self, y: int):
        # The render caches are keyed by DataTable's update counter, not by column widths; set_cells
        # does not bump the counter, so a width change (a wider cell, content measured late) has to
        # invalidate them here.
        widths = tuple(c.get_render_width(self) for c in self.columns.values())
        if widths != self._widths:
            self._widths = widths
            self._update_count += 1
        return super().render_line(y)

    def set_cells(self, changes: Iterable[tuple[str, str, Any]]) -> None:
        """``[(row key, column key, value)]`` where no value is wider than its column."""
        changes = list(changes)
        if not changes:
            return
        if not all(hasattr(self, a) for a in _INTERNALS):
            for row, col, value in changes:
                self.update_cell(row, col, value)
            return
        rows: set[RowKey] = set()
        cells: set[tuple[RowKey, ColumnKey]] = set()
        for row, col, value in changes:
            rk, ck = RowKey(row), ColumnKey(col)
            self._data[rk][ck] = value
            rows.add(rk)
            cells.add((rk, ck))
        indices = {self._row_locations.get(rk) for rk in rows}
        # only the changed cells are rendered again; a changed row's other cells come from the cache
        for key in [k for k in self._cell_render_cache.keys() if (k[0], k[1]) in cells]:
            self._cell_render_cache.discard(key)
        for key in [k for k in self._row_render_cache.keys() if k[0] in rows]:
            self._row_render_cache.discard(key)
        for key in [k for k in self._row_renderable_cache.keys() if k[1] in indices]:
            self._row_renderable_cache.discard(key)
        self._line_cache.clear()          # keyed by screen line; rebuilt from the caches above
        # one repaint of the visible rows: unchanged ones come from the caches (refresh_row per row
        # would cost O(row index) each, O(n²) for a fleet-wide change)
        self.refresh()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        """Plain one-line body cells (a ``Text`` with one style, no spans) are laid out here
        directly: the same styles as the stock path (``pre + cell + post``, padding in ``pre +
        post``), cropped or padded to the column, without Rich's Padding/Styled/render_lines round
        trip, which was ~0.3 ms a cell. Everything else goes to DataTable."""
        if row_index < 0 or column_index < 0:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        try:
            row_key = self._row_locations.get_key(row_index)
            row = self.rows[row_key]
            column_key = self._column_locations.get_key(column_index)
            cell = self._data[row_key][column_key]
        except (KeyError, AttributeError):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        if row.height != 1 or not isinstance(cell, Text) or cell.spans or "\n" in cell.plain:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor, self._update_count,
               self._pseudo_class_state)
        cached = self._cell_render_cache.get(key)
        if cached is not None:
            return cached
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre = base_style + component_style + Style.from_meta({"row": row_index, "column": column_index})
        cell_style = cell.style if isinstance(cell.style, Style) else Style.parse(cell.style or "")
        pad = self.cell_padding
        inner = max(0, width - 2 * pad)
        text = cell.plain
        if cell_len(text) > inner:
            text = set_cell_size(text, inner)
        blank = pre + post_style
        fill = inner - cell_len(text) + pad
        segs = [Segment(" " * pad, blank)] if pad else []
        segs.append(Segment(text, pre + cell_style + post_style))
        if fill:
            segs.append(Segment(" " * fill, blank))
        lines = [segs]
        self._cell_render_cache[key] = lines
        return lines
