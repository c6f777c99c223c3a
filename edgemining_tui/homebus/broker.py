"""Connecting to a broker with the settings users give (plain or TLS, user and password)."""
from __future__ import annotations

import ssl
from typing import Any, Protocol


class BrokerSettings(Protocol):
    host: str
    port: int
    username: str | None
    password: Any
    client_id: str | None
    tls: bool
    ca_file: str | None
    certfile: str | None
    keyfile: str | None
    insecure: bool
    keepalive: float


def tls_context(s: BrokerSettings) -> ssl.SSLContext | None:
    """A client TLS context: the CA file (or the system's CAs), the client certificate, and for a
    self-signed broker without a CA file, ``insecure`` (no verification, said in the docs)."""
    if not s.tls:
        return None
    ctx = ssl.create_default_context(cafile=s.ca_file) if s.ca_file else ssl.create_default_context()
    if s.certfile:
        ctx.load_cert_chain(s.certfile, s.keyfile)
    if s.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client(s: BrokerSettings, *, will: Any = None, identifier: str | None = None) -> Any:
    import aiomqtt
    return aiomqtt.Client(
        s.host, s.port, username=s.username or None, password=str(s.password) if s.password else None,
        identifier=identifier or s.client_id, will=will, keepalive=int(s.keepalive),
        tls_context=tls_context(s), tls_insecure=True if (s.tls and s.insecure) else None, timeout=10.0)
