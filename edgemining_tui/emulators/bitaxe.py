"""Bitaxe / ESP-Miner (AxeOS) HTTP API, replaying replies recorded from real firmware.

The reply shapes come from ``edgemining_tui/data/axeos/`` (recorded ``/api/system/info`` and
``/api/system/asic`` replies, provenance in each file); live values (power, temperatures,
hashrate, frequency, pause state) are laid over them from the physics model.

Routes and the firmware version that brought each (ESP-Miner ``main/http_server/http_server.c``):
- ``GET /`` (with "AxeOS", so pyasic identifies it on port 80), ``GET /api/system/info``;
- ``GET /api/system/asic`` with ``frequencyOptions`` (v2.7.0 and later);
- ``PATCH /api/system`` answers 200 with an *empty* body, which pyasic mis-reads as an error;
  the power-management task applies a new ``frequency`` live;
- ``POST /api/system/pause`` / ``/api/system/resume`` and ``miningPaused`` in the info
  (v2.14.0 and later);
- ``POST /api/system/restart``.
Anything else gets 404, as on firmware that lacks the route.
"""
from __future__ import annotations

import asyncio
import json
from importlib import resources

from ..clock import Clock
from ..sim.http import HttpServer, Request, Response
from ..sim.miner_model import MinerModel
from .base import EmulatedMiner, Listener

# AxeOS versions that brought each route (ESP-Miner tags)
ASIC_OPTIONS_SINCE = (2, 7, 0)
PAUSE_SINCE = (2, 14, 0)
DEFAULT_FIRMWARE = "v2.14.0"


def axeos_version(text: str | None) -> tuple[int, int, int] | None:
    """'v2.12.2' -> (2, 12, 2); None for anything that is not a release number."""
    if not text:
        return None
    parts = text.strip().lstrip("vV").split("-")[0].split(".")
    try:
        nums = [int("".join(ch for ch in p if ch.isdigit()) or "x") for p in parts[:3]]
    except ValueError:
        return None
    while len(nums) < 3:
        nums.append(0)
    return nums[0], nums[1], nums[2]


def recorded(name: str) -> dict:
    """One recorded AxeOS reply, without its provenance line."""
    text = resources.files("edgemining_tui.data").joinpath("axeos").joinpath(name).read_text()
    data = json.loads(text)
    data.pop("_provenance", None)
    return data


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
    if "levels" not in kw:
        # power scales with frequency at a fixed core voltage: the top option draws max_w
        freqs = recorded("asic-bm1370.json")["frequencyOptions"]
        top = max(freqs)
        kw["levels"] = tuple((f"{f} MHz", round(kw["max_w"] * f / top, 2)) for f in freqs)
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
                 web_port: int = 0, firmware: str = DEFAULT_FIRMWARE) -> None:
        super().__init__(name, model, clock, host)
        self.web = _HttpListener(self, host, web_port)
        self.listeners = [self.web]
        self.patches: list[dict] = []
        self.paths: list[str] = []           # every request's method and path, for tests
        self.firmware = firmware
        version = axeos_version(firmware) or (0, 0, 0)
        self.has_asic_options = version >= ASIC_OPTIONS_SINCE
        self.has_pause = version >= PAUSE_SINCE
        self._base = recorded("info-v2.12.2.json" if self.has_asic_options and version >= (2, 12, 0)
                              else "info-v2.7.0.json")
        self._asic = recorded("asic-bm1370.json")

    def _frequency_mhz(self) -> float:
        m = self.model
        if m.levels and m.level_index >= 0:
            return float(m.levels[m.level_index][0].split()[0])
        return float(self._asic["defaultFrequency"])

    def info(self) -> dict:
        now = self.now()
        m = self.model
        out = dict(self._base)
        out.update({
            "power": round(m.power_w, 2), "current": round(m.power_w / 5.1 * 1000, 1),
            "temp": round(m.chip_temp_c, 3), "vrTemp": round(m.board_temp_c, 1),
            "hashRate": round(m.hashrate_ths * 1000.0, 2), "frequency": self._frequency_mhz(),
            "uptimeSeconds": int(m.uptime_s(now)), "hostname": self.name, "fanrpm": int(m.fan_rpm),
            "version": self.firmware, "asicCount": 1, "ASICModel": self.asic_model,
        })
        if "axeOSVersion" in out:
            out["axeOSVersion"] = self.firmware
        if self.has_pause:
            out["miningPaused"] = m.paused
        return out

    async def handle(self, req: Request) -> Response | None:
        if not await self.before_reply(req.method in ("PATCH", "POST")):
            return None
        if self.faults.error:
            return Response.json({"error": self.faults.error_msg}, 500)
        path = req.path.rstrip("/") or "/"
        route = (req.method, path)
        self.paths.append(f"{req.method} {path}")
        if route == ("GET", "/"):
            return Response(200, b"<!doctype html><html><head><title>AxeOS</title></head>"
                                 b"<body><app-root>AxeOS</app-root></body></html>", "text/html")
        if route == ("GET", "/api/system/info"):
            return Response.json(self.info())
        if route == ("GET", "/api/system/asic") and self.has_asic_options:
            return Response.json(self._asic)
        if route == ("POST", "/api/system/restart"):
            asyncio.get_running_loop().create_task(self.reboot(10.0))
            return Response.text("System will restart shortly.")
        if route == ("PATCH", "/api/system"):
            try:
                body = req.json() or {}
            except ValueError:
                return Response(400, b"Invalid JSON", "text/plain")
            if not isinstance(body, dict):
                return Response(400, b"Wrong API input", "text/plain")
            self.patches.append(body)
            if "frequency" in body and not self.faults.ignore_commands:
                if not self._apply_frequency(body["frequency"]):
                    return Response(400, b"Wrong API input", "text/plain")
            return Response(200, b"", "text/plain")   # real ESP-Miner: 200, empty body
        if route in (("POST", "/api/system/pause"), ("POST", "/api/system/resume")) and self.has_pause:
            pause = path.endswith("pause")
            self.now()
            if not self.faults.ignore_commands:
                self.model.pause() if pause else self.model.resume()
            return Response.json({"message": "Mining paused" if pause else "Mining resumed"})
        return Response(404, b"Not Found", "text/plain")

    def requests_to(self, path: str) -> int:
        return sum(1 for p in self.paths if p.split(" ", 1)[1] == path)

    def _apply_frequency(self, value) -> bool:
        try:
            mhz = float(value)
        except (TypeError, ValueError):
            return False
        if mhz < 1:
            return False
        self.now()
        names = [name for name, _w in self.model.levels]
        label = f"{mhz:g} MHz"
        if label in names:
            self.model.set_level(names.index(label))
        return True
