"""A loopback stand-in for the local energy APIs (HomeWizard, OpenDTU, Enphase, Powerwall, sonnen):
it serves replies recorded from real devices (tests/data/energy/<vendor>/) and asks for what the
device asks for: a bearer token (Enphase firmware 7+, HomeWizard v2), an ``Auth-Token`` header
(sonnen), a customer login with a session cookie (Powerwall), HTTPS with a self-signed
certificate (``tls=True``)."""
from __future__ import annotations

import datetime as dt
import json
import secrets
import ssl
import tempfile
from pathlib import Path
from typing import Any

from .http import HttpServer, Request, Response, StandInServer


def self_signed_context(host: str = "127.0.0.1") -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate, as gateways ship, and the
    certificate's SHA-256 fingerprint (hex) for a client that pins it."""
    import hashlib
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "envoy.local")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False)
            .sign(key, hashes.SHA256()))
    tmp = Path(tempfile.mkdtemp(prefix="emt-tls-"))
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class LocalApiServer(StandInServer):
    GARBAGE = b'{"production": [{"type": "inverters", "wNow": '

    def __init__(self, replay: dict[str, Any], *, host: str = "127.0.0.1", tls: bool = False,
                 bearer: str | None = None, auth_token: str | None = None,
                 login_password: str | None = None) -> None:
        super().__init__(host)
        ctx, self.cert_sha256 = self_signed_context(host) if tls else (None, None)
        self.http = HttpServer(self._handle, host, 0, ssl_context=ctx)
        self.replay = replay
        self.bearer = bearer
        self.auth_token = auth_token
        self.login_password = login_password
        self.sessions: set[str] = set()
        self.logins = 0
        self.requests: list[str] = []

    def failure(self, status: int) -> Response:
        # a stopped Powerwall gateway answers 502 with no body at all (vloschiavo/powerwall2's
        # samples/21.39.1-foogod/stopped/*.err); the other gateways' error pages are as terse
        return Response(status, b"", "text/plain")

    def expire_sessions(self) -> None:
        self.sessions.clear()

    async def _handle(self, req: Request) -> Response:
        self.requests.append(f"{req.method} {req.path}")
        fault = await self.injected_fault()
        if fault is not None:
            return fault
        if self.login_password is not None:
            if req.method == "POST" and req.path == "/api/login/Basic":
                return self._login(req)
            cookie = req.headers.get("cookie", "")
            if not any(f"AuthCookie={s}" in cookie for s in self.sessions):
                return Response.json({"code": 401, "error": "bad credentials", "message": "Login Error"}, 401)
        if self.bearer is not None and req.headers.get("authorization") != f"Bearer {self.bearer}":
            return Response(401, b"", "text/html")
        if self.auth_token is not None and req.headers.get("auth-token") != self.auth_token:
            return Response.json({"error": "Unauthorized"}, 401)
        if self.garbage:
            return self.garbage_reply()
        return self.replayed(req) or Response.json({"error": "not found"}, 404)

    def _login(self, req: Request) -> Response:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            return Response.json({"code": 400, "error": "bad request"}, 400)
        if body.get("username") != "customer" or body.get("password") != self.login_password:
            return Response.json({"code": 401, "error": "bad credentials", "message": "Login Error"}, 401)
        self.logins += 1
        token = secrets.token_hex(8)
        self.sessions.add(token)
        resp = Response.json({"email": body.get("email", ""), "firstname": "Tesla", "lastname": "Energy",
                              "roles": ["Home_Owner"], "token": token, "provider": "Basic",
                              "loginTime": "2020-03-15T15:58:53.855997624-05:00"})
        resp.headers["Set-Cookie"] = f"AuthCookie={token}; Path=/"
        return resp
