"""Shelly energy meters as the grid meter (+ import / - export with the CT clamps as shipped).

Three shapes, chosen by ``profile``:

- ``em``   Pro 3EM (triphase profile), Gen2 RPC: ``GET /rpc/EM.GetStatus?id=0`` -> ``total_act_power``
- ``em1``  Pro EM, Pro EM-50, Pro 3EM in monophase: ``GET /rpc/EM1.GetStatus?id=<n>`` -> ``act_power``
- ``gen1`` Shelly 3EM (Gen1): ``GET /status`` -> sum of the three ``emeters[].power`` (an emeter
  with ``is_valid: false`` makes the sum unknown); Shelly EM (Gen1, two circuits): channel ``id``

All are W, + consumption (import) / - return (export), i.e. already our grid_import_w;
``invert: true`` if the clamps face the other way. Authentication: Gen2 devices with auth
enabled answer 401 with a digest challenge (user ``admin``); Gen1 uses basic auth.
It measures the grid only: take PV and the battery from another source (``use:``).
"""
from __future__ import annotations

import httpx

from ..clock import Clock
from .config import ShellyConfig
from .convert import to_number, to_reading
from .httpjson import HttpJsonSource
from .snapshot import missing


class ShellySource(HttpJsonSource):
    vendor = "Shelly"
    provides = ("grid_import_w",)

    def __init__(self, cfg: ShellyConfig, clock: Clock, name: str = "shelly") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg
        if cfg.password is not None:
            user = cfg.username or "admin"
            secret = str(cfg.password)
            self.auth = httpx.BasicAuth(user, secret) if cfg.profile == "gen1" else httpx.DigestAuth(user, secret)

    async def request(self):
        if self.cfg.profile == "gen1":
            return await self.fetch("/status")
        method = "EM1.GetStatus" if self.cfg.profile == "em1" else "EM.GetStatus"
        return await self.fetch(f"/rpc/{method}", {"id": self.cfg.id})

    def parse(self, body, ts):
        if isinstance(body, dict) and "result" in body and "total_act_power" not in body and "act_power" not in body:
            body = body["result"]          # a JSON-RPC envelope (POST /rpc) instead of the GET shape
        profile = self.cfg.profile
        if profile == "gen1":
            return {"grid_import_w": self._gen1(body, ts)}, {}
        key = "act_power" if profile == "em1" else "total_act_power"
        return {"grid_import_w": to_reading(body.get(key), "grid_import_w", ts=ts, source=self.name,
                                            label=key, invert=self.cfg.invert)}, {}

    def _gen1(self, body, ts):
        meters = body.get("emeters")
        if not isinstance(meters, list) or not meters:
            return missing(ts, self.name, "emeters: not in the /status reply (not a Shelly 3EM/EM Gen1?)")
        if len(meters) == 2:
            # a Shelly EM (Gen1) measures two separate circuits, not phases: read channel ``id``
            if self.cfg.id >= 2:
                return missing(ts, self.name, f"emeters.{self.cfg.id}: a Shelly EM has channels 0 and 1")
            meters = [meters[self.cfg.id]]
        total = 0.0
        for i, m in enumerate(meters):
            if not isinstance(m, dict):
                return missing(ts, self.name, f"emeters.{i}: unexpected shape")
            if m.get("is_valid") is False:
                return missing(ts, self.name, f"emeters.{i}: the meter reports its reading as invalid")
            try:
                total += to_number(m.get("power"))
            except ValueError as e:
                return missing(ts, self.name, f"emeters.{i}.power: {e}")
        return to_reading(total, "grid_import_w", ts=ts, source=self.name, label="emeters.*.power",
                          invert=self.cfg.invert)
