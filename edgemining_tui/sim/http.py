"""A tiny asyncio HTTP/1.1 server for the loopback stand-ins of vendor APIs (no extra dependency).

It serves the simulated site to the real adapters in the demo and the tests. It understands
just enough HTTP: one request per connection read, keep-alive honoured, JSON bodies.
"""
from __future__ import annotations

import asyncio
import ssl
import json
from dataclasses import dataclass, field
from typing import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def json(obj, status: int = 200) -> "Response":
        return Response(status, json.dumps(obj).encode())

    @staticmethod
    def text(text: str, status: int = 200) -> "Response":
        return Response(status, text.encode(), "text/plain")


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error",
            503: "Service Unavailable"}


class HttpServer:
    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0,
                 ssl_context: "ssl.SSLContext | None" = None) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl_context = ssl_context     # HTTPS, as gateways with self-signed certificates serve
        self._server: asyncio.base_events.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    async def start(self) -> "HttpServer":
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for w in list(self._conns):
                w.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), 2)
            except (asyncio.TimeoutError, Exception):
                pass
            self._server = None

    async def __aenter__(self) -> "HttpServer":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                # the request line and headers in one read (the demo serves five requests a second
                # to the console it runs in: a readline per header line was most of this server's CPU)
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                line, *lines = head.decode("latin-1").split("\r\n")
                try:
                    method, target, _ = line.split(" ", 2)
                except ValueError:
                    return
                headers: dict[str, str] = {}
                for h in lines:
                    if h:
                        k, _, v = h.partition(":")
                        headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(n) if n else b""
                if not target.startswith("/") or "?" in target or "#" in target:
                    parts = urlsplit(target)
                    req = Request(method.upper(), parts.path, parse_qs(parts.query), headers, body)
                else:
                    req = Request(method.upper(), target, {}, headers, body)
                try:
                    resp = await self.handler(req)
                except Exception as e:  # a stand-in server answers 500 like a real one would
                    resp = Response.json({"message": f"internal error: {e}"}, 500)
                if resp is None:  # the handler chose to hang up without answering
                    return
                out = (f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}\r\n"
                       f"Content-Type: {resp.content_type}\r\nContent-Length: {len(resp.body)}\r\n")
                for k, v in resp.headers.items():
                    out += f"{k}: {v}\r\n"
                writer.write(out.encode() + b"\r\n" + resp.body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        finally:
            self._conns.discard(writer)
            writer.close()


class StandInServer:
    """Base of the vendor stand-ins (Fronius, Shelly, pools): address, start/stop, and the fault
    switches they all have. ``status`` forces an HTTP status for every request, ``hang`` accepts
    and never answers, ``garbage`` answers with the subclass's malformed ``GARBAGE`` body;
    ``replay`` serves recorded replies verbatim."""

    GARBAGE = b'{"truncated": '

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.http = HttpServer(self._handle, host, port)
        self.status: int | None = None
        self.hang = False
        self.garbage = False
        # path -> a recorded JSON body to serve verbatim (tests/data/energy/<vendor>/*.json "reply")
        self.replay: dict[str, object] | None = None

    @property
    def url(self) -> str:
        return self.http.url

    async def start(self):
        await self.http.start()
        return self

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def failure(self, status: int) -> Response:
        return Response.text("simulated failure", status)

    async def injected_fault(self) -> Response | None:
        """Hang or the forced status, if switched on; None otherwise."""
        if self.hang:
            await asyncio.sleep(3600)
        if self.status is not None:
            return self.failure(self.status)
        return None

    def garbage_reply(self) -> Response:
        return Response(200, self.GARBAGE, "application/json")

    async def canned(self, req: Request) -> Response | None:
        """What the fault switches or a replayed recording answer, before any vendor logic."""
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if self.garbage:
            return self.garbage_reply()
        return self.replayed(req)

    def replayed(self, req: Request) -> Response | None:
        """The recorded body for this path, if one is being replayed."""
        if self.replay is None or req.path not in self.replay:
            return None
        body = self.replay[req.path]
        if isinstance(body, bytes):      # a raw (possibly broken) body, as recorded
            return Response(200, body, "text/html" if body.lstrip().startswith(b"<") else "application/json")
        return Response.json(body)

    async def _handle(self, req: Request) -> Response:  # pragma: no cover - per server
        raise NotImplementedError
