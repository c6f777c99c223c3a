"""The cgminer JSON-RPC protocol ("port 4028") as pyasic speaks it (research §3.0).

pyasic writes one JSON object, no newline, no half-close, then reads until EOF. So the server
accumulates bytes until they parse, writes one JSON document (NUL-terminated like cgminer) and
closes. ``"command": "a+b+c"`` is a multicommand: ``{"a": [reply], "b": [reply], ..., "id": 1}``.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Callable

from .base import EmulatedMiner, Listener


class RPCError(Exception):
    """Raised by a command handler: becomes a STATUS E reply with this message."""

    def __init__(self, msg: str, code: int = 14) -> None:
        super().__init__(msg)
        self.msg = msg
        self.code = code


Handler = Callable[[str | None], dict]


def status(kind: str, msg: str, code: int = 1, desc: str = "cgminer 4.11.1") -> list[dict]:
    return [{"STATUS": kind, "When": int(time.time()), "Code": code, "Msg": msg, "Description": desc}]


class RPCListener(Listener):
    kind = "rpc"

    def __init__(self, miner: EmulatedMiner, host: str, port: int,
                 commands: dict[str, Handler], desc: str = "cgminer 4.11.1") -> None:
        self.miner = miner
        self.host = host
        self.port = port
        self.commands = commands
        self.desc = desc
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def shut(self) -> None:
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.close()
        for w in list(self._conns):
            w.close()
        try:
            await asyncio.wait_for(srv.wait_closed(), 2)
        except (asyncio.TimeoutError, Exception):
            pass

    # ---- protocol ----
    def reply(self, request: dict) -> dict:
        command = str(request.get("command", ""))
        param = request.get("parameter")
        param = None if param is None else str(param)
        if "+" in command:
            out: dict = {}
            for c in command.split("+"):
                out[c] = [self._single(c, param)]
            out["id"] = 1
            return out
        return self._single(command, param)

    def _single(self, command: str, param: str | None) -> dict:
        m = self.miner
        if m.faults.error:
            return {"STATUS": status("E", m.faults.error_msg, 45, self.desc), "id": 1}
        fn = self.commands.get(command)
        if fn is None:
            return {"STATUS": status("E", "Invalid command", 14, self.desc), "id": 1}
        try:
            body = fn(param)
        except RPCError as e:
            return {"STATUS": status("E", e.msg, e.code, self.desc), "id": 1}
        msg = body.pop("_msg", command)
        return {"STATUS": status("S", msg, 11, self.desc), **body, "id": 1}

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            buf = b""
            request = None
            while request is None:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buf += chunk
                try:
                    request = json.loads(buf.decode("utf-8", "replace").rstrip("\x00"))
                except ValueError:
                    if len(buf) > 1 << 20:
                        return
                    continue
            if not isinstance(request, dict):
                return
            cmds = str(request.get("command", "")).split("+")
            if not await self.miner.before_reply(any(c in self.miner.control_commands for c in cmds)):
                return
            writer.write(json.dumps(self.reply(request)).encode() + b"\x00")
            await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            self._conns.discard(writer)
            writer.close()
