"""Joints over OSC (Open Sound Control) on UDP, for Max/MSP, Pure Data, TouchDesigner, Unity, SuperCollider...

``livepose live --osc HOST:PORT`` sends **one OSC bundle per processed
frame** (time tag "immediately") to HOST:PORT, holding:

==============================  =========================================================================
address                         arguments
==============================  =========================================================================
``/livepose/frame``             ``frame`` (int), ``found`` (int, 1 or 0), ``layout`` (string),
                                ``t_device_ms`` (double, NaN if unknown), ``t_host_ms`` (double),
                                ``smoothed`` (int, 1 or 0)
``/livepose/handedness``        ``side`` (string: ``left``, ``right`` or ``unknown``), ``confidence``
                                (float, 0-1; see :mod:`livepose.handedness`: averaged over the last
                                second when smoothed); only when found
``/livepose/joint/<name>``      ``x``, ``y``, ``z`` (float, camera frame mm: x right, y down, z forward),
                                ``confidence`` (float, 0-1); one message per joint, only when found
==============================  =========================================================================

``<name>`` is the joint's name in the layout (``hand21``: ``wrist``,
``thumb_cmc`` ... ``index_tip`` ... ``little_tip``; see
:mod:`livepose.skeletons`). A frame without a target has only
``/livepose/frame`` with ``found`` 0. A ``hand21`` bundle is about 1.3 kB, one
UDP datagram below the Ethernet MTU. Frames go out in order; UDP may lose or
reorder them, which is what live joints want (the next frame is on its way).

``examples/osc_receiver.py`` is a receiver that prints them.

Sending never blocks: the socket is non-blocking, and a datagram the system
cannot take (buffer full, network unreachable) is dropped and counted in
``errors``. Used from one thread (the engine's consumer).
"""

from __future__ import annotations

import logging
import math
import socket

import numpy as np

from livepose.errors import LivePoseError
from livepose.handedness import result_handedness
from livepose.skeletons import get_layout
from livepose.types import PoseResult

log = logging.getLogger(__name__)

PREFIX = "/livepose"
FRAME_ADDRESS = f"{PREFIX}/frame"
HANDEDNESS_ADDRESS = f"{PREFIX}/handedness"
JOINT_ADDRESS = f"{PREFIX}/joint/"  # + joint name


def parse_host_port(text: str, option: str = "--osc") -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT`` for localhost; ``[::1]:PORT`` for IPv6) as (host, port)."""
    value = str(text).strip()
    host, sep, port_text = value.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", value
    host = host.strip("[]") or "127.0.0.1"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise LivePoseError(f"{option} {text!r}: expected HOST:PORT with a port between 1 and 65535")
    return host, int(port_text)


def _require_python_osc():
    try:
        from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder
    except ImportError:  # pragma: no cover - a dependency of livepose
        raise LivePoseError("OSC output needs python-osc: pip install python-osc") from None
    return IMMEDIATELY, OscBundleBuilder, OscMessageBuilder


class OscSender:
    """Sends one OSC bundle per result to ``host:port`` over UDP (see the module docstring)."""

    def __init__(self, host: str, port: int) -> None:
        self._immediately, self._bundle_builder, self._message_builder = _require_python_osc()
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise LivePoseError(f"--osc {host}:{port}: cannot resolve {host!r} ({exc})") from None
        family, _, _, _, address = infos[0]
        self.host, self.port = host, port
        self._address = address
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.setblocking(False)
        self.sent = 0
        self.errors = 0
        self._last_error = ""
        self._names: dict[str, list[str]] = {}

    @property
    def description(self) -> str:
        return f"OSC to {self.host}:{self.port}"

    def _joint_addresses(self, layout: str) -> list[str]:
        if layout not in self._names:
            try:
                names = get_layout(layout).joints
            except LivePoseError:
                names = ()
            self._names[layout] = [JOINT_ADDRESS + name for name in names]
        return self._names[layout]

    def bundle(self, result: PoseResult) -> bytes:
        """The datagram for one result."""
        builder = self._bundle_builder(self._immediately)
        frame = self._message_builder(FRAME_ADDRESS)
        frame.add_arg(int(result.frame_number), "i")
        frame.add_arg(int(bool(result.found)), "i")
        frame.add_arg(str(result.layout), "s")
        frame.add_arg(float(result.t_device_ms), "d")  # doubles: float32 keeps only ~0.5 ms at an hour
        frame.add_arg(float(result.t_host_ms), "d")
        frame.add_arg(int(bool(getattr(result, "smoothed", False))), "i")
        builder.add_content(frame.build())
        if result.found:
            side = result_handedness(result)
            hand = self._message_builder(HANDEDNESS_ADDRESS)
            hand.add_arg(side.label, "s")
            hand.add_arg(float(side.confidence), "f")
            builder.add_content(hand.build())
            joints = np.asarray(result.joints_mm, dtype=np.float64)
            confidence = np.asarray(result.confidence, dtype=np.float64)
            addresses = self._joint_addresses(result.layout)
            if len(addresses) != len(joints):  # a layout this build does not name: number the joints
                addresses = [f"{JOINT_ADDRESS}{i}" for i in range(len(joints))]
            for address, (x, y, z), c in zip(addresses, joints.tolist(), confidence.tolist(), strict=True):
                message = self._message_builder(address)
                for value in (x, y, z, c):
                    message.add_arg(value if math.isfinite(value) else float("nan"), "f")
                builder.add_content(message.build())
        return builder.build().dgram

    def send(self, result: PoseResult) -> None:
        """Send one frame; never blocks and never raises for network trouble (counted in ``errors``)."""
        data = self.bundle(result)
        try:
            self._sock.sendto(data, self._address)
            self.sent += 1
        except OSError as exc:  # BlockingIOError (buffer full), unreachable network, refused...
            self.errors += 1
            if str(exc) != self._last_error:
                self._last_error = str(exc)
                log.warning("OSC to %s:%s: %s (frames are dropped and counted)", self.host, self.port, exc)

    def summary(self) -> str:
        return f"{self.description}: {self.sent} bundles sent, {self.errors} not sent"

    def close(self) -> None:
        self._sock.close()
