"""Leading and trailing silence is cut before extraction (``TRIM`` in the preprocessing)."""

from __future__ import annotations

import numpy as np
import pytest

from emolens.features.audio import MIN_DURATION, PREPROCESSING, TRIM, prepare_signal, trim_silence
from emolens.features.sets import get_config

SR = 16_000


def voiced(seconds: float, seed: int = 0, level: float = 0.1) -> np.ndarray:
    """Harmonics under a syllable-rate envelope: loud enough everywhere to count as speech."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 6))
    env = 0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 2.0 * t + seed))
    return (level * env * x / 2).astype(np.float32)


def noise(seconds: float, db: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (10 ** (db / 20) * rng.normal(size=int(seconds * SR))).astype(np.float32)


def padded(speech: np.ndarray, before: float, after: float, db: float = -70.0) -> np.ndarray:
    return np.concatenate([noise(before, db, 2), speech + noise(len(speech) / SR, db, 3),
                           noise(after, db, 4)])


def test_margins_go_and_the_speech_stays():
    speech = voiced(1.5)
    out = trim_silence(padded(speech, 1.0, 0.7))
    kept = len(out) / SR
    # the speech plus at most the 0.1 s margin and one frame on each side
    assert 1.5 <= kept <= 1.5 + 2 * (TRIM["margin_s"] + TRIM["frame_s"])
    assert kept < 2.0  # and certainly not the 1.7 s of silence


def test_pauses_inside_the_utterance_are_kept():
    x = np.concatenate([voiced(0.6), noise(0.8, -70), voiced(0.6, seed=2)])
    out = trim_silence(padded(x, 1.0, 1.0))
    assert len(out) / SR >= 2.0


def test_a_high_noise_floor_is_cut_too():
    """40 dB under the peak is below this floor: the floor rule (10th percentile + 10 dB)
    still finds the speech."""
    out = trim_silence(padded(voiced(1.0), 1.0, 1.0, db=-40.0))
    assert len(out) / SR < 1.5


def test_nothing_to_cut():
    speech = voiced(1.2)
    assert len(trim_silence(speech)) == len(speech)
    steady = noise(1.0, -30)  # no frame 10 dB over the rest: returned whole
    assert len(trim_silence(steady)) == len(steady)


def test_never_shorter_than_the_minimum_duration():
    x = noise(2.0, -70)
    x[SR: SR + 80] += 0.5  # a 5 ms click in two seconds of silence
    out = trim_silence(x)
    assert MIN_DURATION * SR <= len(out) < 0.3 * SR  # the click and its margins
    assert np.abs(out).max() > 0.4
    edge = noise(1.0, -70)
    edge[:80] += 0.5  # at the very start, one margin only: widened inside the signal
    out = trim_silence(edge)
    assert len(out) == int(np.ceil(MIN_DURATION * SR))
    assert np.abs(out[:80]).max() > 0.4


def test_prepare_signal_trims_after_resampling():
    x = padded(voiced(1.0), 0.8, 0.8)
    y = np.interp(np.arange(0, len(x), 16 / 44.1), np.arange(len(x)), x).astype(np.float32)
    out = prepare_signal(y, 44_100)
    assert 1.0 <= len(out) / SR < 1.4


def test_the_cache_key_names_the_trim(monkeypatch):
    """Features cached with other trim settings are never reused."""
    from emolens.features.sets import FeatureConfig

    assert PREPROCESSING["trim"] is TRIM
    fields = ("x", "eGeMAPSv02", "Functionals", "")
    before = FeatureConfig(*fields).key
    assert before == FeatureConfig(*fields).key
    monkeypatch.setitem(TRIM, "margin_s", 0.2)
    assert FeatureConfig(*fields).key != before


def test_features_do_not_depend_on_the_margins():
    """What the trim is for: one utterance with 0.2 s or 1.5 s of silence around it gives
    nearly the same eGeMAPS (untrimmed, the loudness and voicing statistics move a lot)."""
    from emolens.features.extraction import signal_features

    config = get_config("egemaps")
    speech = voiced(1.5)
    short = prepare_signal(padded(speech, 0.2, 0.2), SR)
    long = prepare_signal(padded(speech, 1.5, 1.5), SR)
    a, columns, _ = signal_features(config, short)
    b, _, _ = signal_features(config, long)
    loud = columns.index("loudness_sma3_amean")
    assert b[0, loud] == pytest.approx(a[0, loud], rel=0.05)
    c, _, _ = signal_features(config, padded(speech, 1.5, 1.5))  # no trim: the mean loudness falls
    assert c[0, loud] < 0.8 * a[0, loud]


def quiet_ending(seconds: float = 1.2, tail_db: float = -28.0) -> np.ndarray:
    """Speech whose last 0.3 s are a word spoken ``tail_db`` under the rest (a trailing off)."""
    x = voiced(seconds)
    x[-int(0.3 * SR):] *= 10 ** (tail_db / 20)
    return x


def test_trimming_a_trimmed_file_keeps_it():
    """A trimmed file has speech at its 10th percentile: its quiet edges, not that
    percentile, say where the floor is, so a second trim (a copy made from a trimmed signal,
    a user's own trimmed clips) does not cut into the quiet words at its ends."""
    once = trim_silence(padded(quiet_ending(3.0), 1.0, 1.0))
    assert len(once) / SR >= 3.0  # the quiet word is speech: 42 dB over the floor
    twice = trim_silence(once)
    assert len(once) - len(twice) <= 2 * TRIM["hop_s"] * SR  # a frame may flip at an edge


def test_a_file_cut_at_the_first_word_keeps_its_quiet_end():
    """No silence at all at the start, a little at the end: the quiet word stays."""
    x = np.concatenate([quiet_ending() + noise(1.2, -70, 5), noise(0.1, -70, 6)])
    assert len(trim_silence(x)) / SR >= 1.2


def test_prepare_signal_keeps_the_silence_when_asked():
    """``trim=False`` (for measuring the trim) converts without cutting."""
    x = padded(voiced(1.0), 0.8, 0.8)
    assert len(prepare_signal(x, SR, trim=False)) == len(x)
    assert len(prepare_signal(x, SR)) < len(x)
