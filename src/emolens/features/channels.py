"""Copies of a corpus with every speaker behind a simulated recording channel of his/her own.

Unseen corpora were recorded with other microphones, rooms and noise than the training
corpora, and natural ones often with a different channel per speaker. Per-speaker statistics
remove what a channel adds to a feature's level, not what it does to the feature's variation
with the emotion (a noise floor, a room, a band edge). Training on channel copies
(``augment = "channel"``, docs/config.md#training-through-other-channels-augment) shows the
classifier such variation.

A copy is a file (16 kHz FLAC, written atomically, reused), so that
:func:`emolens.features.extract` and its content-addressed cache compute its features like
those of any other file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from emolens.features.audio import PREPROCESSING, TARGET_SR, load_audio
from emolens.features.extraction import _progress_bar

#: Seed of the channels of the training copies that ``emolens run`` makes. The channel tests
#: of benchmarks/channels.py draw theirs with seed 0, so a test speaker's channel is never
#: one that the model was trained with.
TRAINING_SEED = 1
#: Suffix of the corpus and speaker ids of a copy: its own recording condition.
COPY_SUFFIX = "~channel"


def speaker_channel(x: np.ndarray, sr: int, rng: np.random.Generator,
                    wideband: bool = False) -> np.ndarray:
    """One recording channel: 2nd-order band-pass (low edge 60-300 Hz, high edge 3-7.5 kHz;
    6.5-7.8 kHz with ``wideband``), a first-order spectral tilt (coefficient in [-0.6, 0.6]),
    a room (RT60 0.2-0.6 s) for half the draws, a gain of -12 to +6 dB and white noise at
    15-40 dB SNR. The draws come from ``rng`` in a fixed order, so a generator seeded per
    speaker gives every utterance of the speaker the same channel (the noise itself differs),
    and ``wideband`` changes the high edge only."""
    from scipy.signal import butter, fftconvolve, lfilter, sosfilt

    lo, hi, tilt = rng.uniform(60, 300), rng.uniform(3000, 7500), rng.uniform(-0.6, 0.6)
    if wideband:  # the same draw, mapped from [3, 7.5] to [6.5, 7.8] kHz
        hi = 6500 + (hi - 3000) * 1300 / 4500
    room, rt60 = rng.random() < 0.5, rng.uniform(0.2, 0.6)
    gain_db, snr_db = rng.uniform(-12, 6), rng.uniform(15, 40)
    y = sosfilt(butter(2, [lo, hi], btype="bandpass", fs=sr, output="sos"), x)
    y = lfilter([1.0, -tilt], [1.0], y)
    if room:
        t = np.arange(int(rt60 * sr)) / sr
        rir = 0.3 * rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)
        rir[0] = 1.0  # direct path
        y = fftconvolve(y, rir)[: len(y)]
    y *= np.sqrt(np.mean(x**2) / (np.mean(y**2) + 1e-20)) * 10 ** (gain_db / 20)
    return y + rng.standard_normal(len(y)) * np.sqrt(np.mean(y**2) / 10 ** (snr_db / 10))


def file_seed(file: str, kind: str, seed: int) -> int:
    """A 64-bit seed from a file (or speaker) name, a kind and a seed."""
    digest = hashlib.sha256(f"{file}|{kind}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def write_copy(path: Path, y: np.ndarray) -> None:
    """Write a 16 kHz copy atomically: an interrupted run leaves no half file, and two runs
    writing the same copy at once (its content is the same) each move a whole file of their
    own into place."""
    import soundfile as sf

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.flac")
    sf.write(tmp, np.asarray(y, dtype=np.float32), TARGET_SR, subtype="PCM_16")
    os.replace(tmp, path)


def channel_copies(manifest: pd.DataFrame, out_dir, seed: int = TRAINING_SEED,
                   wideband: bool = False, progress: bool = False) -> pd.DataFrame:
    """Copies of every file of a manifest, each speaker behind his/her own channel.

    Args:
        manifest: corpus manifest (columns ``file`` and ``speaker``; the others are copied).
        out_dir: folder for the copies (``channel/<sha>.flac``, ``channel-wideband/`` with
            ``wideband``); existing copies are reused. ``<sha>`` depends on the file, the
            speaker, the seed and :data:`~emolens.features.audio.PREPROCESSING`.
        seed: with the speaker id, seeds the speaker's channel (:func:`speaker_channel`).
        wideband: the channels' high edges at 6.5-7.8 kHz instead of 3-7.5 kHz.
        progress: show a progress bar (stderr).

    Returns:
        The copies' manifest: the original rows with ``file`` replaced, plus ``source``.

    Raises:
        emolens.features.AudioError: a file cannot be read.
    """
    folder = Path(out_dir) / ("channel-wideband" if wideband else "channel")
    prep = json.dumps(PREPROCESSING, sort_keys=True)  # a copy is made from load_audio's signal
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    rows = zip(manifest["file"].astype(str), manifest["speaker"].astype(str))
    with _progress_bar(progress, len(manifest), "channel copies", verb="write") as advance:
        for file, speaker in rows:
            path = folder / f"{file_seed(file, 'channel:' + speaker + prep, seed):016x}.flac"
            if not path.is_file():
                rng = np.random.default_rng(file_seed(speaker, "channel", seed))
                y = speaker_channel(load_audio(file).astype(np.float64), TARGET_SR, rng,
                                    wideband)
                peak = np.max(np.abs(y))
                write_copy(path, y / peak * 0.99 if peak > 0.99 else y)
            paths.append(str(path))
            advance(1)
    return manifest.assign(source=manifest["file"], file=paths)
