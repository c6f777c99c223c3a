"""A DataTable whose cell updates repaint only the rows they touch.

Textual's ``DataTable.update_cell`` bumps one global counter that is part of every render cache key,
so changing one cell re-renders every visible cell (measured: a 500-miner fleet tick with ~1,000
changed cells cost ~115 ms of CPU, nearly all of it re-rendering unchanged cells). ``set_cells``
writes a tick's changes, then evicts only the changed rows from the caches, so the repaint re-renders only
those rows. Anything else (a new row, a wider cell, a sort) goes through the stock path.

In a repaint, a one-line body row of a row-cursor table is laid out here (``_render_line``): the
same segments as DataTable's ``_render_line_in_row`` + ``_render_line``, with what every line shares
(columns, widths, styles, cursor) read once per repaint, and the finished line kept by row and
version, so a row that did not change costs one lookup. The header, other cursor types, row
labels, fixed rows and taller rows stay DataTable's.

This leans on DataTable internals (textual 8.2: ``_data``, ``_row_locations``, the four render
caches); if they are not there, it falls back to ``update_cell``, which is correct, only slower.
"""
from __future__ import annotations

from typing import Any, Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.strip import Strip
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


class _Frame:
    """What every body line of one repaint shares: read once per ``render_lines``, not per line
    (DataTable re-reads columns, widths, styles and its reactives for every line it draws)."""
    __slots__ = ("scroll_x", "scroll_y", "width", "base_style", "header_lines", "widths", "fixed_n",
                 "fixed_width", "fixed_style", "remaining", "cursor_row", "hover_row", "stamp", "row_styles",
                 "extend_styles", "column_keys", "cell_stamp")


class RowDiffTable(DataTable):
    _widths: tuple = ()
    _frame_styles: dict | None = None    # styles resolved once per repaint (inside render_lines only)
    _frame: _Frame | None = None
    _in_frame = False

    def __init__(self, *args, **kwargs) -> None:
        # body lines drawn before, by row and its version (set_cells bumps it): an unchanged row
        # costs one lookup in the next repaint, a changed one is laid out from its cached cells.
        # Set first: DataTable's constructor already clears caches.
        self._row_versions: dict[str, int] = {}
        self._strips: dict[tuple, Strip] = {}
        super().__init__(*args, **kwargs)

    def render_lines(self, crop):
        self._frame_styles = {}
        self._in_frame = True
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None
            self._frame = None
            self._in_frame = False

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

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._strips.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _check_widths(self, widths: tuple) -> None:
        # The render caches are keyed by DataTable's update counter, not by column widths; set_cells
        # does not bump the counter, so a width change (a wider cell, content measured late) has to
        # invalidate them here.
        if widths != self._widths:
            self._widths = widths
            self._update_count += 1

    def _begin_frame(self) -> _Frame | None:
        """The repaint's shared values, or None where the stock path draws (another cursor type, row
        labels, fixed rows, multi-line rows are DataTable's alone)."""
        if (self.cursor_type != "row" or self.fixed_rows or (self._labelled_row_exists and self.show_row_labels)
                or not all(hasattr(self, a) for a in _INTERNALS)):
            return None
        f = _Frame()
        f.scroll_x, f.scroll_y = self.scroll_offset
        f.width = self.size.width
        f.base_style = self.rich_style
        f.header_lines = self.header_height if self.show_header else 0
        columns = self.ordered_columns
        f.column_keys = [c.key for c in columns]
        widths = tuple(c.get_render_width(self) for c in columns)
        self._check_widths(widths)
        f.widths = widths
        f.fixed_n = min(self.fixed_columns, len(widths))
        f.fixed_width = sum(widths[:f.fixed_n])
        f.fixed_style = self.get_component_styles("datatable--fixed").rich_style + Style.from_meta({"fixed": True})
        f.remaining = max(0, f.width - sum(widths[f.fixed_n:]) - self._row_label_column_width)
        f.cursor_row = self.cursor_coordinate.row
        f.hover_row = self.hover_coordinate.row
        f.stamp = (f.width, widths, f.base_style, self.show_cursor, self._show_hover_cursor, self._update_count,
                   self._pseudo_class_state, self.zebra_stripes)
        f.cell_stamp = (self._show_hover_cursor, self._update_count, self._pseudo_class_state)
        f.row_styles = {}
        f.extend_styles = {}
        if len(self._strips) > 4096:       # rows scrolled past, older stamps
            self._strips.clear()
        return f

    def render_line(self, y: int):
        if not self._in_frame:
            self._check_widths(tuple(c.get_render_width(self) for c in self.columns.values()))
            return super().render_line(y)
        f = self._frame
        if f is None:
            f = self._frame = self._begin_frame()
            if f is None:
                self._in_frame = False     # the stock path for the rest of this repaint
                return self.render_line(y)
        if y >= f.header_lines:
            y += f.scroll_y
        return self._render_line(y, f.scroll_x, f.scroll_x + f.width, f.base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        f = self._frame
        if f is None or not self._in_frame or base_style != f.base_style:
            return super()._render_line(y, x1, x2, base_style)
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return super()._render_line(y, x1, x2, base_style)
        if row_key is self._header_row_key or line_no or self.rows[row_key].height != 1:
            return super()._render_line(y, x1, x2, base_style)
        row_index = self._row_locations.get(row_key)
        cursor = row_index == f.cursor_row
        hover = row_index == f.hover_row
        key = (row_key, self._row_versions.get(row_key.value, 0), row_index, cursor, hover, x1, x2, f.stamp)
        strip = self._strips.get(key)
        if strip is not None:
            return strip
        # DataTable's _render_line_in_row and _render_line for a one-line body row, the same
        # segments in the same order: the fixed columns, then every column, then the filler
        odd = row_index % 2
        row_style = f.row_styles.get(odd)
        if row_style is None:
            row_style = f.row_styles[odd] = self._get_row_style(row_index, base_style)
        extend = f.extend_styles.get((odd, cursor, hover))
        if extend is None:
            extend = f.extend_styles[(odd, cursor, hover)] = row_style + self._get_styles_to_render_cell(
                False, False, False, hover, cursor, self.show_cursor, self._show_hover_cursor, False, False)[0]
        render_cell = self._render_cell
        widths = f.widths
        fixed_n = f.fixed_n
        # a cell drawn before is looked up under _render_cell's own cache key, made here once a line
        cached = self._cell_render_cache.get
        column_keys = f.column_keys
        tail = (cursor, hover) + f.cell_stamp
        segments: list[Segment] = []
        for ci in range(fixed_n):
            got = cached((row_key, column_keys[ci], f.fixed_style) + tail)
            segments += (got or render_cell(row_index, ci, f.fixed_style, widths[ci], cursor, hover))[0]
        # DataTable draws the fixed columns again at the start of the scrolling part, crops them off
        # with what is scrolled out on the left, and cuts whatever passes the right edge: every
        # cell is exactly its column's width, so the cells on screen are taken, nothing else
        width = f.width
        room = width - f.fixed_width        # cells of the scrolling part on screen
        skip = x1
        taken = 0
        for ci in range(fixed_n, len(widths)):
            if taken >= room:
                break
            w = widths[ci]
            if skip >= w:
                skip -= w
                continue
            got = cached((row_key, column_keys[ci], row_style) + tail)
            segs = (got or render_cell(row_index, ci, row_style, w, cursor, hover))[0]
            n = min(w - skip, room - taken)
            segments += segs if n == w else line_crop(segs, skip, skip + n, w)
            taken += n
            skip = 0
        else:
            n = min(f.remaining - skip, room - taken)
            if n > 0:
                segments.append(Segment(" " * n, extend + Style.from_meta(
                    {"row": row_index, "column": 0, "out_of_bounds": True})))
                taken += n
        strip = Strip(segments, f.fixed_width + taken)
        strip = self._strips[key] = strip.adjust_cell_length(width, base_style).simplify()
        return strip

    def set_cells(self, changes: Iterable[tuple[str, str, Any]]) -> None:
        """``[(row key, column key, value)]`` where no value is wider than its column."""
        changes = list(changes)
        if not changes:
            return
        if not all(hasattr(self, a) for a in _INTERNALS):
            for row, col, value in changes:
                self.update_cell(row, col, value)
            return
        # Keys go by their strings: RowKey/ColumnKey hash in Python, ~3 us a change when each one
        # was made, hashed into sets and looked up again (a 500-miner tick has ~1,000 changes).
        data = self._data
        column_keys = {k.value: k for k in self.columns}
        row_data: dict[str, dict] = {}
        cells: set[tuple[str, str]] = set()
        for row, col, value in changes:
            got = row_data.get(row)
            if got is None:
                got = row_data[row] = data[RowKey(row)]
            got[column_keys[col]] = value
            cells.add((row, col))
        versions = self._row_versions
        for row in row_data:
            versions[row] = versions.get(row, 0) + 1
        # only the changed cells are rendered again; a changed row's other cells come from the cache
        for key in [k for k in self._cell_render_cache.keys() if (k[0].value, k[1].value) in cells]:
            self._cell_render_cache.discard(key)
        for key in [k for k in self._row_render_cache.keys() if k[0].value in row_data]:
            self._row_render_cache.discard(key)
        get_key = self._row_locations.get_key
        for key in [k for k in self._row_renderable_cache.keys()
                    if (rk := get_key(k[1])) is not None and rk.value in row_data]:
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
