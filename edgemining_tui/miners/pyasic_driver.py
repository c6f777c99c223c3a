"""MinerDriver over pyasic 0.79.0. Never raises: every failure becomes a state or a CommandResult.

Hazards handled here (research §5):
- pyasic's RPC has a 100 s read timeout and no connect timeout, gRPC has no deadline:
  every call runs under ``asyncio.timeout`` with the miner's own poll/command timeout;
- a refused port is not an exception: ``get_data`` returns all-None data, so "hashrate and
  wattage both None" means offline, and a cheap probe tells refused from an error status;
- exception types are mixed (APIError, bare ConnectionRefusedError, IndexError): catch Exception;
- poll and command must not interleave on one miner (LuxOS session, BOSer login): one lock each;
- identify once and keep the object; identification of a stopped miner is weak, so a
  failed read does not throw the object away until several in a row have failed.
"""
from __future__ import annotations

import asyncio
import ipaddress
import time
from typing import Any

from ..clock import Clock
from . import axeos
from .capabilities import apply_overrides, family_of_pyasic, for_family, nearest_level
from .config import MinerConfig
from .model import (
    Board, Capabilities, CommandKind, CommandResult, Level, MinerCommand, MinerSample, MinerState,
)
from .pyasic_build import _apply_ports_and_credentials, build_pyasic_miner, model_key  # noqa: F401 (model_key)
from .quiet_pyasic import fast_include, load

# Families whose pyasic backend implements is_mining; elsewhere it is always True (research §1.5).
_TRUSTS_IS_MINING = {"braiins", "antminer", "whatsminer", "vnish", "epic", "auradine"}
_REIDENTIFY_AFTER = 3


def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


UNIDENTIFIED = "family auto, not identified yet: controlled once it answers"


class PyasicDriver:
    def __init__(self, cfg: MinerConfig, clock: Clock) -> None:
        self.cfg = cfg
        self.name = cfg.name
        self.clock = clock
        self.family: str | None = None if cfg.family == "auto" else cfg.family
        self.model: str | None = cfg.model
        self.firmware: str | None = None
        self._miner: Any = None
        self._lock = asyncio.Lock()
        self._failures = 0
        self._last_cmd: MinerCommand | None = None
        self._axeos: axeos.AxeosControl | None = None
        # family auto: nothing is commanded until the miner answers and is identified; say so, or an
        # offline miner reads "monitor only" as if its firmware could not be controlled at all
        base = for_family(self.family) if self.family else Capabilities(
            on_off=False, monitor_only=True, why_limited=UNIDENTIFIED)
        self._caps = apply_overrides(base, cfg.capabilities)

    # ---- MinerDriver ----
    @property
    def capabilities(self) -> Capabilities:
        return self._caps

    @property
    def miner(self) -> Any:
        """The pyasic object once identified (for scan output and diagnostics)."""
        return self._miner

    async def read(self) -> MinerSample:
        t0 = time.monotonic()
        ts = self.clock.now()
        timeout = self.cfg.poll_timeout
        async with self._lock:
            try:
                async with asyncio.timeout(timeout):
                    miner = await self._ensure_miner()
                    if miner is None:
                        return self._fail(ts, t0, MinerState.OFFLINE, f"no miner answers at {self.cfg.host}")
                    try:
                        data = await miner.get_data(include=fast_include())
                    except Exception as e:  # noqa: BLE001  (e.g. BOSer: APIError when gRPC fails)
                        state, why = await self._why_dead(miner, e)
                        return self._fail(ts, t0, state, why)
                    if data.hashrate is None and data.wattage is None:
                        state, why = await self._why_dead(miner)
                        return self._fail(ts, t0, state, why)
                    extra = await self._axeos_reading(miner)
            except TimeoutError:
                return self._fail(ts, t0, MinerState.UNRESPONSIVE, f"no answer within {timeout:g} s")
            except Exception as e:  # noqa: BLE001  (pyasic raises many unrelated types)
                return self._fail(ts, t0, MinerState.OFFLINE, _describe(e))
            self._failures = 0
            return self._sample(data, ts, time.monotonic() - t0, extra)

    async def apply(self, command: MinerCommand) -> CommandResult:
        t0 = time.monotonic()
        ts = self.clock.now()
        timeout = self.cfg.command_timeout
        async with self._lock:
            try:
                async with asyncio.timeout(timeout):
                    miner = await self._ensure_miner()
                    if miner is None:
                        return CommandResult(False, f"{command.describe()}: no miner answers at {self.cfg.host}",
                                             ts, time.monotonic() - t0)
                    try:
                        ok, msg = await self._command(miner, command)
                    except Exception as e:  # noqa: BLE001
                        ok, msg = False, _describe(e)
                    if not ok and not msg.startswith(("not supported", "unknown")):
                        # pyasic's failures are often internal (KeyError on an empty reply):
                        # ask the miner what is wrong, so the user reads a reason
                        why = await self._probe(miner)
                        if why:
                            msg = why
            except TimeoutError:
                ok, msg = False, f"no answer within {timeout:g} s"
            except Exception as e:  # noqa: BLE001
                ok, msg = False, _describe(e)
            if ok:
                self._last_cmd = command
            return CommandResult(ok, f"{command.describe()}: {msg}", ts, time.monotonic() - t0)

    async def close(self) -> None:
        self._miner = None  # pyasic keeps no connections open between calls

    # ---- identification ----
    async def _ensure_miner(self) -> Any:
        if self._miner is not None:
            return self._miner
        pyasic = load()
        if self.cfg.family == "auto":
            miner = await pyasic.get_miner(self.cfg.host)
            if miner is None:
                return None
            _apply_ports_and_credentials(miner, self.cfg)
        else:
            miner = build_pyasic_miner(self.cfg)
        await self.adopt(miner)
        return miner

    async def adopt(self, miner: Any) -> None:
        """Take an identified pyasic object (from get_miner or a network scan) and learn about it.
        The object is kept only once learning finished: a poll deadline that cuts it short must
        not leave a miner adopted with the wrong capabilities for good."""
        self.family = family_of_pyasic(miner) if self.cfg.family == "auto" else self.cfg.family
        self.model = getattr(miner, "raw_model", None) or getattr(miner, "model", None) or self.model
        caps = for_family(self.family, miner)
        if self.family == "luxos":
            caps = await self._luxos_levels(miner, caps)
        if self.family == "bitaxe":
            caps = await self._axeos_capabilities(miner, caps)
        self._caps = apply_overrides(caps, self.cfg.capabilities)
        self.firmware = self._axeos.firmware if self._axeos and self._axeos.firmware else await self._firmware(miner)
        self._miner = miner

    async def _axeos_capabilities(self, miner: Any, caps: Capabilities) -> Capabilities:
        """What this AxeOS firmware really offers (pause/resume, frequency levels), probed once."""
        from dataclasses import replace
        try:
            ctrl, info = await axeos.probe(miner.web)
        except Exception as e:  # noqa: BLE001
            return replace(caps, why_limited=f"could not ask AxeOS what it supports: {_describe(e)}")
        self._axeos = ctrl
        max_w = self.cfg.capabilities.max_w if self.cfg.capabilities and self.cfg.capabilities.max_w else caps.max_w
        lv = axeos.levels(ctrl, info, max_w)
        return replace(caps, on_off=ctrl.can_pause, power_target=False, levels=lv,
                       max_w=lv[-1].watts if lv else caps.max_w,
                       monitor_only=not (ctrl.can_pause or lv), why_limited=ctrl.why_limited)

    async def _axeos_reading(self, miner: Any) -> axeos.AxeosReading | None:
        """pyasic drops the pause state, the frequency and the second chip sensor: read them here."""
        if self.family != "bitaxe":
            return None
        try:
            return axeos.reading(await miner.web.system_info())
        except Exception:  # noqa: BLE001  (the sample from pyasic stands without them)
            return None

    async def _luxos_levels(self, miner: Any, caps: Capabilities) -> Capabilities:
        """LuxOS power 'targets' are profiles: read the real list and offer them as levels."""
        from dataclasses import replace
        try:
            res = await miner.rpc.send_command("profiles")
            levels = tuple(sorted(
                (Level(str(p["Profile Name"]), float(p["Watts"])) for p in res.get("PROFILES", [])),
                key=lambda lv: lv.watts))
        except Exception:  # noqa: BLE001
            return caps
        if not levels:
            return caps
        return replace(caps, levels=levels, max_w=levels[-1].watts)

    async def _firmware(self, miner: Any) -> str | None:
        if self.family == "avalon":
            # pyasic reports the cgminer version; the firmware build is LVERSION in `version`
            try:
                res = await miner.rpc.send_command("version")
                lv = str((res.get("VERSION") or [{}])[0].get("LVERSION") or "")
                if lv:
                    return lv
            except Exception:  # noqa: BLE001
                pass
        try:
            fw = await miner.get_fw_ver()
            if fw:
                return str(fw)
        except Exception:  # noqa: BLE001
            pass
        if self.family == "braiins":
            # pyasic 0.79 does bosVersion.current.split("-")[5] and raises IndexError on short
            # strings; read the raw string ourselves and keep whatever is there
            try:
                det = await miner.web.get_miner_details()
                return str(det.get("bosVersion", {}).get("current") or "") or None
            except Exception:  # noqa: BLE001
                return None
        return None

    async def _why_dead(self, miner: Any, exc: BaseException | None = None) -> tuple[MinerState, str]:
        """No usable data: refused, or answering with an error? One cheap request tells them apart."""
        why = await self._probe(miner)
        if why is None:
            return MinerState.OFFLINE, _describe(exc) if exc is not None else "no usable data"
        return (MinerState.FAULT if why.startswith("miner reports") else MinerState.OFFLINE), why

    async def _probe(self, miner: Any) -> str | None:
        """Why is this miner not cooperating, in words? None if it answers normally."""
        from pyasic.errors import APIError
        try:
            if self.family == "bitaxe":
                await miner.web.send_command("system/info")
                return None
            rpc = getattr(miner, "rpc", None)
            if rpc is None:
                return None
            res = await rpc.send_command("summary")
            # pyasic turns a refused connection into an empty reply, not an exception
            return None if res else f"connection refused at {self.cfg.host}"
        except APIError as e:
            msg = str(e)
            if "HTTP error" in msg:
                return f"connection failed at {self.cfg.host}"
            if "Failed to send command" in msg:
                return "miner reports an error (HTTP error status)"
            return f"miner reports an error: {_short(msg)}"
        except Exception as e:  # noqa: BLE001
            return _describe(e)

    def _fail(self, ts: float, t0: float, state: MinerState, why: str) -> MinerSample:
        self._failures += 1
        if self._failures >= _REIDENTIFY_AFTER and self.cfg.family == "auto":
            self._miner = None  # maybe a different firmware came up after a reflash or reboot
        return MinerSample(self.name, ts, state, error=why, model=self.model, firmware=self.firmware,
                           poll_s=time.monotonic() - t0)

    # ---- data ----
    def _sample(self, d: Any, ts: float, poll_s: float, extra: axeos.AxeosReading | None = None) -> MinerSample:
        boards = tuple(
            Board(b.slot, _f(b.hashrate), _f(b.temp), _f(b.chip_temp), b.chips) for b in (d.hashboards or ()))
        hr = _f(d.hashrate)
        if hr is None:
            # LuxOS in 0.79: _get_hashrate returns before parsing; the boards carry it
            rates = [b.hashrate_ths for b in boards if b.hashrate_ths is not None]
            hr = sum(rates) if rates else None
        temps = [b.temp_c for b in boards if b.temp_c is not None]
        temp = max(temps) if temps else _f(getattr(d, "temperature_avg", None))
        fans = [f.speed for f in (d.fans or ()) if f.speed]
        power = _f(d.wattage)
        limit = _f(d.wattage_limit)
        errors = tuple(str(getattr(e, "error_message", e)) for e in (d.errors or ()))
        paused = (hr is not None and hr <= 0.0) or (
            self.family in _TRUSTS_IS_MINING and d.is_mining is False)
        chip_temps = [b.chip_temp_c for b in boards if b.chip_temp_c is not None and b.chip_temp_c > 0]
        chip_temp = max(chip_temps) if chip_temps else None
        firmware = self.firmware
        pool = _active_pool(getattr(d, "pools", None))
        pool_urls = tuple(str(p.url) for p in (getattr(d, "pools", None) or ()) if getattr(p, "url", None))
        pool_user = getattr(pool, "user", None) or None
        accepted, rejected = _count(getattr(pool, "accepted", None)), _count(getattr(pool, "rejected", None))
        if extra is not None:
            pool_user = extra.stratum_user or pool_user
            if extra.shares_accepted is not None:
                accepted, rejected = extra.shares_accepted, extra.shares_rejected

            paused = extra.paused if extra.paused is not None else paused
            chip_temp = extra.chip_temp_c if extra.chip_temp_c is not None else chip_temp
            temp = extra.board_temp_c if extra.board_temp_c is not None else temp
            firmware = extra.firmware or firmware
        if paused:
            stopped_on_purpose = self._last_cmd is not None and self._last_cmd.kind is CommandKind.STOP
            state = MinerState.FAULT if errors and not stopped_on_purpose else MinerState.PAUSED
        elif limit and power and abs(power - limit) > 0.15 * limit:
            state = MinerState.RAMPING  # still moving towards its target (real miners take minutes)
        else:
            state = MinerState.MINING
        lv = nearest_level(self._caps.levels, limit if limit else power) if self._caps.levels else None
        if extra is not None and extra.frequency_mhz is not None and self._caps.levels:
            name = axeos.level_name(extra.frequency_mhz)
            lv = next((x for x in self._caps.levels if x.name == name), None)
        return MinerSample(
            name=self.name, ts=ts, state=state, power_w=power, power_limit_w=limit,
            level=lv.name if lv else None, hashrate_ths=hr, temp_c=temp,
            fan_rpm=max(fans) if fans else None, uptime_s=_f(d.uptime), model=self.model,
            firmware=firmware, error=errors[0] if state is MinerState.FAULT else None,
            boards=boards, errors=errors, poll_s=poll_s, chip_temp_c=chip_temp, pools=pool_urls,
            pool_user=self.cfg.pool_user or pool_user, shares_accepted=accepted, shares_rejected=rejected)

    # ---- control ----
    async def _command(self, miner: Any, cmd: MinerCommand) -> tuple[bool, str]:
        caps = self._caps
        if caps.monitor_only:
            return False, "not supported: this miner is monitor-only" + (f" ({caps.why_limited})" if caps.why_limited else "")
        if cmd.kind in (CommandKind.START, CommandKind.STOP):
            if not caps.on_off:
                return False, (f"not supported: {caps.why_limited}" if caps.why_limited
                               else f"not supported: {self.family} cannot be started or stopped through pyasic")
            if cmd.kind is CommandKind.START and (cmd.watts is not None or cmd.level is not None) \
                    and (caps.power_target or caps.levels):
                # set the target before waking it, so it ramps to the decided power, not its last one
                set_cmd = MinerCommand(CommandKind.SET_LEVEL, level=cmd.level) if cmd.level is not None \
                    else MinerCommand(CommandKind.SET_POWER, watts=cmd.watts)
                ok_set, msg_set = await self._command(miner, set_cmd)
                if not ok_set:
                    return False, f"start: {msg_set}"
            if self.family == "bitaxe":
                return await axeos.set_paused(miner.web, cmd.kind is CommandKind.STOP)
            ok = await (miner.resume_mining() if cmd.kind is CommandKind.START else miner.stop_mining())
            return bool(ok), "accepted" if ok else "refused by the miner"
        if cmd.kind is CommandKind.SET_LEVEL:
            lv = next((lv for lv in caps.levels if lv.name == cmd.level), None)
            if lv is None:
                names = ", ".join(lv.name for lv in caps.levels) or "none"
                return False, f"unknown level {cmd.level!r} (levels: {names})"
            return await self._set_level(miner, lv)
        if cmd.kind is CommandKind.SET_POWER:
            if cmd.watts is None:
                return False, "no watts given"
            if caps.power_target:
                w = min(caps.max_w, max(caps.min_w, float(cmd.watts))) if caps.max_w else float(cmd.watts)
                if caps.step_w:
                    w = round(w / caps.step_w) * caps.step_w
                ok = await miner.set_power_limit(int(w))
                note = "" if int(w) == int(cmd.watts) else f" (clamped to {w:.0f} W)"
                return bool(ok), ("accepted" if ok else "refused by the miner") + note
            if caps.levels:
                fitting = [lv for lv in caps.levels if lv.watts <= cmd.watts]
                lv = max(fitting, key=lambda x: x.watts) if fitting else min(caps.levels, key=lambda x: x.watts)
                ok, msg = await self._set_level(miner, lv)
                return ok, f"{msg} (level {lv.name}, {lv.watts:.0f} W)"
            return False, "not supported: no power target on this miner"
        return False, f"unknown command {cmd.kind}"

    async def _set_level(self, miner: Any, lv: Level) -> tuple[bool, str]:
        if self.family == "bitaxe":
            return await axeos.set_frequency(miner.web, float(lv.name.split()[0]))
        if self.family == "avalon":
            # pyasic maps watts to levels oddly (500 W -> max) and cannot send level 0 (it tests
            # `if val:`); send the ascset ourselves with the index (research §3.4)
            idx = list(self._caps.levels).index(lv)
            res = await miner.rpc.send_command("ascset", parameters=f"0,worklevel,set,{idx}")
            msg = str(res.get("STATUS", [{}])[0].get("Msg", ""))
            ok = "set ok" in msg.lower()
            return ok, "accepted" if ok else f"refused by the miner: {msg or 'no answer'}"
        ok = await miner.set_power_limit(int(round(lv.watts)))
        return bool(ok), "accepted" if ok else "refused by the miner"


def _short(msg: str, n: int = 160) -> str:
    msg = " ".join(msg.split())
    return msg if len(msg) <= n else msg[: n - 1] + "…"


def _describe(e: BaseException) -> str:
    text = str(e)
    cause = e.__cause__ or e.__context__
    if cause is not None and not text:
        text = str(cause)
    name = type(e).__name__
    if isinstance(e, ConnectionRefusedError) or isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, OSError) and not text:
        return f"network error ({name})"
    return _short(f"{name}: {text}" if text else name)


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _active_pool(pools: Any) -> Any:
    """The pool the miner mines on now: the one marked active, else the first listed."""
    pools = list(pools or ())
    return next((p for p in pools if getattr(p, "active", None)), pools[0] if pools else None)


def _count(x: Any) -> int | None:
    v = _f(x)
    return int(v) if v is not None and 0 <= v < 1e18 else None     # NaN and inf fail the range
