"""Reading and checking single files (no openSMILE involved)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from emolens.features.audio import (
    MIN_DURATION,
    TARGET_SR,
    AudioError,
    load_audio,
    prepare_signal,
    rms_dbfs,
)



def test_16k_mono_passes_through_unchanged(tmp_path, make_tone, make_wav):
    tone, write = make_tone, make_wav
    signal = tone()
    path = write(tmp_path / "a.wav", signal, subtype="FLOAT")
    out = load_audio(path)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, signal, atol=1e-7)


def test_stereo_44k_is_averaged_and_resampled(tmp_path, make_tone, make_wav):
    tone, write = make_tone, make_wav
    left = tone(sr=44_100)
    stereo = np.column_stack([left, 0.5 * left])
    out = load_audio(write(tmp_path / "s.wav", stereo, 44_100, subtype="FLOAT"))
    assert out.ndim == 1
    assert len(out) == pytest.approx(TARGET_SR, abs=2)
    # The mean of the channels is 0.75 * left: the level must follow, not double or halve.
    expected = rms_dbfs(0.75 * left)
    assert rms_dbfs(out) == pytest.approx(expected, abs=0.2)


@pytest.mark.parametrize("sr", [8_000, 22_050, 48_000])
def test_odd_rates_become_16k(tmp_path, sr, make_tone, make_wav):
    tone, write = make_tone, make_wav
    out = load_audio(write(tmp_path / f"r{sr}.flac", tone(sr=sr), sr))
    assert len(out) == pytest.approx(TARGET_SR, abs=2)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p, tone: p.write_bytes(b""), "empty file"),
        (lambda p, tone: p.write_text("this is not audio\n" * 50), "not a readable audio file"),
        (lambda p, tone: sf.write(p, np.zeros((0, 1), np.float32), 16_000), "no audio samples"),
        (lambda p, tone: sf.write(p, np.zeros(16_000, np.float32), 16_000), "silent"),
        (lambda p, tone: sf.write(p, tone(seconds=0.1), 16_000), "too short: 0.10 s"),
        (lambda p, tone: sf.write(p, tone(sr=4_000), 4_000), "below the 8000 Hz minimum"),
    ],
    ids=["empty", "text", "header-only", "silent", "short", "low-rate"],
)
def test_bad_files_raise_with_reason(tmp_path, make, reason, make_tone):
    path = tmp_path / "bad.wav"
    make(path, make_tone)
    with pytest.raises(AudioError, match=reason):
        load_audio(path)


def test_corrupt_wav_is_rejected(tmp_path, make_tone):
    tone = make_tone
    good = tmp_path / "good.wav"
    sf.write(good, tone(), 16_000)
    data = bytearray(good.read_bytes())
    data[:4] = b"RIFX"  # wrong magic: libsndfile cannot parse the header any more
    data[20:24] = b"\xff\xff\xff\xff"
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="not a readable audio file"):
        load_audio(bad)


def test_missing_and_directory(tmp_path):
    with pytest.raises(AudioError, match="file not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="directory"):
        load_audio(tmp_path)


def test_non_finite_samples(make_tone):
    tone = make_tone
    signal = tone()
    signal[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        prepare_signal(signal, 16_000)


def test_quiet_but_not_silent_speech_passes(make_tone):
    tone = make_tone
    # -60 dBFS is a quiet recording, well above the silence threshold.
    signal = tone()
    signal *= 10 ** (-60 / 20) / np.sqrt(np.mean(signal**2))
    assert len(prepare_signal(signal, 16_000)) == 16_000


def test_min_duration_boundary(make_tone):
    tone = make_tone
    assert len(prepare_signal(tone(seconds=MIN_DURATION), 16_000)) == round(MIN_DURATION * 16_000)
    with pytest.raises(AudioError, match="too short"):
        prepare_signal(tone(seconds=MIN_DURATION - 0.01), 16_000)
