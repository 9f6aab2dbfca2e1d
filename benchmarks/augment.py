"""Audio-level augmentation of a training corpus: channel and speaking-rate perturbations.

Cross-corpus speech emotion recognition fails mostly on recording conditions and speaking
style that the training corpus does not cover. Augmentation simulates some of them on the
training audio; the augmented copies are written as files so that :func:`emolens.features.
extract` (and its content-addressed cache) computes their features like any other file.

Kinds (one random strength per file, drawn from a seeded generator):

* ``"speed"``: resampling by a factor in [0.9, 1.1] (Kaldi-style speed perturbation: tempo
  and pitch change together, by up to ±10 % ≈ ±1.7 semitones);
* ``"noise"``: additive pink (1/f) noise at an SNR in [5, 20] dB;
* ``"reverb"``: convolution with a synthetic room impulse response (exponentially decaying
  Gaussian noise, RT60 in [0.2, 0.8] s), loudness restored;
* ``"bandlimit"``: telephone band, 4th-order Butterworth band-pass 300-3400 Hz.

:func:`channel_manifest` (the product's :func:`emolens.features.channels.channel_copies`)
instead puts every speaker of a corpus behind a recording channel of his/her own (band, tilt,
room, gain, noise: one random draw per speaker), as in a corpus whose speakers were each
recorded with a different microphone in a different room.

Keep an augmented copy in the same speaker fold as its original (its manifest row keeps the
speaker id), otherwise the copy of a validation utterance leaks into training.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd

from emolens.features.audio import TARGET_SR, load_audio
from emolens.features.channels import channel_copies as channel_manifest  # noqa: F401
from emolens.features.channels import file_seed as _file_seed
from emolens.features.channels import speaker_channel  # noqa: F401
from emolens.features.channels import write_copy as _write_copy

#: Augmentation kinds accepted by :func:`augment` and :func:`augment_manifest`.
AUGMENTATIONS = ("speed", "noise", "reverb", "bandlimit")


def _speed(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import resample_poly

    factor = Fraction(float(rng.uniform(0.9, 1.1))).limit_denominator(50)
    # Playing the signal factor × faster = resampling to sr / factor at the same rate.
    return resample_poly(x, factor.denominator, factor.numerator)


def _noise(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    snr_db = rng.uniform(5.0, 20.0)
    white = rng.standard_normal(len(x))
    spectrum = np.fft.rfft(white)
    freqs = np.fft.rfftfreq(len(x), 1.0 / sr)
    spectrum[1:] /= np.sqrt(freqs[1:])  # 1/f power
    spectrum[0] = 0.0
    pink = np.fft.irfft(spectrum, n=len(x))
    power = np.mean(x**2)
    pink *= np.sqrt(power / (np.mean(pink**2) + 1e-20) / 10 ** (snr_db / 10))
    return x + pink


def _reverb(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import fftconvolve

    rt60 = rng.uniform(0.2, 0.8)
    t = np.arange(int(rt60 * sr)) / sr
    rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    rir[0] = 1.0  # direct path
    y = fftconvolve(x, rir)[: len(x)]
    return y * np.sqrt(np.mean(x**2) / (np.mean(y**2) + 1e-20))


def _bandlimit(x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [300.0, min(3400.0, 0.45 * sr)], btype="bandpass", fs=sr, output="sos")
    return sosfiltfilt(sos, x)


_KINDS = {"speed": _speed, "noise": _noise, "reverb": _reverb, "bandlimit": _bandlimit}


def augment(signal: np.ndarray, kind: str, seed: int = 0, sr: int = TARGET_SR) -> np.ndarray:
    """One augmented copy of a mono signal.

    Args:
        signal: mono float signal.
        kind: one of :data:`AUGMENTATIONS`.
        seed: seeds the random strength and noise (same seed, same copy).
        sr: sampling rate of ``signal``.

    Returns:
        float32 signal at ``sr``, peak-limited to ±1.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown augmentation {kind!r}; choose from {', '.join(AUGMENTATIONS)}.")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"augment expects a non-empty mono signal, got shape {x.shape}.")
    y = _KINDS[kind](x, sr, np.random.default_rng(seed))
    peak = np.max(np.abs(y))
    if peak > 1.0:  # keep the file writable as PCM without clipping
        y = y / peak
    return y.astype(np.float32)


def augment_manifest(manifest: pd.DataFrame, kinds, out_dir, seed: int = 0) -> pd.DataFrame:
    """Write augmented copies of every file of a manifest and return their manifest.

    Args:
        manifest: corpus manifest (column ``file``; the other columns are copied).
        kinds: augmentation kinds, each giving one copy per file.
        out_dir: folder for the copies (``<kind>/<sha>.flac``); existing copies are reused.
        seed: seeds every file's random strength.

    Returns:
        The copies' manifest: the original rows with ``file`` replaced, plus columns
        ``source`` (original file) and ``augmentation`` (kind). ``speaker`` is unchanged, so
        speaker-disjoint folds keep a copy with its original.
    """
    kinds = list(kinds)
    bad = [k for k in kinds if k not in _KINDS]
    if bad:
        raise ValueError(f"unknown augmentation(s) {bad}; choose from {', '.join(AUGMENTATIONS)}.")
    if "file" not in manifest.columns:
        raise ValueError("the manifest needs a 'file' column.")
    out_dir = Path(out_dir)
    frames = []
    for kind in kinds:
        folder = out_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for file in manifest["file"].astype(str):
            s = _file_seed(file, kind, seed)
            path = folder / f"{s:016x}.flac"
            if not path.is_file():
                _write_copy(path, augment(load_audio(file), kind, seed=s))
            paths.append(str(path))
        frames.append(manifest.assign(source=manifest["file"], augmentation=kind, file=paths))
    columns = list(manifest.columns) + ["source", "augmentation"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
