"""Braiins OS+ "BOSer": cgminer RPC on 4028 plus the gRPC API on 50051 (research §3.2).

The gRPC side reuses the betterproto service bases that ship inside pyasic, served by grpclib.
Login answers the token in the *initial metadata* (that is where pyasic reads it); every other
call must carry ``authorization: <token>``. pyasic is imported here, so import this module lazily.
"""
from __future__ import annotations

import asyncio
import secrets

import grpclib.const
from grpclib import GRPCError, Status
from grpclib.server import Server

from ..clock import Clock
from ..miners.quiet_pyasic import load as _load_pyasic
from ..sim.miner_model import MinerModel
from .base import EmulatedMiner, Listener
from .rpc import RPCListener

_load_pyasic()  # the proto package imports pyasic/__init__; undo its logging side effects first
from pyasic.web.braiins_os.proto.braiins import bos as pb0  # noqa: E402
from pyasic.web.braiins_os.proto.braiins.bos import v1 as pb  # noqa: E402

GOOD_VERSION = "2024-06-20-0-4d0a1b5e-24.06-plus"


def boser_model(now: float, **kw) -> MinerModel:
    kw.setdefault("max_w", 3250.0)
    kw.setdefault("min_w", 1200.0)
    return MinerModel(now=now, **kw)


class BOSerEmulator(EmulatedMiner):
    family = "braiins"
    model_name = "Bitmain Antminer S19 Pro"

    def __init__(self, name: str, model: MinerModel, clock: Clock, host: str = "127.0.0.1",
                 rpc_port: int = 0, grpc_port: int = 0, username: str = "root", password: str = "root") -> None:
        super().__init__(name, model, clock, host)
        self.username = username
        self.password = password
        self.token = secrets.token_hex(8)
        self.version = GOOD_VERSION   # set to "24.06" to reproduce pyasic's IndexError on short strings
        self.locate = False
        self.logins = 0
        self.rpc = RPCListener(self, host, rpc_port, {
            "version": self._version, "devdetails": self._devdetails, "summary": self._summary,
            "devs": self._devs, "tunerstatus": self._tunerstatus, "pools": self._pools,
        }, desc="BOSer bosminer-plus-tuner 1.0.0")
        self.grpc = GrpcListener(self, host, grpc_port)
        self.listeners = [self.rpc, self.grpc]

    # ---- RPC ----
    def _version(self, _p):
        return {"VERSION": [{"BOSer": "bosminer-plus-tuner 1.0.0-24.06", "API": "3.7"}]}

    def _devdetails(self, _p):
        return {"DEVDETAILS": [{"DEVDETAILS": i, "Name": "", "ID": i, "Driver": "bitmain",
                                "Model": self.model_name, "Chips": self.model.chips_per_board}
                               for i in range(self.model.boards)]}

    def _summary(self, _p):
        now = self.now()
        mhs = self.model.hashrate_ths * 1e6
        return {"SUMMARY": [{"Elapsed": int(self.model.uptime_s(now)), "MHS av": mhs, "MHS 5s": mhs,
                             "MHS 1m": mhs, "MHS 15m": mhs, "Accepted": 100, "Rejected": 0}]}

    def _devs(self, _p):
        self.now()
        per = self.model.hashrate_ths * 1e6 / max(1, self.model.boards)
        return {"DEVS": [{"ASC": i, "Name": "", "ID": i + 1, "Enabled": "Y", "Status": "Alive",
                          "MHS 5s": per, "MHS 1m": per} for i in range(self.model.boards)]}

    def _tunerstatus(self, _p):
        return {"TUNERSTATUS": [{"PowerLimit": int(self.model.target_w), "TunerChainStatus": [
            {"HashchainIndex": i, "Status": "Stable"} for i in range(self.model.boards)]}]}

    def _pools(self, _p):
        return {"POOLS": [{"POOL": 0, "URL": "stratum+tcp://pool.example:3333", "User": f"solar.{self.name}",
                           "Status": "Alive", "Stratum Active": True, "Accepted": 100, "Rejected": 0}]}

    # ---- gRPC services (plain methods; GrpcListener maps them) ----
    def details(self) -> pb.GetMinerDetailsResponse:
        now = self.now()
        up = int(self.model.uptime_s(now))
        return pb.GetMinerDetailsResponse(
            uid=f"emu-{self.name}", hostname=self.name, mac_address="02:00:00:00:00:01",
            bos_version=pb.BosVersion(current=self.version, major="24.06", bos_plus=True),
            sticker_hashrate=pb.GigaHashrate(gigahash_per_second=self.model.nominal_ths * 1000.0),
            bosminer_uptime_s=up, system_uptime_s=up, serial_number=f"EMU{abs(hash(self.name)) % 10**8:08d}")

    def stats(self) -> pb.GetMinerStatsResponse:
        self.now()
        m = self.model
        return pb.GetMinerStatsResponse(power_stats=pb.MinerPowerStats(
            approximated_consumption=pb.Power(watt=int(round(m.power_w)))))

    def hashboards(self) -> pb.GetHashboardsResponse:
        self.now()
        m = self.model
        gh = m.hashrate_ths * 1000.0 / max(1, m.boards)
        return pb.GetHashboardsResponse(hashboards=[pb.Hashboard(
            id=str(i + 1), enabled=True, chips_count=m.chips_per_board,
            board_temp=pb.Temperature(degree_c=round(m.board_temp_c, 1)),
            highest_chip_temp=pb.TemperatureSensor(temperature=pb.Temperature(degree_c=round(m.chip_temp_c, 1))),
            stats=pb.WorkSolverStats(real_hashrate=pb.RealHashrate(
                last_5_s=pb.GigaHashrate(gigahash_per_second=gh), last_1_m=pb.GigaHashrate(gigahash_per_second=gh))),
        ) for i in range(m.boards)])

    def cooling(self) -> pb.GetCoolingStateResponse:
        self.now()
        rpm = int(self.model.fan_rpm)
        return pb.GetCoolingStateResponse(fans=[pb.FanState(position=i, rpm=rpm) for i in range(self.model.fans)])

    def performance_mode(self) -> pb.PerformanceMode:
        return pb.PerformanceMode(tuner_mode=pb.TunerPerformanceMode(
            power_target=pb.PowerTargetMode(power_target=pb.Power(watt=int(round(self.model.target_w))))))

    def set_power_target(self, watts: int) -> pb.SetPowerTargetResponse:
        lo, hi = self.allowed_range()
        if not self.power_ok(watts):
            raise GRPCError(Status.INVALID_ARGUMENT,
                            f"power target [{watts}W] is not in allowed range [Some({lo:.0f}), Some({hi:.0f})]")
        self.now()
        if not self.faults.ignore_commands:
            self.model.set_target(watts)
        return pb.SetPowerTargetResponse(power_target=pb.Power(watt=int(watts)))

    def pause(self) -> pb.PauseMiningResponse:
        self.now()
        already = self.model.paused
        if not self.faults.ignore_commands:
            self.model.pause()
        return pb.PauseMiningResponse(already_paused=already)

    def resume(self) -> pb.ResumeMiningResponse:
        self.now()
        already = not self.model.paused
        if not self.faults.ignore_commands:
            self.model.resume()
        return pb.ResumeMiningResponse(already_mining=already)

    def pool_groups(self) -> pb.GetPoolGroupsResponse:
        return pb.GetPoolGroupsResponse(pool_groups=[pb.PoolGroup(name="default", pools=[pb.Pool(
            uid="1", url="stratum+tcp://pool.example:3333", user=f"solar.{self.name}", enabled=True,
            alive=True, active=True, stats=pb.PoolStats(accepted_shares=100, rejected_shares=0))])])


def _services(emu: BOSerEmulator) -> list:
    """Subclasses of pyasic's generated *ServiceBase classes, answering from the emulator."""

    class Actions(pb.ActionsServiceBase):
        async def pause_mining(self, _r):
            return emu.pause()

        async def resume_mining(self, _r):
            return emu.resume()

        async def reboot(self, _r):
            asyncio.get_running_loop().create_task(emu.reboot(30.0))
            return pb.RebootResponse()

        async def restart(self, _r):
            return pb.RestartResponse()

        async def get_locate_device_status(self, _r):
            return pb.LocateDeviceStatusResponse(enabled=emu.locate)

        async def set_locate_device_status(self, r):
            emu.locate = bool(r.enable)
            return pb.LocateDeviceStatusResponse(enabled=emu.locate)

    class Miner(pb.MinerServiceBase):
        async def get_miner_details(self, _r):
            return emu.details()

        async def get_miner_stats(self, _r):
            return emu.stats()

        async def get_hashboards(self, _r):
            return emu.hashboards()

    class Performance(pb.PerformanceServiceBase):
        async def get_active_performance_mode(self, _r):
            return emu.performance_mode()

        async def set_power_target(self, r):
            return emu.set_power_target(int(r.power_target.watt))

    class Cooling(pb.CoolingServiceBase):
        async def get_cooling_state(self, _r):
            return emu.cooling()

    class Pools(pb.PoolServiceBase):
        async def get_pool_groups(self, _r):
            return emu.pool_groups()

    class ApiVersion(pb0.ApiVersionServiceBase):
        async def get_api_version(self, _r):
            return pb0.ApiVersion(major=1, minor=2, patch=0)

    return [Actions(), Miner(), Performance(), Cooling(), Pools(), ApiVersion()]


_CONTROL = {"PauseMining", "ResumeMining", "SetPowerTarget", "Reboot", "Restart"}
_PUBLIC = {"/braiins.bos.ApiVersionService/GetApiVersion", "/braiins.bos.v1.AuthenticationService/Login"}


class _Mapped:
    """A grpclib handler object: all services' handlers, wrapped with auth and fault injection."""

    def __init__(self, emu: BOSerEmulator) -> None:
        self.emu = emu
        mapping: dict = {}
        for svc in _services(emu):
            for path, h in svc.__mapping__().items():
                mapping[path] = grpclib.const.Handler(self._wrap(path, h.func), h.cardinality,
                                                      h.request_type, h.reply_type)
        mapping["/braiins.bos.v1.AuthenticationService/Login"] = grpclib.const.Handler(
            self._wrap("/braiins.bos.v1.AuthenticationService/Login", self._login),
            grpclib.const.Cardinality.UNARY_UNARY, pb.LoginRequest, pb.LoginResponse)
        self._mapping = mapping

    def __mapping__(self) -> dict:
        return self._mapping

    def _wrap(self, path: str, func):
        emu = self.emu

        async def handler(stream) -> None:
            if not await emu.before_reply(path.rsplit("/", 1)[-1] in _CONTROL):
                raise GRPCError(Status.UNAVAILABLE, "miner went away")
            if emu.faults.error:
                raise GRPCError(Status.INTERNAL, emu.faults.error_msg)
            if path not in _PUBLIC and stream.metadata.get("authorization") != emu.token:
                raise GRPCError(Status.UNAUTHENTICATED, "missing or invalid token")
            await func(stream)
        return handler

    async def _login(self, stream) -> None:
        req = await stream.recv_message()
        emu = self.emu
        if req.username != emu.username or req.password != emu.password:
            raise GRPCError(Status.UNAUTHENTICATED, "invalid username or password")
        emu.logins += 1
        await stream.send_initial_metadata(metadata={"authorization": emu.token})
        await stream.send_message(pb.LoginResponse(token=emu.token, timeout_s=3600))


class GrpcListener(Listener):
    kind = "grpc"

    def __init__(self, emu: BOSerEmulator, host: str, port: int) -> None:
        self.emu = emu
        self.host = host
        self.port = port
        self._server: Server | None = None
        self._mapped: _Mapped | None = None

    async def open(self) -> None:
        if self._server is not None:
            return
        if self._mapped is None:
            self._mapped = _Mapped(self.emu)
        srv = Server([self._mapped])
        await srv.start(self.host, self.port, reuse_address=True)
        self.port = srv._server.sockets[0].getsockname()[1]  # grpclib keeps the asyncio server here
        self._server = srv

    async def shut(self) -> None:
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.close()
        try:
            await asyncio.wait_for(srv.wait_closed(), 2)
        except (asyncio.TimeoutError, Exception):
            pass
