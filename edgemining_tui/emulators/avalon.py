"""Avalon Q (Canaan cgminer) over RPC: ``ascset`` work levels and softoff/softon (research §3.4)."""
from __future__ import annotations

import asyncio

from ..clock import Clock
from ..sim.miner_model import MinerModel
from .base import EmulatedMiner
from .rpc import RPCError, RPCListener

AVALON_Q_LEVELS: tuple[tuple[str, float], ...] = (("eco", 800.0), ("standard", 1300.0), ("super", 1674.0))


def avalon_model(now: float, **kw) -> MinerModel:
    levels = kw.pop("levels", AVALON_Q_LEVELS)
    kw.setdefault("max_w", max(w for _, w in levels))
    kw.setdefault("min_w", min(w for _, w in levels))
    kw.setdefault("efficiency_j_th", 18.6)
    kw.setdefault("boards", 1)
    kw.setdefault("chips_per_board", 160)
    kw.setdefault("fans", 2)
    kw.setdefault("ramp_s", 45.0)
    return MinerModel(levels=levels, now=now, **kw)


class AvalonEmulator(EmulatedMiner):
    family = "avalon"
    control_commands = frozenset({"ascset", "restart"})
    prod = "Avalon Q"

    def __init__(self, name: str, model: MinerModel, clock: Clock, host: str = "127.0.0.1",
                 rpc_port: int = 0) -> None:
        super().__init__(name, model, clock, host)
        self.led = 0
        self.rpc = RPCListener(self, host, rpc_port, {
            "version": self._version, "devdetails": self._devdetails, "summary": self._summary,
            "devs": self._devs, "stats": self._stats, "estats": self._estats, "pools": self._pools,
            "ascset": self._ascset, "restart": self._restart,
        }, desc="cgminer 4.11.1")
        self.listeners = [self.rpc]

    def _version(self, _p):
        return {"VERSION": [{"CGMiner": "4.11.1", "API": "3.7", "PROD": self.prod, "MODEL": "Q",
                             "HWTYPE": "MM4v2_X3", "SWTYPE": "MM316", "LVERSION": "25021401_56abae7",
                             "MAC": "b4a2eb3f1c2d", "UPAPI": "2"}]}

    def _devdetails(self, _p):
        return {"DEVDETAILS": [{"DEVDETAILS": 0, "Name": "AVA10", "ID": 0, "Driver": "avalon10",
                                "Model": self.prod}]}

    def _summary(self, _p):
        now = self.now()
        mhs = self.model.hashrate_ths * 1e6
        return {"SUMMARY": [{"Elapsed": int(self.model.uptime_s(now)), "MHS av": mhs, "MHS 1m": mhs}]}

    def _devs(self, _p):
        self.now()
        mhs = self.model.hashrate_ths * 1e6
        return {"DEVS": [{"ASC": 0, "Name": "AVA10", "ID": 0, "MHS av": mhs, "MHS 5s": mhs, "MHS 1m": mhs}]}

    def _stats(self, _p):
        now = self.now()
        return {"STATS": [{"STATS": 0, "ID": "AVA100", "Elapsed": int(self.model.uptime_s(now)),
                           "MM ID0": self._mm()},
                          {"STATS": 1, "ID": "POOL0", "Elapsed": int(self.model.uptime_s(now))}]}

    def _estats(self, _p):
        self.now()
        return {"STATS": [{"STATS": 0, "ID": "AVA100", "MM ID0": self._mm()}]}

    def _mm(self) -> str:
        m = self.model
        ghs = m.hashrate_ths * 1000.0
        mpo = int(m.target_w)
        fan = int(m.fan_rpm)
        soft = 1 if m.paused else 0
        lvl = max(0, m.level_index)
        return (f"Ver[Q-25021401_56abae7] WALLPOWER[{int(round(m.power_w))}] MPO[{mpo}] MGHS[{ghs:.2f}] "
                f"MTmax[{int(m.chip_temp_c)}] MTavg[{int(m.board_temp_c)}] TMax[{int(m.chip_temp_c)}] "
                f"TAvg[{int(m.board_temp_c)}] Temp[{int(m.ambient_c)}] "
                f"Fan1[{fan}] Fan2[{fan}] Led[{self.led}] GHSmm[{m.nominal_ths * 1000.0:.2f}] "
                f"SoftOFF[{soft}] WORKMODE[{lvl}] WORKLEVEL[{lvl}]")

    def _pools(self, _p):
        return {"POOLS": [{"POOL": 0, "URL": "stratum+tcp://pool.example:3333", "User": f"solar.{self.name}",
                           "Status": "Alive", "Stratum Active": True, "Accepted": 50, "Rejected": 0,
                           "Get Failures": 0, "Remote Failures": 0}]}

    def _ascset(self, p):
        args = (p or "").split(",")
        if len(args) < 2:
            raise RPCError("Missing parameters", 15)
        opt = args[1]
        self.now()
        apply = not self.faults.ignore_commands
        if opt in ("softoff", "softon"):
            if apply:
                self.model.pause() if opt == "softoff" else self.model.resume()
            return {"_msg": f"ASC 0 set info: success {opt}"}
        if opt == "worklevel":
            if len(args) < 4 or args[2] != "set" or not args[3].strip().lstrip("-").isdigit():
                # what pyasic 0.79 sends for level 0 ("0,worklevel,set" without a value)
                raise RPCError("ASC 0 set failed: missing worklevel value", 15)
            level = int(args[3])
            if not 0 <= level < len(self.model.levels):
                raise RPCError(f"ASC 0 set failed: worklevel {level} out of range", 15)
            if not self.power_ok(self.model.levels[level][1]):
                raise RPCError("ASC 0 set failed: level outside the allowed power range", 15)
            if apply:
                self.model.set_level(level)
            return {"_msg": "ASC 0 set OK"}
        if opt == "led":
            self.led = 1 if len(args) > 2 and args[2].endswith("1") else 0
            return {"_msg": "ASC 0 set OK"}
        raise RPCError(f"ASC 0 set failed: unknown option {opt}", 15)

    def _restart(self, _p):
        asyncio.get_running_loop().create_task(self.reboot(30.0))
        return {"_msg": "RESTART"}
