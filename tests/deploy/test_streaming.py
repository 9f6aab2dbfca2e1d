import sys

import numpy as np
import pytest

from emolens.deploy.predict import Predictor
from emolens.deploy.streaming import plot_timeline, stream_file, stream_mic, stream_signal, window_bounds


def test_window_bounds():
    sr = 16_000
    assert len(window_bounds(6 * sr, sr, 3.0, 1.0)) == 4
    assert window_bounds(6 * sr, sr, 3.0, 1.0)[-1] == (3 * sr, 6 * sr)
    assert len(window_bounds(10 * sr, sr, 2.0, 0.5)) == 17
    assert window_bounds(sr, sr, 3.0, 1.0) == [(0, sr)]
    with pytest.raises(ValueError, match="positive"):
        window_bounds(sr, sr, 0, 1)


def test_stream_six_seconds(bundle, tmp_path, make_signal):
    harmonic = make_signal
    pred = Predictor(bundle)
    seen = []
    tl = stream_signal(pred, harmonic(6.0), 16_000, on_window=seen.append)
    assert len(tl) == len(seen) == 4
    assert list(tl["start"]) == [0.0, 1.0, 2.0, 3.0]
    p = tl[[f"p_{c}" for c in bundle.labels]].to_numpy(dtype=float)
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-9)
    assert {"z1", "z2", "ood", "latency_ms"} <= set(tl.columns)
    assert (tl["latency_ms"] > 0).all()
    png = plot_timeline(tl, tmp_path / "t.png", bundle.labels)
    assert png.stat().st_size > 1000


def test_stream_file_resamples_and_skips_silence(bundle, tmp_path, make_signal):
    harmonic = make_signal
    import soundfile as sf

    x = np.concatenate([harmonic(3.0, sr=22_050), np.zeros(3 * 22_050, dtype=np.float32)])
    sf.write(tmp_path / "a.wav", x, 22_050)
    tl = stream_file(Predictor(bundle), tmp_path / "a.wav", window=2.0, hop=1.0)
    assert len(tl) == 5
    assert tl["skipped"].iloc[-1].startswith("silent")
    assert tl["label"].iloc[0] in bundle.labels


def test_mic_with_blocks_and_missing_sounddevice(bundle, monkeypatch, make_signal):
    harmonic = make_signal
    pred = Predictor(bundle)
    x = harmonic(5.0)
    blocks = [x[i:i + 16_000] for i in range(0, len(x), 16_000)]
    tl = stream_mic(pred, blocks=blocks)
    assert len(tl) == 3  # windows end at 3, 4 and 5 s
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    with pytest.raises(RuntimeError, match=r"emolens\[mic\]"):
        stream_mic(pred, duration=1.0)
