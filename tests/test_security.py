"""Security: local-only network outputs, a WebSocket server that limits what clients can do, checkpoints that
never run pickled code, and no path from a file or the network to a shell.

The code checks read livepose's own source (every module, by AST), so code added later is held to the same
rules.
"""

from __future__ import annotations

import ast
import asyncio
import io
import json
import pickle
import socket
import time
import zipfile
from pathlib import Path

import pytest
import torch

from livepose.errors import LivePoseError
from livepose.outputs.websocket import HELLO_SCHEMA, WebSocketServer

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "livepose"


# ------------------------------------------------------------------------------------------------------------
# Network outputs bind to this machine unless asked
# ------------------------------------------------------------------------------------------------------------
def test_websocket_listens_on_loopback_by_default() -> None:
    from livepose.cli import build_parser

    args = build_parser().parse_args(["live", "--websocket", "0"])
    assert args.websocket_host == "127.0.0.1"
    with WebSocketServer(0) as server:
        bound = {sock.getsockname()[0] for sock in server._server.sockets}
        assert bound == {"127.0.0.1"}
        # another interface of this machine cannot reach it
        outside = _non_loopback_address()
        if outside is not None:
            with socket.socket() as probe:
                probe.settimeout(2)
                assert probe.connect_ex((outside, server.port)) != 0


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET: no packet is sent, the kernel picks the outgoing interface
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_no_network_default_binds_every_interface() -> None:
    """No function default, bind() or serve() in livepose names every interface ("0.0.0.0", "::" or "")."""
    offenders = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for default in node.args.defaults + node.args.kw_defaults:
                    if isinstance(default, ast.Constant) and default.value in ("0.0.0.0", "::"):
                        offenders.append(f"{path}:{node.lineno} default {default.value!r}")
            if isinstance(node, ast.Call) and _name(node.func).split(".")[-1] in ("bind", "serve", "create_server"):
                for arg in ast.walk(node):
                    if isinstance(arg, ast.Constant) and arg.value in ("0.0.0.0", "::", ""):
                        offenders.append(f"{path}:{node.lineno} {_name(node.func)}({arg.value!r})")
    assert not offenders, offenders


# ------------------------------------------------------------------------------------------------------------
# The WebSocket server refuses what it should
# ------------------------------------------------------------------------------------------------------------
def _handshake(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply:
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 101"), reply
    return sock


def _close_code(sock: socket.socket) -> int | None:
    """Read server frames until a close frame; its code (None if the connection just ended)."""
    data = b""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            return None
        if not chunk:
            break
        data += chunk
        while len(data) >= 2:
            opcode, length = data[0] & 0x0F, data[1] & 0x7F
            start = 2
            if length == 126:
                length, start = int.from_bytes(data[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(data[2:10], "big"), 10
            if len(data) < start + length:
                break
            payload, data = data[start:start + length], data[start + length:]
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
    return None


def _masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    mask = b"\x01\x02\x03\x04"
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([0x80 | len(payload)])
    elif len(payload) < 65536:
        head += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("frames, code", [
    ([_masked(0x1, b"\xff\xfe not utf-8")], 1007),                          # invalid UTF-8 text
    ([_masked(0x1, b"x" * 2000)], 1009),                                     # oversize message
    ([_masked(0x1, b"x" * 600, fin=False), _masked(0x0, b"x" * 600)], 1009),  # oversize across fragments
    ([_masked(0x3, b"?")], 1002),                                            # reserved opcode
    ([b"\x81\x05hello"], 1002),                                              # unmasked client frame
    ([_masked(0x9, b"p" * 200)], 1002),                                      # control frame over 125 bytes
])
def test_websocket_closes_on_malformed_or_oversize_client_messages(frames: list[bytes], code: int) -> None:
    with WebSocketServer(0, layout="hand21") as server:
        sock = _handshake(server.port)
        for frame in frames:
            sock.sendall(frame)
        assert _close_code(sock) == code
        sock.close()
        # the server goes on serving
        from websockets.sync.client import connect

        with connect(server.url) as ws:
            assert json.loads(ws.recv(timeout=10))["schema"] == HELLO_SCHEMA


def test_websocket_limits_clients_arriving_together() -> None:
    from websockets.asyncio.client import connect

    async def one(url: str, outcomes: list[str]) -> None:
        try:
            async with connect(url, open_timeout=20) as ws:
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["schema"] == HELLO_SCHEMA
                outcomes.append("served")
                await asyncio.sleep(1.0)  # all of them at once
        except Exception as exc:  # noqa: BLE001 - refused: HTTP 503 or closed with 1013
            outcomes.append(type(exc).__name__)

    async def crowd(url: str) -> list[str]:
        outcomes: list[str] = []
        await asyncio.gather(*[one(url, outcomes) for _ in range(24)])
        return outcomes

    with WebSocketServer(0, layout="hand21", max_clients=3) as server:
        outcomes = asyncio.run(crowd(server.url))
        assert outcomes.count("served") == 3 and len(outcomes) == 24
        assert server.refused >= 21


def test_websocket_drops_a_flood_of_idle_connections() -> None:
    """Idle TCP connections (no handshake) beyond 4 x max_clients are dropped as they arrive, and handshakes
    that never come time out, after which real clients are served again."""
    with WebSocketServer(0, layout="hand21", max_clients=2) as server:
        flood = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(40)]
        try:
            time.sleep(0.5)
            dropped = 0
            for sock in flood:
                sock.settimeout(0.2)
                try:
                    dropped += sock.recv(1) == b""
                except ConnectionResetError:
                    dropped += 1
                except TimeoutError:
                    pass
            assert dropped >= 40 - server.max_connections - 1
        finally:
            for sock in flood:
                sock.close()
        from websockets.sync.client import connect

        deadline = time.monotonic() + 30
        while True:
            try:
                with connect(server.url, open_timeout=10) as ws:
                    assert json.loads(ws.recv(timeout=10))["schema"] == HELLO_SCHEMA
                break
            except Exception:  # noqa: BLE001 - still full of half-open connections: wait for their timeout
                assert time.monotonic() < deadline
                time.sleep(0.5)


# ------------------------------------------------------------------------------------------------------------
# Checkpoints never run pickled code
# ------------------------------------------------------------------------------------------------------------
class _Touch:
    """Unpickling this would create a file: the proof that pickled code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _evil_files(tmp_path: Path, sentinel: Path) -> dict[str, bytes]:
    files = {}
    buffer = io.BytesIO()
    torch.save(_Touch(sentinel), buffer)  # zip format, code at the top level
    files["zip"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save({"format": "livepose-a2j", "version": 1, "state_dict": {"w": _Touch(sentinel)}}, buffer)
    files["zip-nested"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.save(_Touch(sentinel), buffer, _use_new_zipfile_serialization=False)  # the legacy format
    files["legacy"] = buffer.getvalue()
    files["pickle"] = pickle.dumps(_Touch(sentinel), protocol=2)  # a bare pickle named .pt
    archive = io.BytesIO()  # the pickle hidden in a hand-made zip
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("archive/data.pkl", pickle.dumps(_Touch(sentinel), protocol=2))
        out.writestr("archive/version", "3\n")
    files["handmade-zip"] = archive.getvalue()
    return files


def test_checkpoint_loading_never_runs_pickled_code(tmp_path: Path) -> None:
    from livepose.runtime.checkpoint import load_checkpoint
    from livepose.runtime.safe_load import safe_torch_load

    sentinel = tmp_path / "pwned"
    for name, content in _evil_files(tmp_path, sentinel).items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        for loader in (load_checkpoint, safe_torch_load):
            with pytest.raises(LivePoseError) as refused:
                loader(path)
            assert str(path) in str(refused.value) and "\n" not in str(refused.value)
        assert not sentinel.exists(), f"{name}: pickled code ran"
    # the same object does run code through plain pickle: the test would notice
    pickle.loads(pickle.dumps(_Touch(sentinel)))
    assert sentinel.exists()


def test_official_weights_and_evaluation_files_load_without_pickles(tmp_path: Path) -> None:
    from livepose.a2j.official import load_official

    sentinel = tmp_path / "pwned"
    path = tmp_path / "NYU.pth"
    path.write_bytes(_evil_files(tmp_path, sentinel)["legacy"])
    with pytest.raises(LivePoseError):
        load_official(path, num_joints=14)
    assert not sentinel.exists()


# ------------------------------------------------------------------------------------------------------------
# Nothing reaches a shell; nothing is unpickled unsafely
# ------------------------------------------------------------------------------------------------------------
def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path.relative_to(REPO), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


FORBIDDEN_CALLS = {"os.system", "os.popen", "os.execl", "os.execle", "os.execlp", "os.execv", "os.execve",
                   "os.execvp", "os.spawnl", "os.spawnv", "os.startfile", "eval", "exec", "compile",
                   "pickle.load", "pickle.loads", "pickle.Unpickler", "marshal.load", "marshal.loads", "shelve.open",
                   "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "yaml.load",
                   "yaml.unsafe_load", "jsonpickle.decode", "commands.getoutput", "pty.spawn"}
SUBPROCESS_CALLS = {"subprocess.run", "subprocess.Popen", "subprocess.call", "subprocess.check_call",
                    "subprocess.check_output", "subprocess.getoutput", "subprocess.getstatusoutput"}


def test_no_shell_no_eval_no_unsafe_unpickling_in_livepose() -> None:
    offenders = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _name(node.func)
            where = f"{path}:{node.lineno} {name}"
            if name in FORBIDDEN_CALLS:
                offenders.append(where)
            shell = _keyword(node, "shell")
            if shell is not None and not (isinstance(shell, ast.Constant) and shell.value is False):
                offenders.append(f"{where} shell=...")
            if name in SUBPROCESS_CALLS:
                if name in ("subprocess.getoutput", "subprocess.getstatusoutput") or not node.args \
                        or not isinstance(node.args[0], (ast.List, ast.Tuple)):
                    offenders.append(f"{where}: the command must be a literal list of arguments")
            if name.endswith("torch.load"):
                weights_only = _keyword(node, "weights_only")
                if not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
                    offenders.append(f"{where} without weights_only=True")
            if name in ("np.load", "numpy.load"):
                allow = _keyword(node, "allow_pickle")
                if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                    offenders.append(f"{where} allow_pickle")
    assert not offenders, offenders


def test_the_one_subprocess_gets_the_path_as_a_single_argument(tmp_path: Path, monkeypatch) -> None:
    """livepose.sources.rs_probe is the only place livepose starts a process: a file name full of shell syntax
    reaches it as one argument and nothing else."""
    pytest.importorskip("pyrealsense2")
    from livepose.sources.rs_probe import probe_recording

    monkeypatch.chdir(tmp_path)  # where a shell would create the file
    name = tmp_path / "x.bag; touch pwned && echo $(touch pwned) `touch pwned` | sh"
    name.write_bytes(b"#ROSBAG V2.0\n")
    probe_recording(name)  # the SDK refuses it (exit 3): no error here, and no shell
    assert not (tmp_path / "pwned").exists()
    calls = [(path, node.lineno) for path, tree in _modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and _name(node.func) in SUBPROCESS_CALLS]
    assert all(str(path).endswith("rs_probe.py") for path, _ in calls), calls
