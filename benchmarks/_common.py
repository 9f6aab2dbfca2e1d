"""Helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``, which puts
this folder on ``sys.path``)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def harmonic(seconds, sr=16_000, f0=150.0, seed=0):
    """A voiced, speech-like test signal: 7 harmonics of a slowly wobbling f0, syllable-like
    amplitude, a little noise (float32, ``seconds * sr`` samples)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.abs(np.sin(3 * np.pi * t)))
    return (0.1 * x + 0.003 * rng.normal(size=t.size)).astype(np.float32)


def write_section(path: Path, title: str, section: str) -> None:
    """Replace (or append) the ``## <title>`` section of a markdown file, keeping the others."""
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(old):
        new = pattern.sub(lambda _: section + "\n", old, count=1)
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new.rstrip("\n") + "\n")
