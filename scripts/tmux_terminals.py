#!/usr/bin/env python3
"""The demo console in real terminals: tmux at 60×20, 80×24, 120×40 and 200×60, as
TERM=xterm-256color, TERM=xterm (16 colours) and NO_COLOR=1, every panel visited with the keyboard.

Each terminal starts the README's command (`edgemining-tui --demo`) in its own tmux session with its
own HOME, XDG directories and TMPDIR (so the demo's throw-away data directory can be found, and so a
demo that wrote into the "real" data directory would show), at one of the sizes, then is resized
through the others. Every screen is read back with `tmux capture-pane` (plain and with -e) and
checked:

- no traceback, every panel's title and its key figures are on screen;
- the fleet table shows every miner's name whole (no column cut to its header's width);
- the selected miner's reason, as the owner wrote it to the store, is on screen in full under the
  fleet table (80 columns and wider);
- no text runs into a chart or a gauge (a letter or digit touching a braille or block glyph);
- a one-line status that does not fit ends in "…";
- nothing is drawn in its own background colour (SGR codes from capture-pane -e, reverse applied);
  in 16 colours the lowest contrast of any text is printed (VGA palette);
- under NO_COLOR no colour SGR code at all (bold, reverse and underline only);
- after `q` the throw-away directory is gone and the data directory under HOME is empty.

    scripts/tmux_terminals.py                      # all 4 sizes × 3 terminals, prints a table
    scripts/tmux_terminals.py --sizes 80x24 --terms xterm --show   # one, with the screens
    scripts/tmux_terminals.py --quick              # what tests/test_tmux_terminals.py runs

Exit 0 when every check holds, 1 with the failures listed, 0 with a message when tmux is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = ((60, 20), (80, 24), (120, 40), (200, 60))
TERMS = {  # name -> environment changes (None: unset)
    "xterm-256color": {"TERM": "xterm-256color", "COLORTERM": None, "NO_COLOR": None},
    "xterm": {"TERM": "xterm", "COLORTERM": None, "NO_COLOR": None},
    "NO_COLOR": {"TERM": "xterm-256color", "COLORTERM": None, "NO_COLOR": "1"},
    "truecolor": {"TERM": "xterm-256color", "COLORTERM": "truecolor", "NO_COLOR": None},
}
# --quick (the test): three sizes, one per terminal, side by side; the resizes and 120x40 are in the full run
# A tmux server of this run's own, without the user's tmux.conf: the console's screens do not depend
# on another tmux user on the machine (a test run beside this one, or the developer's own sessions).
# Its sessions are created one at a time: three new-session calls at once race to start the server.
TMUX_SOCKET = f"emt-terms-{os.getpid()}"
SERVER_START = threading.Lock()
QUICK = {"xterm-256color": [(60, 20)], "xterm": [(80, 24)], "NO_COLOR": [(200, 60)]}
MINERS = ("desk-bitaxe", "garage-s19", "loft-s21", "office-avalon")
PANELS = {  # key -> (name, text that says the panel is showing)
    "1": ("Energy", "Energy flow"), "2": ("Fleet", "Power / target"), "3": ("Rules", "What the decision used"),
    "4": ("Heat", "Heat zones"), "5": ("History", "History by"), "6": ("Events", "Events (commands"),
}
# the VGA palette Rich's 16-colour downgrade matches against (tests/test_ui_contrast.py uses it too)
VGA = [(0, 0, 0), (170, 0, 0), (0, 170, 0), (170, 85, 0), (0, 0, 170), (170, 0, 170), (0, 170, 170),
       (170, 170, 170), (85, 85, 85), (255, 85, 85), (85, 255, 85), (255, 255, 85), (85, 85, 255),
       (255, 85, 255), (85, 255, 255), (255, 255, 255)]
GLYPH = r"[\u2801-\u28ff\u2580-\u258b\u258d-\u259f]"   # braille, blocks (charts, gauges); not ▌, a toast's edge
TEXT = r"[A-Za-z0-9%]"
MIN_16_CONTRAST = 4.5   # WCAG AA for text, as tests/test_ui_contrast.py asks of the states and flows
OVERRUN = re.compile(rf"{TEXT}{GLYPH}|{GLYPH}{TEXT}")
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESC = re.compile(r"\x1b(\][^\x07\x1b]*(\x07|\x1b\\)|\[[0-9;?]*[A-Za-ln-z])")


# --- reading capture-pane -e ----------------------------------------------------------------------
@dataclass
class Cell:
    ch: str
    fg: tuple | None
    bg: tuple | None


def _colour(params: list[int], i: int) -> tuple[tuple | None, int]:
    """38/48 extended colour at params[i]: ('256', n) or ('rgb', r, g, b); returns it and the next index."""
    if i + 1 < len(params) and params[i + 1] == 5 and i + 2 < len(params):
        n = params[i + 2]
        return (("16", n) if n < 16 else ("256", n)), i + 3
    if i + 1 < len(params) and params[i + 1] == 2 and i + 4 < len(params):
        return ("rgb", params[i + 2], params[i + 3], params[i + 4]), i + 5
    return None, len(params)


def parse_sgr_screen(text: str) -> tuple[list[list[Cell]], set[str]]:
    """Cells with their effective colours (reverse applied), and every colour code seen."""
    fg = bg = None
    reverse = False
    colour_codes: set[str] = set()
    rows: list[list[Cell]] = []
    for line in text.split("\n"):
        line = OTHER_ESC.sub("", line)
        row: list[Cell] = []
        pos = 0
        for m in SGR.finditer(line + "\x1b[m"):
            for ch in line[pos:m.start()]:
                f, b = (bg, fg) if reverse else (fg, bg)
                row.append(Cell(ch, f, b))
            pos = m.end()
            raw = m.group(1).replace(":", ";")
            params = [int(p) if p else 0 for p in raw.split(";")] if raw else [0]
            i = 0
            while i < len(params):
                p = params[i]
                if p == 0:
                    fg = bg = None
                    reverse = False
                elif p == 7:
                    reverse = True
                elif p == 27:
                    reverse = False
                elif 30 <= p <= 37 or 90 <= p <= 97:
                    fg = ("16", p - 30 if p < 90 else p - 90 + 8)
                    colour_codes.add(str(p))
                elif 40 <= p <= 47 or 100 <= p <= 107:
                    bg = ("16", p - 40 if p < 100 else p - 100 + 8)
                    colour_codes.add(str(p))
                elif p in (38, 48):
                    c, nxt = _colour(params, i)
                    colour_codes.add(";".join(str(x) for x in params[i:nxt]))
                    if p == 38:
                        fg = c
                    else:
                        bg = c
                    i = nxt
                    continue
                elif p == 39:
                    fg = None
                elif p == 49:
                    bg = None
                i += 1
        rows.append(row)
    return rows, colour_codes


def rgb_of(c: tuple) -> tuple[int, int, int]:
    if c[0] == "16":
        return VGA[c[1] % 16]
    if c[0] == "256":
        n = c[1]
        if n >= 232:
            v = 8 + 10 * (n - 232)
            return (v, v, v)
        n -= 16
        steps = (0, 95, 135, 175, 215, 255)
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    return tuple(c[1:4])


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    def lum(c):
        def ch(v):
            v = v / 255
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
        r, g, bb = (ch(x) for x in c)
        return 0.2126 * r + 0.7152 * g + 0.0722 * bb
    la, lb = sorted((lum(a), lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# --- one terminal ---------------------------------------------------------------------------------
@dataclass
class Run:
    term: str
    first_size: tuple[int, int]
    sizes: list[tuple[int, int]]
    python: str
    show: bool = False
    failures: list[str] = field(default_factory=list)
    screens: int = 0
    min_text_contrast: float = 99.0
    min_where: str = ""
    low: dict = field(default_factory=dict)          # (fg, bg) -> (contrast, where) for text under 4.5
    colour_codes: set[str] = field(default_factory=set)
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    startup_s: float = 0.0
    cpu_s: float | None = None
    screen: str = ""
    dumped: set = field(default_factory=set)
    transient: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.size = self.first_size
        self.session = f"emt-term-{os.getpid()}-{self.term.replace('-', '')}"
        self.base = Path(tempfile.mkdtemp(prefix="emt-term-"))
        for d in ("home", "tmp", "data", "config", "state", "cache"):
            (self.base / d).mkdir()

    # tmux
    def tmux(self, *args: str, check: bool = True) -> str:
        p = subprocess.run(["tmux", "-L", TMUX_SOCKET, "-f", "/dev/null", *args], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout

    def capture(self, escapes: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", self.session, check=False)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys, check=False)

    def wait(self, *texts: str, seconds: float = 20.0) -> str:
        deadline = time.monotonic() + seconds
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if all(t in screen for t in texts):
                return screen
            if "Traceback" in screen:
                break
            time.sleep(0.1)
        raise TimeoutError(f"waiting for {texts!r}:\n{screen}")

    def settle(self, seconds: float = 10.0) -> str:
        """The screen once it is one whole frame at the window's size (the panel's border closes at
        the last column, top and bottom) and two captures 0.15 s apart agree. Under load a console
        can be caught half-way through repainting after a resize, with rows of the old width."""
        deadline = time.monotonic() + seconds
        last = self.capture()
        while time.monotonic() < deadline:
            time.sleep(0.15)
            now = self.capture()
            if now == last and self.whole_frame(now):
                return now
            last = now
        return last

    def whole_frame(self, screen: str) -> bool:
        w, h = self.size
        lines = screen.split("\n")
        if len(lines) < h - 1:
            return False
        top, bottom = lines[4].rstrip(), lines[h - 2].rstrip()
        return (top.startswith("╭") and top.endswith("╮") and len(top) == w
                and bottom.startswith("╰") and bottom.endswith("╯") and len(bottom) == w)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        for k, v in TERMS[self.term].items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        env.update(HOME=str(self.base / "home"), TMPDIR=str(self.base / "tmp"),
                   XDG_DATA_HOME=str(self.base / "data"), XDG_CONFIG_HOME=str(self.base / "config"),
                   XDG_STATE_HOME=str(self.base / "state"), XDG_CACHE_HOME=str(self.base / "cache"),
                   TEXTUAL_ANIMATIONS="none", PYTHONPATH=str(ROOT))
        env.pop("TMUX", None)
        return env

    def launch(self) -> None:
        w, h = self.first_size
        env = self.env()
        # tmux passes its own environment to the pane: hand ours over explicitly
        exports = " ".join(f"{k}={_q(v)}" for k, v in env.items()
                           if k in ("HOME", "TMPDIR", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
                                    "XDG_CACHE_HOME", "TEXTUAL_ANIMATIONS", "PYTHONPATH", "TERM", "NO_COLOR",
                                    "COLORTERM", "PATH", "LANG", "LC_ALL"))
        # COLUMNS/LINES from the caller's environment would override the pane's real size in Textual
        # (pytest-xdist's workers export 80x24: the 60x20 console drew 80x24 frames into 60x20)
        unset = " ".join(["-u COLUMNS -u LINES", *(f"-u {k}" for k, v in TERMS[self.term].items() if v is None)])
        cmd = (f"cd {_q(str(ROOT))} && env {unset} {exports} {_q(self.python)} -m edgemining_tui --demo"
               f"; echo EXITED $?; sleep 30")   # Textual draws on stderr: it stays the terminal's
        with SERVER_START:
            self.tmux("new-session", "-d", "-s", self.session, "-x", str(w), "-y", str(h), cmd)
        self.tmux("set-option", "-t", self.session, "status", "off", check=False)

    def pane_pid(self) -> int | None:
        out = self.tmux("display-message", "-p", "-t", self.session, "#{pane_pid}", check=False).strip()
        return int(out) if out.isdigit() else None

    def demo_dirs(self) -> list[Path]:
        return sorted((self.base / "tmp").glob("edgemining-demo-*"))

    def state(self) -> dict | None:
        for d in self.demo_dirs():
            db = d / "history.db"
            if db.exists():
                try:
                    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2)
                    row = con.execute("select value from kv where key = 'state'").fetchone()
                    con.close()
                    return json.loads(row[0]) if row else None
                except sqlite3.Error:
                    return None
        return None

    # the walk
    def fail(self, where: str, what: str) -> None:
        self.failures.append(f"{self.term} {where}: {what}")
        if self.screen and where not in self.dumped:
            self.dumped.add(where)
            self.failures.append("the screen:\n" + self.screen)

    def run(self) -> None:
        t0 = time.monotonic()
        try:
            self.launch()
            self.wait("controlled miners", "Energy flow", seconds=90)
            self.startup_s = time.monotonic() - t0
            for size in self.sizes:
                self.visit(size)
            self.quit()
        except Exception as e:   # a timeout or tmux error is a failure of this terminal, reported
            self.fail("run", f"{type(e).__name__}: {e}")
        finally:
            self.seconds = time.monotonic() - t0
            self.tmux("kill-session", "-t", self.session, check=False)
            shutil.rmtree(self.base, ignore_errors=True)

    def visit(self, size: tuple[int, int]) -> None:
        w, h = size
        self.size = size
        self.tmux("resize-window", "-t", self.session, "-x", str(w), "-y", str(h))
        for key, (name, marker) in PANELS.items():
            self.keys(key)
            self.wait(marker)
            if key == "2":
                self.keys("Down")
                self.wait("Why ")
            if key == "5":
                self.wait("Surplus kWh", seconds=30)
            self.check(f"{w}x{h} {name}", key, w, h)
            if key == "1" and not self.chart_shown():
                self.keys("v")      # short screens: the chart instead of the picture
                self.wait("Power in kW")
                self.check(f"{w}x{h} Energy chart (v)", "1c", w, h)
                self.keys("v")
                self.wait("controlled miners")

    def chart_shown(self) -> bool:
        return "Power in kW" in self.capture()

    def quit(self) -> None:
        self.screen = ""
        pid = self.pane_pid()
        self.keys("q")
        self.wait("EXITED", seconds=20)
        screen = self.capture()
        try:   # the console has exited and been reaped by the pane's shell: its CPU time is the shell's children's
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            self.cpu_s = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
        m = re.search(r"EXITED (\d+)", screen)
        if m and m.group(1) != "0":
            self.fail("quit", f"exit status {m.group(1)}")
        if "Traceback" in screen:
            self.fail("quit", "a traceback after quitting:\n" + screen[-1500:])
        if self.demo_dirs():
            self.fail("quit", f"the demo's throw-away directory is still there: {self.demo_dirs()}")
        left = [str(p.relative_to(self.base)) for d in ("data", "config", "home")
                for p in (self.base / d).rglob("*") if p.is_file()]
        if left:
            self.fail("quit", f"the demo wrote outside its throw-away directory: {left[:5]}")

    # the checks
    def check(self, where: str, panel: str, w: int, h: int) -> None:
        """Check the screen; a screen that fails is read again 1.5 s later and only what fails
        twice counts. Under a load of 20+ on 2 cores a capture can catch the console between two
        writes of one frame (the tab bar of one panel over the content of the next); what cleared
        on the second look is listed as transient."""
        before = len(self.failures)
        self._check(where, panel, w, h)
        if len(self.failures) == before:
            return
        first = self.failures[before:]
        del self.failures[before:]
        self.dumped.discard(where)
        time.sleep(1.5)
        self.screens -= 1
        self._check(where, panel, w, h)
        if len(self.failures) == before:
            self.transient.extend(f for f in first if not f.startswith("the screen:"))

    def _check(self, where: str, panel: str, w: int, h: int) -> None:
        plain = self.settle()
        self.screen = plain
        escaped = self.capture(escapes=True)
        self.screens += 1
        lines = plain.split("\n")
        if self.show:
            self.log.append(f"===== {self.term} {where} =====\n{plain}")
        if "Traceback" in plain:
            self.fail(where, "a traceback on screen")
        if not any(PANELS[panel[0]][1] in ln for ln in lines):
            self.fail(where, f"the title {PANELS[panel[0]][1]!r} is not on screen")
        check_panel(self, where, panel, lines, w, h)
        for i, ln in enumerate(lines):
            m = OVERRUN.search(ln)
            if m:
                self.fail(where, f"row {i}: text runs into a chart or gauge: {ln.strip()[:90]!r}")
        status = lines[1].rstrip() if len(lines) > 1 else ""
        # a line that reaches the edge is cut unless it ends in the ellipsis or is whole (it fits
        # exactly: the owner's line ends with the miners' power when nothing is stale or faulty)
        if len(status) >= w - 1 and not status.endswith(("…", " W", " kW")):
            self.fail(where, f"the status line is cut without an ellipsis: {status!r}")
        cells, codes = parse_sgr_screen(escaped)
        self.colour_codes |= codes
        for y, row in enumerate(cells):
            for x, c in enumerate(row):
                if c.ch in (" ", "\u2800") or c.fg is None or c.bg is None:
                    continue
                same = c.fg == c.bg or rgb_of(c.fg) == rgb_of(c.bg)
                if same:
                    self.fail(where, f"row {y} col {x}: {c.ch!r} drawn in its background colour {c.fg}")
                    break
                if c.ch.isalnum() and c.fg[0] == "16" and c.bg[0] == "16" and \
                        contrast(rgb_of(c.fg), rgb_of(c.bg)) < MIN_16_CONTRAST:
                    line = "".join(cc.ch for cc in row).strip()
                    self.fail(where, f"row {y}: text at {contrast(rgb_of(c.fg), rgb_of(c.bg)):.2f}:1 in 16 colours "
                                     f"({c.fg} on {c.bg}): {line[:70]!r}")
                    break
                if c.ch.isalnum():
                    k = contrast(rgb_of(c.fg), rgb_of(c.bg))
                    if k < 4.5 and (c.fg, c.bg) not in self.low:
                        line = "".join(cc.ch for cc in row).strip()
                        self.low[(c.fg, c.bg)] = (k, f"{where} row {y}: {line[:60]!r}")
                    if k < self.min_text_contrast:
                        self.min_text_contrast = k
                        line = "".join(cc.ch for cc in row).strip()
                        self.min_where = f"{where} row {y}: {c.ch!r} {c.fg} on {c.bg} in {line[:50]!r}"
        if TERMS[self.term].get("NO_COLOR") and codes:
            self.fail(where, f"colour codes under NO_COLOR: {sorted(codes)[:8]}")


def check_panel(run: Run, where: str, panel: str, lines: list[str], w: int, h: int) -> None:
    screen = "\n".join(lines)
    if panel == "1":
        figures = re.findall(r"\d+(?:\.\d+)? k?W\b", screen)
        if len(figures) < 3 and "╶" not in screen:      # big digits at 200×60 spell the numbers in glyphs
            run.fail(where, f"the flow picture's powers are not on screen (found {figures})")
        if not re.search(r"\d+ ?%", screen):
            run.fail(where, "the battery's state of charge is not on screen")
        if "controlledminerson" not in _squash("".join(ln.strip("│ ") for ln in lines)):
            run.fail(where, "the decision's sentence is not on screen")
    elif panel == "1c":
        if not re.search(r"Power in kW, last (hour|24 hours|7 days)", screen):
            run.fail(where, "the chart's title is not on screen")
        if not re.search(r"\d\d:\d\d", screen):
            run.fail(where, "the chart's time axis is not on screen")
    elif panel == "2":
        for name in MINERS:
            if name not in screen:
                run.fail(where, f"{name} is not on screen whole (a cut name column?)")
        if w >= 80:
            check_reason(run, where, lines, w)
    elif panel == "3":
        if "Powertheminersmayuse" not in _squash(screen.replace("│", "")):
            run.fail(where, "the allocator's figures are not on screen")
        if not all(n in screen for n in MINERS):
            run.fail(where, "the per-miner decisions are not on screen")
        internal = re.findall(r"\b[a-z]+_[a-z_]+\b(?:\[\w+\])?", screen)
        if internal:
            run.fail(where, f"internal identifiers on the Rules panel: {sorted(set(internal))}")
    elif panel == "4":
        if "Office" not in screen or "office-avalon" not in screen:
            run.fail(where, "the zone or its miner is not on screen whole")
    elif panel == "5":
        if not re.search(r"\d+\.\d+ kWh", screen):
            run.fail(where, "no kWh figure on the History panel")
        if not re.search(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d [A-Z][a-z]{2}", screen):
            run.fail(where, "no dated row on the History panel")
    elif panel == "6":
        if "command" not in screen:
            run.fail(where, "no event on the Events panel")
        check_events(run, where, lines)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def check_events(run: Run, where: str, lines: list[str]) -> None:
    """Every event whose start is on screen is there whole (wrapped lines joined), as the store has it."""
    body = _squash("".join(ln.strip().strip("│╭╮╰╯─").strip() for ln in lines[4:-1]))
    messages = []
    for d in run.demo_dirs():
        try:
            con = sqlite3.connect(f"file:{d / 'history.db'}?mode=ro", uri=True, timeout=2)
            messages = [r[0] for r in con.execute("select message from events order by rowid desc limit 60")]
            con.close()
        except sqlite3.Error:
            pass
    for m in messages:
        m = m or ""
        if len(m) < 12 or _squash(m[:32]) not in body:
            continue
        if _squash(m) not in body:
            run.fail(where, f"an event is cut: {m!r} is not on screen whole")
            return


def _norm(s: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", s)).strip()


def check_reason(run: Run, where: str, lines: list[str], w: int) -> None:
    """The text under the table after "Why", joined over its wrapped lines, is the owner's reason."""
    for attempt in range(3):
        start = next((i for i, ln in enumerate(lines) if ln.strip("│ ").startswith("Why ")), None)
        if start is None:
            run.fail(where, "no 'Why' line under the fleet table")
            return
        head = next((ln.strip("│ ") for ln in lines[max(0, start - 3):start] if " · " in ln), "")
        name = head.split(" · ", 1)[0].strip()
        text = []
        for ln in lines[start:]:
            body = ln.strip().strip("│").strip()
            if not body or body.startswith(("Timer ", "╰")):
                break
            text.append(body)
        shown = _norm(" ".join(text)[4:])
        st = run.state() or {}
        m = ((st.get("decision") or {}).get("miners") or {}).get(name) or {}
        want = _norm(m.get("reason") or "")
        if want and (shown == want or shown.endswith(want) or want in shown):
            return
        time.sleep(0.6)
        lines = run.settle().split("\n")
    run.fail(where, f"the reason under the table for {name!r} is {shown!r}, the owner's is {want!r}")


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(f"{w}x{h}" for w, h in SIZES))
    ap.add_argument("--terms", default="xterm-256color,xterm,NO_COLOR")
    ap.add_argument("--quick", action="store_true", help="the three terminals side by side (as the test runs it)")
    ap.add_argument("--show", action="store_true", help="print every screen")
    a = ap.parse_args(argv)
    if shutil.which("tmux") is None:
        print("tmux_terminals: tmux is not installed; skipping (apt-get install tmux)")
        return 0
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    terms = a.terms.split(",")
    python = os.environ.get("PYTHON") or (str(ROOT / ".venv/bin/python") if (ROOT / ".venv/bin/python").exists()
                                          else sys.executable)
    runs = []
    for i, term in enumerate(terms):
        # each terminal starts at a different size and is resized through the rest (start and resize both seen)
        order = QUICK[term] if a.quick and term in QUICK else sizes[i % len(sizes):] + sizes[:i % len(sizes)]
        runs.append(Run(term, order[0], order, python, show=a.show))
    t0 = time.monotonic()
    threads = [threading.Thread(target=r.run) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    subprocess.run(["tmux", "-L", TMUX_SOCKET, "kill-server"], capture_output=True)
    # tmux leaves the socket file behind
    (Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / TMUX_SOCKET).unlink(missing_ok=True)
    failures = [f for r in runs for f in r.failures]
    transient = [f for r in runs for f in r.transient]
    for r in runs:
        for screen in r.log:
            print(screen)
    print(f"{'terminal':16} {'sizes (first one at start)':34} {'screens':>7} {'start s':>7} {'total s':>7} "
          f"{'CPU s':>6}  lowest text contrast")
    for r in runs:
        order = " → ".join(f"{w}x{h}" for w, h in r.sizes)
        k = "—" if r.min_text_contrast > 90 else f"{r.min_text_contrast:.2f} ({r.min_where})"
        cpu = "—" if r.cpu_s is None else f"{r.cpu_s:.1f}"
        print(f"{r.term:16} {order:34} {r.screens:7d} {r.startup_s:7.1f} {r.seconds:7.1f} {cpu:>6}  {k}")
        for (fg, bg), (k, where) in sorted(r.low.items(), key=lambda kv: kv[1][0])[:8]:
            print(f"{'':16} text under 4.5: {k:.2f} {fg} on {bg} — {where}")
        if TERMS[r.term].get("NO_COLOR"):
            print(f"{'':16} colour codes under NO_COLOR: {sorted(r.colour_codes) or 'none'}")
    cpus = [r.cpu_s for r in runs if r.cpu_s is not None]
    load = os.getloadavg()[0]
    print(f"wall time {wall:.1f} s; the consoles' CPU time {sum(cpus):.1f} s (process CPU, from /proc); "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    if transient:
        print(f"\ntransient (failed once, held on a second look 1.5 s later): {len(transient)}")
        for f in transient:
            print("  " + f.splitlines()[0])
    if failures:
        print(f"\ntmux_terminals: {len(failures)} failures")
        for f in failures:
            print("  " + f.replace("\n", "\n    "))
        return 1
    print("tmux_terminals: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
