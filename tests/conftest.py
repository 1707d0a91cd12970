"""Shared test fixtures: where the real reference data lives, and a clean skip when it does not."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip saying it is absent (as on a user's machine)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (it exists only on the project's machines)")
    return SHARED_DATA
