"""A real mosquitto broker on loopback for tests and benchmarks (Debian package ``mosquitto``).

:class:`Mosquitto` writes a config into a directory of its own and runs ``mosquitto -c`` with:

- a plain listener on ``port`` that requires a user name and password (``mosquitto_passwd``);
- a TLS listener on ``tls_port`` whose server certificate is signed by a CA made at start-up
  (``openssl`` CLI; the certificate names 127.0.0.1 and localhost), same password file;
- ``persistence false``, so a restart forgets retained messages unless they are published again.

:meth:`restart` stops the process and starts it again on the same ports, as a broker reboot
would. :func:`unavailable` says why it cannot run here (no binary), for ``pytest.skip``.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
from pathlib import Path

SEARCH = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin")


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SEARCH))


def unavailable() -> str | None:
    """None when a broker can be started here, else the reason (for a test skip)."""
    for tool in ("mosquitto", "mosquitto_passwd", "openssl"):
        if _which(tool) is None:
            return f"{tool} is not installed (Debian: apt-get install mosquitto openssl)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CERT_FILES = {"ca": "ca.crt", "server_cert": "server.crt", "server_key": "server.key",
              "client_cert": "client.crt", "client_key": "client.key"}


def make_certs(d: Path, names: tuple[str, ...] = ("IP:127.0.0.1", "DNS:localhost")) -> dict[str, Path]:
    """A CA and a server certificate signed by it (and a client key/cert pair), via openssl. The CA
    is made as mosquitto's TLS guide makes it, without a keyUsage extension: what users have, and
    what Python 3.13's strict verification rejected until the client relaxed it (energy/mqtt.py)."""
    ssl = _which("openssl")
    assert ssl is not None

    def run(*args: str) -> None:
        subprocess.run([ssl, *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=edgemining test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    (d / "san.ext").write_text(f"subjectAltName={','.join(names)}\n")
    for who, cn in (("server", "localhost"), ("client", "edgemining client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}", "-keyout", f"{who}.key",
            "-out", f"{who}.csr")
        run("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", f"{who}.crt", *(("-extfile", "san.ext") if who == "server" else ()))
    return {k: d / v for k, v in CERT_FILES.items()}


class Mosquitto:
    def __init__(self, workdir: Path, username: str = "edge", password: str = "s3cret-pw") -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.username = username
        self.password = password
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls_port = free_port()
        self.certs: dict[str, Path] = {}
        self._proc: subprocess.Popen | None = None
        self._conf: Path | None = None

    def _configure(self) -> Path:
        """Config with this instance's ports; certificates and password file are made once per dir."""
        self.certs = make_certs(self.dir) if not (self.dir / "client.key").exists() else \
            {k: self.dir / v for k, v in CERT_FILES.items()}
        pw = self.dir / "passwd"
        subprocess.run([_which("mosquitto_passwd") or "mosquitto_passwd", "-c", "-b", str(pw), self.username,
                        self.password], check=True, capture_output=True)
        os.chmod(pw, 0o600)
        c = self.certs
        conf = self.dir / f"mosquitto-{self.port}.conf"
        conf.write_text("\n".join([
            "user root",                      # stay the user who owns the files (root in CI)
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {pw}",
            f"listener {self.port} {self.host}",
            f"listener {self.tls_port} {self.host}",
            f"cafile {c['ca']}",
            f"certfile {c['server_cert']}",
            f"keyfile {c['server_key']}",
            "",
        ]))
        return conf

    async def start(self) -> "Mosquitto":
        conf = self._conf or self._configure()
        self._conf = conf
        self._log = open(self.dir / "mosquitto.log", "ab")
        self._proc = subprocess.Popen([_which("mosquitto") or "mosquitto", "-c", str(conf)],
                                      stdout=self._log, stderr=self._log)
        await self.wait_listening()
        return self

    async def wait_listening(self, timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        for port in (self.port, self.tls_port):
            while True:
                if self._proc is not None and self._proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited ({self._proc.returncode}): {self.log_tail()}")
                try:
                    _, w = await asyncio.open_connection(self.host, port)
                    w.close()
                    break
                except OSError:
                    if loop.time() > end:
                        raise RuntimeError(f"mosquitto is not listening on {port}: {self.log_tail()}")
                    await asyncio.sleep(0.02)

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "mosquitto.log").read_text(errors="replace")[-600:]
        return ""

    async def stop(self) -> None:
        p, self._proc = self._proc, None
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                await asyncio.to_thread(p.wait, 5)
            except subprocess.TimeoutExpired:
                p.kill()
                await asyncio.to_thread(p.wait)
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    async def restart(self, down_s: float = 0.0) -> None:
        await self.stop()
        if down_s:
            await asyncio.sleep(down_s)
        await self.start()

    async def __aenter__(self) -> "Mosquitto":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()
