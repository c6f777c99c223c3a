"""Connecting to a broker with the settings users give (plain or TLS, user and password); TLS is
the MQTT energy source's (energy/mqtt.py), so both sections take the same ``tls:``."""
from __future__ import annotations

import asyncio
from typing import Any, Protocol


class BrokerSettings(Protocol):
    host: str
    port: int
    username: str | None
    password: Any
    client_id: str | None
    tls: Any
    keepalive: float


def client(s: BrokerSettings, *, will: Any = None, identifier: str | None = None) -> Any:
    import aiomqtt

    from ..energy.config import mqtt_tls
    from ..energy.mqtt import tls_context
    t = mqtt_tls(s.tls)
    return aiomqtt.Client(
        s.host, s.port, username=s.username or None, password=str(s.password) if s.password else None,
        identifier=identifier or s.client_id, will=will, keepalive=int(s.keepalive),
        tls_context=tls_context(t) if t is not None else None,
        tls_insecure=t.insecure if t is not None else None, timeout=10.0)


async def cancel_and_wait(task: "asyncio.Task | None") -> None:
    """Stop a background connection task and wait until it has let go of the broker."""
    if task is None:
        return
    task.cancel()
    try:
        await task
    except (asyncio.CancelledError, Exception):  # noqa: BLE001  (it is ending either way)
        pass
