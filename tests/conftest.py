"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    """Path of ../shared/corpora; skips the test when the folder is absent."""
    if not SHARED_CORPORA.is_dir():
        pytest.skip(f"real corpora not available at {SHARED_CORPORA}")
    return SHARED_CORPORA
