"""Shelly Pro 3EM (Gen2 RPC) as the grid meter: GET /rpc/EM.GetStatus?id=0.

``total_act_power`` is W, + consumption (import) / - return (export) with the CT clamps in their
default orientation, i.e. already our grid_import_w. ``invert: true`` if the clamps face the
other way. It measures the grid only: take PV and the battery from another source (``use:``).
"""
from __future__ import annotations

from ..clock import Clock
from .config import ShellyConfig
from .convert import to_reading
from .httpjson import HttpJsonSource


class ShellySource(HttpJsonSource):
    vendor = "Shelly"
    provides = ("grid_import_w",)

    def __init__(self, cfg: ShellyConfig, clock: Clock, name: str = "shelly") -> None:
        super().__init__(cfg.url, cfg.timeout, clock, name)
        self.cfg = cfg

    async def request(self):
        return await self.fetch("/rpc/EM.GetStatus", {"id": self.cfg.id})

    def parse(self, body, ts):
        if isinstance(body, dict) and "result" in body and "total_act_power" not in body:
            body = body["result"]          # a JSON-RPC envelope (POST /rpc) instead of the GET shape
        raw = body["total_act_power"] if "total_act_power" in body else body.get("total_act_power")
        return {"grid_import_w": to_reading(raw, "grid_import_w", ts=ts, source=self.name,
                                            label="total_act_power", invert=self.cfg.invert)}, {}
