"""examples/web/index.html end to end: headless Chromium draws the skeleton a live engine streams over WebSocket.

Needs Debian's ``chromium`` (skipped without it; ``make test`` installs it as root). The page is served by a
local HTTP server, opened in headless Chromium and driven through the DevTools protocol (spoken with the
``websockets`` client). It is opened before the engine starts: a first screenshot shows that nothing in the
skeleton's colours is drawn without poses. Then the pipeline of ``livepose live --source synthetic:hand
--websocket PORT`` starts in-process (engine, smoothing stream outputs, WebSocket server; the command line's
own streaming is tested in ``tests/test_outputs.py``), the page (which retries every second) connects, and
once it has received and drawn poses the test reads its DOM (the counters it keeps in ``<body data-*>`` and
the title) and takes a screenshot, in which the layout's bone colours must appear.

The model is ``$LIVEPOSE_WEB_MODEL`` if set, else the shipped ``models/hand21.pt`` if present, else a small
untrained network (whose skeleton collapses to a few pixels near the hand's centre: still drawn, in colour).
With a trained model most fingers' colours must show. ``LIVEPOSE_UPDATE_DOCS=1`` also copies the screenshot to
``docs/web_example.png``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from websockets.sync.client import connect

from livepose.runtime.default_model import SHIPPED_HAND_MODEL
from livepose.skeletons import get_layout
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "examples" / "web"
PAGE = WEB / "index.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SIZE = (960, 600)  # width, height
BACKGROUND = np.array([20, 22, 26])  # the page's #14161a
FINGER_COLOURS = sorted(set(get_layout("hand21").bone_colours))  # thumb, index, middle, ring, little


def wait_until(condition, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 for ``directory``; yields its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class DevTools:
    """The smallest DevTools-protocol client: one page, calls in turn."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.next_id = 0

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message["result"]

    def evaluate(self, expression: str):
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in answer, answer["exceptionDetails"]
        return answer["result"].get("value")

    def state(self) -> dict:
        return json.loads(self.evaluate("JSON.stringify({...document.body.dataset, title: document.title, "
                                        "hud: document.getElementById('hud').textContent})"))

    def screenshot(self) -> np.ndarray:
        """The page as (H, W, 3) RGB."""
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]


@contextlib.contextmanager
def headless_chromium(url: str, profile: Path) -> Iterator[DevTools]:
    """Headless Chromium showing ``url``, driven over the DevTools protocol."""
    chrome = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                               "--remote-debugging-port=0", f"--user-data-dir={profile}",
                               f"--window-size={SIZE[0]},{SIZE[1]}", "--hide-scrollbars", url],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        active = profile / "DevToolsActivePort"
        assert wait_until(lambda: active.is_file() and active.read_text().strip(), 60), "no DevTools port"
        port = active.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        page = next(t for t in targets if t["type"] == "page")
        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            tab = DevTools(ws)
            tab.call("Emulation.setDeviceMetricsOverride", width=SIZE[0], height=SIZE[1], deviceScaleFactor=1,
                     mobile=False)
            yield tab
    finally:
        os.killpg(chrome.pid, signal.SIGTERM)
        try:
            chrome.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(chrome.pid, signal.SIGKILL)
            chrome.wait(10)


def colour_pixels(image: np.ndarray, colour) -> int:
    """Pixels of ``image`` (RGB) painted in ``colour``: mixes of it (at least 30%), white (lightened joints,
    joints over bones) and the page's background, as the page draws bones and joints."""
    base = np.stack((np.asarray(colour, float) - BACKGROUND, np.full(3, 255.0) - BACKGROUND), axis=1)  # (3, 2)
    offset = image.reshape(-1, 3).astype(float) - BACKGROUND
    weights, *_ = np.linalg.lstsq(base, offset.T, rcond=None)  # (2, N): share of the colour, of white
    residual = np.linalg.norm(offset - (base @ weights).T, axis=1)
    colour_share, white_share = weights
    return int(((colour_share >= 0.3) & (white_share >= -0.05) & (colour_share + white_share <= 1.05)
                & (residual < 12)).sum())


def press_space(tab: DevTools) -> None:
    for kind in ("keyDown", "keyUp"):
        tab.call("Input.dispatchKeyEvent", type=kind, key=" ", code="Space", windowsVirtualKeyCode=32)


def screenshot_of_a_found_pose(tab: DevTools, attempts: int = 50) -> tuple[np.ndarray, dict]:
    """A screenshot of a pose with a hand, frozen with the page's Space key (poses arrive faster than a
    screenshot is taken), and the page's state; the page is resumed afterwards.

    Frozen on a result without a hand (drawn grey: a lost hand, or a stall the engine reported), it resumes
    and tries again."""
    state: dict = {}
    for _ in range(attempts):
        press_space(tab)
        assert wait_until(lambda: tab.state()["paused"] == "true", 10), "Space did not pause the page"
        drawn_before = int(tab.state()["drawn"])
        wait_until(lambda before=drawn_before: int(tab.state()["drawn"]) > before, 2, step=0.05)  # drawn while frozen
        state = tab.state()
        if state["shownFound"] == "true":
            image = tab.screenshot()
            after = tab.state()
            press_space(tab)
            assert after["shownFrame"] == state["shownFrame"], (state, after)  # frozen while the shot was taken
            return image, after
        press_space(tab)
        time.sleep(0.2)
    raise AssertionError(f"no moment with a hand shown: {state}")


def pick_model(small_model: Path) -> tuple[Path, bool]:
    """The model to stream with and whether it is a trained one (see the module docstring)."""
    if os.environ.get("LIVEPOSE_WEB_MODEL"):
        return Path(os.environ["LIVEPOSE_WEB_MODEL"]), True
    if SHIPPED_HAND_MODEL.is_file():
        return SHIPPED_HAND_MODEL, True
    return small_model, False


@contextlib.contextmanager
def streaming_engine(model: Path, port: int) -> Iterator:
    """The pipeline of ``livepose live --source synthetic:hand --camera icvl --websocket PORT``, in-process: the
    engine's two threads, and a consumer thread handing every result to the (smoothing) stream outputs. Yields
    the WebSocket server.

    The synthetic hand is unpaced (frame n shows the hand at n / 30 s, rendered as fast as the machine can, in
    lock-step): the same frames, detections and poses whatever the machine's load, where a paced source would
    skip to the present and show a loaded machine other poses (some of which the hand detector misses)."""
    from livepose.detect.centre import HandCentreDetector
    from livepose.outputs.streaming import StreamOutputs
    from livepose.pipeline.engine import Engine
    from livepose.runtime.predictor import Predictor
    from livepose.sources.synthetic import SyntheticSource

    predictor = Predictor.from_checkpoint(str(model))
    source = SyntheticSource("hand", camera="icvl", paced=False)  # 320 x 240: cheap to render on small machines
    streams = StreamOutputs.open(websocket=port, layout=predictor.layout)
    try:
        with source:
            engine = Engine(source, predictor, HandCentreDetector()).start()

            def consume() -> None:
                for result in engine.results():
                    streams.send(result)

            consumer = threading.Thread(target=consume, name="test-web-consumer", daemon=True)
            consumer.start()
            try:
                yield streams.outputs[0]
            finally:
                engine.stop()
                consumer.join(60)
                assert not engine.stats.error, engine.stats.error
    finally:
        streams.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium package (apt-get install chromium; "
                    "`make test` installs it when run as root)")
def test_web_page_draws_the_streamed_skeleton(small_model: Path, tmp_path: Path) -> None:
    model, trained = pick_model(small_model)
    port = free_port()
    with serve_directory(WEB) as base, headless_chromium(f"{base}index.html?ws=ws://127.0.0.1:{port}/",
                                                         tmp_path / "chromium-profile") as tab:
        # Before the engine runs: the page is up, has nothing to draw, and keeps trying to connect.
        assert wait_until(lambda: tab.evaluate("location.protocol === 'http:' && document.readyState === "
                                               "'complete' && document.getElementById('hud') !== null"), 60)
        before = tab.state()
        assert before["poses"] == before["drawn"] == "0" and not re.search(r"\bconnected", before["hud"]), before
        empty = tab.screenshot()
        assert empty.shape[:2] == (SIZE[1], SIZE[0])
        assert sum(colour_pixels(empty, c) for c in FINGER_COLOURS) == 0

        with streaming_engine(model, port) as server:
            state: dict = {}

            def drawn() -> bool:
                state.update(tab.state())
                return int(state["poses"]) >= 8 and int(state["drawn"]) >= 5

            assert wait_until(drawn, 240, step=0.5), state
            image, state = screenshot_of_a_found_pose(tab)
            dom = tab.evaluate("document.documentElement.outerHTML")
        clients = list(server.clients)
    shot = tmp_path / "web_example.png"
    cv2.imwrite(str(shot), image[:, :, ::-1])

    # What the page received: hello (layout), then poses, counted in the DOM and the title...
    assert state["layout"] == "hand21"
    assert int(re.search(r'data-poses="(\d+)"', dom).group(1)) >= int(state["poses"])
    assert state["title"] == f"livepose: {state['poses']} poses"
    assert int(state["frame"]) >= 0 and state["handedness"] in ("left", "right", "unknown")
    hud = state["hud"]
    assert re.search(r"\bconnected", hud) and "hand21" in hud and "21 joints" in hud and "smoothed" in hud, hud
    # ... which is what the server sent to its one client, the page.
    assert len(clients) == 1 and clients[0].sent + clients[0].dropped >= int(state["poses"]), clients

    # What it drew: the skeleton's bone colours, absent from the page before any pose.
    counts = {tuple(c): colour_pixels(image, c) for c in FINGER_COLOURS}
    figures = f"bone-colour pixels {counts} after {state['poses']} poses ({model.name})"
    sys.stderr.write(figures + "\n")
    assert sum(counts.values()) >= 30, figures
    if trained:  # a hand, not a collapsed skeleton: most fingers show
        assert sum(n >= 15 for n in counts.values()) >= 4, figures
    if os.environ.get("LIVEPOSE_UPDATE_DOCS") == "1":
        shutil.copyfile(shot, REPO / "docs" / "web_example.png")


def test_page_is_self_contained() -> None:
    """No CDN or other network resource: the page works on an offline machine."""
    html = PAGE.read_text(encoding="utf-8")
    assert "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    assert "livepose.pose/2" in html and "livepose.hello/1" in html
    assert all(token in html for token in ("bone_colours", "joints_mm", "confidence", "handedness"))
