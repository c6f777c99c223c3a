"""Overrides as the engine and the UI ask for them (set, release, view, and the engine's handle()),
and as the decider applies one to a miner, checked first against what the miner can take."""
from __future__ import annotations

from .allocator import Slot
from .overrides import MODE_OF_KIND, Override, OverrideEvent, override_refusal


class OverrideRequests:
    """Mixed into PolicyDecider; uses its ``overrides`` (Overrides) and ``_events`` list."""

    takes_overrides = True      # policy.decision.Decider: pause and observe-only are overrides here

    # --- overrides API (the engine's handle(), the UI) ------------------------------------------
    def set_override(self, kind: str, *, now: float, miner: str | None = None, watts: float | None = None,
                     expiry: str | float | None = "for 1 h", by: str = "user") -> Override:
        o = self.overrides.set(kind, now=now, miner=miner, watts=watts, expiry=expiry, by=by)
        self._events.append(OverrideEvent("set", o, (f"{miner}: " if miner else "") + o.describe(now)))
        return o

    def release_override(self, *, now: float, miner: str | None = None, kind: str | None = None) -> list[Override]:
        gone = self.overrides.release(now=now, miner=miner, kind=kind)
        for o in gone:
            who = f"{o.miner}: " if o.miner else ""
            self._events.append(OverrideEvent("released", o, f"{who}{o.kind.replace('_', ' ')} released by hand"))
        return gone

    def overrides_view(self, now: float) -> dict:
        return self.overrides.view(now)

    def pop_events(self) -> list[OverrideEvent]:
        ev, self._events = self._events, []
        return ev

    def handle(self, action: str, args: dict, now: float) -> str:
        """Engine requests: override {kind, miner?, watts?, expiry?}, force_on / force_off / power
        {miner, watts?, expiry?}, pause_automation / observe {expiry?}, release {miner? kind?}."""
        a = action.replace("-", "_")
        expiry = args.get("expiry", args.get("for", args.get("until", "for 1 h")))
        if a == "override":
            a = str(args.get("kind", ""))
        if a in ("fixed_power", "set_power"):
            a = "power"
        if a == "pause_automation":
            a = "pause"
        if a == "observe_only_for":
            a = "observe"
        if a in ("force_on", "force_off", "power"):
            miner = args.get("miner")
            if not miner:
                raise ValueError(f"{a} needs a miner")
            o = self.set_override(a, now=now, miner=miner, watts=args.get("watts"), expiry=expiry,
                                  by=str(args.get("by", "user")))
            return f"{miner}: {o.describe(now)}"
        if a in ("pause", "observe"):
            o = self.set_override(a, now=now, expiry=expiry, by=str(args.get("by", "user")))
            return o.describe(now)
        if a in ("release", "release_all"):
            gone = self.release_override(now=now, miner=args.get("miner"), kind=args.get("kind"))
            if not gone:
                return "no override to release"
            return "released: " + ", ".join((o.miner or o.kind) for o in gone)
        raise ValueError(f"unknown action {action!r}")

    # --- an override applied to a miner (the decide loop, policy/decider.py) ----------------------
    def _check_override(self, name: str, caps, now: float) -> None:
        """An override this miner cannot take (saved before it was checked, or the miner turned out
        to be monitor-only) is dropped with an event, never applied."""
        o = self.overrides.for_miner(name)
        why = override_refusal(MODE_OF_KIND.get(o.kind, ""), o.watts, caps, name) if o is not None else ""
        if why:
            self.overrides.release(now=now, miner=name)
            self._events.append(OverrideEvent("dropped", o, f"override dropped: {why}"))

    def _override(self, sl: Slot, o: Override, now: float) -> None:
        lad = sl.ladder
        sl.term = "override"
        sl.reason = o.describe(now)
        sl.st.enable_since = sl.st.disable_since = None
        if o.kind == "force_off":
            sl.run, sl.want, sl.level = False, None, None
            return
        sl.run = True
        w = lad.hi if o.kind == "force_on" or o.watts is None else lad.snap(o.watts)
        sl.want = w
        sl.level = lad.level_name(w)
