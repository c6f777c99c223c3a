"""Notifications through Apprise (ntfy, Telegram, e-mail, Gotify, JSON webhooks, ...).

Optional extra: ``pip install 'edgemining-tui[notify]'``. Apprise is synchronous, so each send runs
on a worker thread with a timeout: a slow or dead endpoint never reaches the control loop.
URLs carry tokens, so they are registered as secrets and never printed.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Iterable

from ..secrets import redact, register
from .base import Notification

log = logging.getLogger("edgemining_tui.notify")


class NotifyUnavailable(RuntimeError):
    pass


class AppriseNotifier:
    name = "apprise"

    def __init__(self, urls: Iterable[str], timeout: float = 10.0) -> None:
        self.urls = [str(u) for u in urls]
        self.timeout = timeout
        register(*self.urls)
        self._ap = None

    def _apprise(self):
        if self._ap is not None:
            return self._ap
        try:
            import apprise
        except ImportError:
            raise NotifyUnavailable("notify.urls needs Apprise: pip install 'edgemining-tui[notify]'") from None
        ap = apprise.Apprise()
        bad = [i + 1 for i, u in enumerate(self.urls) if not ap.add(u)]
        if bad:
            raise NotifyUnavailable(f"notify.urls: Apprise does not understand entr{'y' if len(bad) == 1 else 'ies'} "
                                    f"{', '.join(map(str, bad))} (the URLs are not shown: they may hold tokens)")
        self._ap = ap
        return ap

    def check(self) -> None:
        """Raise NotifyUnavailable with a clear message if Apprise is missing or a URL is unknown."""
        self._apprise()

    def _send_sync(self, n: Notification) -> bool:
        import apprise
        ap = self._apprise()
        ntype = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
                 "error": apprise.NotifyType.FAILURE}.get(n.severity, apprise.NotifyType.INFO)
        if n.cleared:
            ntype = apprise.NotifyType.SUCCESS
        return bool(ap.notify(title=redact(n.title), body=redact(n.body), notify_type=ntype))

    async def send(self, n: Notification) -> bool:
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._send_sync, n), self.timeout)
        except NotifyUnavailable as e:
            log.error("%s", e)
            return False
        except asyncio.TimeoutError:
            log.warning("notification not delivered: no answer within %g s", self.timeout)
            return False
        except Exception as e:  # a channel problem is never the engine's problem
            log.warning("notification not delivered: %s", redact(str(e)))
            return False

    async def close(self) -> None:
        return None
