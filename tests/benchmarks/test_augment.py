"""Audio augmentation: determinism, what each kind changes, manifest of the copies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from augment import AUGMENTATIONS, augment, augment_manifest, channel_manifest, speaker_channel

SR = 16_000


def tone(seconds=1.0, f0=200.0):
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)


def band_power(x, lo, hi):
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    return spec[(f >= lo) & (f < hi)].sum()


@pytest.mark.parametrize("kind", AUGMENTATIONS)
def test_same_seed_same_copy_other_seed_other_copy(kind):
    x = tone() + 0.01 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    a, b, c = augment(x, kind, seed=1), augment(x, kind, seed=1), augment(x, kind, seed=2)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0
    np.testing.assert_array_equal(a, b)
    if kind != "bandlimit":  # the band-pass is deterministic by design
        assert a.shape != c.shape or not np.allclose(a, c)


def test_speed_changes_duration_by_at_most_ten_percent():
    lengths = {len(augment(tone(), "speed", seed=s)) for s in range(5)}
    assert len(lengths) > 1
    assert all(0.89 * SR <= n <= 1.12 * SR for n in lengths)


def test_noise_snr_is_between_5_and_20_db():
    x = tone()
    for seed in range(3):
        noise = augment(x, "noise", seed=seed).astype(np.float64) - x
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise**2))
        assert 4.9 <= snr <= 20.1


def test_bandlimit_removes_low_and_high_frequencies():
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


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown augmentation 'echo'"):
        augment(tone(), "echo")
    with pytest.raises(ValueError, match="mono"):
        augment(np.zeros((2, 100)), "noise")


def test_augment_manifest_keeps_speaker_and_reuses_copies(tmp_path):
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


def test_speaker_channel_is_one_channel_per_generator_seed():
    x = tone(f0=150.0) + tone(f0=2500.0)
    a = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(3))
    b = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(3))
    c = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(4))
    # same speaker seed: same band, tilt, room and gain (only the noise samples could differ)
    np.testing.assert_allclose(band_power(a, 2400, 2600) / band_power(b, 2400, 2600), 1, rtol=0.05)
    ratio = lambda y: band_power(y, 2400, 2600) / band_power(y, 100, 200)
    assert abs(np.log(ratio(a) / ratio(c))) > 0.1  # another speaker: another spectral balance
    assert not np.allclose(a, x[: len(a)], atol=1e-3)


def test_channel_manifest_gives_each_speaker_one_channel(tmp_path):
    files = []
    for i in range(4):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, tone(f0=150.0) + tone(f0=3000.0), SR)
        files.append(str(path))
    manifest = pd.DataFrame({"file": files, "speaker": ["x:1", "x:1", "x:2", "x:2"]})
    out = channel_manifest(manifest, tmp_path / "aug", seed=0)
    assert list(out["source"]) == files and list(out["speaker"]) == list(manifest["speaker"])
    assert len(set(out["file"])) == 4  # identical sources, one copy each
    tilt = [band_power(sf.read(f)[0], 2900, 3100) / band_power(sf.read(f)[0], 100, 200)
            for f in out["file"]]
    assert tilt[0] == pytest.approx(tilt[1], rel=0.05) and tilt[2] == pytest.approx(tilt[3], rel=0.05)
    assert abs(np.log(tilt[0] / tilt[2])) > 0.1
    stamps = [tmp_path.joinpath(p).stat().st_mtime_ns for p in out["file"]]
    again = channel_manifest(manifest, tmp_path / "aug", seed=0)
    assert [tmp_path.joinpath(p).stat().st_mtime_ns for p in again["file"]] == stamps


def test_wideband_channel_moves_only_the_high_edge_up():
    x = np.random.default_rng(3).standard_normal(SR)
    share = {}
    for wideband in (False, True):
        share[wideband] = np.array([
            band_power(y, 6000, 7500) / band_power(y, 0, 8000)
            for y in (speaker_channel(x, SR, np.random.default_rng(seed), wideband=wideband)
                      for seed in range(6))])
    assert (share[True] >= share[False]).all()            # every draw keeps more highs
    assert share[True].mean() > 3 * share[False].mean()   # the high edge moved up
