"""``livepose live``: depth in, 3D joints out, from a camera, a recording or a folder.

Headless: ``livepose live --source SPEC [--model M] --headless [--out predictions.jsonl] [--max-frames N]``
writes one JSON line per processed frame into ``--out`` (see
:mod:`livepose.outputs.jsonl`) and prints a summary (frames, FPS, p50/p99
latency, drops) on stderr at the end.

Without ``--headless`` the live viewer (:mod:`livepose.viewer`) opens on the
same engine; ``--out`` and ``--record`` work as headless (a thread drains the
results for ``--out``, so the window never holds the pipeline up), and
``--screenshot FILE.png`` saves the window once ``--max-frames`` frames are
processed, then exits. With no display (and Qt not told to render
offscreen) the command warns in one line and runs headless.

Streaming (:mod:`livepose.outputs.streaming`): ``--osc HOST:PORT``,
``--websocket PORT`` (``--websocket-host``, default 127.0.0.1) and ``--lsl``
send every result, One Euro smoothed unless ``--no-smoothing``; ``--out``
and ``--record`` keep the raw joints (for evaluation).

Runs on the main thread (the GUI thread with the viewer); the engine owns its
two worker threads.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from contextlib import ExitStack
from pathlib import Path

from livepose.errors import LivePoseError

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``live`` and ``replay`` on ``subparsers``."""
    live = subparsers.add_parser("live", help="track a hand live from a camera, a recording or a folder",
                                 description="Depth in, 3D joints out. SPEC: realsense[:SERIAL], kinect, a "
                                 "RealSense recording (.bag, .db3), a livepose session (.mcap), a folder of depth "
                                 "PNGs with a camera.json.")
    live.add_argument("--source", metavar="SPEC", help="depth source (default: a connected RealSense, else the "
                      "bundled demo recording, else synthetic:hand)")
    add_run_options(live)
    live.set_defaults(func=run)
    replay = subparsers.add_parser("replay", help="play a recorded session back through the same pipeline",
                                   description="Replay a livepose session (.mcap) through the engine: every "
                                   "frame in lock-step unless --realtime or --loop.")
    replay.add_argument("session", metavar="FILE", help="session file (.mcap) written by livepose live --record")
    add_run_options(replay)
    replay.set_defaults(func=run_replay)
    return live


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options ``live`` and ``replay`` share."""
    parser.add_argument("--model", metavar="M", help="livepose checkpoint (default: the shipped hand model; "
                        "models/body15.pt tracks bodies)")
    parser.add_argument("--alt-model", metavar="M", help="a second checkpoint loaded beside --model (a body model "
                        "beside a hand model, say); the viewer's M key switches between them")
    parser.add_argument("--layout", metavar="NAME", help="write and stream a hand21 model's joints in another "
                        "layout: nyu14 (NYU's order), icvl16, hands21, msra21 (the viewer keeps hand21)")
    parser.add_argument("--headless", action="store_true", help="no window; write results with --out")
    parser.add_argument("--out", metavar="FILE", help="write one JSON line per processed frame ('-' = stdout)")
    parser.add_argument("--record", metavar="FILE.mcap", help="record depth frames and predictions to a session")
    parser.add_argument("--max-frames", type=int, metavar="N", help="stop after N processed frames")
    parser.add_argument("--realtime", action="store_true", help="play files at their recorded speed, dropping "
                        "frames the pipeline cannot keep up with (default for files: every frame, lock-step)")
    parser.add_argument("--loop", action="store_true", help="play files in a loop (implies real time)")
    parser.add_argument("--fps", type=float, help="frame rate for folders and synthetic sources")
    parser.add_argument("--camera", metavar="FILE", help="camera file (calibration JSON) for a folder source")
    parser.add_argument("--device", default="cpu", help="device for the network: cpu, cuda, cuda:N (cuda runs the "
                        "FP16 CUDA-graph pipeline)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "fp16"), help="network precision "
                        "(auto: fp16 on CUDA, fp32 on the CPU; --precision fp32 opts out of FP16)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime", "cuda-graph"),
                        help="inference backend (auto: onnxruntime on the CPU, exported once and cached; "
                        "cuda-graph on CUDA; an .onnx --model always runs on onnxruntime)")
    # Streaming outputs (livepose.outputs.streaming): smoothed unless --no-smoothing; --out stays raw.
    parser.add_argument("--osc", metavar="HOST:PORT", help="send joints as OSC bundles over UDP (see README)")
    parser.add_argument("--websocket", type=int, metavar="PORT", help="serve joints as JSON over a WebSocket on "
                        "PORT (0: any free port, printed at start)")
    parser.add_argument("--websocket-host", default="127.0.0.1", metavar="HOST", help="interface the WebSocket "
                        "server listens on (default 127.0.0.1, this machine only; 0.0.0.0: every interface)")
    parser.add_argument("--lsl", action="store_true", help="publish joints as a Lab Streaming Layer outlet "
                        "(pip install livepose[lsl])")
    parser.add_argument("--no-smoothing", action="store_true", help="stream and draw the network's raw joints "
                        "(the One Euro filter is on by default for --osc, --websocket, --lsl and the viewer; --out "
                        "and --record are never smoothed)")
    parser.add_argument("--screenshot", metavar="FILE.png", help="viewer: save the window once the run ends (use "
                        "with --max-frames), with FILE.json beside it (view geometry, counts), then exit")
    # Tests: an artificially slow window (sleeps this long after drawing each result).
    parser.add_argument("--viewer-delay-ms", type=float, default=0.0, help=argparse.SUPPRESS)


def run_replay(args: argparse.Namespace) -> int:
    if Path(args.session).suffix != ".mcap":
        raise LivePoseError(f"{args.session}: replay plays livepose sessions (.mcap); use live --source for other "
                            "recordings")
    args.source = args.session
    return run(args)


def _default_source(args: argparse.Namespace) -> str:
    """The embedded default: a connected RealSense, else the bundled demo recording (looped), else the
    synthetic hand. Says which on stderr."""
    from livepose.recording.demo import DEMO_SESSION
    from livepose.sources.realsense import list_realsense_devices

    try:
        devices = list_realsense_devices()
    except LivePoseError:
        devices = []
    if devices:
        choice, why = "realsense", f"the connected RealSense {devices[0]}"
    elif DEMO_SESSION.is_file():
        choice = str(DEMO_SESSION)
        why = f"no RealSense connected: playing the bundled demo recording {DEMO_SESSION.name} in a loop"
        args.loop = True
    else:
        choice, why = "synthetic:hand", "no RealSense connected and no demo recording: a synthetic hand"
    sys.stderr.write(f"livepose live: source: {why}\n")
    return choice


def run(args: argparse.Namespace) -> int:
    if args.max_frames is not None and args.max_frames < 1:
        raise LivePoseError(f"--max-frames {args.max_frames}: expected a positive number of frames")
    if args.fps is not None and not 0 < args.fps <= 1000:
        raise LivePoseError(f"--fps {args.fps}: expected a frame rate between 0 and 1000")
    use_viewer = _use_viewer(args)
    from livepose.outputs.jsonl import JsonLinesWriter
    from livepose.pipeline.engine import Engine
    from livepose.recording.writer import SessionRecorder
    from livepose.runtime.default_model import default_hand_model
    from livepose.runtime.predictor import Predictor
    from livepose.sources import make_source

    spec = args.source or _default_source(args)
    predictor = Predictor.from_checkpoint(str(args.model or default_hand_model()), device=args.device,
                                          precision=args.precision, backend=args.backend)
    args.models = [predictor]
    if args.alt_model:
        args.models.append(Predictor.from_checkpoint(str(args.alt_model), device=args.device,
                                                     precision=args.precision, backend=args.backend))
    source = make_source(spec, realtime=args.realtime or args.loop, loop=args.loop, fps=args.fps,
                         camera=args.camera)
    from livepose.layout_convert import check_target, convert_result

    layout = args.layout or predictor.layout
    check_target(predictor.layout, layout)
    # --layout converts the --model's results; an --alt-model's (another layout) pass as they are.
    args.convert = None if layout == predictor.layout else (
        lambda r: convert_result(r, layout, source.intrinsics) if r.layout == predictor.layout else r)
    recorder = SessionRecorder(args.record) if args.record else None
    with ExitStack() as stack:
        out_stream = None
        if args.out == "-":
            out_stream = sys.stdout
        elif args.out:
            try:
                out_stream = stack.enter_context(Path(args.out).open("w", encoding="utf-8"))
            except OSError as exc:
                raise LivePoseError(f"{args.out}: cannot write ({exc.strerror})") from None
        writer = JsonLinesWriter(out_stream) if out_stream is not None else None
        stack.enter_context(source)
        from livepose.outputs.streaming import StreamOutputs

        streams = StreamOutputs.open(osc=args.osc, websocket=args.websocket, websocket_host=args.websocket_host,
                                     lsl=args.lsl, smoothing=not args.no_smoothing, layout=layout)
        stack.callback(streams.close)
        args.streams = streams
        for output in streams.outputs:
            sys.stderr.write(f"livepose {args.command}: streaming to {output.description}\n")
        if recorder is not None:
            recorder.start()
            stack.callback(recorder.stop)
        lockstep = not (args.realtime or args.loop or source.is_live)
        engine = Engine(source, predictor, lockstep=lockstep,
                        max_frames=args.max_frames, recorder=recorder)
        previous = signal.signal(signal.SIGTERM, lambda *_: engine.stop())
        try:
            engine.start()
            if use_viewer:
                _run_viewer(args, engine, predictor, source, writer, recorder)
            else:
                _drain(engine, writer, streams, args.convert)
        except KeyboardInterrupt:
            log.warning("interrupted")
        finally:
            engine.stop()
            signal.signal(signal.SIGTERM, previous)
            if writer is not None:
                writer.close()
        if recorder is not None:
            recorder.stop()
            sys.stderr.write(f"livepose {args.command}: {recorder.summary()}\n")
        for toggled in getattr(args, "viewer_recordings", []):
            if toggled is not recorder:
                sys.stderr.write(f"livepose {args.command}: {toggled.summary()}\n")
        sys.stderr.write(f"livepose {args.command}: {source.description}: {engine.stats.summary(engine.dropped)}\n")
        for line in streams.summaries():
            sys.stderr.write(f"livepose {args.command}: {line}\n")
        if engine.stats.error:
            raise LivePoseError(engine.stats.error)
        if engine.stats.captured == 0:
            raise LivePoseError(f"{spec}: no readable frame")
    return 0


def _drain(engine, writer, streams=None, convert=None) -> None:
    """Take every result the engine gives (all of them in lock-step) and write it with ``--out`` (raw joints)
    and to the streaming outputs (smoothed unless --no-smoothing); ``convert`` (--layout) maps each result to
    another joint layout first."""
    for result in engine.results():
        if convert is not None:
            result = convert(result)
        if writer is not None:
            writer.write(result)
        if streams:
            streams.send(result)


def _use_viewer(args: argparse.Namespace) -> bool:
    """Whether to open the window: not with --headless, nor without a display (one warning line)."""
    if args.headless:
        if args.screenshot:
            raise LivePoseError("--screenshot saves the viewer window; it does not go with --headless")
        return False
    from livepose.viewer import display_problem

    problem = display_problem()
    if problem is None:
        return True
    if args.screenshot:
        raise LivePoseError(f"--screenshot needs a window, but there is {problem}; on a machine without a "
                            "screen, run it under xvfb-run")
    log.warning("%s: running headless (the viewer needs a display)", problem)
    return False


def _run_viewer(args: argparse.Namespace, engine, predictor, source, writer, recorder) -> None:
    """Open the window on the started engine; a thread drains the results for --out meanwhile."""
    import threading

    from livepose.viewer import run_viewer
    from livepose.viewer.window import ModelView, ViewerOptions

    drainer = threading.Thread(target=_drain, args=(engine, writer, getattr(args, "streams", None),
                                                    getattr(args, "convert", None)),
                               name="livepose-output", daemon=True)
    drainer.start()
    models = [ModelView.of(p) for p in getattr(args, "models", [predictor])]
    options = ViewerOptions(
        screenshot=Path(args.screenshot) if args.screenshot else None, delay_ms=args.viewer_delay_ms,
        record_dir=Path(args.record).parent if args.record else Path.cwd(), recorder=recorder,
        crop_size=models[0].crop_size, band_mm=models[0].band_mm, device=models[0].device, model=models[0].text,
        smoothing=not args.no_smoothing, models=models)
    try:
        report = run_viewer(engine, options, source.description)
        args.viewer_recordings = report.recordings
    finally:
        engine.stop()
        drainer.join()
