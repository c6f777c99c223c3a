"""Shared helpers for the miner and emulator tests (real sockets, real pyasic, loopback only).

Addresses: these suites use 127.0.3.x only, so they do not clash with other suites running in
parallel. Direct-mode emulators use ephemeral ports; standard-port ones get their own address.
"""
from __future__ import annotations

import itertools
import os

from edgemining_tui.clock import RealClock
from edgemining_tui.emulators.fleet import EmulatorSpec, start_emulators
from edgemining_tui.miners.factory import build_fleet

# each test process starts at its own offset in 127.0.3.16-251, so parallel runs rarely meet
_addr = itertools.count((os.getpid() * 37) % 236)


def fresh_host() -> str:
    """A loopback address of our own, for standard-port (identification) tests."""
    return f"127.0.3.{16 + next(_addr) % 236}"


async def start(specs, clock=None, **fleet_kw):
    clock = clock or RealClock()
    handle = await start_emulators(specs, clock)
    fleet_kw.setdefault("backoff_s", 0.01)
    fleet = build_fleet(handle.configs, clock, **fleet_kw)
    return handle, fleet


def spec(name: str, family: str, **kw) -> EmulatorSpec:
    kw.setdefault("host", "127.0.3.2")
    kw.setdefault("poll_timeout", 1.0)
    kw.setdefault("command_timeout", 1.0)
    return EmulatorSpec(name, family, **kw)
