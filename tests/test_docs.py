"""The documentation points at files that exist and quotes the shipped hand model's card as it is.

Reads README.md, docs/*.md and models/hand21.json only; nothing is run.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
REPO_PATH = re.compile(r"`((?:docs|models|calibration|scripts)/[\w./-]+\.(?:png|md|json|pt|sh|yaml))`")


def _relative_links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [target.split("#")[0] for target in LINK.findall(text)
            if not re.match(r"[a-z]+:", target) and not target.startswith("#")]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(REPO).as_posix())
def test_markdown_links_reach_files(path: Path) -> None:
    missing = [target for target in _relative_links(path) if not (path.parent / target).exists()]
    assert not missing, f"{path.name} links to files that do not exist: {missing}"


def test_readme_names_only_files_that_exist() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(REPO_PATH.findall(text))
    assert named, "the README names no docs/ or models/ files: the pattern no longer matches its style"
    placeholder = re.compile(r"[A-Z]{3,}")  # models/NAME.json in a usage line
    missing = sorted(name for name in named if not (REPO / name).exists() and not placeholder.search(name))
    assert not missing, f"README.md names files that do not exist: {missing}"


def _held_out_mm(card: dict) -> dict[str, float]:
    return {entry["split"]["camera"]: entry["mean_error_mm"] for entry in card["held_out"]}


def test_hand_model_figures_in_docs_match_its_card() -> None:
    card_path = REPO / "models" / "hand21.json"
    if not card_path.is_file():
        pytest.skip("models/hand21.json is not shipped in this checkout")
    errors = _held_out_mm(json.loads(card_path.read_text(encoding="utf-8")))
    figures = [f"{errors[camera]:.2f}" for camera in ("nyu", "d435_848")]
    history = (REPO / "docs" / "training_history.md").read_text(encoding="utf-8")
    shipped_rows = [line for line in history.splitlines() if line.startswith("|") and "(shipped)" in line]
    assert len(shipped_rows) == 1, "docs/training_history.md should mark exactly one hand21 row '(shipped)'"
    assert all(f"**{figure}**" in shipped_rows[0] for figure in figures), (
        f"docs/training_history.md's shipped row does not quote the card's held-out figures {figures} mm")
    readme_row = next(line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
                      if line.startswith("| `hand21.pt`"))
    assert all(f"**{figure} mm**" in readme_row for figure in figures), (
        f"the README's hand21.pt row does not quote the card's held-out figures {figures} mm")
