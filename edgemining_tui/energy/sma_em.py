"""SMA Energy Meter / Sunny Home Manager 2.0 over Speedwire (SMA's EMETER protocol, TI-en-10).

The meter multicasts one datagram every 200 ms to 1 s to 239.12.255.254 udp/9522; nobody polls it.
We keep the newest reading with the clock time it arrived, so a meter that falls silent shows as a
growing age (and a stale value), never as a frozen good one.

Datagram: ``SMA\\0``, then tags of (length u16, tag u16, data): tag 0x02a0 (group), tag 0x0010
whose data starts with the protocol id 0x6069 (energy meter), SUSy-ID u16, serial u32, a ms ticker
u32 and then OBIS records (channel, index, type, tariff) each followed by its value: type 4 a
u32 "current average", type 8 a u64 counter, channel 144 (0x90) the firmware version (u32). All
big-endian. Power is in 0.1 W; the meter gives import (1:1.4.0) and export (1:2.4.0) as two
non-negative values, never a signed one: ``grid_import_w = (import - export) / 10``.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import struct
from dataclasses import dataclass

from ..clock import Clock
from .convert import to_reading
from .local_config import SmaEmConfig
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, missing

log = logging.getLogger("edgemining_tui.energy.sma_em")

PROTOCOL_EMETER = 0x6069
OBIS_IMPORT_W = (1, 4)        # (index, type): total active power +P, 0.1 W
OBIS_EXPORT_W = (2, 4)        # total active power -P, 0.1 W


class SpeedwireError(ValueError):
    pass


@dataclass(frozen=True)
class EmeterDatagram:
    susy_id: int
    serial: int
    ticker_ms: int
    values: dict[tuple[int, int], int]     # (index, type) -> raw value, channel 0 only

    @property
    def grid_import_w(self) -> float | None:
        imp, exp = self.values.get(OBIS_IMPORT_W), self.values.get(OBIS_EXPORT_W)
        if imp is None or exp is None:
            return None
        return (imp - exp) / 10.0


def parse_datagram(data: bytes) -> EmeterDatagram | None:
    """The meter reading in ``data``; None for a Speedwire datagram that is not an energy meter's
    (inverters and the Home Manager send others on the same group); SpeedwireError for anything
    that is not Speedwire at all or is cut short."""
    if len(data) < 4 or data[:4] != b"SMA\x00":
        raise SpeedwireError("not a Speedwire datagram (no SMA signature)")
    pos = 4
    while pos + 4 <= len(data):
        length, tag = struct.unpack_from(">HH", data, pos)
        pos += 4
        if length == 0 and tag == 0:
            break
        body = data[pos:pos + length]
        pos += length
        if tag == 0x0010:
            if len(body) < 2:
                raise SpeedwireError("data tag shorter than its protocol id")
            if struct.unpack_from(">H", body, 0)[0] != PROTOCOL_EMETER:
                return None
            return _emeter(body)
    return None


def _emeter(body: bytes) -> EmeterDatagram:
    if len(body) < 12:
        raise SpeedwireError(f"energy meter data cut short ({len(body)} bytes, header needs 12)")
    susy, serial, ticker = struct.unpack_from(">HII", body, 2)
    values: dict[tuple[int, int], int] = {}
    pos = 12
    while pos + 4 <= len(body):
        channel, index, mtype, _tariff = body[pos:pos + 4]
        pos += 4
        if channel == 0 and index == 0 and mtype == 0:
            break
        size = 4 if channel == 144 else {4: 4, 8: 8}.get(mtype)
        if size is None:
            raise SpeedwireError(f"OBIS {channel}:{index}.{mtype}: unknown value type at byte {pos}")
        if pos + size > len(body):
            raise SpeedwireError(f"OBIS {channel}:{index}.{mtype}: value cut short")
        raw = int.from_bytes(body[pos:pos + size], "big")
        pos += size
        if channel == 0:
            values[(index, mtype)] = raw
    return EmeterDatagram(susy, serial, ticker, values)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, source: "SmaEmSource") -> None:
        self.source = source

    def datagram_received(self, data: bytes, addr) -> None:
        self.source.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.source.last_error = f"receive error ({type(exc).__name__})"


class SmaEmSource:
    """A grid meter that pushes: the newest datagram of the configured meter is the reading."""

    provides = ("grid_import_w",)

    def __init__(self, cfg: SmaEmConfig, clock: Clock, name: str = "sma_em") -> None:
        self.cfg = cfg
        self.clock = clock
        self.name = name
        self._transport: asyncio.DatagramTransport | None = None
        self.bound_port: int | None = None
        self.last: Reading | None = None
        self.last_error: str | None = None
        self.other_serials: set[int] = set()
        self.serial_seen: int | None = None

    def _socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # on Linux a socket bound to an interface address never sees multicast; with a group
            # we bind to the port on all addresses and join the group on the chosen interface
            bind_addr = "0.0.0.0" if self.cfg.group is not None else self.cfg.interface
            sock.bind((bind_addr, self.cfg.port))
            if self.cfg.group is not None:
                mreq = socket.inet_aton(self.cfg.group) + socket.inet_aton(self.cfg.interface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    async def start(self) -> None:
        if self._transport is not None:
            return
        try:
            sock = self._socket()
        except OSError as e:
            where = f"udp/{self.cfg.port}" + (f" group {self.cfg.group}" if self.cfg.group else "")
            self.last_error = f"cannot listen on {where} at {self.cfg.interface} ({e.strerror or e})"
            return
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Receiver(self), sock=sock)
        self.bound_port = sock.getsockname()[1]
        self.last_error = None

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def on_datagram(self, data: bytes, addr=None) -> None:
        try:
            dg = parse_datagram(data)
        except SpeedwireError as e:
            log.debug("sma_em: ignored a datagram from %s: %s", addr, e)
            return
        if dg is None:
            return
        if self.cfg.serial is not None and dg.serial != self.cfg.serial:
            self.other_serials.add(dg.serial)
            return
        if self.cfg.serial is None and self.serial_seen is not None and dg.serial != self.serial_seen:
            # two meters and no serial: alternating readings of two circuits would be nonsense
            self.other_serials.add(dg.serial)
            return
        self.serial_seen = dg.serial
        self.last = to_reading(dg.grid_import_w, "grid_import_w", ts=self.clock.now(), source=self.name,
                               label=f"SMA meter {dg.serial} 1:1.4.0-1:2.4.0", invert=self.cfg.invert)

    async def read(self) -> EnergySnapshot:
        await self.start()
        now = self.clock.now()
        if self.cfg.serial is None and self.other_serials:
            heard = ", ".join(str(s) for s in sorted(self.other_serials | {self.serial_seen or 0}))
            grid = missing(now, self.name, f"several SMA meters send ({heard}): set serial: to the grid meter's")
        elif self.last is not None:
            grid = self.last
        elif self.last_error is not None:
            grid = missing(now, self.name, self.last_error)
        elif self.other_serials:
            heard = ", ".join(str(s) for s in sorted(self.other_serials))
            grid = missing(now, self.name, f"no datagram from SMA meter {self.cfg.serial} (heard: {heard})")
        else:
            grid = missing(now, self.name, f"no datagram from an SMA meter yet on udp/{self.bound_port or self.cfg.port}")
        values = {f: missing(now, self.name, f"an SMA energy meter does not measure {f}")
                  for f in ALL_FIELDS if f != "grid_import_w"}
        return EnergySnapshot(ts=now, grid_import_w=grid, **values)
