"""Joints over a WebSocket: one JSON message per frame, for web pages, Unity, Node...

``livepose live --websocket PORT`` serves ``ws://127.0.0.1:PORT/`` (any
path). It listens on the loopback interface only, unless ``--websocket-host``
names another (``0.0.0.0`` for every interface: anyone on the network can
then read the joints).

Messages (text frames, strict JSON; ``null`` for unknown numbers):

1. On connect, once: ``{"schema": "livepose.hello/1", "livepose": VERSION,
   "pose_schema": "livepose.pose/2", "layout": NAME, "joints": [names],
   "bones": [[a, b], ...], "bone_colours": [[r, g, b], ...]}`` (joint indices;
   0-255 colours; ``layout`` to ``bone_colours`` null when the server does not
   know the layout).
2. Per processed frame, ``schema`` ``"livepose.pose/2"`` with the fields of a
   headless output line (:mod:`livepose.outputs.jsonl`): ``frame``,
   ``t_device_ms``, ``t_host_ms``, ``layout``, ``found`` (and ``reason`` when
   false), ``joints_mm`` (J x [x, y, z], camera frame mm: x right, y down, z
   forward), ``joints_uvd``, ``confidence`` (J, 0-1), ``timings_ms``,
   ``dropped`` (the engine's), ``handedness`` (``"left"``, ``"right"`` or
   ``"unknown"``: estimated from the chirality of the joints, see
   :mod:`livepose.handedness`, averaged over the tracked hand's last second
   when the stream is smoothed; ``"unknown"`` when ambiguous, when no hand was
   found and for bodies), ``handedness_confidence`` (0-1: 0 no idea, below 0.5
   the side is ``"unknown"``); plus ``smoothed`` (whether the joints went
   through the One Euro filter).

The version in ``schema`` changes only when a field changes meaning or goes
away; new fields may appear without a change. ``livepose.pose/2`` differs
from ``/1`` only in ``handedness``: ``"unknown"`` where ``/1`` had null (it was
always null), and the new ``handedness_confidence``; every other field is
unchanged.

Clients need not send anything; whatever they send is read and ignored. A
message over ``max_message_bytes`` (1 kB) closes that connection (1009), as
does a malformed frame (1002) or invalid UTF-8 text (1007). At most
``max_clients`` (8) at once: more are refused with HTTP 503. At most
``4 x max_clients`` TCP connections at once, handshakes included (a
handshake must finish within 5 s): more are dropped as they connect, so that
a flood of idle connections cannot exhaust the process's file descriptors.

Threads: the server runs its own asyncio loop on a daemon thread. :meth:`send`
is called from the engine's consumer thread: it encodes the message once and
hands it to the loop, which appends it to each client's queue of
``queue_size`` (8) messages; a full queue drops its oldest message and counts
it for that client. Each connection's kernel send buffer is kept small
(``send_buffer_bytes``, 32 kB, about a second of frames) so that a client
that stops reading reaches its queue, and drops, within a second or two.
A client that reads slowly or not at all therefore never stalls the engine
or the other clients.
"""

from __future__ import annotations

import asyncio
import collections
import http
import json
import logging
import socket
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from livepose.errors import LivePoseError
from livepose.handedness import Handedness
from livepose.outputs.jsonl import output_record
from livepose.types import PoseResult

log = logging.getLogger(__name__)

POSE_SCHEMA = "livepose.pose/2"
HELLO_SCHEMA = "livepose.hello/1"


def result_message(result: PoseResult, handedness: Handedness | None = None) -> dict[str, Any]:
    """The ``livepose.pose/2`` message of one result (a dict ready for ``json.dumps``); ``handedness`` is
    estimated from the result's joints unless given."""
    return {"schema": POSE_SCHEMA, **output_record(result, handedness),
            "smoothed": bool(getattr(result, "smoothed", False))}


def hello_message(layout: str | None) -> dict[str, Any]:
    """The ``livepose.hello/1`` message sent to each client on connect."""
    from livepose import __version__
    from livepose.skeletons import get_layout

    joints = bones = colours = None
    if layout is not None:
        try:
            info = get_layout(layout)
            joints, bones = list(info.joints), [list(b) for b in info.bones]
            colours = [list(c) for c in info.bone_colours]
        except LivePoseError:
            pass
    return {"schema": HELLO_SCHEMA, "livepose": __version__, "pose_schema": POSE_SCHEMA, "layout": layout,
            "joints": joints, "bones": bones, "bone_colours": colours}


@dataclass
class ClientStats:
    """What the server knows about one client (read from any thread)."""

    address: str
    sent: int = 0
    dropped: int = 0
    connected: bool = True
    close_code: int | None = None


@dataclass
class _Client:
    connection: Any
    stats: ClientStats
    queue: collections.deque = field(default_factory=collections.deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class WebSocketServer:
    """A WebSocket server streaming one JSON message per frame (see the module docstring)."""

    def __init__(self, port: int, host: str = "127.0.0.1", layout: str | None = None, max_clients: int = 8,
                 queue_size: int = 8, max_message_bytes: int = 1024, send_buffer_bytes: int = 32768) -> None:
        if not 0 <= int(port) < 65536:
            raise LivePoseError(f"--websocket {port}: expected a port between 1 and 65535 (0: any free port)")
        if max_clients < 1 or queue_size < 1:
            raise ValueError("max_clients and queue_size must be at least 1")
        self.host, self.port = host, int(port)
        self.layout = layout
        self.max_clients = max_clients
        self.max_connections = 4 * max_clients  # TCP connections at once, handshakes included
        self.queue_size = queue_size
        self.max_message_bytes = max_message_bytes
        self.send_buffer_bytes = send_buffer_bytes
        self.clients: list[ClientStats] = []  # every client seen, in connection order
        self.refused = 0
        self.messages = 0
        self._active: dict[int, _Client] = {}
        self._connections: weakref.WeakSet = weakref.WeakSet()  # every connection, for a forced shutdown
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopped: asyncio.Event | None = None
        self._error: BaseException | None = None

    # -- owner thread -----------------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> WebSocketServer:
        """Bind and start serving; raises LivePoseError when the port cannot be had."""
        try:
            import websockets  # noqa: F401
        except ImportError:  # pragma: no cover - a dependency of livepose
            raise LivePoseError("--websocket needs the websockets library: pip install websockets") from None
        self._thread = threading.Thread(target=self._run, name="livepose-websocket", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise LivePoseError(f"--websocket {self.port}: the server did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join(1.0)
            error = self._error
            raise LivePoseError(f"--websocket {self.host}:{self.port}: cannot listen ({error})") from None
        return self

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def description(self) -> str:
        return f"WebSocket {self.url}"

    @property
    def connected(self) -> int:
        return sum(1 for c in self.clients if c.connected)

    def send(self, result: PoseResult, handedness: Handedness | None = None) -> None:
        """Queue one frame for every client; returns at once (never waits for a client). ``handedness``:
        see :func:`result_message`."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self.messages += 1
        if not self._active:  # nobody listening: do not even encode it
            return
        text = json.dumps(result_message(result, handedness), separators=(",", ":"), allow_nan=False)
        try:
            loop.call_soon_threadsafe(self._fan_out, text)
        except RuntimeError:  # the loop closed in between
            pass

    def close(self, timeout: float = 5.0) -> None:
        """Close every connection (1001) and stop the server thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and self._stopped is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._stopped.set)
            except RuntimeError:
                pass
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def summary(self) -> str:
        drops = sum(c.dropped for c in self.clients)
        return (f"{self.description}: {self.messages} frames, {len(self.clients)} clients served, "
                f"{self.refused} refused, {drops} messages dropped for slow clients")

    def __enter__(self) -> WebSocketServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- server thread ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start() or logged
            if not self._ready.is_set():
                self._error = exc
            else:
                log.exception("WebSocket server failed")
        finally:
            self._ready.set()
            self._loop = None
            loop.close()

    async def _main(self) -> None:
        from websockets.asyncio.server import ServerConnection, serve
        from websockets.protocol import State

        self._open = State.OPEN
        self._stopped = asyncio.Event()
        owner = self

        class LimitedConnection(ServerConnection):
            """Drops a TCP connection at once when max_connections are already open (handshaking or served)."""

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                super().connection_made(transport)
                if len(self.server.handler_tasks) > owner.max_connections:
                    owner.refused += 1
                    transport.abort()

        server = await serve(self._handle, self.host, self.port, process_request=self._admit, compression=None,
                             max_size=self.max_message_bytes, max_queue=4, write_limit=16384, open_timeout=5,
                             close_timeout=1, ping_interval=20, ping_timeout=20, logger=log.getChild("server"),
                             create_connection=LimitedConnection)
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            server.close()  # closes every connection with 1001 (going away)
            try:
                await asyncio.wait_for(server.wait_closed(), 1.0)
            except asyncio.TimeoutError:  # clients that do not answer the close: drop them
                for connection in list(self._connections):
                    if connection.transport is not None:
                        connection.transport.abort()
                try:
                    await asyncio.wait_for(server.wait_closed(), 1.0)
                except asyncio.TimeoutError:
                    log.warning("WebSocket: some connections did not close in time")
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

    def _admit(self, connection, request):
        self._connections.add(connection)
        if len(self._active) >= self.max_clients:
            self.refused += 1
            return connection.respond(http.HTTPStatus.SERVICE_UNAVAILABLE,
                                      f"livepose: too many clients (at most {self.max_clients})\n")
        return None

    def _fan_out(self, text: str) -> None:
        for client in self._active.values():
            if client.connection.state is not self._open:  # closing: nothing more to send it
                continue
            if len(client.queue) >= self.queue_size:
                client.queue.popleft()
                client.stats.dropped += 1
            client.queue.append(text)
            client.wake.set()

    async def _handle(self, connection) -> None:
        from websockets.exceptions import ConnectionClosed

        if len(self._active) >= self.max_clients:  # admitted together with others in the same instant
            self.refused += 1
            await connection.close(1013, "too many clients")
            return
        address = connection.remote_address
        stats = ClientStats(address=f"{address[0]}:{address[1]}" if address else "?")
        client = _Client(connection, stats)
        sock = connection.transport.get_extra_info("socket") if connection.transport is not None else None
        if sock is not None and self.send_buffer_bytes:
            # A small kernel buffer: a client that stops reading backs up into its (bounded, counted) queue
            # after about a second of frames instead of megabytes of stale ones.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        self.clients.append(stats)
        # Taken before the first await, so that connections admitted in the same instant can never all pass the
        # check above while each waits for its hello to go out.
        self._active[id(client)] = client
        sender = None
        try:
            await connection.send(json.dumps(hello_message(self.layout), separators=(",", ":")))
            sender = asyncio.create_task(self._send_loop(client))
            async for _ in connection:  # clients need not send; anything they do send is ignored
                pass
        except ConnectionClosed:
            pass
        finally:
            self._active.pop(id(client), None)
            if sender is not None:
                sender.cancel()
            stats.connected = False
            stats.close_code = connection.close_code
            log.info("WebSocket client %s left (code %s): %d frames sent, %d dropped", stats.address,
                     stats.close_code, stats.sent, stats.dropped)

    async def _send_loop(self, client: _Client) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                await client.wake.wait()
                client.wake.clear()
                while client.queue:
                    await client.connection.send(client.queue.popleft())
                    client.stats.sent += 1
        except ConnectionClosed:
            pass
