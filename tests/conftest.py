"""Shared fixtures: where the staged benchmark data lives (../shared/data beside the checkout)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BUDGET_REALLOC_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the staged HumanEval, MBPP, APPS and CodeGen files (read-only)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"staged data not found at {SHARED_DATA} (set BUDGET_REALLOC_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def humaneval_path(shared_data: Path) -> Path:
    return shared_data / "humaneval" / "HumanEval.jsonl.gz"


@pytest.fixture(scope="session")
def mbpp_path(shared_data: Path) -> Path:
    return shared_data / "mbpp" / "mbpp.jsonl"


@pytest.fixture(scope="session")
def apps_path(shared_data: Path) -> Path:
    return shared_data / "apps" / "coderl_train_examples.jsonl"
