"""Channel copies (emolens.features.channels): one channel per speaker, reused, wideband."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emolens.features.channels import channel_copies, speaker_channel

SR = 16_000


def test_speaker_channel_is_one_channel_per_generator_seed(tone, band_power):
    x = tone(f0=150.0) + tone(f0=2500.0)
    a = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(3))
    b = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(3))
    c = speaker_channel(x.astype(np.float64), SR, np.random.default_rng(4))
    # same speaker seed: same band, tilt, room and gain (only the noise samples could differ)
    np.testing.assert_allclose(band_power(a, 2400, 2600) / band_power(b, 2400, 2600), 1, rtol=0.05)
    ratio = lambda y: band_power(y, 2400, 2600) / band_power(y, 100, 200)
    assert abs(np.log(ratio(a) / ratio(c))) > 0.1  # another speaker: another spectral balance
    assert not np.allclose(a, x[: len(a)], atol=1e-3)


def test_channel_copies_give_each_speaker_one_channel(tmp_path, tone, band_power):
    files = []
    for i in range(4):
        path = tmp_path / f"u{i}.wav"
        sf.write(path, tone(f0=150.0) + tone(f0=3000.0), SR)
        files.append(str(path))
    manifest = pd.DataFrame({"file": files, "speaker": ["x:1", "x:1", "x:2", "x:2"]})
    out = channel_copies(manifest, tmp_path / "aug", seed=0)
    assert list(out["source"]) == files and list(out["speaker"]) == list(manifest["speaker"])
    assert len(set(out["file"])) == 4  # identical sources, one copy each
    tilt = [band_power(sf.read(f)[0], 2900, 3100) / band_power(sf.read(f)[0], 100, 200)
            for f in out["file"]]
    assert tilt[0] == pytest.approx(tilt[1], rel=0.05) and tilt[2] == pytest.approx(tilt[3], rel=0.05)
    assert abs(np.log(tilt[0] / tilt[2])) > 0.1
    stamps = [tmp_path.joinpath(p).stat().st_mtime_ns for p in out["file"]]
    again = channel_copies(manifest, tmp_path / "aug", seed=0)
    assert [tmp_path.joinpath(p).stat().st_mtime_ns for p in again["file"]] == stamps


def test_wideband_channel_moves_only_the_high_edge_up(band_power):
    x = np.random.default_rng(3).standard_normal(SR)
    share = {}
    for wideband in (False, True):
        share[wideband] = np.array([
            band_power(y, 6000, 7500) / band_power(y, 0, 8000)
            for y in (speaker_channel(x, SR, np.random.default_rng(seed), wideband=wideband)
                      for seed in range(6))])
    assert (share[True] >= share[False]).all()            # every draw keeps more highs
    assert share[True].mean() > 3 * share[False].mean()   # the high edge moved up


def test_a_copy_is_written_under_a_name_of_this_process_then_moved(tmp_path, monkeypatch):
    import os

    from emolens.features import channels

    seen = []
    real = os.replace
    monkeypatch.setattr(channels.os, "replace", lambda a, b: (seen.append(Path(a)), real(a, b)))
    target = tmp_path / "x.flac"
    channels.write_copy(target, np.zeros(1600, dtype=np.float32))
    assert target.is_file() and len(seen) == 1
    assert str(os.getpid()) in seen[0].name and not seen[0].exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.flac"]
