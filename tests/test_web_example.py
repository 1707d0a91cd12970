"""examples/web/index.html end to end: headless Chromium draws the skeleton a live engine streams over WebSocket.

Needs Debian's ``chromium`` (skipped without it). The page is opened from the file system, connects to
``livepose live --websocket`` on a synthetic hand, and is driven through the DevTools protocol (spoken with
the ``websockets`` client): wait until it has drawn poses, then take a screenshot. With
``LIVEPOSE_UPDATE_DOCS=1`` the screenshot also replaces ``docs/web_example.png``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import cv2
import pytest
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "examples" / "web" / "index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DevTools:
    """The smallest DevTools-protocol client: one page, calls in turn."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=30))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (apt-get install chromium)")
def test_web_page_draws_the_streamed_skeleton(small_model: Path, tmp_path: Path) -> None:
    port = free_port()
    live = subprocess.Popen([sys.executable, str(REPO / "run_live.py"), "--source", "synthetic:hand", "--model",
                             str(small_model), "--headless", "--websocket", str(port)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    chrome = None
    try:
        deadline = time.monotonic() + 90
        while True:  # the server is up once a client gets its hello
            try:
                with connect(f"ws://127.0.0.1:{port}/", open_timeout=1) as probe:
                    assert json.loads(probe.recv(timeout=10))["schema"] == "livepose.hello/1"
                break
            except (OSError, TimeoutError):
                assert live.poll() is None and time.monotonic() < deadline, "livepose live did not start"
                time.sleep(0.3)
        profile = tmp_path / "chromium-profile"
        page = f"{PAGE.as_uri()}?ws=ws://127.0.0.1:{port}/"
        chrome = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                   "--remote-debugging-port=0", f"--user-data-dir={profile}",
                                   "--window-size=960,600", "--hide-scrollbars", page],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        active = profile / "DevToolsActivePort"
        assert _wait(lambda: active.is_file() and active.read_text().strip(), 30), "no DevTools port"
        devtools_port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{devtools_port}/json/list", timeout=10) as response:
            targets = json.load(response)
        with connect(next(t for t in targets if t["type"] == "page")["webSocketDebuggerUrl"], max_size=None,
                     open_timeout=10) as ws:
            tab = DevTools(ws)
            tab.call("Emulation.setDeviceMetricsOverride", width=960, height=600, deviceScaleFactor=1, mobile=False)
            state: dict = {}

            def drawn() -> bool:
                state.update(json.loads(tab.evaluate("document.body ? JSON.stringify(document.body.dataset) : '{}'")))
                return int(state.get("poses", 0)) >= 5 and int(state.get("drawn", 0)) >= 5

            assert _wait(drawn, 60, step=0.3), state
            assert state["layout"] == "hand21"
            hud = tab.evaluate("document.getElementById('hud').textContent")
            assert "connected" in hud and "hand21" in hud and "hand: 21 joints" in hud, hud
            png = base64.b64decode(tab.call("Page.captureScreenshot", format="png")["data"])
    finally:
        if chrome is not None:
            os.killpg(chrome.pid, signal.SIGTERM)
            chrome.wait(20)
        live.send_signal(signal.SIGINT)
        _, stderr = live.communicate(timeout=60)
    assert live.returncode == 0, stderr
    assert "clients served" in stderr
    shot = tmp_path / "web_example.png"
    shot.write_bytes(png)
    image = cv2.imread(str(shot))
    assert image.shape[:2] == (600, 960)
    # Joints are drawn in light colours on the dark page, away from the HUD in the top-left corner.
    below_hud = image[120:, :]
    assert (below_hud.max(axis=2) > 180).sum() > 30
    if os.environ.get("LIVEPOSE_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, REPO / "docs" / "web_example.png")


def _wait(condition, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def test_page_is_self_contained() -> None:
    """No CDN or other network resource: the page works on an offline machine."""
    html = PAGE.read_text(encoding="utf-8")
    assert "<script src" not in html and "http://" not in html and "https://" not in html
    assert "livepose.pose/1" in html and "livepose.hello/1" in html
    assert all(token in html for token in ("bone_colours", "joints_mm", "confidence"))
