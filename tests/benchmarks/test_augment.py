"""Audio augmentation: determinism, what each kind changes, manifest of the copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from augment import AUGMENTATIONS, augment, augment_manifest

SR = 16_000


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_same_seed_same_copy_other_seed_other_copy(kind, tone):
    x = tone() + 0.01 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    a, b, c = augment(x, kind, seed=1), augment(x, kind, seed=1), augment(x, kind, seed=2)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0
    np.testing.assert_array_equal(a, b)
    if kind != "bandlimit":  # the band-pass is deterministic by design
        assert a.shape != c.shape or not np.allclose(a, c)


def test_speed_changes_duration_by_at_most_ten_percent(tone):
    lengths = {len(augment(tone(), "speed", seed=s)) for s in range(5)}
    assert len(lengths) > 1
    assert all(0.89 * SR <= n <= 1.12 * SR for n in lengths)


def test_noise_snr_is_between_5_and_20_db(tone):
    x = tone()
    for seed in range(3):
        noise = augment(x, "noise", seed=seed).astype(np.float64) - x
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise**2))
        assert 4.9 <= snr <= 20.1


def test_bandlimit_removes_low_and_high_frequencies(tone, band_power):
    x = tone(f0=100.0) + tone(f0=1000.0) + tone(f0=6000.0)
    y = augment(x, "bandlimit")
    assert band_power(y, 900, 1100) > 0.5 * band_power(x, 900, 1100)
    assert band_power(y, 90, 110) < 0.1 * band_power(x, 90, 110)
    assert band_power(y, 5900, 6100) < 0.01 * band_power(x, 5900, 6100)


def test_reverb_smears_an_impulse_and_keeps_loudness():
    x = np.zeros(SR, np.float32)
    x[SR // 4 :: SR // 4] = 0.5
    y = augment(x, "reverb", seed=0).astype(np.float64)
    assert np.mean(np.abs(y) > 1e-3) > 5 * np.mean(np.abs(x) > 1e-3)
    assert np.mean(y**2) == pytest.approx(np.mean(x.astype(np.float64) ** 2), rel=0.05)


def test_bad_input_is_refused(tone):
    with pytest.raises(ValueError, match="unknown augmentation 'echo'"):
        augment(tone(), "echo")
    with pytest.raises(ValueError, match="mono"):
        augment(np.zeros((2, 100)), "noise")


def test_augment_manifest_keeps_speaker_and_reuses_copies(tmp_path, tone):
    files = []
    for i in range(2):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, tone(f0=150.0 + 50 * i), SR)
        files.append(str(path))
    manifest = pd.DataFrame({"file": files, "speaker": ["x:1", "x:2"], "label4": ["sad", "happy"]})
    out = augment_manifest(manifest, ["noise", "speed"], tmp_path / "aug", seed=0)
    assert len(out) == 4
    assert list(out["augmentation"]) == ["noise", "noise", "speed", "speed"]
    assert list(out["source"]) == files * 2
    assert list(out["speaker"]) == ["x:1", "x:2"] * 2
    assert all(p.startswith(str(tmp_path / "aug")) for p in out["file"])
    stamps = [tmp_path.joinpath(p).stat().st_mtime_ns for p in out["file"]]
    again = augment_manifest(manifest, ["noise", "speed"], tmp_path / "aug", seed=0)
    assert list(again["file"]) == list(out["file"])
    assert [tmp_path.joinpath(p).stat().st_mtime_ns for p in again["file"]] == stamps
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment_manifest(manifest, ["echo"], tmp_path / "aug")
