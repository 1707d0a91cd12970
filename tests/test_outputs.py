"""Streaming outputs end to end: real OSC datagrams and WebSocket messages on localhost from a running engine.

Engines run on ``synthetic:hand`` with a small untrained network (its joints mean nothing, but they are
real pipeline output). The receivers are the libraries' own: a python-osc server, a ``websockets`` client,
and a raw TCP client that performs the handshake and then never reads.
"""

from __future__ import annotations

import base64
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_server import BlockingOSCUDPServer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from livepose.errors import LivePoseError
from livepose.outputs.osc import FRAME_ADDRESS, HANDEDNESS_ADDRESS, JOINT_ADDRESS, OscSender, parse_host_port
from livepose.outputs.smoothing import PoseSmoother
from livepose.outputs.streaming import StreamOutputs
from livepose.outputs.websocket import HELLO_SCHEMA, POSE_SCHEMA, WebSocketServer, result_message
from livepose.skeletons import get_layout
from livepose.types import PoseResult
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[1]
HAND21 = get_layout("hand21").joints
LINE_FIELDS = {"frame", "t_device_ms", "t_host_ms", "layout", "joints_mm", "joints_uvd", "confidence", "found",
               "timings_ms", "dropped", "handedness", "handedness_confidence"}
SIDES = ("left", "right", "unknown")


def pose(found: bool = True, frame: int = 7) -> PoseResult:
    rng = np.random.default_rng(frame)
    joints = rng.normal(0, 50, (21, 3)) + [0, 0, 450] if found else np.full((21, 3), np.nan)
    return PoseResult(frame_number=frame, t_device_ms=frame * 33.3, t_host_ms=1e6 + frame * 33.3, layout="hand21",
                      found=found, joints_mm=joints, joints_uvd=joints, confidence=rng.uniform(0, 1, 21) * found,
                      reason="" if found else "no surface in range", timings_ms={"total": 1.5})


def live(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(REPO / "run_live.py"), "--source", "synthetic:hand", "--headless",
                             *args], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    try:
        _, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    return stderr


# -- OSC ------------------------------------------------------------------------------------------------------


class RecordingDispatcher(Dispatcher):
    """A python-osc dispatcher that also keeps every datagram it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.datagrams: list[bytes] = []
        self.messages: list[tuple[str, tuple]] = []
        self.set_default_handler(lambda address, *args: self.messages.append((address, args)))

    def call_handlers_for_packet(self, data, client_address):
        self.datagrams.append(data)
        return super().call_handlers_for_packet(data, client_address)


def test_osc_packets_from_live_engine_follow_the_address_scheme(small_model: Path, tmp_path: Path) -> None:
    dispatcher = RecordingDispatcher()
    server = BlockingOSCUDPServer(("127.0.0.1", 0), dispatcher)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    out = tmp_path / "raw.jsonl"
    try:
        stderr = finish(live("--model", str(small_model), "--osc", f"127.0.0.1:{server.server_address[1]}",
                             "--max-frames", "6", "--out", str(out)))
        deadline = time.monotonic() + 5
        while len(dispatcher.datagrams) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert "OSC to 127.0.0.1" in stderr and "6 bundles sent, 0 not sent" in stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 6
    # one bundle per frame, in order
    assert len(dispatcher.datagrams) == 6
    frames = []
    for datagram, line in zip(dispatcher.datagrams, lines, strict=True):
        assert OscBundle.dgram_is_bundle(datagram)
        contents = [c for c in OscBundle(datagram)]
        assert all(isinstance(c, OscMessage) for c in contents)
        head = contents[0]
        assert head.address == FRAME_ADDRESS
        frame, found, layout, t_device, t_host, smoothed = head.params
        # smoothing is on, so a frame's joints went through the filter exactly when a hand was found
        assert (frame, bool(found), layout, smoothed) == (line["frame"], line["found"], "hand21", int(line["found"]))
        assert t_device == pytest.approx(line["t_device_ms"], abs=0.001)
        assert t_host == pytest.approx(line["t_host_ms"], abs=0.001)
        joints = contents[2:]
        if found:
            hand = contents[1]
            assert hand.address == HANDEDNESS_ADDRESS and hand.params[0] in SIDES and 0 <= hand.params[1] <= 1
            assert [m.address for m in joints] == [JOINT_ADDRESS + name for name in HAND21]
            assert all(len(m.params) == 4 and all(isinstance(v, float) for v in m.params) for m in joints)
            frames.append((np.array([m.params[:3] for m in joints]), np.array([m.params[3] for m in joints]),
                           np.array(line["joints_mm"]), np.array(line["confidence"])))
        else:
            assert len(contents) == 1
    assert frames, "the synthetic hand was never found"
    # The first frame starts the filter: its joints are the raw ones (float32 on the wire, JSON rounds to 1 um).
    osc_joints, osc_conf, raw_joints, raw_conf = frames[0]
    np.testing.assert_allclose(osc_joints, raw_joints, atol=0.01)
    np.testing.assert_allclose(osc_conf, raw_conf, atol=0.001)
    for osc_joints, _, raw_joints, _ in frames[1:]:  # later ones are smoothed: near the raw joints, not on them
        assert np.abs(osc_joints - raw_joints).max() < 100
    # the python-osc server dispatched the same messages it received
    assert sum(1 for address, _ in dispatcher.messages if address == FRAME_ADDRESS) == 6


def test_osc_bundle_without_target_and_send_errors_never_raise(monkeypatch) -> None:
    sender = OscSender("127.0.0.1", free_port())
    lost = OscBundle(sender.bundle(pose(found=False)))
    assert lost.num_contents == 1 and next(iter(lost)).params[:2] == [7, 0]
    found = OscBundle(sender.bundle(pose()))
    assert found.num_contents == 23 and len(sender.bundle(pose())) < 1472  # one Ethernet datagram
    assert found.content(1).address == HANDEDNESS_ADDRESS and found.content(1).params[0] in SIDES

    class Full:
        def sendto(self, *_):
            raise BlockingIOError("resource temporarily unavailable")

        def close(self):
            pass

    sender.send(pose())
    monkeypatch.setattr(sender, "_sock", Full())
    sender.send(pose())
    sender.send(pose())
    assert (sender.sent, sender.errors) == (1, 2)
    assert "1 bundles sent, 2 not sent" in sender.summary()
    sender.close()
    assert parse_host_port("192.168.1.20:9000") == ("192.168.1.20", 9000)
    assert parse_host_port("9000") == ("127.0.0.1", 9000)
    assert parse_host_port("[::1]:7000") == ("::1", 7000)
    for bad in ("host:", "host:0", "host:99999", "host:port"):
        with pytest.raises(LivePoseError, match="HOST:PORT"):
            parse_host_port(bad)


# -- WebSocket ------------------------------------------------------------------------------------------------


def check_pose_message(message: dict, layout: str = "hand21") -> None:
    assert message["schema"] == POSE_SCHEMA == "livepose.pose/2"
    assert LINE_FIELDS | {"smoothed"} <= set(message)
    assert message["layout"] == layout and message["handedness"] in SIDES
    assert 0 <= message["handedness_confidence"] <= 1
    if message["handedness"] == "unknown":
        assert message["handedness_confidence"] < 0.5
    else:
        assert message["handedness_confidence"] >= 0.5
    assert isinstance(message["frame"], int) and isinstance(message["found"], bool)
    assert len(message["joints_mm"]) == 21 and all(len(j) == 3 for j in message["joints_mm"])
    assert len(message["confidence"]) == 21 and all(0 <= c <= 1 for c in message["confidence"])
    if message["found"]:
        assert all(isinstance(v, float) for j in message["joints_mm"] for v in j)
    else:
        assert message["reason"] and message["joints_mm"][0] == [None, None, None]


def test_websocket_messages_from_live_engine_match_the_schema(small_model: Path, tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "raw.jsonl"
    process = live("--model", str(small_model), "--websocket", str(port), "--no-smoothing", "--max-frames", "10",
                   "--out", str(out))
    messages = []
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                ws = connect(f"ws://127.0.0.1:{port}/", open_timeout=2)
                break
            except (OSError, InvalidStatus, TimeoutError):
                assert process.poll() is None and time.monotonic() < deadline, "server never came up"
                time.sleep(0.2)
        with ws:
            try:
                while True:
                    messages.append(json.loads(ws.recv(timeout=30)))
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1001  # going away: the run ended
    finally:
        stderr = finish(process)
    assert f"WebSocket ws://127.0.0.1:{port}/" in stderr and "1 clients served" in stderr
    hello, poses = messages[0], messages[1:]
    assert hello["schema"] == HELLO_SCHEMA and hello["layout"] == "hand21" and hello["joints"] == list(HAND21)
    assert hello["pose_schema"] == POSE_SCHEMA
    assert [0, 1] in hello["bones"]
    assert poses, "no pose message"
    lines = {record["frame"]: record for record in map(json.loads, out.read_text().splitlines())}
    for message in poses:
        check_pose_message(message)
        assert message["smoothed"] is False
        # --no-smoothing: exactly the headless line's fields and values
        line = lines[message["frame"]]
        assert {k: v for k, v in message.items() if k not in ("schema", "smoothed")} == line
    assert [m["frame"] for m in poses] == sorted(m["frame"] for m in poses)


def raw_client(port: int, rcvbuf: int | None = None) -> socket.socket:
    """A TCP client that performs the WebSocket handshake and reads nothing unless asked."""
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    return sock


def read_handshake(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, bytes]:
    """(HTTP response head, what came after it) once the server has answered the handshake."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def read_server_frames(sock: socket.socket, rest: bytes = b"", timeout: float = 5.0) -> list[tuple[int, bytes]]:
    """[(opcode, payload)] of the (unmasked) frames the server sends until it closes, after ``rest``."""
    sock.settimeout(timeout)
    while chunk := sock.recv(65536):
        rest += chunk
    frames = []
    while len(rest) >= 2:
        opcode, length, offset = rest[0] & 0x0F, rest[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(rest[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(rest[2:10], "big"), 10
        frames.append((opcode, rest[offset:offset + length]))
        rest = rest[offset + length:]
    return frames


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_websocket_server_refuses_oversize_malformed_and_extra_clients() -> None:
    with WebSocketServer(0, layout="hand21", max_clients=2) as server:
        assert server.host == "127.0.0.1" and server.url == f"ws://127.0.0.1:{server.port}/"
        # oversize client message: the connection is closed with 1009 (message too big)
        with connect(server.url) as ws:
            assert json.loads(ws.recv(timeout=5))["schema"] == HELLO_SCHEMA
            ws.send("hello")  # small messages are read and ignored
            ws.send("x" * 2000)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        # malformed frame (a client frame must be masked): closed with 1002 (protocol error)
        sock = raw_client(server.port)
        head, rest = read_handshake(sock)
        assert head.startswith(b"HTTP/1.1 101")
        sock.sendall(b"\x81\x05hello")
        frames = read_server_frames(sock, rest)
        sock.close()
        assert json.loads(frames[0][1])["schema"] == HELLO_SCHEMA
        assert frames[-1][0] == 0x8 and int.from_bytes(frames[-1][1][:2], "big") == 1002
        # at most max_clients at once: the third is refused (HTTP 503), a place frees up when one leaves
        assert wait_for(lambda: server.connected == 0)
        with connect(server.url) as second:
            with connect(server.url):
                assert wait_for(lambda: server.connected == 2)
                with pytest.raises(InvalidStatus) as refused:
                    with connect(server.url, open_timeout=5):
                        pass
                assert refused.value.response.status_code == 503 and server.refused == 1
            assert wait_for(lambda: server.connected == 1)  # the first left: there is room again
            with connect(server.url) as third:
                assert json.loads(third.recv(timeout=5))["schema"] == HELLO_SCHEMA
                server.send(pose(found=False, frame=3))
                message = json.loads(third.recv(timeout=5))
                check_pose_message(message)
                assert message["frame"] == 3 and message["found"] is False
                assert json.loads(second.recv(timeout=5))["schema"] == HELLO_SCHEMA
                assert json.loads(second.recv(timeout=5))["frame"] == 3
    assert not any(t.name == "livepose-websocket" and t.is_alive() for t in threading.enumerate())
    with pytest.raises(LivePoseError, match="cannot listen"):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            WebSocketServer(taken.getsockname()[1]).start()


def test_a_client_that_never_reads_does_not_slow_the_engine(small_model: Path) -> None:
    """Within one run: windows with a client that never reads alternate with windows without one."""
    from livepose.detect.centre import HandCentreDetector
    from livepose.pipeline.engine import Engine
    from livepose.runtime.predictor import Predictor
    from livepose.sources import make_source

    # Small socket buffers so that a stalled client's backlog reaches its queue within a second.
    server = WebSocketServer(0, layout="hand21", queue_size=4, send_buffer_bytes=4096).start()
    streams = StreamOutputs([server], smoothing=True)
    predictor = Predictor.from_checkpoint(str(small_model))
    source = make_source("synthetic:hand", camera="icvl")  # 320x240: cheaper to render on small machines
    received: list[dict] = []
    delivered = [0]  # results the consumer thread handed to the outputs

    def consume() -> None:
        for result in engine.results():
            streams.send(result)
            delivered[0] += 1

    def read() -> None:  # a client that keeps up, connected all along
        with connect(server.url) as ws:
            while not reader_stop.is_set():
                try:
                    received.append(json.loads(ws.recv(timeout=0.5)))
                except TimeoutError:
                    pass

    def counts() -> tuple[float, int, int]:
        return time.monotonic(), engine.stats.processed, delivered[0]

    reader_stop = threading.Event()
    reader = threading.Thread(target=read, daemon=True)
    consumer = threading.Thread(target=consume, daemon=True)
    windows: dict[bool, list[tuple[float, int, int]]] = {False: [], True: []}  # stalled? -> (s, processed, sent)
    stalled_stats = []
    with source:
        engine = Engine(source, predictor, HandCentreDetector()).start()
        try:
            consumer.start()
            reader.start()
            assert wait_for(lambda: engine.stats.processed >= 3 and server.connected == 1, 60), "no engine"
            for stalled in (False, True, False, True, False, True):
                client = raw_client(server.port, rcvbuf=4096) if stalled else None  # handshake, never reads
                t0, p0, d0 = counts()
                if client is not None:
                    address = "{}:{}".format(*client.getsockname())
                    assert wait_for(lambda: any(c.address == address for c in server.clients))  # noqa: B023
                    stats = next(c for c in server.clients if c.address == address)
                    stalled_stats.append(stats)
                    # until its queue overflows (at least 2 s)
                    wait_for(lambda: stats.dropped >= 3 and time.monotonic() - t0 >= 2.0, 20)  # noqa: B023
                else:
                    time.sleep(2.0)
                t1, p1, d1 = counts()
                windows[stalled].append((t1 - t0, p1 - p0, d1 - d0))
                if client is not None:
                    client.close()
                    assert wait_for(lambda: not stats.connected)  # noqa: B023
        finally:
            reader_stop.set()
            engine.stop()
            consumer.join(10)
            reader.join(10)
            server.close()

    def rates(stalled: bool) -> tuple[float, float]:
        seconds = sum(w[0] for w in windows[stalled])
        return sum(w[1] for w in windows[stalled]) / seconds, sum(w[2] for w in windows[stalled]) / seconds

    (processed_free, sent_free), (processed_stalled, sent_stalled) = rates(False), rates(True)
    figures = f"processed {processed_free:.1f} vs {processed_stalled:.1f} FPS, streamed {sent_free:.1f} vs " \
              f"{sent_stalled:.1f} FPS without / with a stalled client; windows {windows}"
    assert processed_stalled / processed_free > 0.7, figures
    assert sent_stalled / sent_free > 0.7, figures
    # every stalled client's queue overflowed and its drops were counted, while it got little
    assert all(s.dropped >= 3 and not s.connected for s in stalled_stats), stalled_stats
    assert f"{sum(c.dropped for c in server.clients)} messages dropped" in server.summary()
    # the client that reads kept up all along
    reading = server.clients[0]
    assert reading not in stalled_stats and reading.sent >= 0.8 * (reading.sent + reading.dropped), reading
    poses = [m for m in received if m["schema"] == POSE_SCHEMA]
    assert len(poses) >= 0.8 * server.messages * (reading.sent / max(reading.sent + reading.dropped, 1)) - 5
    assert all(m["smoothed"] is m["found"] for m in poses)
    for message in poses[:3]:
        check_pose_message(message)
    sys.stderr.write(figures + "\n")


# -- LSL and the streams fan-out ------------------------------------------------------------------------------


def test_lsl_without_pylsl_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pylsl", None)  # import pylsl -> ImportError
    with pytest.raises(LivePoseError) as error:
        StreamOutputs.open(lsl=True, layout="hand21")
    message = str(error.value)
    assert "pip install livepose[lsl]" in message and "\n" not in message


def test_lsl_outlet_sends_samples_when_pylsl_is_installed() -> None:
    pylsl = pytest.importorskip("pylsl")
    from livepose.outputs.lsl import LslOutlet, channel_labels

    outlet = LslOutlet("hand21", name="livepose-test")
    assert channel_labels("hand21")[:4] == ["wrist_x", "wrist_y", "wrist_z", "wrist_confidence"]
    streams = pylsl.resolve_byprop("source_id", outlet.source_id, 1, 5.0)
    assert streams
    inlet = pylsl.StreamInlet(streams[0])
    inlet.open_stream(5.0)
    time.sleep(0.3)
    result = pose()
    outlet.send(result)
    sample, stamp = inlet.pull_sample(timeout=5.0)
    assert sample is not None and len(sample) == 84
    np.testing.assert_allclose(np.array(sample).reshape(21, 4)[:, :3], result.joints_mm, rtol=1e-6)
    outlet.close()


def test_stream_outputs_smooth_once_and_survive_a_failing_output() -> None:
    class Collect:
        description = "collect"

        def __init__(self, fail: bool = False) -> None:
            self.results, self.fail = [], fail

        def send(self, result):
            if self.fail:
                raise RuntimeError("boom")
            self.results.append(result)

        def summary(self):
            return f"{self.description}: {len(self.results)}"

        def close(self):
            pass

    good, bad = Collect(), Collect(fail=True)
    streams = StreamOutputs([bad, good])
    reference = PoseSmoother()
    for frame in range(5):
        result = pose(frame=frame)
        streams.send(result)
        expected = reference(result)
        np.testing.assert_allclose(good.results[-1].joints_mm, expected.joints_mm)
        assert good.results[-1].raw_joints_mm is result.joints_mm
    assert all(r.smoothed for r in good.results)
    assert streams.summaries()[0].endswith("5 failed")
    raw = StreamOutputs([good := Collect()], smoothing=False)
    raw.send(pose())
    assert good.results[0].smoothed is False
    message = result_message(good.results[0])
    assert message["smoothed"] is False and math.isfinite(message["joints_mm"][0][0])
    assert not StreamOutputs([])


# -- handedness in every output ---------------------------------------------------------------------------------


def synthetic_hand_results() -> tuple[list[PoseResult], list[str]]:
    """Results holding the true joints of synthetic left and right hands (camera frame), and their sides."""
    import torch

    from livepose.synth.generator import camera_tensor
    from livepose.synth.hand import sample_hands
    from livepose.synth.scene import place_hands

    generator = torch.Generator().manual_seed(3)
    hands = sample_hands(8, generator)
    camera, width, height, _ = camera_tensor("d435_640", 8, "cpu")
    joints = place_hands(hands.joints[:, [0, 5, 9, 13, 17]].mean(1), camera, width, height,
                         generator).apply(hands.joints).double().numpy()
    results = [PoseResult(frame_number=i, t_device_ms=i * 33.0, t_host_ms=1e6 + i * 33.0, layout="hand21",
                          found=True, joints_mm=j, joints_uvd=j, confidence=np.full(21, 0.8))
               for i, j in enumerate(joints)]
    return results, ["left" if left else "right" for left in hands.side.tolist()]


def test_handedness_reaches_json_lines_websocket_and_osc() -> None:
    import io

    from livepose.outputs.jsonl import JsonLinesWriter

    results, sides = synthetic_hand_results()
    assert set(sides) == {"left", "right"}
    stream = io.StringIO()
    writer = JsonLinesWriter(stream)
    sender = OscSender("127.0.0.1", free_port())
    for result, side in zip(results, sides, strict=True):
        writer.write(result)
        line = json.loads(stream.getvalue().splitlines()[-1])
        message = result_message(result)
        hand = OscBundle(sender.bundle(result)).content(1)
        assert line["handedness"] == message["handedness"] == hand.params[0] == side
        assert line["handedness_confidence"] == message["handedness_confidence"] > 0.5
        assert hand.params[1] == pytest.approx(line["handedness_confidence"], abs=1e-3)
        check_pose_message(message)
    sender.close()


def test_osc_receiver_example_prints_what_it_receives() -> None:
    results, sides = synthetic_hand_results()
    port = free_port()
    receiver = subprocess.Popen([sys.executable, str(REPO / "examples" / "osc_receiver.py"), "--port", str(port),
                                 "--frames", "3", "--timeout", "30", "--joints", "wrist,index_tip"], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening for livepose OSC" in receiver.stderr.readline()
        sender = OscSender("127.0.0.1", port)
        sender.send(pose(found=False, frame=1))
        for result in results[:2]:
            sender.send(result)
        sender.close()
        stdout, stderr = receiver.communicate(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    assert receiver.returncode == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == "frame 1: no hand"
    for line, result, side in zip(lines[1:], results[:2], sides[:2], strict=True):
        assert line.startswith(f"frame {result.frame_number} [hand21, 21 joints, {side} hand (")
        x, y, z = result.joints_mm[0]
        assert f"wrist ({x:7.1f}, {y:7.1f}, {z:7.1f}) mm c=0.80" in line and "index_tip (" in line
