"""Small generated audio files for the feature tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf


def tone(seconds: float = 1.0, sr: int = 16_000, f0: float = 140.0, seed: int = 0) -> np.ndarray:
    """A voiced-speech-like test signal: harmonic tone with vibrato, syllable-rate AM, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(seconds * sr))) / sr
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    signal = sum(np.sin(k * phase) / k for k in range(1, 12) if k * f0 < sr / 2)
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, np.pi))
    signal = 0.2 * envelope * signal + 0.003 * rng.standard_normal(t.size)
    return signal.astype(np.float32)


def write(path: Path, signal: np.ndarray, sr: int = 16_000, **kwargs) -> str:
    sf.write(path, signal, sr, **kwargs)
    return str(path)


@pytest.fixture
def make_tone():
    """The :func:`tone` generator, for tests that need signals of their own."""
    return tone


@pytest.fixture
def make_wav():
    """``make_wav(path, signal, sr=16000, **soundfile_kwargs) -> str``."""
    return write


@pytest.fixture
def wavs(tmp_path) -> list[str]:
    """Four distinct 1-s 16 kHz mono WAVs."""
    folder = tmp_path / "audio"
    folder.mkdir()
    return [
        write(folder / f"tone{i}.wav", tone(f0=110 + 30 * i, seed=i)) for i in range(4)
    ]


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"
