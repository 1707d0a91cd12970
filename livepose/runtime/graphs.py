"""CUDA graphs for fixed-shape work: capture a callable once per shape, then replay it with one launch.

A callable here takes no arguments and reads and writes only tensors that
were allocated before capture (static buffers); its results are ``copy_``-ed
into such buffers, so a replay leaves them where the caller reads them. All
graphs of one :class:`GraphCache` share a memory pool (safe: they replay one
at a time on one stream and keep no tensor of the pool alive).

Without CUDA, or with ``enabled=False``, :meth:`GraphCache.run` just calls the
callable (the same code path, eagerly) - that is how the tests run it on the
CPU. A capture that fails (an operation that cannot be captured) logs one
warning and turns graphs off for the cache; results stay correct, only slower.

Threads: one thread at a time (the one that owns the pipeline); capture uses
``capture_error_mode="thread_local"`` so other threads' CUDA work does not
break it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable

import torch

log = logging.getLogger(__name__)

WARMUP_RUNS = 3  # eager runs before capture: cuDNN autotuning and lazy initialisation happen here


class GraphCache:
    """Captured CUDA graphs keyed by the caller (usually a shape), at most ``max_graphs`` kept (oldest dropped).

    Args:
        device: the device the work runs on.
        enabled: capture graphs (only honoured on CUDA devices).
        stream: the stream the work is issued on (a non-default CUDA stream; None off CUDA).
    """

    def __init__(self, device: torch.device, enabled: bool = True, stream: torch.cuda.Stream | None = None,
                 max_graphs: int = 8) -> None:
        self.device = device
        self.enabled = bool(enabled) and device.type == "cuda"
        self.stream = stream
        self.max_graphs = max_graphs
        self._graphs: OrderedDict[Hashable, torch.cuda.CUDAGraph] = OrderedDict()
        self._pool = torch.cuda.graph_pool_handle() if self.enabled else None

    def run(self, key: Hashable, fn: Callable[[], None]) -> None:
        """Replay the graph captured for ``key`` (capturing it from ``fn`` the first time), or call ``fn``.

        Must be called inside ``torch.cuda.stream(self.stream)`` on CUDA, after the inputs were copied on
        that stream.
        """
        if not self.enabled:
            fn()
            return
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._capture(fn)
            if graph is None:
                fn()
                return
            self._graphs[key] = graph
            while len(self._graphs) > self.max_graphs:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(key)
        graph.replay()

    def _capture(self, fn: Callable[[], None]) -> torch.cuda.CUDAGraph | None:
        try:
            for _ in range(WARMUP_RUNS):  # on self.stream, a side stream as capture requires
                fn()
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=self._pool, stream=self.stream, capture_error_mode="thread_local"):
                fn()
            return graph
        except RuntimeError as exc:
            log.warning("CUDA graph capture failed, running without graphs (%s)", str(exc).splitlines()[0][:200])
            self.enabled = False
            self._graphs.clear()
            return None

    def clear(self) -> None:
        """Drop every captured graph (their memory returns to the pool)."""
        self._graphs.clear()
