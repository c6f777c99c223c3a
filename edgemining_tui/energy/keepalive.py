"""One kept-alive HTTP/1.1 connection for a source that GETs a few small JSON documents every cycle.

Why not httpx here: at a 1 s cycle the Home Assistant adapter sends five GETs a second for as long
as the console runs. Through httpx's transport each cost ~0.5 ms of CPU on this 2-core VM, most of it
in the connection pool, its locks and anyio's stream wrappers, none of which a single sequential
connection needs; h11 (the HTTP/1.1 state machine httpx itself is built on) over an asyncio stream
does the same exchange for ~0.14 ms (benchmarks/http_poll.py). h11 still parses and checks every
reply; this module only moves the bytes, keeps the connection and turns every failure below HTTP
into one :class:`HttpFailure` with a reason a user can act on.

Behaviour a caller relies on:
- one connection, reused while the server keeps it open; a reply with ``Connection: close`` (or
  HTTP/1.0) closes it and the next GET opens a new one;
- a kept connection the server closed while it sat idle (Home Assistant's aiohttp drops idle ones
  after 75 s, a restart drops all) is replaced and the GET sent once more, only when nothing of a
  reply had arrived: a GET is safe to repeat;
- the whole exchange (connect, send, reply) must finish within ``timeout_s``; a cancelled or failed
  exchange never leaves a half-read connection behind;
- replies larger than ``max_body_bytes`` are refused (a broken or hostile server cannot make the
  console buffer without end).
"""
from __future__ import annotations

import asyncio
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohappyeyeballs
import h11

MAX_BODY_BYTES = 4 * 1024 * 1024
READ_CHUNK_BYTES = 65536
HAPPY_EYEBALLS_S = 0.25      # RFC 8305's recommended connection attempt delay


class HttpFailure(Exception):
    """No HTTP reply: refused, reset, timed out, or a reply that is not HTTP."""

    def __init__(self, reason: str, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    content_type: str
    body: bytes


class _Stale(Exception):
    """A reused connection was found closed before any byte of the reply arrived."""


class KeepAliveClient:
    """GETs against one base URL over one kept connection; one request at a time."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float,
                 max_body_bytes: int = MAX_BODY_BYTES) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        default_port = self.port == (443 if self.tls else 80)
        host_header = f"[{self.host}]" if ":" in self.host else self.host
        if not default_port:
            host_header += f":{self.port}"
        self.headers = [("Host", host_header), *headers.items()]
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.connections_opened = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11: h11.Connection | None = None
        self._ssl: ssl.SSLContext | None = None
        self._lock = asyncio.Lock()
        self._built: dict[str, h11.Request] = {}

    async def get(self, path: str) -> HttpReply:
        """GET ``prefix + path``; raises :class:`HttpFailure` when no HTTP reply came."""
        async with self._lock:
            request = self._built.get(path)
            if request is None:     # h11 checks and normalises headers when a Request is built: once a path
                request = self._built[path] = h11.Request(method="GET", target=self.prefix + path,
                                                          headers=self.headers)
            for attempt in (1, 2):
                reused = self._writer is not None and not self._idle_closed()
                if not reused:
                    self._drop()
                try:
                    async with asyncio.timeout(self.timeout_s):
                        if not reused:
                            await self._connect()
                        return await self._exchange(request, reused)
                except BaseException as e:
                    # failed, stale or cancelled mid-exchange: the connection's state is unknown
                    self._drop()
                    if isinstance(e, _Stale):
                        if attempt == 1:
                            continue
                        raise HttpFailure("the server closed the connection without answering") from None
                    if isinstance(e, TimeoutError):
                        raise HttpFailure(f"did not answer in {self.timeout_s:g} s", timed_out=True) from None
                    if isinstance(e, (OSError, h11.ProtocolError)):
                        raise HttpFailure(_why(e)) from None
                    raise
            raise AssertionError("unreachable")

    async def close(self) -> None:
        writer = self._writer
        self._drop()
        if writer is not None:
            try:
                await asyncio.wait_for(writer.wait_closed(), 1.0)
            except (OSError, TimeoutError, ssl.SSLError):
                pass

    def _idle_closed(self) -> bool:
        assert self._reader is not None and self._writer is not None
        return self._reader.at_eof() or self._writer.is_closing()

    def _drop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = self._h11 = None

    async def _connect(self) -> None:
        if self.tls and self._ssl is None:
            import httpx     # the same trust store and SSL_CERT_FILE handling as the other adapters
            self._ssl = httpx.create_ssl_context()
        try:
            # happy eyeballs, as anyio (httpx) does: a name with an AAAA record on a LAN without an
            # IPv6 route (homeassistant.local often) must not hang the connect until the timeout.
            # Not asyncio's own (open_connection's happy_eyeballs_delay): under the eager tasks the
            # console runs on (Textual turns them on from Python 3.12), CPython 3.12.1 and 3.13.0 fail
            # every connect with an AssertionError (CPython gh-124309); aiohttp's library does not
            infos = await asyncio.get_running_loop().getaddrinfo(self.host, self.port,
                                                                 type=socket.SOCK_STREAM)
            sock = await aiohappyeyeballs.start_connection(infos, happy_eyeballs_delay=HAPPY_EYEBALLS_S)
            self._reader, self._writer = await asyncio.open_connection(
                sock=sock, ssl=self._ssl if self.tls else None,
                server_hostname=self.host if self.tls else None, limit=READ_CHUNK_BYTES)
        except ssl.SSLCertVerificationError as e:
            raise HttpFailure(f"its TLS certificate is not trusted ({e.verify_message})") from None
        self._h11 = h11.Connection(h11.CLIENT)
        self.connections_opened += 1

    async def _exchange(self, request: h11.Request, reused: bool) -> HttpReply:
        conn, reader, writer = self._h11, self._reader, self._writer
        assert conn is not None and reader is not None and writer is not None
        try:
            writer.write(conn.send(request) + conn.send(h11.EndOfMessage()))
            await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            if reused:
                raise _Stale from None
            raise
        status = 0
        content_type = ""
        body = bytearray()
        got_bytes = False
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                try:
                    data = await reader.read(READ_CHUNK_BYTES)
                except ConnectionResetError:
                    if reused and not got_bytes:
                        raise _Stale from None
                    raise
                if not data and not got_bytes:
                    if reused:
                        raise _Stale
                    raise HttpFailure("the server closed the connection without answering")
                got_bytes = True
                conn.receive_data(data)
            elif type(event) is h11.Response:
                status = event.status_code
                for name, value in event.headers:
                    if name == b"content-type":
                        content_type = value.decode("latin-1")
                    elif name == b"content-length" and int(value) > self.max_body_bytes:
                        raise HttpFailure(f"reply of {int(value)} bytes is over the {self.max_body_bytes} byte limit")
            elif type(event) is h11.Data:
                body += event.data
                if len(body) > self.max_body_bytes:
                    raise HttpFailure(f"reply is over the {self.max_body_bytes} byte limit")
            elif type(event) is h11.EndOfMessage:
                break
            elif type(event) is h11.InformationalResponse:
                continue
            else:      # ConnectionClosed before the reply ended
                raise HttpFailure("the server closed the connection mid-reply")
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            self._drop()
        else:
            conn.start_next_cycle()
        return HttpReply(status, content_type, bytes(body))


def _why(e: BaseException) -> str:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    if isinstance(e, ssl.SSLError):
        return f"TLS failed ({e.reason or e})"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    if isinstance(e, h11.RemoteProtocolError):
        return f"the reply is not valid HTTP ({e})"
    return type(e).__name__
