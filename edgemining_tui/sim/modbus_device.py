"""A Modbus TCP device on loopback (pymodbus's own server) holding SunSpec register images:
each unit id gets the registers laid out as a device's map (``SunS``, the models, the end
marker), written by the same SunSpec definitions the adapter decodes with. ``set()`` changes
registers while it runs (a scale factor that moves between reads), ``drop_clients()`` cuts every
connection (a gateway that restarts its Modbus service)."""
from __future__ import annotations

import asyncio
import struct
from typing import Any

from ..energy.sunspec_models import END, MARKER, encode, model_def


def sunspec_image(models: list[tuple[int, dict[str, Any]] | tuple[int, dict[str, Any], list]],
                  base: int = 40000) -> dict[int, int]:
    """{address: register} for a SunSpec map at ``base``: (model id, values[, repeats]) in order."""
    regs = list(MARKER)
    for m in models:
        mid, values = m[0], m[1]
        md = model_def(mid)
        assert md is not None, mid
        regs += encode(md, values, m[2] if len(m) > 2 else None)
    regs += [END, 0]
    return {base + i: r for i, r in enumerate(regs)}


def recorded_image(doc: dict[str, Any]) -> dict[int, dict[int, int]]:
    """{unit: {address: register}} of a recorded device (tests/data/energy/sunspec/*.json).

    Each unit is a list of blocks at an address: ``hex`` (register words exactly as a Modbus reply
    carried them), ``model``/``L``/``points`` (a model dump in point form, as ``evcc sunspec``
    prints it: scale factors raw, every other point in its unit), ``model``/``L`` with
    ``unrecorded`` (a block the recording did not show: its header, every point 'not
    implemented'), ``end`` (the end marker) or ``type``/``value`` (one vendor register outside
    the SunSpec map as a tool printed it decoded: ``float32s``, ``uint32s`` and ``uint64s`` low word
    first as SolarEdge stores them, ``uint16``, or ``string`` with its ``size`` in registers).
    Point dumps are encoded by pysunspec2, the SunSpec Alliance's own implementation, not by the
    decoder under test. Later blocks win where they overlap, so a raw reply overrides what a point
    dump implied."""
    image_by_unit: dict[int, dict[int, int]] = {}
    for unit, blocks in doc["units"].items():
        image: dict[int, int] = {}
        for b in blocks:
            if "hex" in b:
                raw = bytes.fromhex(b["hex"])
                if len(raw) % 2:
                    raise ValueError(f"block at {b['at']}: odd number of bytes")
                regs = list(struct.unpack(f">{len(raw) // 2}H", raw))
            elif b.get("end"):
                regs = [END, 0]
            elif "type" in b:
                regs = vendor_words(b["type"], b["value"], int(b.get("size", 0)))
            else:
                regs = _pysunspec2_block(int(b["model"]), int(b["L"]), b.get("points") or {})
            image.update({int(b["at"]) + i: r for i, r in enumerate(regs)})
        image_by_unit[int(unit)] = image
    return image_by_unit


def _pysunspec2_block(model_id: int, length: int, points: dict[str, Any]) -> list[int]:
    import sunspec2.device as ssd
    m = ssd.Model(model_id=model_id, model_len=length)
    if m.error_info:
        raise ValueError(f"model {model_id}: {m.error_info.strip()}")
    # None (n/a) and 0 are the same raw whatever the scale factor (which a dump may not show)
    raw_points = {k: v for k, v in points.items() if k.endswith("_SF") or v is None or v == 0}
    m.set_dict({"ID": model_id, "L": length, **raw_points})
    m.set_dict({k: v for k, v in points.items() if k not in raw_points}, computed=True)
    raw = m.get_mb()
    return list(struct.unpack(f">{len(raw) // 2}H", raw))[: length + 2]


def float32s(value: float) -> list[int]:
    """A float as SolarEdge stores it: two words, low word first."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [lo, hi]


def vendor_words(kind: str, value: Any, size: int = 0) -> list[int]:
    """The registers holding one decoded vendor value (see ``recorded_image``). A float32 printed
    by a tool in full (690.0, 28.888887405395508) is that float's exact bits: nothing is rounded."""
    if kind == "float32s":
        words = float32s(float(value))
        if struct.unpack(">f", struct.pack(">HH", words[1], words[0]))[0] != float(value):
            raise ValueError(f"{value!r} is not a float32 as printed: the recording was rounded")
        return words
    if kind in ("uint32s", "uint64s"):
        n = 2 if kind == "uint32s" else 4
        return [(int(value) >> (16 * i)) & 0xFFFF for i in range(n)]
    if kind == "uint16":
        return [int(value) & 0xFFFF]
    if kind == "string":
        b = str(value).encode()[: size * 2].ljust(size * 2, b"\x00")
        return list(struct.unpack(f">{size}H", b))
    raise ValueError(f"unknown register type {kind!r}")


class ModbusDevice:
    def __init__(self, images: dict[int, dict[int, int]], host: str = "127.0.0.1",
                 silent_units: frozenset[int] = frozenset()) -> None:
        self.images = images
        self.host = host
        self.silent_units = set(silent_units)   # never answered (a unit id nothing on the bus has, behind many gateways)
        self.port = 0
        self._server: Any = None
        self._task: asyncio.Task | None = None

    async def start(self) -> "ModbusDevice":
        from pymodbus.datastore import ModbusDeviceContext, ModbusServerContext, ModbusSparseDataBlock
        from pymodbus.server import ModbusTcpServer
        devices = {}
        for unit, image in self.images.items():
            block = ModbusSparseDataBlock(dict(image))
            devices[unit] = ModbusDeviceContext(hr=block, ir=block)
        ctx = ModbusServerContext(devices=devices, single=False)
        import socket
        with socket.socket() as s:
            s.bind((self.host, 0))
            self.port = s.getsockname()[1]
        self._server = ModbusTcpServer(ctx, address=(self.host, self.port), trace_packet=self._swallow)
        self._task = asyncio.get_running_loop().create_task(self._server.serve_forever())
        for _ in range(200):
            try:
                _, w = await asyncio.open_connection(self.host, self.port)
                w.close()
                return self
            except OSError:
                await asyncio.sleep(0.02)
        raise RuntimeError("the Modbus server did not start")

    def _swallow(self, sending: bool, packet: bytes) -> bytes:
        # Modbus TCP: the unit id is byte 6 of the MBAP header; an empty write sends nothing
        if sending and len(packet) > 6 and packet[6] in self.silent_units:
            return b""
        return packet

    async def set(self, unit: int, address: int, values: list[int]) -> None:
        """Change registers in the running device, the way its own firmware would: one Modbus
        write of both words (a value and its scale factor) at once."""
        from pymodbus.client import AsyncModbusTcpClient
        c = AsyncModbusTcpClient(self.host, port=self.port)
        await c.connect()
        try:
            rr = await c.write_registers(address, list(values), device_id=unit)
            assert not rr.isError(), rr
        finally:
            c.close()

    def drop_clients(self) -> None:
        for conn in list(getattr(self._server, "active_connections", {}).values()):
            conn.close()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
