"""A Shelly energy-meter stand-in over the simulated site's grid connection, on loopback.

Shapes as real devices send them (tests/data/energy/shelly/):

- ``profile="em"``  Pro 3EM (triphase), Gen2 RPC: ``GET /rpc/EM.GetStatus?id=0`` and ``POST /rpc``
  (JSON-RPC): per-phase ``a_/b_/c_act_power`` and ``total_act_power`` in W, + import / - export
- ``profile="em1"`` Pro EM / Pro 3EM monophase: ``GET /rpc/EM1.GetStatus?id=<n>``: ``act_power``
  (the grid on channel 0, the other channels idle)
- ``profile="gen1"`` Shelly 3EM Gen1: ``GET /status`` with three ``emeters`` and ``total_power``

``GET /shelly`` answers the device info. ``password`` switches authentication on the way the
devices do it: Gen2 answers 401 with a SHA-256 digest challenge (user ``admin``), Gen1 wants
basic auth.

Fault switches: ``status``, ``hang``, ``garbage``, ``overrides`` (field -> value, e.g.
{"total_act_power": "n/a"}), ``reversed_ct`` (the clamps face the other way: signs flip),
``replay`` (path -> recorded body).
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any, Callable

from .http import Request, Response, StandInServer
from .state import SiteState

PROFILES = ("em", "em1", "gen1")
_INFO = {"em": ("shellypro3em-sim", "SPEM-003CEBEU", "Pro3EM"), "em1": ("shellyproem50-sim", "SPEM-002CEBEU50", "ProEM"),
         "gen1": ("shellyem3-sim", "SHEM-3", "EM3")}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ShellyServer(StandInServer):
    GARBAGE = b'{"id":0,"total_act_power":'

    def __init__(self, get_state: Callable[[], SiteState | None] | None = None, host: str = "127.0.0.1",
                 port: int = 0, profile: str = "em", password: str | None = None,
                 replay: dict[str, Any] | None = None) -> None:
        super().__init__(host, port)
        if profile not in PROFILES:
            raise ValueError(f"profile: expected one of {', '.join(PROFILES)}")
        self.get_state = get_state or (lambda: None)
        self.profile = profile
        self.password = password
        self.replay = replay
        self.reversed_ct = False
        self.overrides: dict[str, Any] = {}
        self.requests = 0
        self.refused = 0
        self._nonce = secrets.token_hex(8)

    @property
    def device_id(self) -> str:
        return _INFO[self.profile][0]

    def source_config(self, **kw):
        from ..config.types import Secret
        from ..energy.config import ShellyConfig
        if self.password is not None:
            kw.setdefault("password", Secret(self.password))
            kw.setdefault("username", "admin")
        kw.setdefault("profile", self.profile)
        return ShellyConfig(url=self.url, **kw)

    def _grid_w(self) -> float | None:
        st = self.get_state()
        return None if st is None else st.grid_import_w * (-1 if self.reversed_ct else 1)

    def em_status(self, em_id: int = 0) -> dict:
        total = self._grid_w()
        out: dict[str, Any] = {"id": em_id}
        for ph in "abc":
            p = None if total is None else round(total / 3, 1)
            out.update({f"{ph}_current": None if p is None else round(abs(p) / 230, 3), f"{ph}_voltage": 230.1,
                        f"{ph}_act_power": p, f"{ph}_aprt_power": None if p is None else round(abs(p) * 1.02, 1),
                        f"{ph}_pf": 0.98, f"{ph}_freq": 50.0})
        out.update({"n_current": None,
                    "total_current": None if total is None else round(abs(total) / 230, 3),
                    "total_act_power": None if total is None else round(total, 3),
                    "total_aprt_power": None if total is None else round(abs(total) * 1.02, 3),
                    "user_calibrated_phase": []})
        out.update(self.overrides)
        return out

    def em1_status(self, channel: int) -> dict:
        total = self._grid_w() if channel == 0 else 0.0
        out = {"id": channel, "current": None if total is None else round(abs(total) / 230, 3), "voltage": 230.1,
               "act_power": None if total is None else round(total, 1),
               "aprt_power": None if total is None else round(abs(total) * 1.02, 1), "pf": 0.98, "freq": 50.0,
               "calibration": "factory"}
        out.update(self.overrides)
        return out

    def gen1_status(self) -> dict:
        total = self._grid_w()
        meters = []
        for _ in range(3):
            p = None if total is None else round(total / 3, 2)
            meters.append({"power": p, "pf": 0.98, "current": None if p is None else round(abs(p) / 230, 2),
                           "voltage": 230.1, "is_valid": total is not None, "total": 1234.5, "total_returned": 67.8})
        out = {"wifi_sta": {"connected": True, "ssid": "sim", "ip": "127.0.0.1", "rssi": -50},
               "mac": "C45BBE000000", "emeters": meters,
               "total_power": None if total is None else round(total, 2), "fs_mounted": True}
        out.update(self.overrides)
        return out

    # --- authentication, as the devices do it --------------------------------------------------
    def _challenge(self) -> Response:
        self.refused += 1
        if self.profile == "gen1":
            return Response(401, b"401 Unauthorized", "text/plain", {"WWW-Authenticate": 'Basic realm="shelly"'})
        return Response(401, b"", "text/plain", {"WWW-Authenticate": (
            f'Digest qop="auth", realm="{self.device_id}", nonce="{self._nonce}", algorithm=SHA-256')})

    def _authorized(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if self.profile == "gen1":
            want = base64.b64encode(f"admin:{self.password}".encode()).decode()
            return header == f"Basic {want}"
        if not header.startswith("Digest "):
            return False
        fields: dict[str, str] = {}
        for part in header[7:].split(","):
            k, _, v = part.strip().partition("=")
            fields[k] = v.strip('"')
        if fields.get("nonce") != self._nonce or fields.get("username") != "admin":
            return False
        ha1 = _sha256(f"admin:{self.device_id}:{self.password}")
        ha2 = _sha256(f"{req.method}:{fields.get('uri', '')}")
        want = _sha256(f"{ha1}:{self._nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:{fields.get('qop', '')}:{ha2}")
        return fields.get("response") == want

    async def _handle(self, req: Request) -> Response:
        self.requests += 1
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if req.path == "/shelly":   # device info is open even with auth on, as on the devices
            dev, model, app = _INFO[self.profile]
            return Response.json({"name": None, "id": dev, "model": model, "gen": 1 if self.profile == "gen1" else 2,
                                  "fw_id": "sim", "ver": "1.4.4", "app": app, "auth_en": self.password is not None,
                                  "auth_domain": dev if self.password is not None else None})
        if self.password is not None and not self._authorized(req):
            return self._challenge()
        if self.garbage:
            return self.garbage_reply()
        recorded = self.replayed(req)
        if recorded is not None:
            return recorded
        try:
            ident = int((req.query.get("id") or ["0"])[0])
        except ValueError:
            ident = -1
        if self.profile == "em" and req.path == "/rpc/EM.GetStatus":
            if ident != 0:
                return Response.json({"code": -105, "message": f"Argument 'id', value {ident} not found!"}, 500)
            return Response.json(self.em_status(0))
        if self.profile == "em1" and req.path == "/rpc/EM1.GetStatus":
            if ident not in (0, 1):
                return Response.json({"code": -105, "message": f"Argument 'id', value {ident} not found!"}, 500)
            return Response.json(self.em1_status(ident))
        if self.profile == "gen1" and req.path == "/status":
            return Response.json(self.gen1_status())
        if self.profile != "gen1" and req.path == "/rpc" and req.method == "POST":
            msg = req.json() or {}
            if msg.get("method") == "EM.GetStatus" and self.profile == "em":
                return Response.json({"id": msg.get("id"), "src": self.device_id, "result": self.em_status(0)})
            return Response.json({"id": msg.get("id"), "src": self.device_id,
                                  "error": {"code": 404, "message": "No handler for method"}})
        return Response.text("Not found", 404)
