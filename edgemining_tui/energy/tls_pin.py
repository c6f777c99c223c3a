"""Trust one device's own certificate: a SHA-256 fingerprint pinned in config (``tls_fingerprint``).

Gateways (Enphase IQ Gateway, Powerwall, HomeWizard v2) serve self-signed certificates, so a CA
check always fails and ``verify_tls: false`` trusts anything on the network. A pinned fingerprint
trusts exactly the certificate the owner saw: the check runs right after the TLS handshake, before
a byte of the request (its token or password) is sent, on every new connection.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import ssl
from typing import Any

import httpcore
import httpx

_HEX = re.compile(r"[0-9a-f]{64}")


def normalise(fingerprint: str) -> str:
    """64 lower-case hex digits from ``AB:CD:…``, ``sha256:abcd…`` or ``SHA256 Fingerprint=AB:…``
    (what ``openssl x509 -fingerprint -sha256`` prints); ValueError otherwise."""
    text = fingerprint.strip().lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = re.sub(r"[\s:]", "", text)
    if not _HEX.fullmatch(text):
        raise ValueError(f"tls_fingerprint: expected the certificate's SHA-256 fingerprint (64 hex digits, "
                         f"colons allowed), got {fingerprint[:40]!r}")
    return text


def pin_of(fingerprint: str | None) -> str | None:
    return None if fingerprint is None else normalise(fingerprint)


def shown(fp_hex: str) -> str:
    """The colon form openssl and browsers show."""
    return ":".join(fp_hex[i:i + 2] for i in range(0, len(fp_hex), 2)).upper()


def fingerprint_of(ssl_object: Any) -> str | None:
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return hashlib.sha256(der).hexdigest() if der else None


def _unverified_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE     # the pin below is the check, not a CA
    return ctx


class PinMismatch(httpcore.ConnectError):
    pass


class _PinnedStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, pin: str) -> None:
        self.inner, self.pin = inner, pin

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        tls = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        seen = fingerprint_of(tls.get_extra_info("ssl_object"))
        if seen != self.pin:
            await tls.aclose()
            raise PinMismatch(f"certificate fingerprint mismatch: the device presented {shown(seen or '')}, "
                              f"tls_fingerprint pins {shown(self.pin)}")
        return _PinnedStream(tls, self.pin)


class _PinningBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend, pin: str) -> None:
        self.inner, self.pin = inner, pin

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options=None) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _PinnedStream(stream, self.pin)

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise httpcore.ConnectError("a pinned certificate needs a TCP connection")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def pinned_transport(pin_hex: str) -> httpx.AsyncHTTPTransport:
    """An httpx transport that accepts only the certificate with this SHA-256 fingerprint (and
    ignores proxy variables: the device is on the LAN)."""
    transport = httpx.AsyncHTTPTransport(verify=_unverified_context(), trust_env=False)
    # httpx takes no network backend of its own; its pool is httpcore's, which does
    transport._pool = httpcore.AsyncConnectionPool(ssl_context=_unverified_context(),
                                                   network_backend=_PinningBackend(httpcore.AnyIOBackend(), pin_hex))
    return transport


async def presented_fingerprint(url: str, timeout: float) -> str | None:
    """The fingerprint of the certificate the device at ``url`` presents (no trust implied: for the
    error message that tells the owner what to compare and pin); None when it cannot be had."""
    u = httpx.URL(url)
    if u.scheme != "https" or not u.host:
        return None
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(u.host, u.port or 443, ssl=_unverified_context()), timeout)
    except (OSError, asyncio.TimeoutError, ssl.SSLError):
        return None
    try:
        return fingerprint_of(writer.get_extra_info("ssl_object"))
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 1)
        except (OSError, asyncio.TimeoutError, ssl.SSLError):
            pass
