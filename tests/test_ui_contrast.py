"""Every theme legible at every colour depth: the console is rendered in each theme, its segments are
turned into what a truecolor, a 256-colour and a 16-colour terminal would show (Rich's own
downgrade, the one Textual's output goes through), and under NO_COLOR (no colour at all: the console lets Textual strip it, app.py),
and every miner state and every flow value must reach a WCAG contrast of 4.5 on its background.

16-colour RGB values are the VGA palette (the Linux console's, and the one Rich's downgrade matches
against); default colours are a dark terminal's (light grey on black).
"""
from __future__ import annotations

import pytest
from rich._palettes import STANDARD_PALETTE
from rich.color import Color as RColor, ColorSystem
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.terminal_theme import TerminalTheme
from textual.filter import NoColor

from edgemining_tui.ui.app import EdgeMiningApp
from edgemining_tui.ui.fixtures import build_owner, close, run_cycles
from edgemining_tui.ui.panels.fleet import STATE_STYLE
from edgemining_tui.ui.theming import load_themes

THEMES = sorted(load_themes()[0])
# a dark terminal with the VGA / Linux console palette (Rich's standard palette, which its downgrade
# matches against)
DARK_TERMINAL = TerminalTheme((0, 0, 0), (229, 229, 229), [tuple(STANDARD_PALETTE[i]) for i in range(8)],
                              [tuple(STANDARD_PALETTE[i]) for i in range(8, 16)])
DEPTHS = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT, "16": ColorSystem.STANDARD}
STATE_WORDS = set(STATE_STYLE)


def luminance(c: ColorTriplet) -> float:
    def ch(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    return 0.2126 * ch(c.red) + 0.7152 * ch(c.green) + 0.0722 * ch(c.blue)


def contrast(a: ColorTriplet, b: ColorTriplet) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def shown(colour: RColor | None, system: ColorSystem, background: bool) -> ColorTriplet:
    """The RGB a terminal of this depth shows for a segment's colour."""
    if colour is None or colour.is_default:
        return DARK_TERMINAL.background_color if background else DARK_TERMINAL.foreground_color
    return colour.downgrade(system).get_truecolor(DARK_TERMINAL, foreground=not background)


def checked_segments(app) -> list[tuple[str, Segment]]:
    """(what, segment) for the miner states in the fleet table and the values in the flow picture."""
    out = []
    for y, strip in enumerate(app.screen._compositor.render_strips()):
        for seg in strip:
            word = seg.text.strip()
            if word in STATE_WORDS or (seg.style and seg.style.bold and word.endswith("W") and word[:1].isdigit()):
                out.append((f"row {y} {word!r}", seg))
    return out


async def render(theme: str, panel: str, tmp_path) -> tuple[list[tuple[str, Segment]], bool]:
    rt = build_owner(tmp_path / theme / panel)
    await run_cycles(rt, 8, step_s=30.0)
    app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False, fleet_throttle_s=0)
    try:
        async with app.run_test(size=(120, 34)) as pilot:
            app.theme = theme
            await pilot.pause()
            await pilot.press(panel)
            for _ in range(3):
                await pilot.pause()
            return checked_segments(app), app.native_ansi_color
    finally:
        await close(rt)


@pytest.mark.parametrize("theme", THEMES)
async def test_every_state_is_legible_at_every_depth(theme, tmp_path):
    fleet, ansi = await render(theme, "2", tmp_path)
    energy, _ = await render(theme, "1", tmp_path)
    segs = fleet + energy
    words = {s.text.strip() for _, s in segs}
    assert "mining" in words, words
    assert any(w.endswith("kW") for w in words)
    bad = []
    mono = NoColor()      # what the console applies under NO_COLOR (EdgeMiningApp: ansi_color)
    for depth, system in DEPTHS.items():
        for what, seg in segs:
            fg, bg = shown(seg.style.color, system, False), shown(seg.style.bgcolor, system, True)
            if seg.style.reverse:
                fg, bg = bg, fg
            if contrast(fg, bg) < 4.5:
                bad.append(f"{depth}: {what} {tuple(fg)} on {tuple(bg)} = {contrast(fg, bg):.2f}")
        for what, seg in segs:                            # NO_COLOR: colour stripped
            (m,) = mono.apply([seg], None)
            fg, bg = shown(m.style.color, system, False), shown(m.style.bgcolor, system, True)
            if m.style.reverse:
                fg, bg = bg, fg
            if contrast(fg, bg) < 4.5:
                bad.append(f"NO_COLOR {depth}: {what} {tuple(fg)} on {tuple(bg)} = {contrast(fg, bg):.2f}")
    assert not bad, "\n".join(sorted(set(bad))[:40])


STATE_VARS = sorted(set(STATE_STYLE.values()) | {"override", "stale", "solar", "house", "grid-import",
                                                 "grid-export", "battery", "miners"})


@pytest.mark.parametrize("theme", THEMES)
def test_every_state_colour_on_every_panel_background(theme):
    """States the fixture fleet does not show (fault, offline, ramping, override): checked from the
    theme's variables against the backgrounds they are drawn on, at every depth."""
    from textual.color import Color
    app = EdgeMiningApp.__new__(EdgeMiningApp)
    App_init = super(EdgeMiningApp, app).__init__      # only the theme machinery, no runtime
    App_init()
    for t in load_themes()[0].values():
        app.register_theme(t)
    app.theme = theme
    v = app.get_css_variables()
    ansi = app.native_ansi_color

    def rich(var: str) -> RColor:
        text = v[var]
        if text.startswith("ansi_"):
            return RColor.parse("default" if text == "ansi_default" else text[5:])
        return Color.parse(text).rich_color
    bad = []
    for depth, system in DEPTHS.items():
        for bg_var in ("background", "surface", "zebra"):
            bg = shown(rich(bg_var), system, True)
            for fg_var in STATE_VARS:
                fg = shown(rich(fg_var), system, False)
                if contrast(fg, bg) < 4.5:
                    bad.append(f"{depth}: ${fg_var} {tuple(fg)} on ${bg_var} {tuple(bg)} = {contrast(fg, bg):.2f}")
    assert not bad, ("ansi theme: " if ansi else "") + "\n".join(bad)
