"""Shared plumbing for vendors polled over HTTP with a JSON reply (Fronius, Shelly).

One GET per read; every failure (timeout, refused, 401, 5xx, malformed JSON) becomes the same
error on every value this source provides, so the engine sees which source failed and why.
"""
from __future__ import annotations

import httpx

from ..clock import Clock
from .convert import decode_json
from .snapshot import ALL_FIELDS, EnergySnapshot, Reading, missing


class HttpJsonSource:
    vendor = "device"
    provides: tuple[str, ...] = ALL_FIELDS

    def __init__(self, url: str, timeout: float, clock: Clock, name: str) -> None:
        self.base_url = url.rstrip("/")
        self.timeout = timeout
        self.clock = clock
        self.name = name
        self._client: httpx.AsyncClient | None = None
        self.auth: httpx.Auth | None = None
        self.headers: dict[str, str] = {}
        self.verify: bool = True       # gateways with self-signed certificates set verify_tls: false
        self.tls_fingerprint: str | None = None   # or pin their certificate (tls_pin.py): then only it

    async def start(self) -> None:
        if self._client is None:
            transport = None
            if self.tls_fingerprint is not None:
                from .tls_pin import pinned_transport
                transport = pinned_transport(self.tls_fingerprint)
            self._client = httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, auth=self.auth,
                                             headers=self.headers, verify=self.verify, transport=transport)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, path: str, params: dict | None = None) -> tuple[object, str | None]:
        """(body, None) on success, (None, reason) on any failure. Never raises."""
        await self.start()
        assert self._client is not None
        try:
            r = await self._client.get(path, params=params)
        except httpx.HTTPError as e:
            return None, await self.http_error(e)
        if r.status_code in (401, 403):
            return None, f"{self.vendor} refused access (HTTP {r.status_code}; check credentials)"
        if r.status_code != 200:
            return None, f"{self.vendor} answered HTTP {r.status_code}"
        return decode_json(r.content, self.vendor, r.headers.get("content-type", ""))

    async def http_error(self, e: httpx.HTTPError) -> str:
        """What went wrong in words, and for a certificate what to do about it."""
        if isinstance(e, httpx.TimeoutException):
            return f"{self.vendor} did not answer in {self.timeout:g} s"
        if isinstance(e, httpx.ConnectError) and "fingerprint mismatch" in str(e):
            return (f"{self.vendor} presented another certificate than the pinned one ({e}): a replaced "
                    "device, or something in between; pin the new one only if you replaced the device")
        if isinstance(e, httpx.ConnectError) and "CERTIFICATE" in str(e).upper():
            from .tls_pin import presented_fingerprint, shown
            fp = await presented_fingerprint(self.base_url, self.timeout)
            pin = f'pin it with tls_fingerprint: "{shown(fp)}" (compare it with the device\'s first) or ' if fp else ""
            return f"{self.vendor}'s TLS certificate is not trusted (self-signed?): {pin}set verify_tls: false"
        return f"cannot reach {self.vendor} at {self.base_url} ({type(e).__name__})"

    def parse(self, body: object, ts: float) -> tuple[dict[str, Reading], dict[str, float | None]]:
        raise NotImplementedError

    async def request(self) -> tuple[object, str | None]:
        raise NotImplementedError

    async def read(self) -> EnergySnapshot:
        now = self.clock.now()
        body, err = await self.request()
        ts = self.clock.now()
        forecast: dict[str, float | None] = {}
        if err is not None:
            values = {f: missing(ts, self.name, err) for f in self.provides}
        else:
            try:
                values, forecast = self.parse(body, ts)
            except (KeyError, TypeError, AttributeError, IndexError) as e:
                reason = f"unexpected reply shape from {self.vendor} ({type(e).__name__}: {str(e)[:40]})"
                values = {f: missing(ts, self.name, reason) for f in self.provides}
        for f in ALL_FIELDS:
            if f not in values:
                values[f] = missing(ts, self.name, f"{self.vendor} does not measure {f}")
        return EnergySnapshot(ts=now, forecast=forecast, **values)
