"""Fuzzing every reader of outside data, in-process with hypothesis, plus a few CLI runs per reader.

Readers: livepose sessions (MCAP), RealSense recordings (``.db3`` through the real SDK, ``.bag`` through the
structural check, the child-process probe and the SDK), folders of depth PNGs, camera calibration files,
checkpoints, and configuration values (source specs and options, camera / crop / model arguments).

Every generated case must end in the reader's own :class:`~livepose.errors.LivePoseError` or in success: any
other exception fails the test, and so does a case over :data:`CASE_LIMIT_S` (a case that hangs is stopped by
faulthandler, which dumps every thread and exits). Memory: each case's peak RSS (reset before it through
/proc/self/clear_refs) may exceed the RSS before it by at most :data:`MEMORY_GROWTH_MB` plus
:data:`INPUT_COPIES` times the input's size, and so may the peak over a reader's cases; the bomb tests (a
chunk, a PNG, a zip entry that claim gigabytes) must be refused without allocating them.

Cases per reader: ``LIVEPOSE_FUZZ_CASES`` (default: a short CI run, see :data:`CI_CASES`);
``benchmarks/fuzz_readers.py`` runs 1,000 per reader and reports the counts (``LIVEPOSE_FUZZ_REPORT``: a JSON
file the counts are written to).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import dataclasses
import faulthandler
import io
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.types import DepthFrame, PoseResult

pytestmark = pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # fuzzed pickles name odd protocols

REPO = Path(__file__).resolve().parents[1]
CI_CASES = {"sessions": 40, "realsense": 12, "folders": 40, "cameras": 60, "checkpoints": 25, "config": 80}
CASES = {name: int(os.environ.get("LIVEPOSE_FUZZ_CASES", default)) for name, default in CI_CASES.items()}
CLI_CASES = int(os.environ.get("LIVEPOSE_FUZZ_CLI_CASES", "2"))
CASE_LIMIT_S = 30.0
MEMORY_GROWTH_MB = 256  # plus INPUT_COPIES x the largest input: reading a file may hold a few copies of it
INPUT_COPIES = 6
TIMINGS: dict[str, list[float]] = collections.defaultdict(list)
OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)

FUZZ = settings(deadline=None, database=None, derandomize="LIVEPOSE_FUZZ_CASES" not in os.environ,
                suppress_health_check=list(HealthCheck), print_blob=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def reset_peak() -> bool:
    """Reset this process's peak RSS (Linux: ``5`` into /proc/self/clear_refs); False where that is impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def case(reader: str, input_bytes: int = 0) -> Iterator[None]:
    """One fuzz case: counted, time-bounded, memory-bounded (where the peak RSS can be reset: it may exceed the
    RSS before the case by MEMORY_GROWTH_MB + INPUT_COPIES x the input's size), and allowed to end only in
    success or a LivePoseError."""
    faulthandler.dump_traceback_later(CASE_LIMIT_S * 2, exit=True)  # a hang ends the run with every stack
    per_case = reset_peak()
    rss_before = _status_mb("VmRSS") or 0.0
    started = time.monotonic()
    outcome = "ok"
    try:
        yield
    except LivePoseError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        outcome = "LivePoseError"
    finally:
        faulthandler.cancel_dump_traceback_later()
        elapsed = time.monotonic() - started
        TIMINGS[reader].append(elapsed)
        OUTCOMES[reader][outcome] += 1
    assert elapsed < CASE_LIMIT_S, f"{reader}: a case took {elapsed:.1f} s"
    if per_case:
        grown = (_status_mb("VmHWM") or 0.0) - rss_before
        limit = MEMORY_GROWTH_MB + INPUT_COPIES * input_bytes / 2 ** 20
        assert grown < limit, f"{reader}: a case took {grown:.0f} MB more memory (limit {limit:.0f} MB)"


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    summary = {reader: {"cases": len(TIMINGS[reader]) or sum(OUTCOMES[reader].values()),
                        "outcomes": dict(OUTCOMES[reader]),
                        "max_case_s": round(max(TIMINGS[reader], default=0.0), 3),
                        "mean_case_s": round(sum(TIMINGS[reader]) / max(len(TIMINGS[reader]), 1), 4)}
               for reader in sorted(set(TIMINGS) | set(OUTCOMES))}
    target = os.environ.get("LIVEPOSE_FUZZ_REPORT")
    if target:
        Path(target).write_text(json.dumps(summary, indent=2) + "\n")


@contextlib.contextmanager
def bounded_memory(reader: str, largest_input: int = 0) -> Iterator[None]:
    """The peak RSS over the block grows by less than MEMORY_GROWTH_MB + INPUT_COPIES x ``largest_input``."""
    before = peak_rss_mb()
    yield
    growth = peak_rss_mb() - before
    limit = MEMORY_GROWTH_MB + INPUT_COPIES * largest_input / 2 ** 20
    assert growth < limit, f"{reader}: peak memory grew by {growth:.0f} MB (limit {limit:.0f} MB)"


@st.composite
def mutated(draw, base: bytes) -> bytes:
    """``base`` with 1-4 damages: bit flips, truncation, overwritten / inserted / deleted bytes, 0xFF runs
    (huge lengths) and 0x00 runs."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        op = draw(st.sampled_from(["flip", "truncate", "overwrite", "insert", "delete", "ones", "zeros"]))
        at = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[at:]
        elif op == "overwrite":
            patch = draw(st.binary(min_size=1, max_size=16))
            data[at:at + len(patch)] = patch
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 64))]
        else:
            data[at:at + 8] = (b"\xff" if op == "ones" else b"\x00") * 8
    return bytes(data)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
NUMBERS = st.one_of(st.integers(-(2 ** 70), 2 ** 70), st.floats(), st.sampled_from([0, 1, 16, 64, 480, 640, 1e9, -1]),
                    st.text(max_size=6), st.none(), st.booleans(), st.lists(st.integers(), max_size=2))


def png16(width: int, height: int, seed: int = 0) -> bytes:
    depth = np.random.default_rng(seed).integers(0, 4000, (height, width), dtype=np.uint16)
    ok, data = cv2.imencode(".png", depth)
    assert ok
    return data.tobytes()


def png_claiming(width: int, height: int, bit_depth: int = 16, colour: int = 0) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` and whose pixels are a few zero bytes (a bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


CAMERA = Intrinsics(fx=40.0, fy=41.0, cx=15.5, cy=11.5, width=32, height=24)


# ------------------------------------------------------------------------------------------------------------
# Sessions (MCAP)
# ------------------------------------------------------------------------------------------------------------
def pose_result(frame: int, found: bool) -> PoseResult:
    joints = np.full((21, 3), 100.0 + frame) if found else np.full((21, 3), np.nan)
    return PoseResult(frame_number=frame, t_device_ms=frame * 33.0, t_host_ms=1000.0 + frame, layout="hand21",
                      found=found, joints_mm=joints, joints_uvd=joints.copy(), confidence=np.full(21, 0.5 * found),
                      anchor_weights=np.full((4, 21), 0.25) if found else None, reason="" if found else "no hand",
                      crop_box=(1.0, 2.0, 30.0, 20.0) if found else None)


@pytest.fixture(scope="module")
def session_bytes(tmp_path_factory) -> bytes:
    """A real three-frame session written by the recorder (with its poses)."""
    from livepose.recording.writer import SessionRecorder

    path = tmp_path_factory.mktemp("session") / "base.mcap"
    recorder = SessionRecorder(path).start()
    for i in range(3):
        depth = np.random.default_rng(i).integers(0, 3000, (24, 32), dtype=np.uint16)
        recorder.submit_frame(DepthFrame(depth, 1.0, CAMERA, i, i * 33.0, 1000.0 + i))
        recorder.submit_result(pose_result(i, found=i != 1))
    recorder.stop()
    assert not recorder.error
    return path.read_bytes()


def depth_message(draw) -> bytes:
    """A /camera/depth payload: plausible, damaged or hostile."""
    camera = draw(st.one_of(st.just(CAMERA.to_dict()), st.dictionaries(
        st.sampled_from(["fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm"]), NUMBERS, max_size=7), JSON))
    payload = draw(st.one_of(st.just(png16(32, 24)), st.builds(png_claiming, st.integers(0, 2 ** 31 - 1),
                                                               st.integers(0, 2 ** 31 - 1)),
                             st.binary(max_size=64), st.just(png16(16, 12))))
    meta = {"frame_number": draw(NUMBERS), "t_device_ms": draw(NUMBERS), "t_host_ms": draw(NUMBERS),
            "depth_unit_mm": draw(NUMBERS), "intrinsics": camera, "source": draw(JSON)}
    if draw(st.booleans()):
        meta = {k: v for k, v in meta.items() if draw(st.booleans())}
    message = {"data": base64.b64encode(payload).decode() if draw(st.booleans()) else draw(JSON), "livepose": meta,
               "format": "png"}
    return json.dumps(message, allow_nan=True).encode() if draw(st.integers(0, 9)) else draw(st.binary(max_size=40))


def pose_message(draw) -> bytes:
    joints = st.one_of(st.lists(st.lists(NUMBERS, min_size=3, max_size=3), max_size=3), JSON)
    record = {"frame": draw(NUMBERS), "found": draw(st.one_of(st.booleans(), NUMBERS)), "joints_mm": draw(joints),
              "joints_uvd": draw(joints), "confidence": draw(st.one_of(st.lists(NUMBERS, max_size=3), JSON)),
              "layout": draw(JSON)}
    return json.dumps(record, allow_nan=True).encode() if draw(st.integers(0, 9)) else draw(st.binary(max_size=40))


@st.composite
def built_session(draw) -> bytes:
    """A well-formed MCAP file (no, or zstd, compression) of fuzzed messages on the session's topics."""
    from mcap.writer import CompressionType, Writer

    from livepose.recording import format as fmt

    out = io.BytesIO()
    writer = Writer(out, compression=draw(st.sampled_from([CompressionType.NONE, CompressionType.ZSTD])),
                    chunk_size=draw(st.sampled_from([64, 1024, 1 << 20])))
    writer.start(profile="livepose", library="fuzz")
    channels = {}
    for topic, schema in fmt.SCHEMAS.items():
        schema_id = writer.register_schema(name=schema["title"], encoding="jsonschema", data=b"{}")
        channels[topic] = writer.register_channel(topic=topic, message_encoding="json", schema_id=schema_id)
    for i in range(draw(st.integers(0, 4))):
        topic = draw(st.sampled_from([fmt.DEPTH_TOPIC, fmt.POSE_TOPIC, fmt.CALIBRATION_TOPIC]))
        data = depth_message(draw) if topic == fmt.DEPTH_TOPIC else pose_message(draw)
        writer.add_message(channels[topic], log_time=i, publish_time=i, data=data, sequence=i)
    writer.finish()
    return out.getvalue()


def read_session(path: Path, export_to: Path | None = None) -> None:
    from livepose.recording.export import export_session
    from livepose.recording.reader import SessionReader, SessionSource

    reader = SessionReader(path)
    for message in reader.messages():
        assert message.frame is not None or message.pose is not None
    with SessionSource(path) as source:
        for _ in range(100):
            if source.read() is None:
                break
    if export_to is not None:
        export_session(path, export_to)


def test_fuzz_sessions(session_bytes: bytes) -> None:
    @settings(FUZZ, max_examples=CASES["sessions"])
    @given(data=st.data())
    def fuzz(data) -> None:
        kind = data.draw(st.sampled_from(["mutated", "built", "built+mutated", "random"]), label="kind")
        if kind == "mutated":
            content = data.draw(mutated(session_bytes))
        elif kind == "built":
            content = data.draw(built_session())
        elif kind == "built+mutated":
            content = data.draw(mutated(data.draw(built_session())))
        else:
            content = b"\x89MCAP0\r\n" + data.draw(st.binary(max_size=256))
        with tempfile.TemporaryDirectory() as tmp, case("sessions", len(content)):
            path = write(Path(tmp), "fuzz.mcap", content)
            read_session(path, Path(tmp) / "export" if data.draw(st.booleans(), label="export") else None)

    read_session(write(Path(tempfile.mkdtemp()), "warm.mcap", session_bytes))  # imports before measuring
    with bounded_memory("sessions"):
        fuzz()


def test_session_bombs_are_refused_without_allocating(tmp_path: Path) -> None:
    """A chunk that decompresses to 256 MB (declared honestly, or declared small), a record length of 2^63, and
    a depth PNG claiming 2^31 x 2^31 pixels: each read stops with a message and the peak memory barely moves."""
    import zstandard
    from mcap.data_stream import RecordBuilder
    from mcap.records import Chunk, Header

    from livepose.recording.reader import SessionReader

    compressor = zstandard.ZstdCompressor().compressobj()
    bomb = b"".join(compressor.compress(b"\0" * (1 << 20)) for _ in range(256)) + compressor.flush()
    assert len(bomb) < 100_000

    def session_with_chunk(declared: int) -> bytes:
        builder = RecordBuilder()
        Header(profile="livepose", library="fuzz").write(builder)
        Chunk(compression="zstd", data=bomb, message_end_time=0, message_start_time=0, uncompressed_crc=0,
              uncompressed_size=declared).write(builder)
        return b"\x89MCAP0\r\n" + builder.end()

    before = peak_rss_mb()
    for declared, expected in ((256 << 20, "a chunk of"), (1024, "larger than it says")):
        reader = SessionReader(write(tmp_path, f"bomb{declared}.mcap", session_with_chunk(declared)))
        assert list(reader.messages()) == []
        assert expected in reader.stopped_at, reader.stopped_at
    huge = b"\x89MCAP0\r\n" + struct.pack("<BQ", 0x01, (1 << 63) - 1) + b"\0" * 64
    reader = SessionReader(write(tmp_path, "length.mcap", huge))
    assert list(reader.messages()) == [] and "cut short or damaged" in reader.stopped_at
    from livepose.recording import format as fmt

    message = {"data": base64.b64encode(png_claiming(2 ** 31 - 1, 2 ** 31 - 1)).decode(), "format": "png",
               "livepose": {"frame_number": 0, "t_host_ms": 0.0, "depth_unit_mm": 1.0,
                            "intrinsics": {"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 2 ** 31 - 1,
                                           "height": 2 ** 31 - 1}}}
    with pytest.raises(LivePoseError, match="at most 16777216 pixels"):
        fmt.decode_depth(json.dumps(message).encode(), "bomb")
    assert peak_rss_mb() - before < 100


def test_a_session_whose_time_stamps_jump_still_plays_in_real_time(tmp_path: Path) -> None:
    """Before: real-time playback (--realtime, --loop, the bundled demo) slept until a frame's time stamp came,
    so a damaged stamp (10^12 ms ahead) hung the source for 30 years."""
    import threading

    from livepose.recording.reader import SessionSource
    from livepose.recording.writer import SessionRecorder

    recorder = SessionRecorder(tmp_path / "jump.mcap").start()
    for i, stamp in enumerate((0.0, 1e12, 1e12 + 33.0)):
        recorder.submit_frame(DepthFrame(np.full((24, 32), 500, np.uint16), 1.0, CAMERA, i, stamp, 0.0))
    recorder.stop()
    frames: list[int] = []

    def play() -> None:
        with SessionSource(tmp_path / "jump.mcap", realtime=True) as source:
            while (frame := source.read()) is not None:
                frames.append(frame.frame_number)

    player = threading.Thread(target=play, daemon=True)
    player.start()
    player.join(CASE_LIMIT_S)
    assert not player.is_alive() and frames == [0, 1, 2]


# ------------------------------------------------------------------------------------------------------------
# RealSense recordings
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rs_recording(tmp_path_factory) -> bytes:
    pytest.importorskip("pyrealsense2")
    from livepose.sources.rs_synthetic import write_software_device_recording

    path = tmp_path_factory.mktemp("rs") / "base.db3"
    frames = [np.random.default_rng(i).integers(0, 3000, (12, 16), dtype=np.uint16) for i in range(4)]
    camera = Intrinsics(fx=20.0, fy=20.0, cx=7.5, cy=5.5, width=16, height=12)
    return write_software_device_recording(path, frames, camera).read_bytes()


def bag_record(fields: dict[str, bytes], data: bytes = b"") -> bytes:
    header = b"".join(struct.pack("<I", len(k) + 1 + len(v)) + k.encode() + b"=" + v for k, v in fields.items())
    return struct.pack("<I", len(header)) + header + struct.pack("<I", len(data)) + data


@st.composite
def built_bag(draw) -> bytes:
    """A structurally sound ROS 1 bag (it passes livepose's check) of fuzzed connections and messages, so that
    the SDK's own reader (in the child-process probe, then in-process) gets to parse it."""
    topics = ["/device_0/sensor_0/Depth_0/image/data", "/device_0/sensor_0/Depth_0/info", "/file_version",
              "/device_0/info", "/device_0/sensor_0/Depth_0/info/camera_info"]
    n_conn = draw(st.integers(0, 3))
    connections = []
    for c in range(n_conn):
        topic = draw(st.sampled_from(topics)).encode()
        fields = {"topic": topic, "type": draw(st.sampled_from([b"sensor_msgs/Image", b"std_msgs/UInt32",
                                                                b"diagnostic_msgs/KeyValue", b"x"])),
                  "md5sum": b"0" * 32, "message_definition": draw(st.binary(max_size=16))}
        data = b"".join(struct.pack("<I", len(k) + 1 + len(v)) + k.encode() + b"=" + v for k, v in fields.items())
        connections.append(bag_record({"op": b"\x07", "conn": struct.pack("<I", c), "topic": topic}, data))
    messages = [bag_record({"op": b"\x02", "conn": struct.pack("<I", draw(st.integers(0, max(n_conn - 1, 0)))),
                            "time": struct.pack("<II", draw(st.integers(0, 100)), 0)}, draw(st.binary(max_size=64)))
                for _ in range(draw(st.integers(0, 4)))]
    body = b"".join(connections) + b"".join(messages)
    chunk_pos = 13 + 4096
    chunk = bag_record({"op": b"\x05", "compression": b"none", "size": struct.pack("<I", len(body))}, body)
    index_pos = chunk_pos + len(chunk)
    info = bag_record({"op": b"\x06", "ver": struct.pack("<I", 1), "chunk_pos": struct.pack("<Q", chunk_pos),
                       "start_time": struct.pack("<II", 0, 0), "end_time": struct.pack("<II", 100, 0),
                       "count": struct.pack("<I", 0)})
    header_fields = {"op": b"\x03", "index_pos": struct.pack("<Q", index_pos), "conn_count": struct.pack("<I", n_conn),
                     "chunk_count": struct.pack("<I", 1)}
    header = bag_record(header_fields)
    header = bag_record(header_fields, b" " * (4096 - len(header)))
    assert len(header) == 4096
    return b"#ROSBAG V2.0\n" + header + chunk + b"".join(connections) + info


def read_recording(path: Path) -> None:
    from livepose.sources.realsense import RealSenseRecordingSource

    with RealSenseRecordingSource(path) as source:
        for _ in range(1000):
            if source.read() is None:
                break


def test_fuzz_realsense_recordings(rs_recording: bytes, monkeypatch) -> None:
    from livepose.sources import realsense, rs_probe
    from livepose.sources.rosbag_check import check_rosbag

    monkeypatch.setattr(realsense, "STALL_S", 3.0)  # a playback that stops moving ends sooner
    monkeypatch.setattr(rs_probe, "PROBE_TIMEOUT_S", 10.0)

    @settings(FUZZ, max_examples=CASES["realsense"])
    @given(data=st.data())
    def fuzz(data) -> None:
        kind = data.draw(st.sampled_from(["db3", "db3", "db3", "bag-built", "bag-mutated", "bag-random"]),
                         label="kind")
        if kind == "db3":
            name, content = "fuzz.db3", data.draw(mutated(rs_recording))
        elif kind == "bag-built":
            name, content = "fuzz.bag", data.draw(built_bag())
        elif kind == "bag-mutated":
            name, content = "fuzz.bag", data.draw(mutated(data.draw(built_bag())))
        else:
            name, content = "fuzz.bag", b"#ROSBAG V2.0\n" + data.draw(st.binary(max_size=512))
        with tempfile.TemporaryDirectory() as tmp, case("realsense", len(content)):
            path = write(Path(tmp), name, content)
            if name.endswith(".bag"):
                # how many .bag cases got past livepose's structural check to the SDK (through the probe)
                passed = "passed the check" if check_rosbag(path) is None else "refused by the check"
                OUTCOMES["realsense .bag"][passed] += 1
            read_recording(path)

    read_recording(write(Path(tempfile.mkdtemp()), "warm.db3", rs_recording))
    with bounded_memory("realsense"):
        fuzz()


def test_the_bag_that_hung_the_sdk_is_refused_quickly(tmp_path: Path) -> None:
    """Found by the fuzzer: a bag header whose index position points back into the header made pyrealsense2
    2.59 loop forever inside config.resolve(). The structural check refuses it before the SDK sees it."""
    pytest.importorskip("pyrealsense2")
    header_fields = {"op": b"\x03", "index_pos": struct.pack("<Q", 2255), "conn_count": struct.pack("<I", 3),
                     "chunk_count": struct.pack("<I", 2)}
    header = bag_record(header_fields)
    content = b"#ROSBAG V2.0\n" + bag_record(header_fields, b" " * (4096 - len(header))) + bytes(range(256)) * 4
    with pytest.raises(LivePoseError, match="not a readable RealSense recording .index position"):
        read_recording(write(tmp_path, "hang.bag", content))


# ------------------------------------------------------------------------------------------------------------
# Folders of depth PNGs
# ------------------------------------------------------------------------------------------------------------
@st.composite
def png_file(draw) -> bytes:
    kind = draw(st.sampled_from(["good", "mutated", "claims", "rgb", "other-size", "random", "empty"]))
    if kind == "good":
        return png16(32, 24, draw(st.integers(0, 3)))
    if kind == "mutated":
        return draw(mutated(png16(32, 24)))
    if kind == "claims":
        return png_claiming(draw(st.sampled_from([32, 0, 70_000, 2 ** 31 - 1])),
                            draw(st.sampled_from([24, 0, 70_000, 2 ** 31 - 1])),
                            draw(st.sampled_from([16, 8, 1, 3])), draw(st.sampled_from([0, 2, 6, 7])))
    if kind == "rgb":
        ok, data = cv2.imencode(".png", np.zeros((24, 32, 3), np.uint8))
        return data.tobytes()
    if kind == "other-size":
        return png16(draw(st.integers(1, 40)), draw(st.integers(1, 30)))
    if kind == "random":
        return draw(st.binary(max_size=128))
    return b""


def read_folder(folder: Path, encoding: str) -> None:
    from livepose.sources.images import ImageFolderSource

    with ImageFolderSource(folder, encoding=encoding) as source:
        for _ in range(20):
            if source.read() is None:
                break


def test_fuzz_png_folders() -> None:
    @settings(FUZZ, max_examples=CASES["folders"])
    @given(files=st.lists(png_file(), min_size=1, max_size=3), encoding=st.sampled_from(["uint16", "auto",
                                                                                          "nyu_rgb"]),
           camera=st.one_of(st.just(CAMERA.to_dict()), st.dictionaries(st.sampled_from(
               ["fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm"]), NUMBERS, max_size=7)))
    def fuzz(files: list[bytes], encoding: str, camera: dict) -> None:
        with tempfile.TemporaryDirectory() as tmp, case("folders", sum(map(len, files))):
            folder = Path(tmp)
            write(folder, "camera.json", json.dumps({"camera": camera}, allow_nan=True))
            for i, content in enumerate(files):
                write(folder, f"{i}.png", content)
            read_folder(folder, encoding)

    with bounded_memory("folders"):
        fuzz()


def test_png_bomb_in_a_folder_is_never_decoded(tmp_path: Path) -> None:
    from livepose.sources.images import ImageFolderSource

    write(tmp_path, "camera.json", json.dumps({"camera": {**CAMERA.to_dict(), "width": 60_000, "height": 60_000}}))
    write(tmp_path, "0.png", png_claiming(60_000, 60_000))
    before = peak_rss_mb()
    with pytest.raises(LivePoseError, match="is not a readable depth PNG"):
        ImageFolderSource(tmp_path)
    assert peak_rss_mb() - before < 100  # decoding it would take 7.2 GB


# ------------------------------------------------------------------------------------------------------------
# Camera calibration files
# ------------------------------------------------------------------------------------------------------------
VALID_CAMERA_FILE = (REPO / "calibration" / "nyu.json").read_text()


@st.composite
def camera_file(draw) -> bytes:
    kind = draw(st.sampled_from(["json", "camera", "mutated", "random"]))
    if kind == "json":
        return json.dumps(draw(JSON), allow_nan=True).encode()
    if kind == "camera":
        keys = ["fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm"]
        profile = {"camera": draw(st.dictionaries(st.sampled_from(keys), NUMBERS, max_size=7)),
                   "crop": draw(st.one_of(JSON, st.dictionaries(st.sampled_from(
                       ["method", "width", "height", "xy_thres_mm", "depth_thres", "subtract_centre",
                        "depth_scale"]), NUMBERS))),
                   "normalisation": draw(st.one_of(JSON, st.dictionaries(st.sampled_from(["mean", "std"]), NUMBERS))),
                   "label_depth_unit": draw(JSON), "layout": draw(JSON), "name": draw(JSON)}
        return json.dumps({k: v for k, v in profile.items() if draw(st.booleans())}, allow_nan=True).encode()
    if kind == "mutated":
        return draw(mutated(VALID_CAMERA_FILE.encode()))
    return draw(st.binary(max_size=128))


def test_fuzz_camera_files() -> None:
    from livepose.calibration import load_profile
    from livepose.sources.images import load_camera

    @settings(FUZZ, max_examples=CASES["cameras"])
    @given(content=camera_file())
    def fuzz(content: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp, case("cameras", len(content)):
            path = write(Path(tmp), "camera.json", content)
            try:
                load_profile(path)
            finally:
                load_camera(path, "fuzz")

    with bounded_memory("cameras"):
        fuzz()


@pytest.mark.parametrize("text, message", [
    ('{"camera": {"fx": 1%s, "fy": 1, "cx": 0, "cy": 0, "width": 4, "height": 4}}' % ("0" * 400), "numbers"),
    ('{"camera": {"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": Infinity, "height": 4}}', "numbers"),
    ('{"camera": {"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 4, "height": 4}, "crop": {"method": "centre", '
     '"width": 176, "height": 176, "xy_thres_mm": 110, "depth_thres": 150, "subtract_centre": true, '
     '"depth_scale": 1}, "normalisation": {"mean": 0, "std": NaN}}', "finite"),
    ('{"camera": {"fx": 1, "fy": 1, "cx": 0, "cy": 0, "width": 4, "height": 4}, "crop": {"method": "centre", '
     '"width": 1e12, "height": 176, "xy_thres_mm": 110, "depth_thres": 150, "subtract_centre": true, '
     '"depth_scale": 1}, "normalisation": {"mean": 0, "std": 1}}', "at most 4096"),
])
def test_camera_files_that_used_to_escape_as_other_exceptions(tmp_path: Path, text: str, message: str) -> None:
    """Before: OverflowError tracebacks (a 400-digit focal length, an infinite width) and a NaN normalisation
    or a 10^12-pixel crop accepted silently."""
    from livepose.calibration import load_profile

    with pytest.raises(LivePoseError, match=message):
        load_profile(write(tmp_path, "camera.json", text))


# ------------------------------------------------------------------------------------------------------------
# Checkpoints
# ------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint_bytes(small_model: Path) -> dict[str, bytes]:
    """The small model's real checkpoint, and a small one of the same structure whose weights are a stub."""
    payload = torch.load(small_model, weights_only=True)
    stub = {**payload, "state_dict": {k: v for k, v in list(payload["state_dict"].items())[:3]}}
    buffer = io.BytesIO()
    torch.save(stub, buffer)
    return {"real": small_model.read_bytes(), "stub": buffer.getvalue()}


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@dataclasses.dataclass(frozen=True)
class RealWithDamage:
    """The real checkpoint with its first or last 4 kB replaced: only the damaged part is a drawn value, so that
    hypothesis, which keeps what it draws, does not keep 45 MB per case."""

    head: bytes | None = None
    tail: bytes | None = None

    def content(self, real: bytes) -> bytes:
        if self.head is not None:
            return self.head + real[4096:]
        return real[:-4096] + (self.tail or b"")


@st.composite
def checkpoint_file(draw, corpus: dict[str, bytes]) -> bytes | RealWithDamage:
    kind = draw(st.sampled_from(["stub-mutated", "real-mutated", "payload", "pickle", "random"]))
    if kind == "stub-mutated":
        return draw(mutated(corpus["stub"]))
    if kind == "real-mutated":  # damage where the structure is: the zip directory and the pickle
        data = corpus["real"]
        if draw(st.booleans()):
            return RealWithDamage(head=draw(mutated(data[:4096])))
        return RealWithDamage(tail=draw(mutated(data[-4096:])))
    if kind == "payload":
        values = st.one_of(JSON, st.builds(torch.zeros, st.integers(0, 3)),
                           st.dictionaries(st.text(max_size=6), st.builds(torch.ones, st.integers(0, 2)), max_size=3))
        payload = {"format": draw(st.sampled_from(["livepose-a2j", "x"])), "version": draw(NUMBERS),
                   "model": draw(st.one_of(JSON, st.fixed_dictionaries({"num_joints": NUMBERS}, optional={
                       "backbone": st.sampled_from(["resnet18", "resnet50", "x"]), "head_channels": NUMBERS,
                       "head_layers": NUMBERS, "is_3d": NUMBERS}))),
                   "layout": draw(JSON), "crop": draw(JSON), "training": draw(JSON), "state_dict": draw(values)}
        buffer = io.BytesIO()
        torch.save({k: v for k, v in payload.items() if draw(st.integers(0, 5))}, buffer)
        return buffer.getvalue()
    if kind == "pickle":
        import pickle

        return pickle.dumps(draw(st.one_of(JSON, st.just(_Evil()))), protocol=draw(st.integers(2, 5)))
    return draw(st.sampled_from([b"PK", b"\x80", b""])) + draw(st.binary(max_size=256))


def test_fuzz_checkpoints(checkpoint_bytes: dict[str, bytes]) -> None:
    from livepose.runtime.checkpoint import load_checkpoint

    @settings(FUZZ, max_examples=CASES["checkpoints"])
    @given(data=st.data())
    def fuzz(data) -> None:
        content = data.draw(checkpoint_file(checkpoint_bytes))
        if isinstance(content, RealWithDamage):
            content = content.content(checkpoint_bytes["real"])
        with tempfile.TemporaryDirectory() as tmp, case("checkpoints", len(content)):
            load_checkpoint(write(Path(tmp), "fuzz.pt", content))

    with tempfile.TemporaryDirectory() as tmp:
        load_checkpoint(write(Path(tmp), "warm.pt", checkpoint_bytes["real"]))
    with bounded_memory("checkpoints", largest_input=len(checkpoint_bytes["real"])):
        fuzz()


def test_checkpoint_zip_bomb_and_oversized_model_are_refused(tmp_path: Path, checkpoint_bytes) -> None:
    from livepose.runtime.checkpoint import load_checkpoint

    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (64 << 20))
    with pytest.raises(LivePoseError, match="compressed zip entry"):
        load_checkpoint(bomb)
    payload = torch.load(io.BytesIO(checkpoint_bytes["stub"]), weights_only=True)
    payload["model"] = {**payload["model"], "backbone": "resnet50", "head_channels": 4096, "head_layers": 16}
    torch.save(payload, tmp_path / "huge.pt")
    before = peak_rss_mb()
    with pytest.raises(LivePoseError, match="weights do not fit the network"):
        load_checkpoint(tmp_path / "huge.pt")  # building it would take 38 GB
    assert peak_rss_mb() - before < 200


# ------------------------------------------------------------------------------------------------------------
# Configuration values
# ------------------------------------------------------------------------------------------------------------
SPECS = st.one_of(st.text(max_size=20), st.sampled_from(["realsense", "realsense:", "realsense:0", "kinect",
                                                          "kinect:x", "kinect:-1", "synthetic:hand",
                                                          "synthetic:body", "synthetic:", "synthetic:cat", ":", "",
                                                          "C:/x.db3", "x.mcap", "x.bag", "x.png", "\0"]),
                  st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(["realsense", "kinect", "synthetic", "x"]),
                            st.text(max_size=10)))
FPS = st.one_of(st.none(), st.floats(), st.integers(-5, 2000), st.sampled_from([0.5, 30, 1e300]))


def test_fuzz_config_values() -> None:
    from livepose.a2j.model import A2JConfig
    from livepose.calibration import CropSettings
    from livepose.sources import make_source

    @settings(FUZZ, max_examples=CASES["config"])
    @given(which=st.sampled_from(["source", "intrinsics", "crop", "model"]), spec=SPECS, fps=FPS,
           camera=st.one_of(st.none(), st.text(max_size=10), st.sampled_from(["sr305", "nyu", "../x", "\0"])),
           flags=st.tuples(st.booleans(), st.booleans()), values=st.dictionaries(st.sampled_from(
               ["fx", "fy", "cx", "cy", "width", "height", "depth_unit_mm", "method", "xy_thres_mm", "depth_thres",
                "subtract_centre", "depth_scale", "mean", "std", "num_joints", "backbone", "is_3d", "head_channels",
                "head_layers"]), NUMBERS, max_size=12))
    def fuzz(which: str, spec: str, fps, camera, flags, values: dict) -> None:
        with case("config"):
            if which == "source":
                source = make_source(spec, realtime=flags[0], loop=flags[1], fps=fps, camera=camera)
                assert source.description
            elif which == "intrinsics":
                Intrinsics.from_dict(values, source="fuzz")
            elif which == "crop":
                CropSettings.from_dict(values, source="fuzz")
            else:
                try:
                    A2JConfig.from_dict(values)
                except (TypeError, ValueError, OverflowError) as exc:  # load_checkpoint turns these into one line
                    raise LivePoseError(str(exc)) from None

    with bounded_memory("config"):
        fuzz()


# ------------------------------------------------------------------------------------------------------------
# The command line: one clear line, a non-zero exit, no traceback
# ------------------------------------------------------------------------------------------------------------
def cli_cases(tmp: Path, model: Path, corpus: dict[str, bytes]) -> dict[str, list[list[str]]]:
    """A few damaged inputs per reader, as command lines."""
    folder = tmp / "folder"
    folder.mkdir()
    write(folder, "camera.json", json.dumps({"camera": CAMERA.to_dict()}))
    write(folder, "0.png", png16(32, 24))
    bad_png = tmp / "bad_png"
    bad_png.mkdir()
    write(bad_png, "camera.json", json.dumps({"camera": CAMERA.to_dict()}))
    write(bad_png, "0.png", png_claiming(2 ** 31 - 1, 5))
    half = corpus["session"][: len(corpus["session"]) // 3]
    m = ["--model", str(model), "--headless"]
    cases = {
        "sessions": [["replay", str(write(tmp, "cut.mcap", b"\x89MCAP0\r\n" + half[8:100])), *m],
                     ["export-session", str(write(tmp, "junk.mcap", b"\x89MCAP0\r\n" + b"\xff" * 64)), "--to",
                      str(tmp / "out")],
                     ["replay", str(write(tmp, "text.mcap", "not a session")), *m]],
        "realsense": [["live", "--source", str(write(tmp, "junk.db3", b"SQLite format 3\0" + b"\xff" * 200)), *m],
                      ["live", "--source", str(write(tmp, "junk.bag", b"#ROSBAG V2.0\n" + b"\xff" * 300)), *m],
                      ["live", "--source", str(write(tmp, "empty.db3", b"")), *m]],
        "folders": [["live", "--source", str(bad_png), *m],
                    ["live", "--source", str(tmp / "nowhere"), *m],
                    ["live", "--source", str(folder), "--camera", str(write(tmp, "x.txt", "x")), *m]],
        "cameras": [["live", "--source", str(folder), "--camera",
                     str(write(tmp, "nan.json", '{"camera": {"fx": NaN}}')), *m],
                    ["live", "--source", str(folder), "--camera", str(write(tmp, "list.json", "[1, 2]")), *m],
                    ["live", "--source", str(folder), "--camera", str(write(tmp, "bin.json", b"\xff\xfe\0")), *m]],
        "checkpoints": [["live", "--source", str(folder), "--model", str(write(tmp, "evil.pt", corpus["evil"])),
                         "--headless"],
                        ["export", "--model", str(write(tmp, "cut.pt", corpus["real"][:5000])), "--format", "onnx"],
                        ["live", "--source", str(folder), "--model", str(write(tmp, "bomb.pt", corpus["bomb"])),
                         "--headless"]],
        "config": [["live", "--source", str(folder), "--fps", "nan", *m],
                   ["live", "--source", "kinect:abc", *m],
                   ["live", "--source", str(folder), "--websocket", "70000", *m],
                   ["live", "--source", str(folder), "--max-frames", "-3", *m],
                   ["live", "--source", str(folder), "--osc", "no-port", *m]],
    }
    return {reader: commands[:CLI_CASES] for reader, commands in cases.items()}


def test_cli_cases_print_one_line_and_exit_non_zero(tmp_path: Path, small_model: Path, session_bytes: bytes,
                                                    checkpoint_bytes: dict[str, bytes]) -> None:
    import pickle

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", b"\0" * (1 << 20))
    corpus = {"session": session_bytes, "real": checkpoint_bytes["real"], "evil": pickle.dumps(_Evil()),
              "bomb": bomb.getvalue()}
    cases = cli_cases(tmp_path, small_model, corpus)
    commands = [(reader, command) for reader, group in cases.items() for command in group]
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    processes = []
    for reader, command in commands:  # two at a time: the machine has few cores
        processes.append((reader, command, subprocess.Popen([sys.executable, "-m", "livepose.cli", *command],
                                                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                                            stderr=subprocess.PIPE, text=True)))
        if len(processes) >= 2:
            _check_cli(*processes.pop(0))
    for item in processes:
        _check_cli(*item)
    assert not (tmp_path / "pwned").exists()


def _check_cli(reader: str, command: list[str], process: subprocess.Popen) -> None:
    try:
        stdout, stderr = process.communicate(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    lines = [line for line in stderr.splitlines() if line.strip()]
    TIMINGS[f"cli:{reader}"].append(0.0)
    OUTCOMES[f"cli:{reader}"][f"exit {process.returncode}"] += 1
    assert process.returncode == 2, (command, stderr)
    assert "Traceback" not in stderr, (command, stderr)
    assert lines and lines[-1].startswith(f"livepose {command[0]}: error: "), (command, stderr)
    assert "pwned" not in stdout
