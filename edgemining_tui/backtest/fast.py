"""The replay's positional factories for the objects it builds every step (see fastobj.py)."""
from __future__ import annotations

from ..energy.snapshot import EnergySnapshot, Reading
from ..fastobj import checked as _checked
from ..miners.model import MinerSample, MinerState
from ..policy.decision import DecisionInput, MinerView

make_reading = _checked(Reading, ("value", "ts", "source"), (1.0, 2.0, "trace"))
make_sample = _checked(MinerSample, ("name", "ts", "state", "power_w", "power_limit_w", "level", "hashrate_ths"),
                       ("m", 1.0, MinerState.MINING, 100.0, 200.0, None, 3.0))
make_view = _checked(MinerView, ("name", "priority", "caps", "sample", "zone", "last_command", "confirmed"),
                     ("m", 1, None, None, None, None, None))


_r = Reading(0.0, 0.0, "trace")
make_snapshot = _checked(EnergySnapshot, ("ts", "pv_w", "house_w", "grid_import_w", "battery_charge_w",
                                          "battery_soc_pct", "forecast"), (1.0, _r, _r, _r, _r, _r, {}))


make_input = _checked(DecisionInput, ("now", "snapshot", "miners", "stale", "stale_for_s", "prices", "climate", "tz"),
                      (1.0, None, (), (), 0.0, {}, {}, "UTC"))
