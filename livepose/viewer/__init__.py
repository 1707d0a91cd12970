"""The live viewer: a Qt window with the 3D scene, the depth image, a HUD and controls.

``livepose live`` (and ``run_live.py``, ``make run``) open it unless
``--headless``. It is fed by a running :class:`~livepose.pipeline.engine.Engine`
and never slows it: it polls :meth:`Engine.latest_with_frame` on a Qt timer
and skips what it had no time to draw.

- :func:`display_problem`: why no window can open here (None when one can),
  checked before anything imports Qt.
- :func:`run_viewer`: open the window on a started engine; returns when the
  window closes (which stops the engine).

:mod:`livepose.viewer.scene` (point cloud, anchors, colours) and
:mod:`livepose.viewer.hud` (rates, HUD text) are plain numpy / Python and
import without Qt. PyQt5, pyqtgraph and PyOpenGL are imported only by
:func:`run_viewer`.
"""

from __future__ import annotations

import os
import sys

HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb")

# pyqtgraph binds to the first Qt it finds; the viewer is written for PyQt5 (set before window.py imports it).
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PyQt5")


def display_problem() -> str | None:
    """Why a window cannot open in this process (no display, Qt missing), or None when it can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip().lower()
    if platform in HEADLESS_PLATFORMS or sys.platform in ("win32", "darwin"):
        pass
    elif os.environ.get("WAYLAND_DISPLAY"):
        pass
    else:
        display = os.environ.get("DISPLAY", "")
        if not display:
            return "no display (DISPLAY and WAYLAND_DISPLAY are unset)"
        host, _, number = display.rpartition(":")
        number = number.split(".")[0]
        if host in ("", "unix") and number.isdigit() and not _x_server_listening(int(number)):
            return f"no X server on display {display}"
    try:
        import PyQt5.QtWidgets  # noqa: F401
        import pyqtgraph.opengl  # noqa: F401
    except Exception as exc:  # ImportError, or a missing system library
        return f"the viewer's packages do not load ({type(exc).__name__}: {exc})"
    if sys.platform.startswith("linux") and platform in ("", "xcb"):
        return _xcb_plugin_problem()
    return None


def _xcb_plugin_problem() -> str | None:
    """Qt aborts the process when its X11 plugin cannot load (a missing libxcb-*): try loading it first."""
    import ctypes
    from pathlib import Path

    import PyQt5

    plugin = Path(PyQt5.__file__).parent / "Qt5" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return None  # a Qt from elsewhere (a distribution's PyQt5): let Qt find its own
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return f"Qt's X11 plugin does not load ({exc}; `make setup` as root installs the system libraries)"
    return None


def _x_server_listening(number: int) -> bool:
    """Whether a local X server accepts connections on display ``number`` (Linux's abstract socket, then the
    socket file)."""
    import socket

    addresses = [f"/tmp/.X11-unix/X{number}"]
    if sys.platform.startswith("linux"):
        addresses.insert(0, f"\0/tmp/.X11-unix/X{number}")
    for address in addresses:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2.0)
            try:
                probe.connect(address)
            except OSError:
                continue
            return True
    return False


def run_viewer(engine, options, source: str):
    """Show ``engine`` (already started) in a window until the window closes; returns a ViewerReport.

    SIGINT and SIGTERM close the window (and so stop the engine) while it is open.
    """
    import signal

    from PyQt5 import QtCore, QtWidgets

    from livepose.viewer.window import ViewerWindow

    QtCore.QCoreApplication.setAttribute(QtCore.Qt.AA_ShareOpenGLContexts)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["livepose"])
    window = ViewerWindow(engine, options, source)
    window.show()
    handlers = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        handlers[signum] = signal.signal(signum, lambda *_: window.close())
    try:
        app.exec_()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        window.close()
    return window.report


__all__ = ["display_problem", "run_viewer"]
