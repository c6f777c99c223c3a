"""Modbus TCP energy source: SunSpec models discovered on the device (common 1, inverters 101–103,
111–113 and 701, meters 201–204 / 211–214, storage 124 and 802, MPPT 160), plus plain registers.

Signs, per model and vendor (docs/energy-sources.md):
- inverter ``W`` (AC) is PV; an inverter whose ``St`` is off, sleeping or standby, or whose AC
  points and ``St`` are all "not implemented" while its energy counter stays (an SMA at night), is
  a known 0 W;
- meter ``W`` is + import by the SunSpec model; SolarEdge meters count + export (``meter_invert``,
  as evcc's SolarEdge templates do with scale -1);
- storage 124 ``ChaState`` is the SoC; 802 ``W`` is + discharging by its model, flipped to ours;
- Fronius GEN24 / Verto: model 160's modules named 'StCha n' and 'StDisCha n' are the battery's
  charge and discharge DC power, the other modules ('MPPT n') the PV strings;
- SolarEdge battery 1: holding 0xE174 (57716, float32, low word first, + charging) and 0xE184
  (57732, SoE %), where SolarEdge's power control note puts its block (0xE100; mirrored at 0xF500,
  the 62836/62852 evcc reads).
"""
from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from .convert import to_reading
from .local_config import ModbusRegister, SunSpecConfig
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, missing
from .sunspec_models import END, MARKER, decode, model_def

try:
    from pymodbus.exceptions import ModbusIOException
except ImportError:              # without the [modbus] extra the config refuses sunspec before this runs
    class ModbusIOException(Exception):  # type: ignore[no-redef]
        pass

INVERTERS = (101, 102, 103, 111, 112, 113, 701)
METERS = (201, 202, 203, 204, 211, 212, 213, 214)
SECONDARY_RETRY_S = 60.0            # a meter unit that failed is asked again after this long
MAX_MODELS = 64                     # a map longer than this is a loop or garbage, not a device
MAX_MODEL_LEN = 1000                # registers; the largest wanted model (160 with 40 modules) is ~810
ASLEEP = {1: "off", 2: "sleeping", 3: "starting", 8: "standby"}   # inverter St values that feed nothing yet
# pymodbus logs every failed exchange with a hex dump at ERROR; the source reports failures itself
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
SE_BATTERY_STATUS = 0xE186          # SolarEdge battery 1 status, uint32 low word first
SE_BATTERY_MOVING = (3, 4, 6)       # charge, discharge, preserve charge: the power register means something
SE_BATTERY_STATUS_TEXT = {0: "off", 1: "standby", 2: "initializing", 5: "fault", 7: "idle", 10: "power saving"}
REFUSALS = {1: "illegal function", 2: "illegal data address: no such register on this device",
            3: "illegal data value", 4: "device failure", 6: "device busy",
            10: "gateway: no path to that unit id", 11: "gateway: that unit id did not answer"}
FIELD = {"pv": "pv_w", "house": "house_w", "grid": "grid_import_w", "battery": "battery_charge_w",
         "soc": "battery_soc_pct"}


class UnitSilent(LookupError):
    """Nothing answers for a unit id while the connection stays up (a gateway with no such device)."""


@dataclass(frozen=True)
class Preset:
    unit_id: int = 1
    meter_unit_id: int | None = None
    meter_invert: bool = False
    registers: tuple[ModbusRegister, ...] = ()
    grid_hint: str = ""                 # where this vendor's grid meter is, when the map has none


PRESETS = {
    "generic": Preset(),
    "solaredge": Preset(1, None, True, (ModbusRegister("battery", 0xE174, "float32s"),
                                        ModbusRegister("soc", 0xE184, "float32s")),
                        "a SolarEdge meter shows as model 203 after the inverter's models: is one wired to it?"),
    "fronius": Preset(1, 200, False, (), "GEN24: meter on unit 200; a Symo with Datamanager: meter_unit_id 240"),
    "sma": Preset(126, None, False, (), "SMA's Energy Meter / Home Manager is not on Modbus: read it with "
                                        "source sma_em"),
    "kostal": Preset(71, None, False, (), "the KOSTAL Smart Energy Meter is a device of its own (its own host, "
                                          "unit 71)"),
}


class SunSpecSource:
    vendor = "Modbus/SunSpec device"

    def __init__(self, cfg: SunSpecConfig, clock: Clock, name: str = "sunspec") -> None:
        self.cfg = cfg
        self.clock = clock
        self.name = name
        pre = PRESETS[cfg.preset]
        self.unit = cfg.unit_id if cfg.unit_id is not None else pre.unit_id
        self.meter_unit = cfg.meter_unit_id if cfg.meter_unit_id is not None else pre.meter_unit_id
        self.meter_invert = pre.meter_invert if cfg.meter_invert is None else cfg.meter_invert
        self.registers = tuple(cfg.registers) or (pre.registers if cfg.sunspec else ())
        self._client: Any = None
        self._maps: dict[int, list[tuple[int, int, int]]] = {}   # unit -> [(model id, address, length)]
        self._retry_at: dict[int, tuple[float, str]] = {}       # secondary unit -> (when to ask again, why it failed)
        self.where = f"{cfg.host}:{cfg.port}"

    async def start(self) -> None:
        """Connections open on the first read (and again after any failure)."""

    async def close(self) -> None:
        c, self._client = self._client, None
        if c is not None:
            c.close()

    async def _connect(self):
        if self._client is not None and self._client.connected:
            return self._client
        from pymodbus.client import AsyncModbusTcpClient
        if self._client is not None:
            self._client.close()
        c = AsyncModbusTcpClient(self.cfg.host, port=self.cfg.port, timeout=self.cfg.timeout, retries=0)
        if not await c.connect():
            c.close()
            raise ConnectionError(f"no Modbus TCP answer at {self.where}")
        self._client = c
        self._maps.clear()            # a reconnect may be a different device or firmware: discover again
        return c

    async def _read(self, unit: int, address: int, count: int, kind: str = "holding") -> list[int]:
        c = await self._connect()
        out: list[int] = []
        while count > 0:
            n = min(count, 125)       # the most one Modbus read may ask for
            fn = c.read_holding_registers if kind == "holding" else c.read_input_registers
            try:
                rr = await asyncio.wait_for(fn(address, count=n, device_id=unit), self.cfg.timeout + 1)
            except (asyncio.TimeoutError, ModbusIOException):
                if c.connected:       # the device is there; nothing answers for this unit id
                    raise UnitSilent(f"unit {unit} did not answer (registers {address}..{address + n - 1}) in "
                                     f"{self.cfg.timeout:g} s at {self.where}: is a device on that unit id?") from None
                raise ConnectionError(f"no answer from {self.where} (the connection dropped?); "
                                      "reconnecting on the next read") from None
            if rr.isError():
                code = getattr(rr, "exception_code", None)
                raise LookupError(f"unit {unit} refused registers {address}..{address + n - 1} "
                                  f"({REFUSALS.get(code, f'Modbus exception {code}')})")
            out += list(rr.registers)
            address += n
            count -= n
        return out

    async def _discover(self, unit: int) -> list[tuple[int, int, int]]:
        if unit in self._maps:
            return self._maps[unit]
        bases = (self.cfg.base_address,) if self.cfg.base_address is not None else (40000, 0, 50000)
        for base in bases:
            try:
                head = await self._read(unit, base, 2)
            except UnitSilent:
                raise                     # silence is no device, not a wrong base: do not wait out the others
            except LookupError:
                continue
            if tuple(head) != MARKER:
                continue
            models: list[tuple[int, int, int]] = []
            addr = base + 2
            for _ in range(MAX_MODELS):
                try:
                    mid, length = await self._read(unit, addr, 2)
                except LookupError:
                    if not models:
                        raise
                    break                 # a map that stops without its end marker: keep what it had
                if mid == END or mid == 0:
                    break
                if addr + 2 + length > 0xFFFF:
                    raise LookupError(f"unit {unit}: model {mid} at {addr} claims {length} registers, past the "
                                      f"end of the address space: not a SunSpec map (check base_address)")
                models.append((mid, addr, length))
                addr += 2 + length
            self._maps[unit] = models
            return models
        raise LookupError(f"no SunSpec map on unit {unit} at {self.where} (no 'SunS' at "
                          f"{', '.join(map(str, bases))}): check unit_id / base_address, or read it with registers:")

    async def _model(self, unit: int, mid: int, addr: int, length: int) -> dict[str, Any]:
        md = model_def(mid)
        if md is None:
            return {}
        if length > MAX_MODEL_LEN:
            raise LookupError(f"unit {unit}: model {mid} at {addr} claims {length} registers (at most "
                              f"{MAX_MODEL_LEN} expected): a broken map")
        return decode(await self._read(unit, addr, length + 2), md)

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        try:
            values = await self._read_all(now)
        except (ConnectionError, OSError, asyncio.TimeoutError, LookupError) as e:
            await self.close()
            why = str(e) or f"{type(e).__name__} talking to {self.where}"
            if isinstance(e, asyncio.TimeoutError):
                why = f"{self.where} did not answer in {self.cfg.timeout:g} s"
            values = {f: missing(now, self.name, why) for f in ALL_FIELDS}
        except Exception as e:  # noqa: BLE001  (pymodbus raises its own ModbusException family)
            await self.close()
            why = f"Modbus error at {self.where}: {type(e).__name__}: {e}"[:200]
            if isinstance(e, ModbusIOException):
                why = f"no answer from {self.where} (the connection dropped?); reconnecting on the next read"
            values = {f: missing(now, self.name, why) for f in ALL_FIELDS}
        for f in ALL_FIELDS:
            values.setdefault(f, missing(now, self.name, f"{self.vendor} does not measure {f}"))
        return EnergySnapshot(ts=now, forecast={}, **values)

    async def _read_all(self, ts: float) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        models: dict[int, dict[str, Any]] = {}
        if self.cfg.sunspec:
            refused: dict[int, str] = {}
            found, failed = await self._read_models(models, refused)
            out.update(self._from_models(models, ts))
            out.update(self._mismatch(models, found, failed, refused, ts))
        for reg in self.registers:
            out[FIELD[reg.field]] = await self._register(reg, ts)
        if self.cfg.preset == "solaredge" and "battery_charge_w" in out and out["battery_charge_w"].ok:
            if not self.cfg.registers:
                out["battery_charge_w"] = await self._solaredge_battery_idle(out["battery_charge_w"], ts)
            inv = next((models[m] for m in INVERTERS if m in models), None)
            if inv is not None and inv.get("DCW") is not None:
                # a hybrid's AC output includes the battery: PV is the DC input plus what charges
                out["pv_w"] = to_reading(max(0.0, inv["DCW"] + out["battery_charge_w"].value), "pv_w", ts=ts,
                                         source=self.name, label="103:DCW + battery")
        return out

    async def _read_models(self, models: dict[int, dict[str, Any]], refused: dict[int, str]
                           ) -> tuple[dict[int, list[int]], dict[int, str]]:
        """The wanted models of every unit into ``models``; ({unit: model ids found}, {unit: why it
        could not be read}). A separate meter unit that is wrong or silent costs the grid value
        only, not the inverter's; when no unit has a map at all the read fails as a whole. A model
        the device refuses while its map reads (a SolarEdge at night refusing its inverter model,
        solaredge2mqtt issue #400) goes into ``refused`` with why, and the others still read."""
        units = [self.unit] + ([self.meter_unit] if self.meter_unit not in (None, self.unit) else [])
        found: dict[int, list[int]] = {}
        failed: dict[int, str] = {}
        now = self.clock.now()
        for unit in units:
            retry = self._retry_at.get(unit)
            if retry is not None and now < retry[0]:
                failed[unit] = f"{retry[1]} (next try in {retry[0] - now:.0f} s)"
                continue
            try:
                for mid, addr, length in await self._discover(unit):
                    found.setdefault(unit, []).append(mid)
                    wanted = mid in INVERTERS or mid in METERS or mid in (124, 802, 160)
                    # one inverter and one meter model say it all: Kostal maps 103 and its float twin 113,
                    # SolarEdge a second and third meter after the grid meter
                    twin = next((g for g in (INVERTERS, METERS) if mid in g and any(m in models for m in g)), None)
                    if wanted and twin is None and mid not in models:
                        try:
                            models[mid] = await self._model(unit, mid, addr, length)
                        except UnitSilent:
                            raise
                        except LookupError as e:
                            refused[mid] = f"model {mid} at {addr}: {e}"
                self._retry_at.pop(unit, None)
            except LookupError as e:
                failed[unit] = str(e)
                if unit != self.unit:
                    # a wrong or absent meter unit is asked again after a while, not on every poll
                    # (a silent one costs a timeout each time, and pymodbus drops the connection after three)
                    self._retry_at[unit] = (now + SECONDARY_RETRY_S, str(e))
        if len(failed) == len(units):
            raise LookupError(failed[self.unit])
        return found, failed

    def _mismatch(self, models: dict[int, dict[str, Any]], found: dict[int, list[int]], failed: dict[int, str],
                  refused: dict[int, str], ts: float) -> dict[str, Reading]:
        """Say which map the preset or config expected and what the device holds instead."""
        def holds(units: list[int]) -> str:
            seen = [str(m) for u in units for m in found.get(u, [])]
            return f"models found: {', '.join(seen)}" if seen else "no models found"
        out: dict[str, Reading] = {}
        def refusal(group: tuple[int, ...]) -> str | None:
            return next((refused[m] for m in group if m in refused), None)
        if not any(m in models for m in INVERTERS):
            why = failed.get(self.unit) or refusal(INVERTERS) or (
                f"no inverter model (101-103, 111-113, 701) on unit {self.unit} at {self.where} "
                f"({holds([self.unit])}): is this the inverter? check unit_id / preset")
            out["pv_w"] = missing(ts, self.name, why)
        if not any(m in models for m in METERS):
            if self.meter_unit is not None and self.meter_unit in failed:
                why = f"grid meter on unit {self.meter_unit}: {failed[self.meter_unit]}"
            elif refusal(METERS):
                why = f"grid meter: {refusal(METERS)}"
            else:
                units = [self.unit] + ([self.meter_unit] if self.meter_unit not in (None, self.unit) else [])
                hint = PRESETS[self.cfg.preset].grid_hint or "a meter outside the inverter's map needs meter_unit_id"
                why = (f"no meter model (201-204, 211-214) on unit {', '.join(map(str, units))} at {self.where} "
                       f"({holds(units)}): {hint}")
            out["grid_import_w"] = missing(ts, self.name, why)
        return out

    def _point(self, raw: Any, field: str, ts: float, label: str, invert: bool = False) -> Reading:
        if raw is None:
            return missing(ts, self.name, f"{label}: not implemented by the device (or its scale factor is not)")
        return to_reading(raw, field, ts=ts, source=self.name, label=label, invert=invert)

    def _from_models(self, models: dict[int, dict[str, Any]], ts: float) -> dict[str, Reading]:
        out: dict[str, Reading] = {}
        inv_id = next((m for m in INVERTERS if m in models), None)
        if inv_id is not None:
            inv = models[inv_id]
            st = inv.get("St")
            w = inv.get("W")
            # asleep, a known zero: by its state, or (an SMA at night) with W, A, Hz and St all 'not
            # implemented' while the model stays (its energy counter still there): the AC stage is off
            ac_off = (w is None and st is None and inv.get("A") is None and inv.get("Hz") is None
                      and inv.get("WH") is not None)
            # the reading's source says why it is 0 W (`read energy` shows it): a value, not an error
            if st in ASLEEP and not w:
                out["pv_w"] = Reading(0.0, ts, f"{self.name} ({inv_id}:St {st} {ASLEEP[st]})", None)
            elif ac_off:
                out["pv_w"] = Reading(0.0, ts, f"{self.name} ({inv_id}: AC off, W/A/Hz/St not implemented)", None)
            else:
                out["pv_w"] = self._point(w, "pv_w", ts, f"{inv_id}:W")
        mppt = models.get(160, {}).get("module") or []
        if self.cfg.preset == "fronius" and mppt:
            out.update(self._fronius_modules(mppt, ts))
        meter_id = next((m for m in METERS if m in models), None)
        if meter_id is not None:
            meter = models[meter_id]
            inv_st = models[inv_id].get("St") if inv_id is not None else None
            if self.cfg.preset == "solaredge" and inv_st in ASLEEP and meter.get("W") == 0 and meter.get("A") == 0:
                # a house draws something at night: an exact 0 W and 0 A with the inverter asleep is a meter
                # SolarEdge stopped updating (nmakel/solaredge_modbus#106: SetApp showed the real values)
                out["grid_import_w"] = missing(ts, self.name, (
                    f"{meter_id}:W reads 0 W and 0 A while the inverter sleeps ({inv_id}:St {inv_st}): SolarEdge "
                    "does not update its meter then; no value rather than a false 0"))
            else:
                out["grid_import_w"] = self._point(meter.get("W"), "grid_import_w", ts, f"{meter_id}:W",
                                                   invert=self.meter_invert)
        if 124 in models:
            out["battery_soc_pct"] = self._point(models[124].get("ChaState"), "battery_soc_pct", ts, "124:ChaState")
        if 802 in models:
            b = models[802]
            out["battery_soc_pct"] = self._point(b.get("SoC"), "battery_soc_pct", ts, "802:SoC")
            w = b.get("W")
            out["battery_charge_w"] = self._point(None if w is None else -w, "battery_charge_w", ts, "802:W")
        return out

    async def _solaredge_battery_idle(self, power: Reading, ts: float) -> Reading:
        """Battery 1's power as read, or a known 0 W when its status (0xE186) says it moves nothing:
        asleep, an LG RESU reports -32768 W and bogus voltage and current (binsentsu's SolarEdge
        integration trusts them only in 3 charge, 4 discharge, 6 preserve charge, as here). A status
        the device does not give (refused, or 'not implemented') leaves the value as read."""
        try:
            lo, hi = await self._read(self.unit, SE_BATTERY_STATUS, 2)
        except LookupError:
            return power
        status = (hi << 16) | lo                  # uint32, low word first like the block's floats
        if status == 0xFFFFFFFF or status in SE_BATTERY_MOVING:
            return power
        what = SE_BATTERY_STATUS_TEXT.get(status, "not charging or discharging")
        return Reading(0.0, ts, f"{self.name} (SolarEdge battery status {status} {what})", None)

    def _fronius_modules(self, mppt: list[dict[str, Any]], ts: float) -> dict[str, Reading]:
        """A Fronius hybrid's model 160, told apart by each module's name as the inverter gives it:
        'StCha n' / 'StDisCha n' are the battery's charge and discharge, every other named module a
        string ('MPPT n'). A GEN24 has two strings before them, a Verto three, so a position says
        nothing. A string whose DCW is not implemented (no panels on that tracker) adds nothing.
        PV comes from the strings only on a hybrid (its AC output carries the battery too); without
        battery modules the inverter model's AC W stands: on an Argeno's modular power stages the
        160 channels showed 6.5 kW of 31.7 kW (evcc PR #32329)."""
        strings: list[tuple[int, float]] = []
        charge: tuple[int, float | None] | None = None
        discharge: tuple[int, float | None] | None = None
        for pos, m in enumerate(mppt, 1):
            name = str(m.get("IDStr") or "")
            if name.startswith("StCha"):
                charge = (pos, m.get("DCW"))
            elif name.startswith("StDisCha"):
                discharge = (pos, m.get("DCW"))
            elif name and m.get("DCW") is not None:
                strings.append((pos, m["DCW"]))
        out: dict[str, Reading] = {}
        if strings and (charge is not None or discharge is not None):
            out["pv_w"] = to_reading(sum(w for _, w in strings), "pv_w", ts=ts, source=self.name,
                                     label=f"160:{'+'.join(str(p) for p, _ in strings)}:DCW")
        if charge is not None and discharge is not None and charge[1] is not None and discharge[1] is not None:
            out["battery_charge_w"] = to_reading(charge[1] - discharge[1], "battery_charge_w", ts=ts,
                                                 source=self.name, label=f"160:{charge[0]}-{discharge[0]}:DCW")
        return out

    async def _register(self, reg: ModbusRegister, ts: float) -> Reading:
        field = FIELD[reg.field]
        unit = reg.unit_id if reg.unit_id is not None else self.unit
        size = 1 if reg.type in ("int16", "uint16") else 2
        label = f"register {reg.address} (0x{reg.address:04X}, {reg.type})"
        try:
            r = await self._read(unit, reg.address, size, reg.register)
        except LookupError as e:
            return missing(ts, self.name, f"{label}: {e}")
        if reg.type == "int16":
            v: float = r[0] - 0x10000 if r[0] >= 0x8000 else r[0]
        elif reg.type == "uint16":
            v = r[0]
        elif reg.type in ("int32", "uint32"):
            v = (r[0] << 16) | r[1]
            if reg.type == "int32" and v >= 0x80000000:
                v -= 0x100000000
        else:
            words = (r[1], r[0]) if reg.type == "float32s" else (r[0], r[1])
            v = struct.unpack(">f", struct.pack(">HH", *words))[0]
        return to_reading(v * reg.scale, field, ts=ts, source=self.name, label=label)
