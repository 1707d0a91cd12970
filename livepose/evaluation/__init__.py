"""Accuracy evaluation against published labels (mean error, success rate, ITOP mAP).

Use :func:`evaluate_files` from Python, or ``livepose evaluate`` from the shell.
"""

from livepose.evaluation.evaluate import evaluate_arrays, evaluate_files
from livepose.evaluation.formats import load_joints
from livepose.evaluation.protocols import DATASETS, Protocol, get_protocol
from livepose.evaluation.report import format_report, write_json
from livepose.evaluation.result import EvaluationResult

__all__ = [
    "DATASETS",
    "EvaluationResult",
    "Protocol",
    "evaluate_arrays",
    "evaluate_files",
    "format_report",
    "get_protocol",
    "load_joints",
    "write_json",
]
