"""LuxOS (Luxor firmware) over cgminer RPC only: curtail sleep/wakeup, profiles, ATM (research §3.1)."""
from __future__ import annotations

import secrets

from ..clock import Clock
from ..sim.miner_model import MinerModel
from .base import EmulatedMiner
from .rpc import RPCError, RPCListener

# name, watts, TH/s-ish; ordered low to high like LuxOS lists them
DEFAULT_PROFILES: tuple[tuple[str, float], ...] = (
    ("-4", 1500.0), ("-2", 2200.0), ("default", 2800.0), ("+2", 3250.0))


def luxos_model(now: float, **kw) -> MinerModel:
    levels = kw.pop("levels", DEFAULT_PROFILES)
    kw.setdefault("max_w", max(w for _, w in levels))
    kw.setdefault("min_w", min(w for _, w in levels))
    m = MinerModel(levels=levels, now=now, **kw)
    # boot on the "default" profile, as a fresh LuxOS does
    names = [n for n, _ in levels]
    if "default" in names:
        m.set_level(names.index("default"))
        m.power_w = m.idle_w if m.paused else m.target_w
    return m


class LuxOSEmulator(EmulatedMiner):
    family = "luxos"
    control_commands = frozenset({"curtail", "profileset", "atmset", "logon", "session", "logoff"})
    type_name = "Antminer S19 Pro"

    def __init__(self, name: str, model: MinerModel, clock: Clock, host: str = "127.0.0.1",
                 rpc_port: int = 0) -> None:
        super().__init__(name, model, clock, host)
        self.session_id = ""
        self.atm_enabled = True
        self.rpc = RPCListener(self, host, rpc_port, self._commands(), desc="LUXminer 2024.5.1")
        self.listeners = [self.rpc]

    def _commands(self) -> dict:
        return {
            "version": self._version, "devdetails": self._devdetails, "summary": self._summary,
            "stats": self._stats, "power": self._power, "config": self._config, "profiles": self._profiles,
            "fans": self._fans, "tempctrl": self._tempctrl, "pools": self._pools, "groups": self._groups,
            "atm": self._atm, "atmset": self._atmset, "session": self._session, "logon": self._logon,
            "logoff": self._logoff, "curtail": self._curtail, "profileset": self._profileset,
            "resetminer": self._reset, "rebootdevice": self._reboot, "devs": self._devs,
        }

    # ---- read ----
    def _version(self, _p):
        return {"VERSION": [{"API": "3.7", "LUXminer": "2024.5.1.182043-6a8f24e", "Miner": "2024.5.1",
                             "CompileTime": "2024-05-01", "Type": self.type_name}]}

    def _devdetails(self, _p):
        return {"DEVDETAILS": [{"DEVDETAILS": i, "Name": "luxminer", "ID": i, "Driver": "luxminer",
                                "Model": self.type_name, "Chips": self.model.chips_per_board}
                               for i in range(self.model.boards)]}

    def _summary(self, _p):
        now = self.now()
        ghs = self.model.hashrate_ths * 1000.0
        return {"SUMMARY": [{"Elapsed": int(self.model.uptime_s(now)), "GHS 5s": ghs, "GHS av": ghs,
                             "Accepted": 100, "Rejected": 0}]}

    def _devs(self, _p):
        self.now()
        per = self.model.hashrate_ths * 1000.0 / max(1, self.model.boards)
        return {"DEVS": [{"ASC": i, "Name": "BTM", "ID": i, "MHS 5s": per * 1000.0, "MHS av": per * 1000.0}
                         for i in range(self.model.boards)]}

    def _stats(self, _p):
        now = self.now()
        m = self.model
        per_gh = m.hashrate_ths * 1000.0 / max(1, m.boards)
        s1: dict = {"Elapsed": int(m.uptime_s(now)), "total_rateideal": m.nominal_ths * 1000.0,
                    "rate_unit": "GH", "fan_num": m.fans}
        chip = int(m.chip_temp_c)
        pcb = int(m.board_temp_c)
        for i in range(1, m.boards + 1):
            s1[f"chain_rate{i}"] = f"{per_gh:.2f}"
            s1[f"chain_acn{i}"] = m.chips_per_board
            s1[f"temp_chip{i}"] = f"{chip - 2}-{chip}-{chip + 1}-{chip - 1}"
            s1[f"temp_pcb{i}"] = f"{pcb - 2}-{pcb}-{pcb + 1}-{pcb - 1}"
        return {"STATS": [{"STATS": 0, "ID": "luxminer", "Type": self.type_name}, s1]}

    def _power(self, _p):
        self.now()
        return {"POWER": [{"Watts": int(round(self.model.power_w)), "PSU": False}]}

    def _config(self, _p):
        return {"CONFIG": [{"Profile": self.model.level_name or "default", "RedLed": "off",
                            "IsAtmEnabled": self.atm_enabled}]}

    def _profiles(self, _p):
        eff = self.model.efficiency_j_th
        return {"PROFILES": [{"Profile Name": n, "Watts": int(w), "Hashrate": round(w / eff, 2),
                              "IsTuned": False, "Frequency": 400 + 25 * i, "Voltage": 13.0 + 0.2 * i}
                             for i, (n, w) in enumerate(self.model.levels)]}

    def _fans(self, _p):
        self.now()
        rpm = int(self.model.fan_rpm)
        pct = int(100 * rpm / self.model.fan_max_rpm) if self.model.fan_max_rpm else 0
        return {"FANS": [{"ID": i, "RPM": rpm, "Speed": pct} for i in range(self.model.fans)],
                "FANCTRL": [{"MinFans": self.model.fans}]}

    def _tempctrl(self, _p):
        return {"TEMPCTRL": [{"Mode": "Automatic", "Target": 70, "Hot": 80, "Dangerous": 90}]}

    def _pools(self, _p):
        return {"POOLS": [{"POOL": 0, "URL": "stratum+tcp://pool.example:3333", "User": f"solar.{self.name}",
                           "Status": "Alive", "Stratum Active": True, "Accepted": 100, "Rejected": 0,
                           "Get Failures": 0, "Remote Failures": 0, "GROUP": 0}]}

    def _groups(self, _p):
        return {"GROUPS": [{"GROUP": 0, "Name": "Default", "Quota": 1}]}

    def _atm(self, _p):
        return {"ATM": [{"Enabled": self.atm_enabled}]}

    # ---- session / control ----
    def _session(self, _p):
        return {"SESSION": [{"SessionID": self.session_id}]}

    def _logon(self, _p):
        if self.session_id:
            raise RPCError("Another session is active", 402)
        self.session_id = secrets.token_hex(4)
        return {"SESSION": [{"SessionID": self.session_id}]}

    def _logoff(self, p):
        self._check_sid(p)
        self.session_id = ""
        return {}

    def _check_sid(self, p: str | None) -> list[str]:
        parts = (p or "").split(",")
        if not self.session_id or parts[0] != self.session_id:
            raise RPCError("Invalid session id", 403)
        return parts[1:]

    def _curtail(self, p):
        args = self._check_sid(p)
        mode = args[0] if args else ""
        if mode not in ("sleep", "wakeup"):
            raise RPCError(f"Invalid curtail mode {mode!r}")
        self.now()
        if not self.faults.ignore_commands:
            self.model.pause() if mode == "sleep" else self.model.resume()
        return {"_msg": f"Curtail {mode} ok"}

    def _atmset(self, p):
        args = self._check_sid(p)
        for a in args:
            if a.startswith("enabled="):
                self.atm_enabled = a.split("=", 1)[1].lower() == "true"
        return {"_msg": "ATM set ok"}

    def _profileset(self, p):
        args = self._check_sid(p)
        name = args[0] if args else ""
        names = [n for n, _ in self.model.levels]
        if name not in names:
            raise RPCError(f"Profile {name!r} not found")
        watts = self.model.levels[names.index(name)][1]
        if not self.power_ok(watts):
            raise RPCError(f"Profile {name} ({watts:.0f} W) outside the allowed power range")
        self.now()
        if not self.faults.ignore_commands:
            self.model.set_level(names.index(name))
        return {"PROFILE": [{"Profile": name}]}

    def _reset(self, p):
        self._check_sid(p)
        return {"_msg": "Reset ok"}

    def _reboot(self, p):
        self._check_sid(p)
        import asyncio
        asyncio.get_running_loop().create_task(self.reboot(30.0))
        return {"_msg": "Reboot ok"}
