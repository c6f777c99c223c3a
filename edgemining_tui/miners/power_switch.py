"""Smart plugs as relays: the :class:`PowerSwitch` port and the two plugs that fill it (miners/plug.py
drives a miner with one).

Edge Mining's "generic socket" controller drives a miner through a Home Assistant ``switch.*``
entity (on/off, its power from a sensor). Here a plug is a :class:`PowerSwitch`, one of:

- Home Assistant: ``GET /api/states/<switch>`` (state ``on``/``off``/``unavailable``),
  ``POST /api/services/switch/turn_on|turn_off`` with ``{"entity_id": ...}``; the power from an
  optional ``sensor.*`` entity (W or kW by its unit).
- Shelly Plus/Pro (Gen2 RPC): ``GET /rpc/Switch.GetStatus?id=N`` (``output``, ``apower`` W) and
  ``GET /rpc/Switch.Set?id=N&on=true|false`` (answers ``{"was_on": ...}``). No auth (a plug with
  a password set is refused with a message saying so).
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

import httpx

from ..clock import Clock
from ..energy.snapshot import number


@dataclass(frozen=True, slots=True)
class PlugReading:
    """One read of a plug. ``on``: None when unknown (unreachable, unavailable)."""

    ts: float
    on: bool | None
    power_w: float | None = None
    error: str | None = None


class PlugError(Exception):
    """A plug request failed; the message is what the console shows."""


class PowerSwitch(Protocol):
    """A relay with an optional power meter."""

    name: str

    async def read(self) -> PlugReading: ...

    async def set(self, on: bool) -> None:
        """Switch; raises PlugError when the plug refused or did not answer."""

    async def close(self) -> None: ...


# ------------------------------------------------------------------------------------------------
# the plugs
# ------------------------------------------------------------------------------------------------
class _HttpPlug:
    def __init__(self, name: str, base_url: str, timeout: float, clock: Clock,
                 headers: dict[str, str] | None = None) -> None:
        self.name = name
        self.clock = clock
        self.timeout = timeout
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout, headers=headers or {})

    async def _call(self, method: str, path: str, **kw) -> object:
        try:
            r = await asyncio.wait_for(self._client.request(method, path, **kw), self.timeout + 1.0)
        except (httpx.TimeoutException, asyncio.TimeoutError):
            raise PlugError(f"no answer in {self.timeout:g} s") from None
        except httpx.HTTPError as e:
            raise PlugError(f"cannot reach the plug ({type(e).__name__})") from None
        if r.status_code == 401:
            raise PlugError("the plug refused us (HTTP 401): " + self._auth_hint())
        if r.status_code == 404:
            raise PlugError("not found (HTTP 404): " + self._not_found_hint())
        if r.status_code != 200:
            raise PlugError(f"the plug answered HTTP {r.status_code}{_rpc_message(r)}")
        try:
            return r.json()
        except ValueError:
            raise PlugError("the plug answered something that is not JSON") from None

    def _auth_hint(self) -> str:
        return "check the token"

    def _not_found_hint(self) -> str:
        return "check the address"

    async def close(self) -> None:
        await self._client.aclose()


def _rpc_message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return ""
    msg = body.get("message") if isinstance(body, dict) else None
    return f" ({msg})" if isinstance(msg, str) and msg else ""


class ShellyGen2Switch(_HttpPlug):
    """Shelly Plus/Pro plug or relay, Gen2 RPC over HTTP GET."""

    def __init__(self, name: str, url: str, switch_id: int, timeout: float, clock: Clock) -> None:
        super().__init__(name, url, timeout, clock)
        self.switch_id = switch_id

    def _auth_hint(self) -> str:
        return "this plug has a password set; password-protected Shelly plugs are not supported, remove it"

    def _not_found_hint(self) -> str:
        return "is it a Gen2 (Plus/Pro) Shelly? Gen1 plugs have no /rpc"

    async def read(self) -> PlugReading:
        now = self.clock.now()
        try:
            body = await self._call("GET", "/rpc/Switch.GetStatus", params={"id": self.switch_id})
        except PlugError as e:
            return PlugReading(now, None, None, str(e))
        if not isinstance(body, dict) or not isinstance(body.get("output"), bool):
            return PlugReading(now, None, None, "unexpected Switch.GetStatus answer (no output)")
        errors = body.get("errors")
        err = f"plug reports {', '.join(map(str, errors))}" if isinstance(errors, list) and errors else None
        return PlugReading(now, body["output"], number(body.get("apower")), err)

    async def set(self, on: bool) -> None:
        body = await self._call("GET", "/rpc/Switch.Set",
                                params={"id": self.switch_id, "on": "true" if on else "false"})
        if not isinstance(body, dict) or "was_on" not in body:
            raise PlugError("unexpected Switch.Set answer (no was_on)")


class HomeAssistantSwitch(_HttpPlug):
    """A Home Assistant ``switch.*`` entity (any plug HA knows), its power from a sensor."""

    def __init__(self, name: str, url: str, token: str, entity: str, power_entity: str | None,
                 timeout: float, clock: Clock) -> None:
        super().__init__(name, url, timeout, clock, headers={"Authorization": f"Bearer {token}"})
        self.entity = entity
        self.power_entity = power_entity

    def _not_found_hint(self) -> str:
        return f"Home Assistant has no entity {self.entity}" + (
            f" or {self.power_entity}" if self.power_entity else "")

    async def _state(self, entity: str) -> dict:
        body = await self._call("GET", f"/api/states/{entity}")
        if not isinstance(body, dict) or "state" not in body:
            raise PlugError(f"unexpected answer for {entity}")
        return body

    async def read(self) -> PlugReading:
        now = self.clock.now()
        try:
            st = await self._state(self.entity)
        except PlugError as e:
            return PlugReading(now, None, None, str(e))
        s = str(st["state"]).lower()
        on = True if s == "on" else False if s == "off" else None
        err = None if on is not None else f"{self.entity} is {st['state']}"
        power = None
        if self.power_entity:
            try:
                p = await self._state(self.power_entity)
                power = number(p.get("state"))
                unit = str((p.get("attributes") or {}).get("unit_of_measurement") or "W")
                if power is not None and unit.lower() == "kw":
                    power *= 1000.0
            except PlugError as e:
                err = err or f"power: {e}"
        return PlugReading(now, on, power, err)

    async def set(self, on: bool) -> None:
        domain = self.entity.split(".", 1)[0]
        body = await self._call("POST", f"/api/services/{domain}/{'turn_on' if on else 'turn_off'}",
                                json={"entity_id": self.entity})
        if not isinstance(body, list):
            raise PlugError("unexpected service call answer (expected the changed states)")


def build_switch(cfg, name: str, clock: Clock) -> PowerSwitch:
    """A PowerSwitch from a PlugConfig (miners/config.py)."""
    if cfg.kind == "shelly":
        url = cfg.host if cfg.host.startswith(("http://", "https://")) else f"http://{cfg.host}"
        return ShellyGen2Switch(name, url, cfg.switch_id, cfg.timeout, clock)
    if cfg.kind == "home_assistant":
        return HomeAssistantSwitch(name, cfg.url or "", str(cfg.token or ""), cfg.entity or "",
                                   cfg.power_entity, cfg.timeout, clock)
    raise ValueError(f"unknown plug kind {cfg.kind!r}")
