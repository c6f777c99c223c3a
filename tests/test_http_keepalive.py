"""The kept-alive HTTP client the Home Assistant adapter polls through (energy/keepalive.py).

Servers here are loopback sockets that write exact bytes, so each test shows one way a real server
or the network behaves: keeping the connection, dropping it while idle (aiohttp does after 75 s),
``Connection: close``, chunked replies (reverse proxies), hanging, refusing, sending too much or
something that is not HTTP. What a user would notice is the reading: right, or an error that says
why, and the next read working again.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from pathlib import Path

import pytest

from edgemining_tui.clock import RealClock
from edgemining_tui.config.types import Secret
from edgemining_tui.energy.config import HomeAssistantConfig
from edgemining_tui.energy.homeassistant import HomeAssistantSource
from edgemining_tui.energy.keepalive import HttpFailure, KeepAliveClient
from edgemining_tui.sim.ha_server import HomeAssistantServer
from edgemining_tui.sim.http import HttpServer, Response
from edgemining_tui.sim.local_api_server import self_signed_context
from edgemining_tui.sim.state import SiteState

from energy_corpus import _entity

STATE = SiteState(ts=1.0, pv_w=5200.0, house_w=800.0, miners_w=0.0, battery_charge_w=1000.0,
                  battery_soc_pct=61.0, grid_import_w=-3200.0)
BODY = json.dumps({"entity_id": "sensor.grid_power", "state": "-3200.0",
                   "attributes": {"unit_of_measurement": "W"}}).encode()


def reply(body: bytes = BODY, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


@contextlib.asynccontextmanager
async def scripted(answer):
    """A loopback server; ``answer(reader, writer, connection_no)`` handles each connection."""
    count = [0]

    async def handle(reader, writer):
        count[0] += 1
        try:
            await answer(reader, writer, count[0])
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", count
    finally:
        server.close()
        await server.wait_closed()


async def requests(reader):
    while True:
        try:
            yield await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return


async def test_many_reads_share_one_connection_through_the_adapter():
    srv = await HomeAssistantServer(lambda: STATE).start()
    src = HomeAssistantSource(srv.source_config(timeout=1.0), RealClock())
    try:
        for _ in range(20):
            snap = await src.read()
            assert snap.grid_import_w.value == -3200.0 and snap.battery_soc_pct.value == 61.0
        assert src._client is not None and src._client.connections_opened == 1
    finally:
        await src.close()
        await srv.close()


async def test_a_connection_the_server_dropped_while_idle_is_replaced_without_an_error():
    async def answer(reader, writer, n):
        async for _ in requests(reader):
            writer.write(reply())           # keep-alive by HTTP/1.1 default ...
            await writer.drain()
            return                          # ... then closed while the client sits idle

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=1.0)
        for _ in range(3):
            r = await client.get("/api/states/sensor.grid_power")
            assert r.status == 200 and json.loads(r.body)["state"] == "-3200.0"
            await asyncio.sleep(0.05)       # the server's close arrives while the client idles
        assert count[0] == 3
        await client.close()


async def test_a_kept_connection_reset_under_the_request_is_retried_once_on_a_new_one():
    """The server closes just as the next request goes out (no time to notice while idle)."""
    async def answer(reader, writer, n):
        first = True
        async for _ in requests(reader):
            if first:
                writer.write(reply())
                await writer.drain()
                first = False
            else:
                return                      # took the request, closed without a byte of reply

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=1.0)
        assert (await client.get("/a")).status == 200
        assert (await client.get("/b")).status == 200       # retried on connection 2
        assert count[0] == 2
        await client.close()


async def test_a_server_that_never_answers_on_a_fresh_connection_is_an_error_not_a_loop():
    async def answer(reader, writer, n):
        await reader.readuntil(b"\r\n\r\n")             # reads the request, closes without a reply

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=1.0)
        with pytest.raises(HttpFailure, match="closed the connection"):
            await client.get("/a")
        assert count[0] == 1                            # a fresh connection is not retried
        await client.close()


async def test_connection_close_and_chunked_replies_are_read_whole():
    chunked = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:10], BODY[10:])) + b"0\r\n\r\n")

    async def answer(reader, writer, n):
        async for _ in requests(reader):
            if n == 1:
                writer.write(reply(extra="Connection: close\r\n"))
                await writer.drain()
                return
            writer.write(chunked)
            await writer.drain()

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=1.0)
        assert json.loads((await client.get("/a")).body)["state"] == "-3200.0"
        for _ in range(3):
            assert json.loads((await client.get("/a")).body)["state"] == "-3200.0"
        assert count[0] == 2        # the close was honoured; the chunked replies kept connection 2
        await client.close()


async def test_hang_refusal_garbage_and_a_flood_each_say_why_and_the_next_read_recovers():
    mode = {"now": "hang"}

    async def answer(reader, writer, n):
        async for _ in requests(reader):
            m = mode["now"]
            if m == "hang":
                await asyncio.sleep(30)
            elif m == "garbage":
                writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            elif m == "flood":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n" + b"x" * 65536)
            else:
                writer.write(reply())
            await writer.drain()

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=0.3, max_body_bytes=1_000_000)
        with pytest.raises(HttpFailure, match=r"did not answer in 0.3 s") as e:
            await client.get("/a")
        assert e.value.timed_out
        mode["now"] = "garbage"
        with pytest.raises(HttpFailure, match="not valid HTTP"):
            await client.get("/a")
        mode["now"] = "flood"
        with pytest.raises(HttpFailure, match="over the 1000000 byte limit"):
            await client.get("/a")
        mode["now"] = "ok"
        assert (await client.get("/a")).status == 200
        await client.close()
    with pytest.raises(HttpFailure, match="refused") as e:
        await KeepAliveClient(url, {}, timeout_s=0.3).get("/a")
    assert not e.value.timed_out


async def test_a_read_cancelled_halfway_leaves_no_half_read_reply_for_the_next():
    async def answer(reader, writer, n):
        k = 0
        async for _ in requests(reader):
            k += 1
            if n == 1 and k == 1:
                writer.write(reply(b'{"state": "first"}')[:40])     # half a reply, then slow
                await writer.drain()
                await asyncio.sleep(0.5)
                writer.write(reply(b'{"state": "first"}')[40:])
            else:
                writer.write(reply(b'{"state": "second"}'))
            await writer.drain()

    async with scripted(answer) as (url, count):
        client = KeepAliveClient(url, {}, timeout_s=2.0)
        task = asyncio.create_task(client.get("/a"))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert json.loads((await client.get("/b")).body)["state"] == "second"
        await client.close()


async def test_https_with_an_untrusted_certificate_says_so_and_a_trusted_one_reads(tmp_path, monkeypatch):
    ctx, _ = self_signed_context()
    srv = HttpServer(lambda req: _ok(), ssl_context=ctx)
    await srv.start()
    try:
        with pytest.raises(HttpFailure, match="TLS certificate is not trusted"):
            await KeepAliveClient(srv.url, {}, timeout_s=2.0).get("/a")
        pem = tmp_path / "ha.pem"
        pem.write_text(await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", srv.port)))
        monkeypatch.setenv("SSL_CERT_FILE", str(pem))        # what a user with their own CA sets
        client = KeepAliveClient(srv.url, {}, timeout_s=2.0)
        assert (await client.get("/a")).status == 200
        await client.close()
    finally:
        await srv.close()


async def _ok() -> Response:
    return Response(200, BODY)


def test_a_url_that_is_not_http_is_refused_when_built():
    with pytest.raises(ValueError):
        KeepAliveClient("ftp://ha.local", {}, timeout_s=1.0)


async def test_a_path_prefix_and_port_in_the_url_reach_the_server():
    seen = []

    async def answer(reader, writer, n):
        async for head in requests(reader):
            seen.append(head.decode())
            writer.write(reply())
            await writer.drain()

    async with scripted(answer) as (url, _):
        client = KeepAliveClient(url + "/ha/", {"Authorization": "Bearer t"}, timeout_s=1.0)
        await client.get("/api/states/sensor.x")
        await client.close()
    assert seen[0].startswith("GET /ha/api/states/sensor.x HTTP/1.1\r\n")
    port = url.rsplit(":", 1)[1]
    assert f"host: 127.0.0.1:{port}" in seen[0].lower() and "authorization: bearer t" in seen[0].lower()


async def test_against_aiohttp_the_server_home_assistant_runs_on_idle_drops_included():
    """Home Assistant's HTTP server is aiohttp. Served by aiohttp itself (its own keep-alive, its own
    idle timeout, here 0.2 s instead of 75 s), the recorded GEN24 states read right through the
    adapter before and after every idle drop, over as few connections as the drops allow."""
    web = pytest.importorskip("aiohttp.web", reason="aiohttp (textual-serve's dependency) is not installed")
    fx = json.loads((Path(__file__).parent / "data/energy/home_assistant/fronius_gen24_storage_states.json").read_text())
    seen = []

    async def state(request):
        if request.headers.get("Authorization") != "Bearer t0k":
            return web.json_response({"message": "Unauthorized"}, status=401)
        seen.append(request.transport.get_extra_info("peername")[1])
        return web.json_response(fx["reply"][request.match_info["entity_id"]])

    app = web.Application()
    app.router.add_get("/api/states/{entity_id}", state)
    runner = web.AppRunner(app, keepalive_timeout=0.2)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    cfg = HomeAssistantConfig(url=f"http://127.0.0.1:{port}", token=Secret("t0k"),
                              **{k: _entity(v) for k, v in fx["config"].items()})
    src = HomeAssistantSource(cfg, RealClock())
    try:
        for gap_s in (0.0, 0.0, 0.5, 0.0, 0.5):
            await asyncio.sleep(gap_s)
            snap = await src.read()
            for field, want in fx["expect"].items():
                assert getattr(snap, field).value == pytest.approx(want), (field, getattr(snap, field))
        # five reads of five entities: a new connection only after each idle drop
        assert src._client is not None and src._client.connections_opened == 3
        assert len(set(seen)) == 3 and len(seen) == 25
    finally:
        await src.close()
        await runner.cleanup()


async def test_an_address_that_never_answers_the_connect_does_not_hide_the_next_one(monkeypatch):
    """homeassistant.local often has an AAAA record on a LAN without an IPv6 route: the first address
    swallows the connect. Like httpx (anyio), the client tries the next address after 0.25 s instead
    of waiting out its timeout on the first. Here the first address is a loopback listener whose
    queue is full (the kernel drops the SYN), on the same port as Home Assistant's stand-in."""
    import socket
    srv = await HomeAssistantServer(lambda: STATE).start()
    port = int(srv.url.rsplit(":", 1)[1])
    stuck = socket.socket()
    stuck.bind(("127.0.0.2", port))
    stuck.listen(0)
    fillers = []
    for _ in range(3):                       # fill the queue: later connects get no answer at all
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.2", port))
        fillers.append(f)
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def two_addresses(host, *args, **kw):
        if host == "ha.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.2", port)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return await real(host, *args, **kw)

    monkeypatch.setattr(loop, "getaddrinfo", two_addresses)
    client = KeepAliveClient(f"http://ha.test:{port}", {"Authorization": "Bearer demo-token"}, timeout_s=3.0)
    try:
        t0 = loop.time()
        r = await client.get("/api/states/sensor.grid_power")
        assert r.status == 200 and json.loads(r.body)["state"] == "-3200.0"
        assert loop.time() - t0 < 2.0          # not the 3 s timeout on the first address
    finally:
        await client.close()
        for f in fillers:
            f.close()
        stuck.close()
        await srv.close()


async def test_reads_work_under_the_eager_tasks_the_console_runs_on(task_factory):
    """Textual runs the console's loop with eager tasks from Python 3.12. Under them asyncio's own
    happy eyeballs failed every connect with an AssertionError on CPython 3.12.1 and 3.13.0 (seen
    here; CPython gh-124309): the console showed 'energy source failed' each cycle and never mined, while
    the headless engine (no Textual, no eager tasks) worked. Only Python 3.12+ has eager tasks."""
    srv = await HomeAssistantServer(lambda: STATE).start()
    client = KeepAliveClient(srv.url, {"Authorization": "Bearer demo-token"}, timeout_s=3.0)
    try:
        for _ in range(2):        # a fresh connection, then the kept one
            r = await client.get("/api/states/sensor.grid_power")
            assert r.status == 200 and json.loads(r.body)["state"] == "-3200.0"
        client._drop()            # and a fresh one again, as after Home Assistant's idle drop
        r = await client.get("/api/states/sensor.grid_power")
        assert r.status == 200
    finally:
        await client.close()
        await srv.close()
