"""A Shelly Pro 3EM stand-in (Gen2 RPC) over the simulated site's grid connection, on loopback.

``GET /rpc/EM.GetStatus?id=0`` and ``POST /rpc`` (JSON-RPC) answer in Shelly's shape: per-phase
``a_/b_/c_act_power`` and ``total_act_power`` in W, + import / - export. ``GET /shelly`` answers
the device info.

Fault switches: ``status``, ``hang``, ``garbage``, ``overrides`` (field -> value, e.g.
{"total_act_power": "n/a"}), ``reversed_ct`` (the clamps face the other way: signs flip).
"""
from __future__ import annotations

from typing import Any, Callable

from .http import Request, Response, StandInServer
from .state import SiteState


class ShellyServer(StandInServer):
    GARBAGE = b'{"id":0,"total_act_power":'

    def __init__(self, get_state: Callable[[], SiteState | None], host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host, port)
        self.get_state = get_state
        self.reversed_ct = False
        self.overrides: dict[str, Any] = {}
        self.requests = 0

    def source_config(self, **kw):
        from ..energy.config import ShellyConfig
        return ShellyConfig(url=self.url, **kw)

    def em_status(self, em_id: int = 0) -> dict:
        st = self.get_state()
        total = None if st is None else st.grid_import_w * (-1 if self.reversed_ct else 1)
        out: dict[str, Any] = {"id": em_id}
        for i, ph in enumerate("abc"):
            p = None if total is None else round(total / 3, 1)
            out.update({f"{ph}_current": None if p is None else round(abs(p) / 230, 3), f"{ph}_voltage": 230.1,
                        f"{ph}_act_power": p, f"{ph}_aprt_power": None if p is None else round(abs(p) * 1.02, 1),
                        f"{ph}_pf": 0.98, f"{ph}_freq": 50.0})
        out.update({"n_current": None,
                    "total_current": None if total is None else round(abs(total) / 230, 3),
                    "total_act_power": None if total is None else round(total, 1),
                    "total_aprt_power": None if total is None else round(abs(total) * 1.02, 1),
                    "user_calibrated_phase": []})
        out.update(self.overrides)
        return out

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if self.garbage:
            return self.garbage_reply()
        if req.path == "/shelly":
            return Response.json({"name": None, "id": "shellypro3em-sim", "model": "SPEM-003CEBEU", "gen": 2,
                                  "fw_id": "sim", "ver": "1.4.4", "app": "Pro3EM", "auth_en": False})
        if req.path == "/rpc/EM.GetStatus":
            try:
                em_id = int((req.query.get("id") or ["0"])[0])
            except ValueError:
                em_id = -1
            if em_id != 0:
                return Response.json({"code": -105, "message": f"Argument 'id', value {em_id} not found!"}, 500)
            return Response.json(self.em_status(0))
        if req.path == "/rpc" and req.method == "POST":
            msg = req.json() or {}
            if msg.get("method") == "EM.GetStatus":
                return Response.json({"id": msg.get("id"), "src": "shellypro3em-sim", "result": self.em_status(0)})
            return Response.json({"id": msg.get("id"), "src": "shellypro3em-sim",
                                  "error": {"code": 404, "message": "No handler for method"}})
        return Response.text("Not found", 404)
