"""Textual's Linux driver, with an input thread that sleeps while the keyboard is idle.

Textual's input thread wakes ten times a second to poll the terminal, whether or not a key came:
on the 2-core development VM that was ~0.25 % of a core, a fifth of what the whole console costs
at a 1 s cycle (benchmarks/ui_perf.py, docs/console.md). This driver polls as Textual does for a
second after any input (a lone Escape is told from the start of a key sequence by a timeout,
which needs those polls), then waits for input without a timeout. Quitting wakes it through a
pipe, so it stops at once; a resize arrives by SIGWINCH on the main thread, as before.

The loop is Textual's ``LinuxDriver.run_input_thread`` (textual 8.x) with only the wait changed;
the app chooses this driver through Textual's ``App.get_driver_class`` hook, and only where
Textual would pick ``LinuxDriver`` (never for ``serve``'s web driver or a TEXTUAL_DRIVER).
"""
from __future__ import annotations

import os
import selectors
import time
from codecs import getincrementaldecoder
from threading import Event

from textual import constants
from textual._loop import loop_last
from textual._parser import ParseError
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

# after the last input, poll as Textual does for this long: past the Escape timeout (ESCDELAY)
KEYS_IDLE_S = max(1.0, 3 * constants.ESCAPE_DELAY)
POLL_S = 0.1            # Textual's poll while keys come
IDLE_WAIT_S = 30.0      # a bound, should a wake-up be missed: the pipe ends the wait on quit


class _WakingEvent(Event):
    """The driver's exit event, which also wakes the input thread's wait."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        try:
            os.write(self._wake_fd, b"x")
        except OSError:      # closed, or the pipe is full of earlier wake-ups: either way awake
            pass


class QuietLinuxDriver(LinuxDriver):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self.exit_event = _WakingEvent(self._wake_w)

    def close(self) -> None:
        super().close()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events (Textual's loop; only the wait differs)."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        fileno, wake = self.fileno, self._wake_r
        parser = XTermParser(self._debug)
        feed, tick = parser.feed, parser.tick
        decode = getincrementaldecoder("utf-8")().decode
        last_input = time.monotonic()

        def process_selector_events(selector_events, final: bool = False) -> None:
            nonlocal last_input
            for last, (key, mask) in loop_last(selector_events):
                if key.fd == wake:
                    try:
                        os.read(wake, 512)
                    except OSError:
                        pass
                    continue
                if mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        break      # this can occur if stdin is piped
                    last_input = time.monotonic()
                    for event in feed(unicode_data):
                        self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                idle = time.monotonic() - last_input >= KEYS_IDLE_S
                process_selector_events(selector.select(IDLE_WAIT_S if idle else POLL_S))
            selector.unregister(self.fileno)
            selector.unregister(wake)
            process_selector_events(selector.select(POLL_S), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass
