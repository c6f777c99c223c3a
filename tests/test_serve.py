"""``edgemining-tui serve``: the console in a real headless Chromium, as an observer, on loopback,
loading nothing from outside."""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
try:
    import textual_serve  # noqa: F401
    HAVE_SERVE = True
except ImportError:
    HAVE_SERVE = False
needs_serve = pytest.mark.skipif(not HAVE_SERVE, reason="textual-serve is not installed (pip install -e '.[serve]')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, host: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``edgemining-tui serve --demo`` on a free loopback port, shared by this file's tests (the last
    one stops it); yields (base URL, process, its temporary folder)."""
    tmp_path = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "config"),
               TMPDIR=str(tmp_path))
    out = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "edgemining_tui", "serve", "--demo", "--port", str(port)],
                            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            if proc.poll() is not None:
                break
            try:
                if get(base + "/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        assert proc.poll() is None, Path(out.name).read_text()
        yield base, proc, tmp_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        out.close()


# --- the page and its assets, without a browser --------------------------------------------------
@needs_serve
def test_page_loads_nothing_from_outside_and_follows_the_tunnel(served):
    base, proc, tmp = served
    status, body = get(base + "/")
    page = body.decode()
    assert status == 200
    assert "fonts.googleapis" not in page
    urls = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?([a-z]+://[^"')\s>]+)""", page)
    here = base.split("://", 1)[1]
    assert urls and all(u.split("://", 1)[1].startswith(here + "/") for u in urls), urls
    assert f'data-session-websocket-url="ws://127.0.0.1:{base.rsplit(":", 1)[1]}/ws"' in page
    for asset in ("/static/js/textual.js", "/static/css/xterm.css", "/static/fonts/RobotoMono-VariableFont_wght.ttf"):
        assert get(base + asset)[0] == 200, asset
    # through `ssh -L 9999:127.0.0.1:PORT` the browser says Host: localhost:9999; the page follows it
    page2 = get(base + "/", host="localhost:9999")[1].decode()
    assert 'data-session-websocket-url="ws://localhost:9999/ws"' in page2
    assert "static/js/textual.js" in page2 and "http://localhost:9999/static/" in page2
    log = (tmp / "serve.log").read_text()
    assert "ssh -L" in log and "127.0.0.1" in log


def test_serve_without_textual_serve_says_how_to_install(tmp_path):
    fake = tmp_path / "fake" / "textual_serve"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "fake"))
    proc = subprocess.run([sys.executable, "-m", "edgemining_tui", "serve", "--demo"], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert "pip install 'edgemining-tui[serve]'" in proc.stderr and "Traceback" not in proc.stderr


def test_observer_command_is_always_an_observer():
    from edgemining_tui.ui.serve import observer_command
    cmd = observer_command("my config.yaml", False, Path("/var/lib/em data"))
    assert "--observe" in cmd and "'/var/lib/em data'" in cmd and "config.yaml'" in cmd
    assert "--headless" not in cmd


# --- a real browser ------------------------------------------------------------------------------
class Chromium:
    """Headless Chromium driven over its DevTools socket (no Playwright): navigate, watch the
    websocket frames the page receives and every request it makes, take a screenshot."""

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]

    def __init__(self, tmp: Path) -> None:
        from websockets.sync.client import connect
        self.proc = subprocess.Popen([CHROMIUM, *self.FLAGS, f"--user-data-dir={tmp / 'chromium'}",
                                      "--remote-debugging-port=0", "--window-size=1200,700", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        browser_ws = None
        for line in self.proc.stderr:
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            if m:
                browser_ws = m.group(1)
                break
        assert browser_ws, "chromium printed no DevTools address"
        port = re.search(r":(\d+)/", browser_ws).group(1)
        pages = json.loads(get(f"http://127.0.0.1:{port}/json/list")[1])
        page = next(p for p in pages if p["type"] == "page")
        self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=20)
        self.n = 0
        self.frames: list[bytes] = []
        self.requests: list[str] = []

    def _note(self, m: dict) -> None:
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Network.webSocketFrameReceived":
            r = p["response"]
            self.frames.append(base64.b64decode(r["payloadData"]) if r["opcode"] == 2 else r["payloadData"].encode())
        elif meth == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif meth == "Network.webSocketCreated":
            self.requests.append(p["url"])

    def call(self, method: str, **params) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv(timeout=30))
            if m.get("id") == self.n:
                assert "error" not in m, m
                return m["result"]
            self._note(m)

    def pump(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self._note(json.loads(self.ws.recv(timeout=0.2)))
            except TimeoutError:
                pass

    def text(self) -> str:
        raw = b"".join(self.frames).decode("utf-8", "replace")
        return re.sub(r"\x1b(\[[0-9;?$]*[A-Za-z]|\][^\x07]*\x07)", "", raw)

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, pixels) of an 8-bit RGB/RGBA PNG, as Chromium writes them."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    w = h = ctype = 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    bpp = 4 if ctype == 6 else 3
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    px = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        px.extend(tuple(line[i:i + 3]) for i in range(0, stride, bpp))
        prev = line
    return w, h, px


@needs_serve
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run does it)")
def test_console_in_a_real_headless_chromium(served):
    base, proc, tmp = served
    owner_pid = int(next(tmp.glob("edgemining-demo-*")).joinpath("owner.lock").read_text())
    browser = Chromium(tmp)
    try:
        browser.call("Network.enable")
        browser.call("Page.navigate", url=base + "/")
        end = time.monotonic() + 60
        while time.monotonic() < end and not ("OBSERVER" in browser.text() and "Events" in browser.text()):
            browser.pump(0.5)
        text = browser.text()
        # the panels' text, as the page received it from the console process behind its websocket
        for word in ("Energy", "Fleet", "Rules", "Heat", "History", "Events"):
            assert word in text, (word, text[:2000])
        # an observer of the demo's owner, never an owner itself
        assert f"OBSERVER (owner pid {owner_pid})" in text
        assert "OWNER (controls" not in text
        browser.pump(2.0)                                    # a couple of refreshes
        assert "-first-byte" in browser.call("Runtime.evaluate", expression="document.body.className")["result"]["value"]
        shot = browser.call("Page.captureScreenshot", format="png",
                            clip={"x": 0, "y": 0, "width": 1200, "height": 700, "scale": 0.25})
        w, h, px = png_pixels(base64.b64decode(shot["data"]))
        (tmp / "serve.png").write_bytes(base64.b64decode(shot["data"]))
        counts: dict = {}
        for p in px:
            counts[p] = counts.get(p, 0) + 1
        background = max(counts.values())
        assert w * h > 10_000
        assert len(counts) >= 16, len(counts)                     # more than a blank or splash page
        assert background / (w * h) < 0.97, background / (w * h)  # something drawn over the background
        # nothing fetched from anywhere but the console's own address
        assert browser.requests and all(u.startswith((base, base.replace("http", "ws"), "data:"))
                                        for u in browser.requests), browser.requests
    finally:
        browser.close()
    assert int(next(tmp.glob("edgemining-demo-*")).joinpath("owner.lock").read_text()) == owner_pid


@needs_serve
def test_last_serve_stops_its_owner_and_tabs_and_removes_the_demo_dir(served):
    base, proc, tmp = served
    demo_dirs = list(tmp.glob("edgemining-demo-*"))
    assert len(demo_dirs) == 1
    owner_pid = int((demo_dirs[0] / "owner.lock").read_text())
    os.kill(owner_pid, 0)                                    # the demo's owner runs
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not demo_dirs[0].exists()
    with pytest.raises(ProcessLookupError):
        os.kill(owner_pid, 0)
    left = []                                                # no tab's console left behind either
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(demo_dirs[0]).encode() in cmdline.read_bytes():
                left.append(cmdline.parent.name)
        except OSError:
            pass
    assert left == []
    assert not any(Path(tmp / "data").rglob("history.db"))  # the real data dir never touched


@needs_serve
def test_serve_without_an_owner_says_so_and_still_serves(tmp_path):
    """A real site's config with no owner running: it says how to start one, and serves the page
    (the tabs show what the store has); it starts no owner of its own."""
    port = free_port()
    env = dict(os.environ, HA_TOKEN="t", BOS_PASSWORD="p", BRAIINS_TOKEN="b", NTFY_URL="json://localhost",
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "edgemining_tui", "serve", "--config",
                             str(ROOT / "config.example.yaml"), "--data-dir", str(data), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        for _ in range(300):
            try:
                if get(f"http://127.0.0.1:{port}/")[0] == 200:
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.1)
        assert not (data / "owner.lock").exists()            # serve took no lock and started no owner
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "no owner runs on" in err and "edgemining-tui --headless" in err
    assert f"http://127.0.0.1:{port}" in out and "ssh -L" in out
    # the ssh line names this machine's user and host, ready to paste (it said USER@THIS-HOST)
    import getpass
    assert f"ssh -L {port}:127.0.0.1:{port} {getpass.getuser()}@{socket.gethostname()}, then open" in out, out
    # and nothing buries it: no access-log line per request (the page was fetched above)
    assert "GET /" not in out + err, out + err


@needs_serve
def test_a_taken_port_fails_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "edgemining_tui", "serve", "--demo", "--port", str(port)],
                              capture_output=True, text=True, cwd=ROOT, timeout=60,
                              env=dict(os.environ, TMPDIR=str(tmp_path)))
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "pick another --port" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert not list(tmp_path.glob("edgemining-demo-*"))       # no demo owner was started


@needs_serve
def test_a_data_dir_it_cannot_use_is_one_line_and_exit_2(tmp_path):
    """`serve --demo --data-dir X` where X is a file (or read-only, which root cannot be shown) ended
    in a traceback from opening X/owner.log; the console and the owner said one line."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    proc = subprocess.run([sys.executable, "-m", "edgemining_tui", "serve", "--demo", "--data-dir", str(a_file),
                           "--port", str(free_port())], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == f"edgemining-tui serve: --data-dir: {a_file} is not a directory (it is a file)"
    assert proc.stdout == ""
