"""The streaming outputs of ``livepose live`` (OSC, WebSocket, LSL) behind one object, with smoothing.

:class:`StreamOutputs` smooths each result once (One Euro, unless smoothing is
off) and hands it to every output. The ``--out`` JSON lines and ``--record``
sessions are not streams: they keep the network's raw joints, for evaluation.

Opened and used from the engine's consumer thread (the main thread in
``livepose live``). No output ever blocks it (see each module).
"""

from __future__ import annotations

import logging
from typing import Protocol

from livepose.outputs.smoothing import OneEuroParams, PoseSmoother, unsmoothed
from livepose.types import PoseResult

log = logging.getLogger(__name__)


class StreamOutput(Protocol):
    description: str

    def send(self, result: PoseResult) -> None: ...

    def summary(self) -> str: ...

    def close(self) -> None: ...


class StreamOutputs:
    """Smooth once, send to every output; errors of one output are logged once and counted, never raised."""

    def __init__(self, outputs: list[StreamOutput], smoothing: bool | OneEuroParams = True) -> None:
        self.outputs = list(outputs)
        params = smoothing if isinstance(smoothing, OneEuroParams) else None
        self.smoother = PoseSmoother(params) if smoothing else None
        self.errors = {id(o): 0 for o in self.outputs}

    @classmethod
    def open(cls, *, osc: str | None = None, websocket: int | None = None, websocket_host: str = "127.0.0.1",
             lsl: bool = False, smoothing: bool = True, layout: str | None = None) -> StreamOutputs:
        """Start the outputs asked for (raises LivePoseError, closing what it opened, when one cannot start)."""
        outputs: list[StreamOutput] = []
        try:
            if osc:
                from livepose.outputs.osc import OscSender, parse_host_port

                outputs.append(OscSender(*parse_host_port(osc)))
            if websocket is not None:
                from livepose.outputs.websocket import WebSocketServer

                outputs.append(WebSocketServer(websocket, host=websocket_host, layout=layout).start())
            if lsl:
                from livepose.outputs.lsl import LslOutlet

                outputs.append(LslOutlet(layout or "hand21"))
        except BaseException:
            for output in outputs:
                output.close()
            raise
        for output in outputs:
            log.info("streaming to %s", output.description)
        return cls(outputs, smoothing)

    def __bool__(self) -> bool:
        return bool(self.outputs)

    def send(self, result: PoseResult) -> None:
        if not self.outputs:
            return
        shown = self.smoother(result) if self.smoother is not None else unsmoothed(result)
        for output in self.outputs:
            try:
                output.send(shown)
            except Exception as exc:  # an output failing must not end the run
                self.errors[id(output)] += 1
                if self.errors[id(output)] == 1:
                    log.warning("%s: %s: %s (further errors are counted)", output.description,
                                type(exc).__name__, exc)

    def summaries(self) -> list[str]:
        lines = []
        for output in self.outputs:
            errors = self.errors[id(output)]
            lines.append(output.summary() + (f", {errors} failed" if errors else ""))
        return lines

    def close(self) -> None:
        for output in self.outputs:
            try:
                output.close()
            except Exception as exc:
                log.warning("closing %s: %s", output.description, exc)
