"""The Notifier port: a notification, the protocol every channel implements, and two channels.

- ``LogNotifier`` writes to the log (always available, used headless).
- ``MemoryNotifier`` keeps what it was sent (the fake for tests).
- ``AppriseNotifier`` (notify/apprise_notifier.py) sends through Apprise (optional extra ``notify``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

log = logging.getLogger("edgemining_tui.notify")

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class Notification:
    key: str                 # what it is about: "miner:garage-s19", "failsafe", "summary:2025-06-01"
    title: str
    body: str
    severity: str = "info"   # info | warning | error
    kind: str = "notice"     # offline | command | failsafe | override | summary | energy
    cleared: bool = False    # True: the all-clear for an earlier one with the same key
    ts: float = 0.0
    data: dict = field(default_factory=dict)


@runtime_checkable
class Notifier(Protocol):
    name: str

    async def send(self, n: Notification) -> bool:
        """Deliver one notification. True when delivered. Must not raise for delivery problems."""

    async def close(self) -> None: ...


class LogNotifier:
    name = "log"

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log

    async def send(self, n: Notification) -> bool:
        level = {"info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}.get(n.severity,
                                                                                              logging.INFO)
        self.log.log(level, "notify: %s: %s", n.title, n.body)
        return True

    async def close(self) -> None:
        return None


class MemoryNotifier:
    name = "memory"

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[Notification] = []
        self.fail = fail

    async def send(self, n: Notification) -> bool:
        if self.fail:
            return False
        self.sent.append(n)
        return True

    async def close(self) -> None:
        return None
