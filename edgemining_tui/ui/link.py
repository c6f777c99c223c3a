"""How the console talks to the engine: directly when this process owns the fleet, through the
store's inbox when it only observes. No Textual here, so it is testable on its own."""
from __future__ import annotations

import asyncio
from typing import Any

from ..engine.serialize import state_from_dict
from ..format import duration


class OwnerLink:
    """This process runs the engine: requests go straight to it and are applied on the next cycle."""

    role = "owner"

    def __init__(self, runtime: Any, timeout_s: float = 120.0) -> None:
        self.rt = runtime
        self.engine = runtime.engine
        self.timeout_s = timeout_s

    async def send(self, action: str, args: dict) -> str:
        fut = self.engine.request(action, args)
        try:
            return str(await asyncio.wait_for(fut, self.timeout_s))
        except asyncio.TimeoutError:
            return "sent; the engine has not applied it yet"

    def force_cycle(self) -> None:
        self.engine.force_cycle()

    def owner_gone(self, last_state_ts: float | None = None) -> str:
        return ""   # we are the owner


class ObserverLink:
    """Another process owns the fleet: read its state from the store, write requests to its inbox."""

    role = "observer"

    def __init__(self, runtime: Any, poll_s: float = 1.0, timeout_s: float = 120.0) -> None:
        self.rt = runtime
        self.store = runtime.store
        self.clock = runtime.clock
        self.poll_s = poll_s
        self.timeout_s = timeout_s
        self._last_state_key: tuple | None = None
        self._last_event_id = 0

    async def send(self, action: str, args: dict) -> str:
        rid = await asyncio.to_thread(self.store.send_request, action, dict(args), self.clock.now())
        waited = 0.0
        while waited < self.timeout_s:
            res = await asyncio.to_thread(self.store.request_result, rid)
            if res is not None:
                return str(res)
            await asyncio.sleep(self.poll_s)
            waited += self.poll_s
        return "sent to the owner; not applied yet (is the owner running?)"

    def force_cycle(self) -> None:  # an observer cannot wake the owner directly: ask through the inbox
        pass

    def title(self, site: str) -> str:
        """The header: whose fleet this is while the owner's lock is held, else that nobody will act
        on a request (the kernel drops the lock when the owner stops or dies, store/lock.py)."""
        lock = self.rt.lock
        if lock.owner_alive():
            return f"{site} · OBSERVER (owner pid {lock.owner_pid() or '?'})"
        return f"{site} · OBSERVER · owner gone: requests will not be acted on"

    def owner_gone(self, last_state_ts: float | None = None) -> str:
        """'' while an owner runs; else "owner stopped 1:18 ago" (from its last saved state)."""
        lock = getattr(self.rt, "lock", None)
        alive = getattr(lock, "owner_alive", None)
        if alive is None or alive():
            return ""
        if last_state_ts is None:
            return "no owner is running"
        return f"owner stopped {duration(self.clock.now() - last_state_ts)} ago"

    async def poll_state(self):
        """The owner's latest state, or None when it has not changed since the last poll."""
        d = await asyncio.to_thread(self.store.get, "state")
        if not d:
            return None
        key = (d.get("cycle"), d.get("ts"))
        if key == self._last_state_key:
            return None
        self._last_state_key = key
        return state_from_dict(d)

    async def poll_events(self, first: bool = False) -> list[dict]:
        """Events the owner recorded since the last poll (the last 200 on the first call)."""
        if first:
            rows = await asyncio.to_thread(
                self.store.query, "select rowid as id, * from events order by rowid desc limit 200")
            rows.reverse()
        else:
            rows = await asyncio.to_thread(
                self.store.query, "select rowid as id, * from events where rowid > ? order by rowid limit 500",
                [self._last_event_id])
        if rows:
            self._last_event_id = max(r["id"] for r in rows)
        return rows


def make_link(runtime: Any, poll_s: float = 1.0):
    return OwnerLink(runtime) if runtime.engine is not None else ObserverLink(runtime, poll_s)
