"""Bitaxe / ESP-Miner (AxeOS) HTTP API (research §3.3). Monitoring only through pyasic 0.79.

Serves ``GET /`` (with "AxeOS" so identification works on port 80), ``GET /api/system/info``,
``GET /api/system/asic``, ``POST /api/system/restart``, ``PATCH /api/system`` (200 with an
*empty* body, like the real firmware, which pyasic mis-reads as an error) and the newer
``POST /api/system/mining {"pause": bool}``.
"""
from __future__ import annotations

import asyncio

from ..clock import Clock
from ..sim.http import HttpServer, Request, Response
from ..sim.miner_model import MinerModel
from .base import EmulatedMiner, Listener


def bitaxe_model(now: float, **kw) -> MinerModel:
    kw.setdefault("max_w", 18.0)
    kw.setdefault("min_w", 8.0)
    kw.setdefault("idle_w", 3.0)
    kw.setdefault("efficiency_j_th", 15.0)
    kw.setdefault("boards", 1)
    kw.setdefault("chips_per_board", 1)
    kw.setdefault("fans", 1)
    kw.setdefault("ramp_s", 5.0)
    kw.setdefault("board_rise_c", 35.0)
    kw.setdefault("fan_min_rpm", 2000.0)
    kw.setdefault("fan_max_rpm", 5000.0)
    return MinerModel(now=now, **kw)


class _HttpListener(Listener):
    kind = "web"

    def __init__(self, emu: "BitaxeEmulator", host: str, port: int) -> None:
        self.emu = emu
        self.host = host
        self.port = port
        self._srv: HttpServer | None = None

    async def open(self) -> None:
        if self._srv is not None:
            return
        srv = HttpServer(self.emu.handle, self.host, self.port)
        await srv.start()
        self.port = srv.port
        self._srv = srv

    async def shut(self) -> None:
        srv, self._srv = self._srv, None
        if srv is not None:
            await srv.close()


class BitaxeEmulator(EmulatedMiner):
    family = "bitaxe"
    asic_model = "BM1370"

    def __init__(self, name: str, model: MinerModel, clock: Clock, host: str = "127.0.0.1",
                 web_port: int = 0) -> None:
        super().__init__(name, model, clock, host)
        self.web = _HttpListener(self, host, web_port)
        self.listeners = [self.web]
        self.patches: list[dict] = []

    def info(self) -> dict:
        now = self.now()
        m = self.model
        return {
            "power": round(m.power_w, 2), "voltage": 5100.0, "current": round(m.power_w / 5.1 * 1000, 1),
            "temp": round(m.chip_temp_c, 1), "vrTemp": round(m.board_temp_c, 1),
            "hashRate": round(m.hashrate_ths * 1000.0, 2), "bestDiff": "1.2G",
            "smallCoreCount": 2040, "asicCount": 1, "frequency": 525, "coreVoltage": 1150,
            "ASICModel": self.asic_model, "uptimeSeconds": int(m.uptime_s(now)),
            "hostname": self.name, "macAddr": "02:00:00:00:00:02", "version": "v2.4.2",
            "idfVersion": "v5.3", "boardVersion": "601", "fanspeed": 60, "fanrpm": int(m.fan_rpm),
            "autofanspeed": 1, "stratumURL": "pool.example", "stratumPort": 3333,
            "stratumUser": f"bc1qexample.{self.name}", "sharesAccepted": 10, "sharesRejected": 0,
            "miningPaused": m.paused,
        }

    async def handle(self, req: Request) -> Response | None:
        if not await self.before_reply(req.method in ("PATCH", "POST")):
            return None
        if self.faults.error:
            return Response.json({"error": self.faults.error_msg}, 500)
        path = req.path.rstrip("/") or "/"
        if req.method == "GET" and path == "/":
            return Response(200, b"<!doctype html><html><head><title>AxeOS</title></head>"
                                 b"<body><app-root>AxeOS</app-root></body></html>", "text/html")
        if req.method == "GET" and path == "/api/system/info":
            return Response.json(self.info())
        if req.method == "GET" and path == "/api/system/asic":
            return Response.json({"ASICModel": self.asic_model, "asicCount": 1, "smallCoreCount": 2040,
                                  "defaultFrequency": 525, "frequencyOptions": [400, 490, 525, 575]})
        if req.method == "POST" and path == "/api/system/restart":
            asyncio.get_running_loop().create_task(self.reboot(10.0))
            return Response.text("System will restart shortly.")
        if req.method == "PATCH" and path == "/api/system":
            try:
                self.patches.append(req.json() or {})
            except ValueError:
                return Response.json({"error": "bad json"}, 400)
            return Response(200, b"", "text/plain")   # real ESP-Miner: 200, empty body
        if req.method == "POST" and path == "/api/system/mining":
            try:
                pause = bool((req.json() or {}).get("pause"))
            except ValueError:
                return Response.json({"error": "bad json"}, 400)
            self.now()
            if not self.faults.ignore_commands:
                self.model.pause() if pause else self.model.resume()
            return Response.json({"paused": self.model.paused})
        return Response.json({"error": "not found"}, 404)
