"""Do the flows add up? pv + import − export = house + battery charge + miners.

One place for the sign check the setup wizard shows while a source is being configured and the
engine runs on every cycle. When the flows do not balance but flipping exactly one value's sign
would make them, that value is named ("grid looks inverted: set ``invert: true``"). When the gap
is the miners' own draw, the house sensor includes them (``house_includes_miners: true``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .snapshot import EnergySnapshot

log = logging.getLogger("edgemining_tui.energy.balance")

ROLES = ("grid", "battery", "pv", "house")
DEFAULT_TOLERANCE_W = 300.0


@dataclass(frozen=True)
class Balance:
    gap_w: float                   # pv + import − (house + charge + miners)
    tolerance_w: float
    flip: str | None = None        # the one value whose sign flip balances the flows
    miners_in_house: bool = False  # the gap is the miners' draw: the house sensor includes them

    @property
    def balanced(self) -> bool:
        return abs(self.gap_w) <= self.tolerance_w

    def advice(self) -> str | None:
        """What to change in the config, in words; None when it adds up or nothing single fixes it."""
        if self.balanced:
            return None
        if self.miners_in_house:
            return ("the house reading includes the miners (the flows are off by their draw): set "
                    "`house_includes_miners: true`")
        if self.flip is not None:
            return f"{self.flip} looks inverted: set `invert: true` on {self.flip}"
        return None


def check_balance(pv_w: float, house_w: float, grid_import_w: float, battery_charge_w: float | None = None,
                  miners_w: float = 0.0, tolerance_w: float = DEFAULT_TOLERANCE_W) -> Balance:
    values = {"pv": pv_w, "house": house_w, "grid": grid_import_w, "battery": battery_charge_w or 0.0}

    def gap(flip: str | None = None) -> float:
        v = {k: (-x if k == flip else x) for k, x in values.items()}
        return v["pv"] + v["grid"] - (v["house"] + v["battery"] + miners_w)

    # readings from different devices are a few seconds apart: allow 15 % of the larger of PV and
    # house (not the miners: a large fleet must not make a wrong flip look like a fit)
    tol = max(tolerance_w, 0.15 * max(abs(pv_w), abs(house_w)))
    now = gap()
    if abs(now) <= tol:
        return Balance(now, tol)
    # PV and house are never negative: flipping one that is positive cannot be the fix
    fixes = [r for r in ROLES if (r != "battery" or battery_charge_w is not None)
             and (r in ("grid", "battery") or values[r] < 0)
             and abs(values[r]) > tol / 2 and abs(gap(r)) <= tol]
    if miners_w > tol and abs(now + miners_w) <= tol:
        fixes.append("miners")
    if len(fixes) != 1:                       # none, or more than one explanation: no advice
        return Balance(now, tol)
    if fixes[0] == "miners":
        return Balance(now, tol, miners_in_house=True)
    return Balance(now, tol, flip=fixes[0])


class SignWatch:
    """The live sign check: a warning once the same advice has held for ``cycles`` cycles and
    ``min_s`` seconds (readings from several devices disagree briefly during every step), cleared
    once the flows have balanced as long. Cycles whose values are missing are not counted."""

    def __init__(self, cycles: int = 6, min_s: float = 30.0, tolerance_w: float = DEFAULT_TOLERANCE_W) -> None:
        self.cycles = cycles
        self.min_s = min_s
        self.tolerance_w = tolerance_w
        self.warning: str | None = None
        self._candidate: str | None = None     # advice being confirmed ("" = balanced)
        self._since: float = 0.0
        self._count = 0

    def observe(self, snap: EnergySnapshot, miners_w: float, now: float) -> str | None:
        """The warning to show now (None when there is none)."""
        pv, house, grid = snap.value("pv_w"), snap.value("house_w"), snap.value("grid_import_w")
        battery, soc = snap.value("battery_charge_w"), snap.value("battery_soc_pct")
        if pv is None or house is None or grid is None or (battery is None and soc is not None):
            return self.warning                 # not all flows known (a battery reports SoC only)
        b = check_balance(pv, house, grid, battery, miners_w, self.tolerance_w)
        advice = "" if b.balanced else b.advice()
        if advice is None:                      # off, but no single change explains it: no verdict
            self._candidate, self._count = None, 0
            return self.warning
        if advice != self._candidate:
            self._candidate, self._since, self._count = advice, now, 0
        self._count += 1
        if self._count >= self.cycles and now - self._since >= self.min_s:
            new = None if advice == "" else (f"energy flows do not add up (pv + import − export is "
                                            f"{b.gap_w:+.0f} W off house + battery + miners): {advice}")
            if (new is None) != (self.warning is None):
                if new is None:
                    log.info("energy flows add up again")
                else:
                    log.warning("%s", new)
            if new is None or self.warning is None or advice not in self.warning:
                self.warning = new
        return self.warning
