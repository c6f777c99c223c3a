"""The ``notify:`` section: where notifications go and which ones a user gets.

Example::

    notify:
      urls:                       # any Apprise URL; tokens belong in the environment or secrets file
        - ${NTFY_URL}             # e.g. ntfys://ntfy.sh/my-topic
        - tgram://${TG_BOT_TOKEN}/${TG_CHAT_ID}
      events: [offline, command, failsafe, override, summary]   # the default; 'energy' is also known
      daily_summary: "20:00"      # local time (site.timezone); null: no summary
      min_severity: info          # info | warning | error
      max_per_hour: 30            # a storm of faults never becomes a storm of messages
      timeout: 10s
      log: true                   # also write each notification to the log

Needs the optional extra: ``pip install 'edgemining-tui[notify]'`` (Apprise).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

from ..config.types import Duration, Secret, bounded

Kind = Literal["offline", "command", "failsafe", "override", "summary", "energy"]
DEFAULT_ON: tuple[str, ...] = ("offline", "command", "failsafe", "override", "summary")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class NotifyConfig:
    urls: tuple[Secret, ...] = ()
    events: tuple[Kind, ...] = DEFAULT_ON   # (not 'on:': YAML reads a bare on as true)
    daily_summary: Optional[str] = "20:00"
    min_severity: Literal["info", "warning", "error"] = "info"
    max_per_hour: bounded(int, 1, 3600) = 30
    timeout: bounded(Duration, 0, 300, above=True) = 10.0
    retries: int = 2
    log: bool = True
    title: str = "edgemining"

    def validate(self) -> None:
        for i, u in enumerate(self.urls):
            if "://" not in u:
                raise ValueError(f"urls: entry {i + 1} is not a URL (expected e.g. ntfys://ntfy.sh/topic "
                                 "or json://host:port/path)")
        if self.daily_summary is not None and not _HHMM.match(self.daily_summary):
            raise ValueError(f"daily_summary: expected a local time like 20:00, got {self.daily_summary!r}")
        if self.max_per_hour < 1:
            raise ValueError("max_per_hour: must be at least 1")
        if self.timeout <= 0:
            raise ValueError("timeout: must be positive")
        if not 0 <= self.retries <= 10:
            raise ValueError("retries: expected 0..10")
        if self.urls:
            import importlib.util
            if importlib.util.find_spec("apprise") is None:
                raise ValueError("urls: sending notifications needs Apprise: "
                                 "pip install 'edgemining-tui[notify]' (or remove notify.urls)")

    @property
    def summary_at(self) -> tuple[int, int] | None:
        if self.daily_summary is None:
            return None
        h, m = self.daily_summary.split(":")
        return int(h), int(m)
