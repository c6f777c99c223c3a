"""Private by default (issue 16): data dir 0700, database and logs 0600; Basic auth, URL userinfo and
API keys redacted at every log level (httpx/httpcore DEBUG lines included); control characters from
names never reach a log line or an event raw."""
from __future__ import annotations

import io
import logging
import os
import stat

import httpx

from edgemining_tui.secrets import install_redaction
from edgemining_tui.sim.http import HttpServer, Response
from edgemining_tui.store.db import Store
from edgemining_tui.store.files import open_private_log


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_data_dir_database_and_log_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)          # a login shell's usual umask: files 0644, dirs 0755
    try:
        data = tmp_path / "a" / "data"
        store = Store(data / "history.db")
        store.send_request("cycle", {}, 1.0)          # the WAL and its index now exist
        for suffix in ("", "-wal", "-shm"):
            p = data / f"history.db{suffix}"
            assert p.exists() and _mode(p) == 0o600, (p.name, oct(_mode(p)))
        assert _mode(data) == 0o700
        store.close()
        with open_private_log(data / "owner.log") as f:
            f.write(b"x")
        assert _mode(data / "owner.log") == 0o600
    finally:
        os.umask(old)


def test_an_existing_world_readable_database_is_tightened(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    db = data / "history.db"
    Store(db).close()
    os.chmod(db, 0o644)
    with caplog.at_level(logging.WARNING):
        Store(db).close()
    assert _mode(db) == 0o600
    assert any("chmod 700" in r.getMessage() for r in caplog.records), "the open directory is named"


async def test_credentials_never_reach_the_log_at_debug(tmp_path):
    """A notification endpoint that echoes the request headers, logged at DEBUG like Apprise does,
    plus httpx's and httpcore's own DEBUG lines."""
    async def echo(req):
        return Response.json({"headers": req.headers, "path": req.path})

    srv = await HttpServer(echo).start()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    install_redaction()
    user_pw, api_key, token = "s3cret-pass-91", "apikey-77aa31", "tok-e19c55"
    try:
        url = srv.url.replace("http://", f"http://alice:{user_pw}@") + f"/notify?token={token}"
        async with httpx.AsyncClient() as client:
            r = await client.post(url, headers={"X-API-Key": api_key, "X-Auth-Token": token}, json={"t": 1})
        logging.getLogger("edgemining_tui.notify").debug("endpoint replied %s: %s", r.status_code, r.text)
        logging.getLogger("edgemining_tui.notify").debug("posting to %s", url)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.NOTSET)
        await srv.close()
    out = buf.getvalue()
    assert "Basic" in out and "x-api-key" in out.lower(), "the lines that would leak were logged"
    import base64
    basic = base64.b64encode(f"alice:{user_pw}".encode()).decode()
    for secret in (user_pw, api_key, token, basic):
        assert secret not in out, f"{secret} leaked:\n{out}"


def test_control_characters_in_names_are_shown_escaped(caplog):
    install_redaction()
    evil = "rack\x1b[2J\x1b]0;owned\x07-1"
    with caplog.at_level(logging.INFO):
        logging.getLogger("edgemining_tui.test").info("miner %s offline", evil)
    line = caplog.records[-1].getMessage()
    assert "\x1b" not in line and "\x07" not in line
    assert "rack\\x1b[2J" in line
    from edgemining_tui.engine.engine import _redact
    assert "\x1b" not in _redact(f"{evil} offline")
    from edgemining_tui.miners.model import MinerSample, MinerState
    from edgemining_tui.miners.sanitize import sanitize
    s = sanitize(MinerSample("m", 0.0, MinerState.FAULT, error=f"board {evil}", model=evil))
    assert "\x1b" not in s.error and "\x1b" not in s.model
