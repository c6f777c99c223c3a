"""Replay recorded MQTT messages to a broker on loopback, the way the device sends them.

- a Victron GX (``keepalive_topic`` given): nothing until a client writes the keepalive, then every
  recorded topic once, ending with ``N/<portal>/full_publish_completed`` — on each keepalive;
- a periodic publisher such as Tasmota's ``tele/<topic>/SENSOR`` (no keepalive): every ``period_s``.

Messages are never retained, so what a client reads was sent while it listened.
Used by the corpus tests and ``read energy`` tests (tests/data/energy/victron, tasmota).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging

log = logging.getLogger("edgemining_tui.sim.replay")


def victron_messages(portal_id: str, reply: dict) -> dict[str, bytes]:
    """A recorded GX reply (system/0 path suffix -> {"value": x}) as N/<portal>/system/0/... messages."""
    return {f"N/{portal_id}/system/0/{path}": json.dumps(payload).encode() for path, payload in reply.items()}


class TopicReplay:
    def __init__(self, messages: dict[str, bytes], host: str = "127.0.0.1", port: int = 1883,
                 keepalive_topic: str | None = None, done_topic: str | None = None, period_s: float = 0.2) -> None:
        self.messages = dict(messages)
        self.host = host
        self.port = port
        self.keepalive_topic = keepalive_topic
        self.done_topic = done_topic
        self.period_s = period_s
        self.rounds = 0
        self.ready = asyncio.Event()
        self._task: asyncio.Task | None = None

    @classmethod
    def victron(cls, portal_id: str, reply: dict, **kw) -> "TopicReplay":
        return cls(victron_messages(portal_id, reply), keepalive_topic=f"R/{portal_id}/keepalive",
                   done_topic=f"N/{portal_id}/full_publish_completed", **kw)

    async def start(self) -> "TopicReplay":
        from ..energy.mqtt import require_aiomqtt
        require_aiomqtt()
        self._task = asyncio.create_task(self._run(), name="topic-replay")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.ready.wait(), 10)
        return self

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def __aenter__(self) -> "TopicReplay":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def _publish_all(self, client) -> None:
        for topic, payload in self.messages.items():
            await client.publish(topic, payload)
        if self.done_topic:
            await client.publish(self.done_topic, json.dumps({"full-publish-completed-echo": ""}).encode())
        self.rounds += 1

    async def _run(self) -> None:
        import aiomqtt
        while True:
            try:
                async with aiomqtt.Client(self.host, self.port, identifier=f"replay-{id(self)}") as client:
                    if self.keepalive_topic:
                        await client.subscribe(self.keepalive_topic)
                        self.ready.set()
                        async for _ in client.messages:
                            await self._publish_all(client)
                    else:
                        self.ready.set()
                        while True:
                            await self._publish_all(client)
                            await asyncio.sleep(self.period_s)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.info("topic replay: %s; retrying", e)
            self.ready.clear()
            await asyncio.sleep(0.3)
