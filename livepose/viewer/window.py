"""The viewer window: a 3D view, a 2D depth view, a HUD and controls, fed by an engine on a Qt timer.

Threads: everything here runs on the GUI (main) thread. The only contact
with the engine threads is :meth:`Engine.latest_with_frame` (a one-slot
mailbox: when the window is slower than the pipeline it simply finds a newer
pair next time, and the engine counts the skipped ones as ``viewer``
drops), the engine's counters and ``source_state`` (read only),
:meth:`Engine.set_recorder` for the record toggle and :meth:`Engine.use_model`
for the model switch.

Keys: Space pause / resume the display, N show the next result while paused,
R reset the 3D view, P / A / O toggle point cloud / anchors / 2D overlay,
0 anchors of all joints, 1-9 of the joint with that number, [ and ] the
previous / next joint, M switch between the loaded models (``livepose live --alt-model``: a hand and
a body model), Ctrl+R start / stop recording, Q or Esc close.
Mouse in the 3D view: drag to orbit, middle-drag (or Ctrl+drag) to pan,
wheel to zoom.

Smoothing: the window draws the joints through its own One Euro filter
(:mod:`livepose.outputs.smoothing`, the streams' parameters) unless
``ViewerOptions.smoothing`` is off (``livepose live --no-smoothing``). It
filters every result it takes from the mailbox (shown or skipped while
paused), timed by the results' own timestamps, so the results the window
never sees only lengthen the step. Anchors keep the network's raw joints
(they are where its votes went); ``--out`` and recordings are never smoothed.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph.opengl as gl  # bound to PyQt5 by livepose.viewer (PYQTGRAPH_QT_LIB)
from OpenGL import GL
from PyQt5 import QtCore, QtGui, QtWidgets

from livepose.outputs.smoothing import OneEuroParams, PoseSmoother
from livepose.recording.writer import SessionRecorder
from livepose.skeletons import get_layout
from livepose.types import DepthFrame, PoseResult
from livepose.viewer import scene
from livepose.viewer.hud import HudState, RateMeter, hud_text, recent_p50

log = logging.getLogger(__name__)

TICK_MS = 15  # how often the window polls the engine
HUD_INTERVAL_S = 0.25
WINDOW_SIZE = (1280, 720)
BACKGROUND = (18, 20, 26)
ON_TOP = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True, GL.GL_CULL_FACE: False,
          "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)}


BODY_BAND_MM = 300.0  # anchor depth band for box (body) models, which have no depth threshold


@dataclass(frozen=True)
class ModelView:
    """One loaded model, as the window shows and switches it.

    Attributes:
        predictor: the :class:`~livepose.runtime.predictor.Predictor` handed to
            :meth:`Engine.use_model <livepose.pipeline.engine.Engine.use_model>` on a switch.
        layout: its joint layout (results say which model produced them by their layout).
        text: the HUD's model text ("hand21.pt (hand21)").
        device: the HUD's device text ("CPU onnxruntime FP32").
        crop_size: (width, height) of its network input, to place the anchors.
        band_mm: anchors take the surface depth within this distance of their joint's depth.
    """

    predictor: object
    layout: str
    text: str
    device: str
    crop_size: tuple[int, int]
    band_mm: float

    @classmethod
    def of(cls, predictor) -> ModelView:
        """The view of a :class:`~livepose.runtime.predictor.Predictor`."""
        crop = predictor.crop_settings
        band = float(crop.depth_thres) if crop.depth_thres else BODY_BAND_MM
        return cls(predictor, predictor.layout, f"{predictor.name} ({predictor.layout})", predictor.label,
                   (crop.width, crop.height), band)


@dataclass
class ViewerOptions:
    """How the window runs.

    Attributes:
        screenshot: save the window here (PNG) once the engine has ended, then close.
        delay_ms: sleep this long after drawing each result (tests: an artificially slow window).
        record_dir: where the record toggle writes ``livepose-YYYYmmdd-HHMMSS.mcap`` sessions.
        recorder: a recording already running (``--record``); the toggle stops it.
        crop_size: (width, height) of the network input, to place the anchors.
        band_mm: anchors take the surface depth within this distance of their joint's depth.
        device: the HUD's device text ("CPU FP32"...).
        model: the HUD's model text (checkpoint name and layout).
        smoothing: draw One Euro smoothed joints (True: default parameters; False: the network's raw joints).
        models: the loaded models, the engine's current one first; with two or more, M switches (and each
            result's anchors use the crop size and band of the model of its layout, falling back to
            ``crop_size`` and ``band_mm``).
    """

    screenshot: Path | None = None
    delay_ms: float = 0.0
    record_dir: Path = field(default_factory=Path.cwd)
    recorder: SessionRecorder | None = None
    crop_size: tuple[int, int] = (176, 176)
    band_mm: float = scene.DEFAULT_BAND_MM
    device: str = ""
    model: str = ""
    smoothing: bool | OneEuroParams = True
    models: list[ModelView] = field(default_factory=list)


@dataclass
class ViewerReport:
    """What the window did: results received from the engine, drawn, skipped while paused, recordings."""

    received: int = 0
    rendered: int = 0
    paused_skipped: int = 0
    recordings: list[SessionRecorder] = field(default_factory=list)
    screenshot: Path | None = None


def _finite_or_none(values: np.ndarray) -> list:
    """Nested lists of floats rounded to 0.001, NaN as None (for the screenshot's JSON)."""
    array = np.asarray(values, np.float64)
    return np.where(np.isfinite(array), np.round(array, 3), None).tolist()


def _rgba(colours: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    colours = np.asarray(colours, np.float32).reshape(-1, 3) / 255.0
    return np.concatenate((colours, np.full((len(colours), 1), alpha, np.float32)), axis=1)


class DepthView(QtWidgets.QWidget):
    """The 2D view: the depth image (grey, near is light) with crop box, anchors and 2D skeleton."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QtWidgets.QSizePolicy.Expanding, QtWidgets.QSizePolicy.Preferred)
        self.show_overlay = True
        self._grey: np.ndarray | None = None
        self._image: QtGui.QImage | None = None
        self._result: PoseResult | None = None
        self._anchor_uv = np.zeros((0, 2))
        self._anchor_colours = np.zeros((0, 3), np.uint8)
        self._anchor_sizes = np.zeros(0)
        self._anchor_weights = np.zeros(0)
        self._layout = None
        self._joint_colours = np.zeros((0, 3), np.uint8)

    def heightForWidth(self, width: int) -> int:  # keep 4:3 where the layout allows
        return width * 3 // 4

    def hasHeightForWidth(self) -> bool:
        return True

    def set_content(self, grey: np.ndarray, result: PoseResult, anchor_uv: np.ndarray, anchor_colours: np.ndarray,
                    anchor_sizes: np.ndarray, anchor_weights: np.ndarray) -> None:
        self._grey = np.ascontiguousarray(grey)
        height, width = self._grey.shape
        self._image = QtGui.QImage(self._grey.data, width, height, width, QtGui.QImage.Format_Grayscale8)
        self._result = result
        if self._layout is None or self._layout.name != result.layout:
            self._layout = get_layout(result.layout)
            self._joint_colours = scene.joint_colours(self._layout)
        self._anchor_uv, self._anchor_colours, self._anchor_sizes = anchor_uv, anchor_colours, anchor_sizes
        self._anchor_weights = anchor_weights
        self.update()

    def anchors(self) -> tuple[np.ndarray, np.ndarray]:
        """The anchors drawn now: (N, 2) image u, v and (N,) weights."""
        return self._anchor_uv, self._anchor_weights

    def image_transform(self) -> tuple[float, float, float]:
        """(x0, y0, scale): image pixel (u, v) (centre of pixel 0 at 0) is drawn at
        (x0 + (u + 0.5) * scale, y0 + (v + 0.5) * scale) in this widget."""
        if self._grey is None:
            return 0.0, 0.0, 1.0
        height, width = self._grey.shape
        scale = min(self.width() / width, self.height() / height)
        return (self.width() - width * scale) / 2, (self.height() - height * scale) / 2, scale

    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), QtGui.QColor(*BACKGROUND))
        if self._image is None:
            painter.setPen(QtGui.QColor(160, 160, 160))
            painter.drawText(self.rect(), QtCore.Qt.AlignCenter, "waiting for the first frame...")
            return
        x0, y0, scale = self.image_transform()
        height, width = self._grey.shape
        painter.drawImage(QtCore.QRectF(x0, y0, width * scale, height * scale), self._image)
        result = self._result
        if not self.show_overlay or result is None:
            return
        painter.setRenderHint(QtGui.QPainter.Antialiasing, True)

        def at(u: float, v: float) -> QtCore.QPointF:
            return QtCore.QPointF(x0 + (u + 0.5) * scale, y0 + (v + 0.5) * scale)

        if result.crop_box is not None:
            bx0, by0, bx1, by1 = result.crop_box
            pen = QtGui.QPen(QtGui.QColor(250, 250, 250), 1.5, QtCore.Qt.DashLine)
            painter.setPen(pen)
            painter.setBrush(QtCore.Qt.NoBrush)
            painter.drawRect(QtCore.QRectF(at(bx0, by0), at(bx1, by1)))
        painter.setPen(QtCore.Qt.NoPen)
        for (u, v), colour, size in zip(self._anchor_uv, self._anchor_colours, self._anchor_sizes, strict=True):
            painter.setBrush(QtGui.QColor(int(colour[0]), int(colour[1]), int(colour[2])))
            radius = 0.5 * size * max(scale, 0.6)
            painter.drawEllipse(at(u, v), radius, radius)
        if not result.found or self._layout is None:
            return
        joints = np.asarray(result.joints_uvd, np.float64)
        line_width = max(2.0, 3.0 * scale)
        for (a, b), colour in zip(self._layout.bones, self._layout.bone_colours, strict=True):
            if np.isfinite(joints[[a, b], :2]).all():
                pen = QtGui.QPen(QtGui.QColor(*colour), line_width)
                pen.setCapStyle(QtCore.Qt.RoundCap)
                painter.setPen(pen)
                painter.drawLine(at(*joints[a, :2]), at(*joints[b, :2]))
        painter.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1.0))
        radius = max(2.5, 3.5 * scale)
        for joint, colour in zip(joints, self._joint_colours, strict=True):
            if np.isfinite(joint[:2]).all():
                painter.setBrush(QtGui.QColor(int(colour[0]), int(colour[1]), int(colour[2])))
                painter.drawEllipse(at(*joint[:2]), radius, radius)


class ViewerWindow(QtWidgets.QMainWindow):
    """The live window (see the module docstring)."""

    def __init__(self, engine, options: ViewerOptions, source: str) -> None:
        super().__init__()
        self.engine = engine
        self.options = options
        self.report = ViewerReport()
        self.setWindowTitle(f"livepose: {source}")
        params = options.smoothing if isinstance(options.smoothing, OneEuroParams) else None
        self._smoother = PoseSmoother(params) if options.smoothing else None
        self._joints_text = "joints One Euro smoothed" if self._smoother is not None else "raw joints"
        # The joints text shares the model's line: the device's ("CPU onnxruntime FP32, flip test") is long.
        self._hud = HudState(source=source, model=f"{options.model}   {self._joints_text}".strip(),
                             device=options.device)
        self._meters = {name: RateMeter() for name in ("capture", "inference", "render")}
        self._last_hud = 0.0
        self._paused = False
        self._step = False
        self._shown: tuple[PoseResult, DepthFrame] | None = None
        self._render_times = (0.0, 0.0)  # first and latest draw (monotonic s)
        self._view_set = False
        self._joint: int | None = None
        self._model_index = 0
        self._anchor_cache: dict[tuple, np.ndarray] = {}
        self._recorder = options.recorder
        if self._recorder is not None:
            self.report.recordings.append(self._recorder)
        self._stoppers: list[threading.Thread] = []
        self._closing = False
        self._build()
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(TICK_MS)

    # -- layout -----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.gl = gl.GLViewWidget()
        self.gl.setBackgroundColor(BACKGROUND)
        self.gl.setMinimumSize(400, 300)
        self.cloud_item = gl.GLScatterPlotItem(pos=np.zeros((1, 3)), size=2.0, pxMode=True)
        self.cloud_item.setGLOptions("opaque")
        self.anchor_item = gl.GLScatterPlotItem(pos=np.zeros((1, 3)), size=6.0, pxMode=True)
        self.anchor_item.setGLOptions(ON_TOP)
        self.anchor_item.setDepthValue(5)
        self.bone_item = gl.GLLinePlotItem(pos=np.zeros((2, 3)), mode="lines", width=4.0, antialias=True)
        self.bone_item.setGLOptions(ON_TOP)
        self.bone_item.setDepthValue(10)
        self.joint_item = gl.GLScatterPlotItem(pos=np.zeros((1, 3)), size=10.0, pxMode=True)
        self.joint_item.setGLOptions(ON_TOP)
        self.joint_item.setDepthValue(11)
        for item in (self.cloud_item, self.anchor_item, self.bone_item, self.joint_item):
            item.setVisible(False)
            self.gl.addItem(item)
        self.depth_view = DepthView()

        self.hud_label = QtWidgets.QLabel()
        font = QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont)
        font.setPointSize(9)
        self.hud_label.setFont(font)
        self.hud_label.setStyleSheet("color: #e6e6e6; background: #12141a; padding: 6px;")
        self.hud_label.setAlignment(QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft)
        self.hud_label.setTextInteractionFlags(QtCore.Qt.NoTextInteraction)

        self.cloud_box = self._check("Point cloud (P)", self._toggle_cloud)
        self.anchor_box = self._check("Anchors (A)", self._toggle_anchors)
        self.overlay_box = self._check("2D overlay (O)", self._toggle_overlay)
        self.joint_combo = QtWidgets.QComboBox()
        self.joint_combo.setFocusPolicy(QtCore.Qt.NoFocus)
        self.joint_combo.addItem("0 all joints")
        self.joint_combo.currentIndexChanged.connect(self._combo_changed)
        self._combo_layout = ""
        self.pause_button = self._button("Pause (Space)", self.toggle_pause)
        self.step_button = self._button("Step (N)", self.step)
        self.record_button = self._button("Record (Ctrl+R)", self.toggle_recording)
        self.reset_button = self._button("Reset view (R)", self.reset_view)
        self.model_button = self._button("Switch model (M)", self.switch_model)
        self.model_button.setEnabled(len(self.options.models) > 1)
        self.model_button.setToolTip("Switch between the models given with --model and --alt-model")

        toggles = QtWidgets.QHBoxLayout()
        for widget in (self.cloud_box, self.anchor_box, self.overlay_box):
            toggles.addWidget(widget)
        joint_row = QtWidgets.QHBoxLayout()
        joint_row.addWidget(QtWidgets.QLabel("Anchors of"))
        joint_row.addWidget(self.joint_combo, 1)
        buttons = QtWidgets.QHBoxLayout()
        for widget in (self.pause_button, self.step_button, self.record_button):
            buttons.addWidget(widget)
        more_buttons = QtWidgets.QHBoxLayout()
        for widget in (self.reset_button, self.model_button):
            more_buttons.addWidget(widget)
        side = QtWidgets.QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.depth_view, 0)
        side.addWidget(self.hud_label, 1)
        side.addLayout(toggles)
        side.addLayout(joint_row)
        side.addLayout(buttons)
        side.addLayout(more_buttons)
        side_widget = QtWidgets.QWidget()
        side_widget.setLayout(side)
        side_widget.setFixedWidth(480)
        self.depth_view.setFixedHeight(360)

        central = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(central)
        row.setContentsMargins(4, 4, 4, 4)
        row.addWidget(self.gl, 1)
        row.addWidget(side_widget, 0)
        self.setCentralWidget(central)
        self.setStyleSheet("QMainWindow, QWidget { background: #1b1e25; color: #e6e6e6; } "
                           "QPushButton { background: #2c313c; border: 1px solid #444a57; padding: 4px 6px; } "
                           "QComboBox { background: #2c313c; }")
        self.resize(*WINDOW_SIZE)

        shortcuts = {"Space": self.toggle_pause, "N": self.step, "R": self.reset_view, "Ctrl+R": self.toggle_recording,
                     "M": self.switch_model,
                     "P": self.cloud_box.toggle, "A": self.anchor_box.toggle, "O": self.overlay_box.toggle,
                     "[": lambda: self._step_joint(-1), "]": lambda: self._step_joint(1),
                     "Q": self.close, "Esc": self.close}
        for number in range(10):
            shortcuts[str(number)] = lambda n=number: self.select_joint(None if n == 0 else n - 1)
        for key, slot in shortcuts.items():
            QtWidgets.QShortcut(QtGui.QKeySequence(key), self, activated=slot)
        self.gl.setFocus()

    def _check(self, text: str, slot) -> QtWidgets.QCheckBox:
        box = QtWidgets.QCheckBox(text)
        box.setChecked(True)
        box.setFocusPolicy(QtCore.Qt.NoFocus)
        box.toggled.connect(slot)
        return box

    def _button(self, text: str, slot) -> QtWidgets.QPushButton:
        button = QtWidgets.QPushButton(text)
        button.setFocusPolicy(QtCore.Qt.NoFocus)
        button.clicked.connect(slot)
        return button

    # -- controls ---------------------------------------------------------------------------------------------
    def toggle_pause(self) -> None:
        self._paused = not self._paused
        self.pause_button.setText("Resume (Space)" if self._paused else "Pause (Space)")
        self._refresh_hud(force=True)

    def step(self) -> None:
        if not self._paused:
            self.toggle_pause()
        self._step = True

    def select_joint(self, joint: int | None) -> None:
        count = self.joint_combo.count() - 1
        if joint is not None and not 0 <= joint < count:
            return
        self.joint_combo.setCurrentIndex(0 if joint is None else joint + 1)

    def _step_joint(self, delta: int) -> None:
        count = self.joint_combo.count()
        self.joint_combo.setCurrentIndex((self.joint_combo.currentIndex() + delta) % count)

    def _combo_changed(self, index: int) -> None:
        self._joint = None if index <= 0 else index - 1
        self._hud.anchor_joint = self.joint_combo.currentText().split(" ", 1)[-1]
        self._redraw()

    def _toggle_cloud(self, on: bool) -> None:
        self.cloud_item.setVisible(on and self._shown is not None)
        self._redraw()

    def _toggle_anchors(self, _: bool) -> None:
        self._redraw()

    def _toggle_overlay(self, on: bool) -> None:
        self.depth_view.show_overlay = on
        self.depth_view.update()

    def toggle_recording(self) -> None:
        if self._recorder is None:
            stem = time.strftime("livepose-%Y%m%d-%H%M%S")
            taken = {r.path.resolve() for r in self.report.recordings}
            path, number = Path(self.options.record_dir) / f"{stem}.mcap", 1
            while path.exists() or path.resolve() in taken:
                number += 1
                path = Path(self.options.record_dir) / f"{stem}-{number}.mcap"
            try:
                recorder = SessionRecorder(path).start()
            except Exception as exc:
                self._hud.status = f"cannot record: {exc}"
                self._refresh_hud(force=True)
                return
            self._recorder = recorder
            self.report.recordings.append(recorder)
            self.engine.set_recorder(recorder)
        else:
            recorder, self._recorder = self._recorder, None
            self.engine.set_recorder(None)
            # stop() writes what is queued and joins the writer: off the GUI thread.
            stopper = threading.Thread(target=recorder.stop, name="livepose-recorder-stop", daemon=True)
            stopper.start()
            self._stoppers.append(stopper)
        self.record_button.setText("Stop recording (Ctrl+R)" if self._recorder else "Record (Ctrl+R)")
        self._refresh_hud(force=True)

    def switch_model(self) -> None:
        """Run the next loaded model (a hand model and a body model, say): the engine's next frame goes
        through it; its results bring their own layout, joint list and anchors."""
        models = self.options.models
        if len(models) < 2:
            self._hud.status = "one model loaded: start with --alt-model to switch"
            self._refresh_hud(force=True)
            return
        self._model_index = (self._model_index + 1) % len(models)
        model = models[self._model_index]
        self.engine.use_model(model.predictor)
        self._hud.model, self._hud.status = f"{model.text}   {self._joints_text}", ""
        self._hud.device = model.device
        self._refresh_hud(force=True)

    def _model_for(self, layout: str) -> ModelView | None:
        return next((m for m in self.options.models if m.layout == layout), None)

    def reset_view(self) -> None:
        """Look at the target from just beside the depth camera, at a distance that fits the crop."""
        centre = np.array([0.0, 1000.0, 0.0])
        distance = 1500.0
        if self._shown is not None:
            result, frame = self._shown
            joints = np.asarray(result.joints_mm, np.float64)
            finite = np.isfinite(joints).all(axis=1)
            if result.found and finite.any():
                centre = scene.to_view(np.median(joints[finite], axis=0)).astype(np.float64)
                depth = float(np.median(joints[finite, 2]))
                if result.crop_box is not None:
                    x0, y0, x1, y1 = result.crop_box
                    size_mm = max((x1 - x0) / frame.intrinsics.fx, (y1 - y0) / frame.intrinsics.fy) * depth
                    distance = max(2.0 * size_mm, 250.0)  # the whole box in view: a hand's or a person's
                else:
                    distance = 0.6 * depth
        self.gl.setCameraPosition(pos=QtGui.QVector3D(*centre), distance=distance, elevation=12.0, azimuth=-105.0)

    # -- the timer --------------------------------------------------------------------------------------------
    def _tick(self) -> None:
        try:
            self._poll()
        except Exception:  # an exception escaping a Qt slot would abort the process
            log.exception("viewer failed; closing the window")
            self.close()

    def _poll(self) -> None:
        running = self.engine.running  # before taking: once the threads are gone, every result is in the mailbox
        pair = self.engine.latest_with_frame()
        if pair is not None:
            self.report.received += 1
            if self._smoother is not None:
                pair = (self._smoother(pair[0]), pair[1])
            if self._paused and not self._step:
                self.report.paused_skipped += 1
            else:
                self._step = False
                self._show(*pair)
        ended = not running and pair is None
        if ended and not self._hud.status and self.options.screenshot is None:
            error = self.engine.stats.error
            self._hud.status = f"engine stopped: {error}" if error else "source ended; close the window to quit"
            self._refresh_hud(force=True)
        else:
            self._refresh_hud()
        if ended and self.options.screenshot is not None and self.report.screenshot is None:
            self.save_screenshot(self.options.screenshot)
            self.close()

    def _show(self, result: PoseResult, frame: DepthFrame) -> None:
        self._shown = (result, frame)
        if self._combo_layout != result.layout:  # the first result, or another model's
            self._fill_joint_combo(result.layout)
            self._view_set = False  # a hand and a body need different viewpoints
        self._redraw()
        if not self._view_set and result.found:
            self.reset_view()
            self._view_set = True
        self.report.rendered += 1
        self._render_times = (self._render_times[0] or time.monotonic(), time.monotonic())
        if self.options.delay_ms > 0:
            time.sleep(self.options.delay_ms / 1000.0)

    def _fill_joint_combo(self, layout_name: str) -> None:
        layout = get_layout(layout_name)
        self.joint_combo.blockSignals(True)
        self.joint_combo.clear()
        self.joint_combo.addItem("0 all joints")
        for index, name in enumerate(layout.joints):
            self.joint_combo.addItem(f"{index + 1} {name}")
        self.joint_combo.setCurrentIndex(0)
        self.joint_combo.blockSignals(False)
        self._joint = None
        self._combo_layout = layout_name

    def _anchor_uv(self, result: PoseResult) -> np.ndarray | None:
        if result.anchor_weights is None or result.crop_box is None:
            return None
        model = self._model_for(result.layout)
        width, height = model.crop_size if model is not None else self.options.crop_size
        key = (result.anchor_weights.shape[0], width, height)
        if key not in self._anchor_cache:
            self._anchor_cache[key] = scene.anchor_crop_positions(*key)
        row_col = self._anchor_cache[key]
        x_min, y_min, x_max, y_max = result.crop_box
        return np.stack((row_col[:, 1] * (x_max - x_min) / width + x_min,
                         row_col[:, 0] * (y_max - y_min) / height + y_min), axis=-1)

    def _redraw(self) -> None:
        """Draw the shown result (again: after a new result or a changed toggle)."""
        if self._shown is None:
            return
        result, frame = self._shown
        depth_mm = frame.depth_mm()
        intrinsics = frame.intrinsics
        self._hud.frame_number, self._hud.found, self._hud.reason = result.frame_number, result.found, result.reason
        self._hud.latency_last_ms = result.timings_ms.get("latency", math.nan)

        if self.cloud_box.isChecked():
            cloud = scene.point_cloud(depth_mm, intrinsics, result.crop_box)
            self.cloud_item.setData(pos=scene.to_view(cloud.xyz), color=scene.cloud_colours(cloud))
            self.cloud_item.setVisible(len(cloud.xyz) > 0)
        else:
            self.cloud_item.setVisible(False)

        joint_colours = scene.joint_colours(get_layout(result.layout))
        if result.found and np.isfinite(result.joints_mm).all(axis=1).any():
            joints = np.asarray(result.joints_mm, np.float64)
            finite = np.isfinite(joints).all(axis=1)
            self.joint_item.setData(pos=scene.to_view(joints[finite]), color=_rgba(joint_colours[finite]))
            ends, colours = scene.bone_segments(scene.to_view(joints), get_layout(result.layout))
            self.joint_item.setVisible(True)
            self.bone_item.setVisible(len(ends) > 0)
            if len(ends):
                self.bone_item.setData(pos=ends, color=_rgba(colours))
        else:
            self.joint_item.setVisible(False)
            self.bone_item.setVisible(False)

        anchor_uv = np.zeros((0, 2))
        anchor_colours = np.zeros((0, 3), np.uint8)
        anchor_sizes = np.zeros(0)
        anchor_weights = np.zeros(0)
        self._hud.anchors_shown = 0
        all_uv = self._anchor_uv(result) if result.found else None
        if all_uv is not None:
            anchors = scene.informative_anchors(result.anchor_weights, self._joint)
            self._hud.anchors_shown = len(anchors.index)
            if self.anchor_box.isChecked() and len(anchors.index):
                anchor_uv = all_uv[anchors.index]
                anchor_colours = scene.anchor_colours(anchors.weight)
                anchor_sizes = scene.anchor_sizes(anchors.weight)
                anchor_weights = anchors.weight
                raw_uvd = getattr(result, "raw_joints_uvd", None)
                model = self._model_for(result.layout)
                band_mm = model.band_mm if model is not None else self.options.band_mm
                points = scene.anchor_points(anchors, all_uv, depth_mm, intrinsics,
                                             result.joints_uvd if raw_uvd is None else raw_uvd, band_mm)
                self.anchor_item.setData(pos=scene.to_view(points), color=_rgba(anchor_colours),
                                         size=anchor_sizes.astype(np.float32))
        self.anchor_item.setVisible(len(anchor_uv) > 0)
        self.depth_view.set_content(scene.depth_to_grey(depth_mm, result.crop_box), result, anchor_uv,
                                    anchor_colours, anchor_sizes, anchor_weights)

    def _refresh_hud(self, force: bool = False) -> None:
        now = time.monotonic()
        stats = self.engine.stats
        self._meters["capture"].update(stats.captured, now)
        self._meters["inference"].update(stats.processed, now)
        self._meters["render"].update(self.report.rendered, now)
        if not force and now - self._last_hud < HUD_INTERVAL_S:
            return
        self._last_hud = now
        hud = self._hud
        hud.capture_fps = self._meters["capture"].rate
        hud.inference_fps = self._meters["inference"].rate
        hud.render_fps = self._meters["render"].rate
        hud.latency_p50_ms = recent_p50(stats.latencies_ms)
        hud.source_state = self.engine.source_state.line()
        hud.dropped = {**self.engine.dropped, "viewer": self.engine.viewer_dropped}
        if self._paused:
            hud.dropped["paused"] = self.report.paused_skipped
        recorder = self._recorder
        hud.recording = ""
        if recorder is not None:
            hud.recording = (f"REC {recorder.path.name}: {recorder.frames_written} frames, dropped "
                             f"{recorder.dropped_frames}" + (f" ({recorder.error})" if recorder.error else ""))
        elif self._paused:
            hud.recording = "PAUSED (Space resumes, N steps)"
        self.hud_label.setText(hud_text(hud))

    # -- screenshot and closing -------------------------------------------------------------------------------
    def save_screenshot(self, path: Path) -> None:
        """Save the whole window (3D view included) as a PNG, and beside it ``<name>.json``: where the views
        are in the image (the 2D view's pixel transform, the 3D view's model-view-projection) and the counts."""
        self._refresh_hud(force=True)
        QtWidgets.QApplication.processEvents()
        pixmap = self.grab()
        # Paint the GL framebuffer over its place: grabbing a window does not always include GL content.
        gl_image = self.gl.grabFramebuffer()
        gl_origin = self.gl.mapTo(self, QtCore.QPoint(0, 0))
        painter = QtGui.QPainter(pixmap)
        painter.drawImage(QtCore.QRect(gl_origin, self.gl.size()), gl_image)
        painter.end()
        path = Path(path)
        if not pixmap.save(str(path), "PNG"):
            raise OSError(f"{path}: cannot write the screenshot")
        self.report.screenshot = path
        depth_origin = self.depth_view.mapTo(self, QtCore.QPoint(0, 0))
        x0, y0, scale = self.depth_view.image_transform()
        region = (0, 0, self.gl.width(), self.gl.height())
        mvp = self.gl.projectionMatrix(region, region) * self.gl.viewMatrix()
        stats = self.engine.stats
        elapsed = max((stats.finished_s or time.monotonic()) - stats.started_s, 1e-9)
        meta = {
            "window": [pixmap.width(), pixmap.height()],
            "depth_view": {"x0": depth_origin.x() + x0, "y0": depth_origin.y() + y0, "scale": scale},
            "gl_view": {"x": gl_origin.x(), "y": gl_origin.y(), "width": self.gl.width(), "height": self.gl.height(),
                        "mvp": [float(v) for v in mvp.copyDataTo()], "frame": "view (X = x, Y = z, Z = -y)"},
            "frame_number": None if self._shown is None else self._shown[0].frame_number,
            "smoothing": self._smoother is not None,
            "smoothed": bool(self._shown is not None and getattr(self._shown[0], "smoothed", False)),
            "joints_mm_drawn": None if self._shown is None else _finite_or_none(self._shown[0].joints_mm),
            "joints_uvd_drawn": None if self._shown is None else _finite_or_none(self._shown[0].joints_uvd),
            "crop_box": None if self._shown is None else self._shown[0].crop_box,
            "anchors_shown": self._hud.anchors_shown,
            "anchors_drawn": [[round(float(u), 2), round(float(v), 2), round(float(w), 4)]
                              for (u, v), w in zip(*self.depth_view.anchors(), strict=True)],
            "captured": stats.captured, "processed": stats.processed, "elapsed_s": elapsed,
            "received": self.report.received, "rendered": self.report.rendered,
            "render_fps": (self.report.rendered - 1) / (self._render_times[1] - self._render_times[0])
            if self.report.rendered > 1 and self._render_times[1] > self._render_times[0] else 0.0,
            "viewer_dropped": self.engine.viewer_dropped, "dropped": self.engine.dropped,
        }
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1))

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        if not self._closing:
            self._closing = True
            self._timer.stop()
            if self._recorder is not None:
                self.engine.set_recorder(None)
                self._recorder.stop()
                self._recorder = None
            for stopper in self._stoppers:
                stopper.join()
            self.engine.stop()
        event.accept()
