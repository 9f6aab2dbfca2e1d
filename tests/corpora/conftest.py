"""Fixture trees that mimic corpus release layouts with tiny generated audio files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SAMPLE_RATE = 16000


def write_tone(path: Path, seconds: float = 0.6, frequency: float = 220.0) -> Path:
    """Write a short sine tone (any extension soundfile knows) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sf.write(path, 0.1 * np.sin(2 * np.pi * frequency * t), SAMPLE_RATE)
    return path


def make_tree(root: Path, files: list[str], texts: dict[str, str] | None = None) -> Path:
    """Create ``files`` (relative paths) as tones and ``texts`` as text files under ``root``."""
    for relative in files:
        write_tone(root / relative)
    for relative, content in (texts or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def tone():
    return write_tone


@pytest.fixture
def tree():
    return make_tree
