"""What a PolicyDecider carries beyond one cycle: its saved state (``export_state`` /
``restore_state``, across restarts and config reloads) and the policy mode the owner switches to
while it runs (``set_mode``)."""
from __future__ import annotations


class DeciderState:
    """Mixed into PolicyDecider; uses its ``cfg``, ``rules``, ``_slots``, ``_restored``, ``_lean``,
    ``overrides``, ``_events``, ``_battery`` and ``reserve``."""

    def set_mode(self, mode: str) -> str:
        from dataclasses import replace
        from .config import MODES
        if mode not in MODES:
            raise ValueError(f"cannot switch to policy {mode!r} (expected {', '.join(MODES)})")
        if mode == "rules" and self.rules is None:
            # rules mode without rules commands nothing at all ("no rules loaded: not automated")
            raise ValueError(f"no rules loaded, so rules mode would automate nothing; the policy stays "
                             f"{self.cfg.mode}. Name a rules file (policy.rules_file, docs/rules.md) and reload (R)")
        self.cfg = replace(self.cfg, mode=mode, groups={})
        for slot in self._slots.values():
            slot.mode = mode
        return f"policy mode: {mode}"

    def export_state(self) -> dict:
        miners = dict(self._restored)
        for name, sl in self._slots.items():
            miners[name] = sl.st.export()
        out = {"version": 1, "miners": miners, "overrides": self.overrides.export(),
               "battery_seen": bool(self._battery)}
        if self.reserve is not None and self.reserve.quantile is not None:
            # what the forecast's recent misses were: a restart keeps learning from them
            out["forecast_misses"] = self.reserve.misses.export()
        if self.reserve is not None:
            out["battery_full"] = self.reserve.export_full()
        return out

    def restore_state(self, state: dict, now: float | None = None) -> None:
        if not state:
            return
        miners = state.get("miners") or {}
        self._slots.clear()
        self._lean = None
        self._restored = {str(k): dict(v) for k, v in miners.items() if isinstance(v, dict)}
        self._events.extend(self.overrides.load(state.get("overrides") or (), now))
        if self.cfg.battery.present is None and state.get("battery_seen"):
            self._battery = True
        misses = state.get("forecast_misses")
        if self.reserve is not None and misses is not None:
            self.reserve.misses.restore(misses)
        if self.reserve is not None:
            self.reserve.restore_full(state.get("battery_full"))
