"""The energy-flow picture: PV, grid and battery on the left, house and miners on the right, joined
by a bus, with the power and its direction on every link (as evcc's and Home Assistant's energy
cards draw it). Plain text cells tagged with a colour variable name, so it can be tested without
Textual and coloured by whatever theme is active.

Sign conventions are the engine's: ``grid_w`` > 0 imports, ``battery_w`` > 0 charges.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.renderables.digits import DIGITS, DIGITS3X3

from .fmt import power

Cell = tuple[str, str | None]   # (character, colour variable or None); "dim" marks idle lines

# (up, down, left, right) -> heavy box-drawing character
_JUNCTIONS = {
    (True, True, False, False): "┃", (False, False, True, True): "━",
    (True, True, True, False): "┫", (True, True, False, True): "┣", (True, True, True, True): "╋",
    (False, True, True, False): "┓", (False, True, False, True): "┏", (False, True, True, True): "┳",
    (True, False, True, False): "┛", (True, False, False, True): "┗", (True, False, True, True): "┻",
    (True, False, False, False): "╹", (False, True, False, False): "╻",
    (False, False, True, False): "╸", (False, False, False, True): "╺",
}


@dataclass(frozen=True)
class Flows:
    pv_w: float | None
    house_w: float | None
    miners_w: float | None
    grid_w: float | None         # + import, - export
    battery_w: float | None      # + charging, - discharging
    soc_pct: float | None
    miners_note: str = ""        # e.g. "3 of 4 mining"


@dataclass(frozen=True)
class Node:
    key: str
    title: str
    value: str
    note: str
    colour: str
    link_w: float | None    # power on the link; > 0 flows towards the bus (left) / the node (right)


def nodes(f: Flows) -> tuple[list[Node], list[Node]]:
    """Left (sources, or both ways) and right (consumers) nodes, worded for a person."""
    def v(w: float | None) -> str:
        return "no data" if w is None else power(abs(w))

    if f.grid_w is None:
        g_note, g_col = "", "grid-import"
    elif f.grid_w > 0.5:
        g_note, g_col = "importing", "grid-import"
    elif f.grid_w < -0.5:
        g_note, g_col = "exporting", "grid-export"
    else:
        g_note, g_col = "balanced", "grid-import"
    if f.battery_w is None:
        b_note = ""
    elif f.battery_w > 0.5:
        b_note = "charging"
    elif f.battery_w < -0.5:
        b_note = "discharging"
    else:
        b_note = "idle"
    left = [Node("pv", "PV", v(f.pv_w), "producing" if (f.pv_w or 0) > 0.5 else "", "solar", f.pv_w),
            Node("grid", "Grid", v(f.grid_w), g_note, g_col, f.grid_w),
            Node("battery", "Battery", v(f.battery_w), b_note, "battery",
                 None if f.battery_w is None else -f.battery_w)]
    right = [Node("house", "House", v(f.house_w), "", "house", f.house_w),
             Node("miners", "Miners", v(f.miners_w), f.miners_note, "miners", f.miners_w)]
    return left, right


def soc_gauge(soc: float | None, width: int) -> list[Cell]:
    """``██████░░░░ 55 %`` in ``width`` cells."""
    if soc is None:
        text = "SoC —"
        return [(c, None) for c in text[:width].ljust(width)]
    label = f" {soc:.0f} %"
    bar_w = max(1, width - len(label))
    full = round(max(0.0, min(100.0, soc)) / 100.0 * bar_w)
    return [("█", "battery")] * full + [("░", "dim")] * (bar_w - full) + [(c, None) for c in label]


def big_digits(text: str) -> list[str]:
    """Three rows of Textual's 3×3 digit font (only digits, '.', ' ' and '-' are drawn big)."""
    rows = ["", "", ""]
    for ch in text.replace(".", "•"):
        try:
            i = DIGITS.index(ch) * 3
        except ValueError:
            rows[0] += " "
            rows[1] += " "
            rows[2] += ch
            continue
        for r in range(3):
            rows[r] += DIGITS3X3[i + r].ljust(3)
    return rows


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells: list[list[Cell]] = [[(" ", None)] * width for _ in range(height)]

    def put(self, x: int, y: int, text: str, colour: str | None = None) -> None:
        if not 0 <= y < self.height:
            return
        row = self.cells[y]
        for i, ch in enumerate(text):
            if 0 <= x + i < self.width:
                row[x + i] = (ch, colour)

    def put_cells(self, x: int, y: int, cells: list[Cell]) -> None:
        for i, (ch, col) in enumerate(cells):
            self.put(x + i, y, ch, col)

    def rows(self) -> list[list[Cell]]:
        return self.cells


def _box(c: Canvas, x: int, y: int, w: int, h: int, n: Node, big: bool, soc: float | None) -> int:
    """Draw a node; return the row its link attaches to."""
    col = n.colour
    title = f" {n.title} "
    c.put(x, y, "╭" + "─" * (w - 2) + "╮", col)
    c.put(x + 2, y, title, col)
    for r in range(1, h - 1):
        c.put(x, y + r, "│", col)
        c.put(x + w - 1, y + r, "│", col)
    c.put(x, y + h - 1, "╰" + "─" * (w - 2) + "╯", col)
    inner = w - 4
    if big and n.value != "no data":
        number, _, unit = n.value.partition(" ")
        rows = big_digits(number)
        width = len(rows[0]) + 1 + len(unit)
        if width <= inner:
            x0 = x + 2 + (inner - width) // 2
            for r, line in enumerate(rows):
                c.put(x0, y + 1 + r, line, "bold:" + col)
            c.put(x0 + len(rows[0]) + 1, y + 3, unit, "bold:" + col)
            value_rows = 3
        else:
            c.put(x + 2 + (inner - len(n.value)) // 2, y + 2, n.value, "bold:" + col)
            value_rows = 3
    else:
        value = n.value
        if n.key == "battery" and soc is not None and h - 2 <= 1:   # no room for a gauge row
            # the longest form that fits: at 60 columns "2.37 kW · 55 %" lost its "%" ("· 55")
            forms = (f"{value} · {soc:.0f} %", f"{value} {soc:.0f}%", f"{value.replace(' ', '')} {soc:.0f}%")
            value = next((v for v in forms if len(v) <= inner), forms[-1])
        if len(value) > inner:
            value = value[:max(0, inner - 1)] + "…"
        c.put(x + 2 + max(0, (inner - len(value)) // 2), y + 1, value,
              "bold:" + col if n.value != "no data" else "stale")
        value_rows = 1
    note_y = y + 1 + value_rows
    if n.key == "battery" and h - 2 > value_rows:
        note = n.note
        gw = max(4, inner - (len(note) + 1 if note and inner >= 22 else 0))
        if note and inner >= 22:
            c.put(x + 2, note_y, note, None)
            c.put_cells(x + 2 + len(note) + 1, note_y, soc_gauge(soc, gw))
        else:
            c.put_cells(x + 2, note_y, soc_gauge(soc, inner))
    elif n.note and h - 2 > value_rows:
        note = n.note if len(n.note) <= inner else n.note[:max(0, inner - 1)] + "…"   # "4 of 4 minin" was cut bare
        c.put(x + 2 + max(0, (inner - len(note)) // 2), note_y, note, None)
    return y + 1 + (value_rows - 1) // 2 if value_rows > 1 else y + 1


def _link(c: Canvas, x0: int, x1: int, y: int, n: Node, towards_right: bool) -> None:
    """A horizontal link from x0 to x1 (exclusive) with arrows and the power in the middle.
    ``towards_right``: the arrow points right when power flows along link_w's positive direction."""
    length = x1 - x0
    if length <= 0:
        return
    w = n.link_w
    flowing = w is not None and abs(w) >= 0.5
    col = n.colour if flowing else "dim"
    c.put(x0, y, ("━" if flowing else "─") * length, col)
    if not flowing:
        return
    right = (w > 0) == towards_right
    arrow = "▶" if right else "◀"
    label = f" {power(abs(w))} "
    if length >= len(label) + 6:
        mid = x0 + (length - len(label)) // 2
        c.put(mid, y, label, "bold:" + col)
        c.put(x0 + 1, y, arrow, col)
        c.put(x1 - 2, y, arrow, col)
    else:
        c.put(x0 + length // 2, y, arrow, col)


def draw(f: Flows, width: int, height: int) -> list[list[Cell]]:
    """The picture in at most ``width`` × ``height`` cells (it uses fewer rows when fewer are needed).

    Three sizes: big numbers in 6-row boxes, 3-row boxes, and one line per node."""
    left, right = nodes(f)
    width = max(30, width)
    if height >= 20 and width >= 90:
        box_h, gap, big = 6, 1, True
    elif height >= 12 and width >= 56:
        box_h, gap, big = 4, 0, False
    elif height >= 9:
        box_h, gap, big = 3, 0, False
    else:
        return _draw_lines(f, left, right, width)
    nw = max(18, min(34, width // 4)) if big else max(16, min(26, width // 4))
    rows = 3 * box_h + 2 * gap
    c = Canvas(width, rows)
    bus_x = nw + (width - 2 * nw) // 2
    attach_left = []
    for i, n in enumerate(left):
        y = i * (box_h + gap)
        attach_left.append(_box(c, 0, y, nw, box_h, n, big, f.soc_pct))
    right_h = 2 * box_h + gap
    top = max(0, (rows - right_h) // 2)
    rx = width - nw
    attach_right = []
    for i, n in enumerate(right):
        y = top + i * (box_h + gap)
        attach_right.append(_box(c, rx, y, nw, box_h, n, big, None))
    for n, y in zip(left, attach_left):
        _link(c, nw, bus_x, y, n, towards_right=True)
    for n, y in zip(right, attach_right):
        _link(c, bus_x + 1, rx, y, n, towards_right=True)
    _bus(c, bus_x, attach_left, attach_right)
    return c.rows()


def _bus(c: Canvas, x: int, left_rows: list[int], right_rows: list[int]) -> None:
    ys = left_rows + right_rows
    y0, y1 = min(ys), max(ys)
    for y in range(y0, y1 + 1):
        key = (y > y0, y < y1, y in left_rows, y in right_rows)
        c.put(x, y, _JUNCTIONS.get(key, "┃"), "dim")


def _draw_lines(f: Flows, left: list[Node], right: list[Node], width: int) -> list[list[Cell]]:
    """One row per node: ``PV 5.76 kW ━▶━┓`` on the left, ``┣━▶━ 351 W House`` on the right."""
    c = Canvas(width, 3)
    lw = max(len(f"{n.title} {n.value}") for n in left) + 1
    if f.soc_pct is not None:
        lw = max(lw, len(f"Battery {left[2].value} {f.soc_pct:.0f}%") + 1)
    rw = max(len(f"{n.value} {n.title}") for n in right) + 1
    bus_x = lw + (width - lw - rw) // 2
    for y, n in enumerate(left):
        text = f"{n.title} {n.value}"
        if n.key == "battery" and f.soc_pct is not None:
            text += f" {f.soc_pct:.0f}%"
        c.put(0, y, n.title, n.colour)
        c.put(len(n.title) + 1, y, text[len(n.title) + 1:], "bold:" + n.colour)
        _link(c, lw, bus_x, y, n, towards_right=True)
    for y, n in enumerate(right, start=0):
        text = f"{n.value} {n.title}"
        c.put(width - len(text), y, n.value, "bold:" + n.colour)
        c.put(width - len(n.title), y, n.title, n.colour)
        _link(c, bus_x + 1, width - rw, y, n, towards_right=True)
    _bus(c, bus_x, [0, 1, 2], [0, 1])
    return c.rows()
