"""Receive livepose's OSC stream and print the joints (python-osc, installed with livepose).

Run the receiver, then the tracker pointed at it::

    .venv/bin/python examples/osc_receiver.py --port 9000
    .venv/bin/livepose live --source synthetic:hand --headless --osc 127.0.0.1:9000

Each frame arrives as one bundle: ``/livepose/frame`` (frame, found, layout, t_device_ms, t_host_ms,
smoothed) and, when a hand was found, ``/livepose/handedness`` (left / right / unknown, confidence) and one
``/livepose/joint/<name>`` (x, y, z mm, confidence) per joint.
``--frames N`` stops after N frames (0: run until Ctrl-C); ``--joints`` picks the joints printed.
"""

from __future__ import annotations

import argparse
import sys

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer


def say(line: str, stream=None) -> None:
    stream = stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


class _Server(BlockingOSCUDPServer):
    timed_out = False

    def handle_timeout(self) -> None:
        self.timed_out = True


class Printer:
    """Collects the messages of one bundle (one frame) and prints them as one line."""

    def __init__(self, joints: list[str], frames: int) -> None:
        self.joints = joints
        self.frames = frames
        self.seen = 0
        self.current: dict | None = None

    def on_frame(self, _address: str, frame: int, found: int, layout: str, t_device_ms: float, t_host_ms: float,
                 smoothed: int = 0) -> None:
        self.flush()
        self.current = {"frame": frame, "found": bool(found), "layout": layout, "t_device_ms": t_device_ms,
                        "smoothed": bool(smoothed), "handedness": None, "joints": {}}

    def on_handedness(self, _address: str, side: str, confidence: float) -> None:
        if self.current is not None:
            self.current["handedness"] = (side, confidence)

    def on_joint(self, address: str, x: float, y: float, z: float, confidence: float) -> None:
        if self.current is not None:
            self.current["joints"][address.rsplit("/", 1)[-1]] = (x, y, z, confidence)

    def flush(self) -> None:
        frame = self.current
        if frame is None:
            return
        self.current = None
        self.seen += 1
        if not frame["found"]:
            say(f"frame {frame['frame']}: no hand")
            return
        shown = [name for name in self.joints if name in frame["joints"]] or list(frame["joints"])[:1]
        parts = [f"{name} ({x:7.1f}, {y:7.1f}, {z:7.1f}) mm c={c:.2f}"
                 for name in shown for x, y, z, c in [frame["joints"][name]]]
        side = ""
        if frame["handedness"] is not None:
            side = f", {frame['handedness'][0]} hand ({frame['handedness'][1]:.2f})"
        say(f"frame {frame['frame']} [{frame['layout']}, {len(frame['joints'])} joints{side}"
            f"{', smoothed' if frame['smoothed'] else ''}]: " + "; ".join(parts))

    @property
    def done(self) -> bool:
        return self.frames > 0 and self.seen >= self.frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the joints livepose sends over OSC.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9000, help="UDP port (default 9000)")
    parser.add_argument("--joints", default="wrist,index_tip", help="comma-separated joint names to print")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (default: never)")
    parser.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds without a "
                        "packet (default: wait forever)")
    args = parser.parse_args(argv)

    printer = Printer([j.strip() for j in args.joints.split(",") if j.strip()], args.frames)
    dispatcher = Dispatcher()
    dispatcher.map("/livepose/frame", printer.on_frame)
    dispatcher.map("/livepose/handedness", printer.on_handedness)
    dispatcher.map("/livepose/joint/*", printer.on_joint)
    server = _Server((args.host, args.port), dispatcher)
    if args.timeout > 0:
        server.timeout = args.timeout
    say(f"listening for livepose OSC on {args.host}:{server.server_address[1]}", sys.stderr)
    try:
        while not printer.done:
            server.handle_request()  # one datagram: one whole frame (a bundle)
            printer.flush()
            if server.timed_out:
                say(f"no packet within {args.timeout:g} s", sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
