"""The console in a real pseudo-terminal, through its terminal driver (ui/driver.py): after the
keyboard has been idle (the input thread then waits instead of polling ten times a second) a key
still works at once, a lone Escape still closes a dialog, and ``q`` still quits at once."""
from __future__ import annotations

import fcntl
import os
import select
import struct
import sys
import termios
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty and Textual's Linux driver")

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """site: {name: Driver test, timezone: Europe/Berlin, cycle_interval: 1s, stale_after: 30s}
energy: {source: demo}
demo:
  start_hour: 11
  site: {pv_peak: 10kW, house_base: 350W, latitude: 47.4, cloudiness: 0.2}
  miners: []
miners:
  - {name: sim-a, driver: simulated, priority: 1, simulated: {max_w: 3250, min_w: 1200, ramp: 30s}}
ui: {refresh_interval: 1s, animations: false}
"""


class Console:
    def __init__(self, tmp: Path, code: str | None = None) -> None:
        """The console as ``edgemining-tui`` starts it, or through ``code`` (``python -c``), which
        runs it itself with the same arguments."""
        import pty
        (tmp / "c.yaml").write_text(CONFIG)
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor", TEXTUAL_ANIMATIONS="none",
                   XDG_DATA_HOME=str(tmp / "xdg-data"), XDG_CONFIG_HOME=str(tmp / "xdg-config"))
        env.pop("TEXTUAL_DRIVER", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(ROOT)
            run = ["-c", code] if code else ["-m", "edgemining_tui"]
            os.execvpe(sys.executable, [sys.executable, *run, "--config", str(tmp / "c.yaml"),
                                        "--data-dir", str(tmp / "data")], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.out = b""

    def read(self, seconds: float) -> bytes:
        got = b""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            r, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if r:
                try:
                    got += os.read(self.fd, 65536)
                except OSError:
                    break
        self.out += got
        return got

    def wait_for(self, text: bytes, seconds: float) -> bool:
        seen = b""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            seen += self.read(0.05)
            if text in seen:
                return True
        return False

    def exited_within(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.read(0.05)
            pid, _ = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return True
        return False

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def test_keys_escape_and_quit_after_the_keyboard_was_idle(tmp_path):
    c = Console(tmp_path)
    try:
        assert c.wait_for(b"mining", 60), "the console did not show a state"
        c.read(1.5)                                   # idle: the input thread waits for input
        os.write(c.fd, b"?")
        assert c.wait_for(b"Keys", 5), "a key after an idle keyboard was not handled"
        c.read(1.5)
        os.write(c.fd, b"\x1b")                       # a lone Escape closes the help
        c.read(1.0)
        os.write(c.fd, b"?")                          # opens it again (had it stayed open, ? closes it)
        assert c.wait_for(b"Keys", 5), "a lone Escape after an idle keyboard was not handled"
        os.write(c.fd, b"\x1b")
        c.read(1.5)
        t0 = time.monotonic()
        os.write(c.fd, b"q")
        assert c.exited_within(10), "q did not quit"
        assert time.monotonic() - t0 < 5
    finally:
        c.kill()


# modules the first frame must not wait for: the panels behind the other tabs (RichLog brings
# rich.pretty), the runtime (engine, store, sources), pyasic and plotext
LATER = ("edgemining_tui.ui.panels.fleet", "edgemining_tui.ui.panels.events", "edgemining_tui.ui.panels.history",
         "edgemining_tui.ui.panels.rules", "edgemining_tui.ui.panels.heat", "rich.pretty", "edgemining_tui.runtime",
         "pyasic", "plotext")
FIRST_FRAME_NOTE = """
import os, sys
from textual.app import App
_display = App._display
def _noted(self, screen, renderable):
    if renderable is not None and not getattr(App, "_noted", False):
        App._noted = True
        loaded = [m for m in {later!r} if m in sys.modules]
        with open({note!r}, "w") as f:
            f.write(repr((self.query_one("#panels").active, loaded, __import__("gc").isenabled())))
    _display(self, screen, renderable)
App._display = _noted
from edgemining_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_the_first_frame_goes_out_before_the_other_panels_and_they_work_after_it(tmp_path):
    """The first frame is the console (header, tabs, the energy panel) without the panels behind
    the other tabs: they, the runtime, pyasic and plotext load after it, and the garbage collector
    is paused until then. Then every tab works."""
    note = tmp_path / "first-frame"
    c = Console(tmp_path, FIRST_FRAME_NOTE.format(later=LATER, note=str(note)))
    try:
        assert c.wait_for(b"edgemining-tui", 60), "no first frame"
        assert c.wait_for(b"mining", 60), "the console did not show a state"
        active, loaded, collector_on = eval(note.read_text())
        assert active == "energy" and loaded == []
        assert not collector_on         # paused for the start-up (ui/launch.pause_gc), resumed after it
        os.write(c.fd, b"2")
        assert c.wait_for(b"sim-a", 10), "the fleet panel did not show its miner"
        os.write(c.fd, b"6")
        assert c.wait_for(b"Events (commands", 10), "the events panel did not show"
        os.write(c.fd, b"q")
        assert c.exited_within(10), "q did not quit"
    finally:
        c.kill()


def test_an_exit_without_a_key_wakes_the_waiting_input_thread():
    """The app can stop with no key pressed (an error, the last screen closed): setting the
    driver's exit event must end the input thread's wait at once, not after IDLE_WAIT_S."""
    import selectors
    import threading
    from edgemining_tui.ui.driver import _WakingEvent
    r, w = os.pipe()
    ev = _WakingEvent(w)
    sel = selectors.SelectSelector()
    sel.register(r, selectors.EVENT_READ)
    waited: list[float] = []

    def wait() -> None:
        t0 = time.monotonic()
        while not ev.is_set():
            sel.select(30.0)
        waited.append(time.monotonic() - t0)
    t = threading.Thread(target=wait, daemon=True)
    t.start()
    time.sleep(0.2)
    ev.set()
    t.join(5)
    try:
        assert waited and waited[0] < 2.0
    finally:
        sel.close()
        os.close(r)
        os.close(w)



async def test_a_textual_that_moved_its_parser_gets_its_own_driver_not_a_failed_start(tmp_path, monkeypatch):
    """ui/driver.py reuses Textual's private parser modules; should a Textual 8.x release move
    them, the console starts on Textual's own driver (and says so in the log) instead of failing."""
    from textual.drivers.linux_driver import LinuxDriver
    from edgemining_tui.ui.app import EdgeMiningApp
    from edgemining_tui.ui.driver import QuietLinuxDriver
    from edgemining_tui.ui.fixtures import build_owner, close
    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    rt = build_owner(tmp_path / "data")
    try:
        app = EdgeMiningApp(rt.cfg, runtime=rt, run_engine=False)
        assert app.get_driver_class() is QuietLinuxDriver
        monkeypatch.setitem(sys.modules, "edgemining_tui.ui.driver", None)     # its import fails
        assert app.get_driver_class() is LinuxDriver
    finally:
        await close(rt)
