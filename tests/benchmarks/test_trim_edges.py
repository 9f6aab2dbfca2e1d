"""benchmarks/trim_edges.py measures the shipped trim: what it keeps once and twice."""

import numpy as np
import soundfile as sf

from trim_edges import kept

SR = 16_000


def test_kept_measures_the_trim_once_and_twice(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(SR) / SR
    speech = 0.1 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 2 * t)))
    floor = lambda s: 3e-4 * rng.normal(size=int(s * SR))  # noqa: E731
    padded = np.concatenate([floor(1.0), speech + floor(1.0), floor(1.0)])
    path = tmp_path / "padded.wav"
    sf.write(path, padded.astype(np.float32), SR)
    once, twice = kept([str(path)])
    assert 0.3 < once[0] < 0.45  # 1 s of speech and its margins out of 3 s
    assert twice[0] > 0.98
