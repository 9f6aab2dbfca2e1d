"""Reading and validating audio before feature extraction.

Every file goes through :func:`load_audio`, which either returns a 16 kHz mono float32
signal or raises :class:`AudioError` whose message is a short human-readable reason. The
reasons end up in the ``skipped`` table of an extraction, so they are written for a person
looking at a list of bad files.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

#: Sampling rate every signal is converted to before openSMILE sees it.
TARGET_SR = 16_000
#: How leading and trailing silence is cut (:func:`trim_silence`). Corpora cut their
#: utterances differently (EmoDB at the first word, RAVDESS after about a second of silence,
#: a voice-activity detector with pauses kept), and functionals describe the whole file: margins
#: that differ between one speaker's files cost 5-7 points of UA; trimming takes that away and
#: moves the LOCO on the shared corpora as recorded by -1.1 to +3.0 points, depending on the
#: feature set (docs/benchmarks.md#silence-around-the-utterance).
#: Frames (25 ms, 10 ms apart) are speech when louder than both ``below_peak_db`` under the
#: loudest frame and ``above_floor_db`` over the noise floor (so a high floor does not keep
#: everything); ``margin_s`` is kept around the speech. The floor is the ``floor_percentile``-th
#: percentile frame or, where lower, the median of the frames within about the first or the
#: last ``margin_s`` (``floor_from_edges``): a file with little silence left (cut at the first
#: word, or trimmed already) has speech at its 10th percentile, and its quiet edges then say
#: where the floor is, so trimming a trimmed file keeps nearly all of it (docs/features.md).
TRIM = {"frame_s": 0.025, "hop_s": 0.010, "below_peak_db": 40.0, "floor_percentile": 10,
        "floor_from_edges": True, "above_floor_db": 10.0, "margin_s": 0.1}
#: How every file becomes model audio (part of every feature cache key, recorded in bundles).
PREPROCESSING = {"sampling_rate": TARGET_SR, "mono": "mean",
                 "resampler": "scipy.signal.resample_poly", "trim": TRIM}
#: Clips shorter than this (in seconds, before resampling) are rejected: below it openSMILE's
#: functionals become undefined (at 0.1 s about half of eGeMAPS's are 0, at 0.05 s all are
#: NaN). Clips of 0.2-0.5 s (a short reply in natural speech) are kept: cut to 0.2-0.3 s,
#: TESS's utterances are still recognised well above chance, and flagged out-of-domain
#: (docs/benchmarks.md#short-clips).
MIN_DURATION = 0.2
#: Signals whose RMS level is below this (dBFS) are treated as silent. -80 dBFS sits below
#: the dither noise of 16-bit audio (about -101 dBFS RMS for 1 LSB, but real "silent" takes
#: carry hum and noise well above that), and far below any speech recording (-20 to -50 dBFS).
SILENCE_DBFS = -80.0
#: Lowest sampling rate accepted. Below 8 kHz the speech band that eGeMAPS describes
#: (formants, alpha ratio up to 5 kHz) is mostly missing, so the features would mislead.
MIN_SR = 8_000


class AudioError(ValueError):
    """A file that cannot be turned into features; ``str(error)`` is the reason."""


def load_audio(path: str | os.PathLike) -> np.ndarray:
    """Read, check and convert one audio file to 16 kHz mono.

    Any format that soundfile (libsndfile) reads is accepted: WAV, FLAC, OGG, MP3, AIFF...
    Multi-channel audio is averaged to mono; other sampling rates are converted with a
    polyphase filter (:func:`scipy.signal.resample_poly`).

    Args:
        path: audio file.

    Returns:
        float32 array of shape ``(samples,)`` at :data:`TARGET_SR`.

    Raises:
        AudioError: with the reason the file cannot be used (missing, empty, not audio,
            corrupt, too short, silent, sampling rate too low, non-finite samples).
    """
    return prepare_signal(*read_audio(path))


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Read one audio file as it is, with the same checks and messages as :func:`load_audio`
    (missing, directory, empty, not audio) but no conversion: for streaming.

    Returns:
        ``(samples x channels float32 array, sampling rate)``.

    Raises:
        AudioError: with the reason the file cannot be read.
    """
    import soundfile as sf

    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError("file not found")
    if os.path.isdir(path):
        raise AudioError("is a directory, not an audio file")
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise AudioError(f"cannot read file ({err.strerror or err})") from err
    if size == 0:
        raise AudioError("empty file (0 bytes)")
    try:
        signal, sr = sf.read(path, dtype="float32", always_2d=True)
    except sf.LibsndfileError as err:
        raise AudioError(f"not a readable audio file ({_sf_message(err)})") from err
    except (OSError, RuntimeError, ValueError, TypeError) as err:
        # soundfile raises a few plain exceptions for truncated or odd headers.
        raise AudioError(f"not a readable audio file ({err})") from err
    return signal, sr


def prepare_signal(signal: np.ndarray, sr: int, trim: bool = True) -> np.ndarray:
    """Check a decoded signal, convert it to 16 kHz mono float32 and trim its leading and
    trailing silence (:func:`trim_silence`).

    Args:
        signal: samples, shape ``(samples,)`` or ``(samples, channels)``.
        sr: its sampling rate in Hz.
        trim: False keeps the silence (to measure the trim itself; features are always
            computed from trimmed signals, as :data:`PREPROCESSING` says).

    Returns:
        float32 array of shape ``(samples,)`` at :data:`TARGET_SR`, at least
        :data:`MIN_DURATION` long.

    Raises:
        AudioError: empty, too short, silent, non-finite or too low a sampling rate.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if signal.ndim == 1:
        signal = signal[:, None]
    if signal.ndim != 2:
        raise AudioError(f"unexpected signal shape {signal.shape}")
    if signal.shape[0] == 0 or signal.shape[1] == 0:
        raise AudioError("no audio samples (file holds only a header)")
    if sr < MIN_SR:
        raise AudioError(f"sampling rate {sr} Hz is below the {MIN_SR} Hz minimum")
    duration = signal.shape[0] / sr
    if duration < MIN_DURATION:
        raise AudioError(f"too short: {duration:.2f} s (minimum {MIN_DURATION} s)")
    if not np.isfinite(signal).all():
        raise AudioError("audio contains NaN or infinite samples")
    # Averaging keeps the level of identical channels and matches how the shared corpora
    # were made mono.
    mono = signal.mean(axis=1) if signal.shape[1] > 1 else signal[:, 0]
    level = rms_dbfs(mono)
    if level < SILENCE_DBFS:
        shown = "-inf" if math.isinf(level) else f"{level:.0f}"
        raise AudioError(f"silent: RMS level {shown} dBFS (threshold {SILENCE_DBFS:.0f} dBFS)")
    if sr != TARGET_SR:
        mono = resample(mono, sr, TARGET_SR)
    return np.ascontiguousarray(trim_silence(mono, TARGET_SR) if trim else mono, dtype=np.float32)


def trim_silence(signal: np.ndarray, sr: int = TARGET_SR) -> np.ndarray:
    """The signal without its leading and trailing silence (as :data:`TRIM` defines it).

    Pauses inside the utterance are kept. The result is never shorter than
    :data:`MIN_DURATION` (nor than the signal): a short burst in a long silence keeps that
    much around it. A signal with no frame louder than the thresholds is returned whole.

    Args:
        signal: mono samples.
        sr: their sampling rate.

    Returns:
        A view of ``signal`` (no copy).
    """
    n, hop = int(TRIM["frame_s"] * sr), int(TRIM["hop_s"] * sr)
    if len(signal) < 2 * n:
        return signal
    frames = np.lib.stride_tricks.sliding_window_view(signal, n)[::hop]
    db = 10 * np.log10(np.mean(np.square(frames, dtype=np.float64), axis=1) + 1e-20)
    threshold = max(db.max() - TRIM["below_peak_db"], _noise_floor(db) + TRIM["above_floor_db"])
    loud = np.flatnonzero(db > threshold)
    if len(loud) == 0:
        return signal
    margin = int(TRIM["margin_s"] * sr)
    start = max(0, loud[0] * hop - margin)
    end = min(len(signal), loud[-1] * hop + n + margin)
    shortest = min(len(signal), int(math.ceil(MIN_DURATION * sr)))
    if end - start < shortest:  # widen around the speech, inside the signal
        start = min(max(0, (start + end - shortest) // 2), len(signal) - shortest)
        end = start + shortest
    return signal[start:end]


def _noise_floor(db: np.ndarray) -> float:
    """The noise floor of frame levels ``db`` (in dB), as :data:`TRIM` defines it."""
    floor = float(np.percentile(db, TRIM["floor_percentile"]))
    if TRIM["floor_from_edges"]:
        k = max(1, int(round((TRIM["margin_s"] - TRIM["frame_s"]) / TRIM["hop_s"])) + 1)
        floor = min(floor, float(np.median(db[:k])), float(np.median(db[-k:])))
    return floor


def resample(signal: np.ndarray, sr: int, target_sr: int = TARGET_SR) -> np.ndarray:
    """Polyphase resampling from ``sr`` to ``target_sr`` (exact rational ratio)."""
    from scipy.signal import resample_poly

    ratio = Fraction(target_sr, sr)
    return resample_poly(signal, ratio.numerator, ratio.denominator).astype(np.float32)


def rms_dbfs(signal: np.ndarray) -> float:
    """RMS level of a signal in dB relative to full scale (``-inf`` for digital silence)."""
    rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


def _sf_message(err: Exception) -> str:
    # LibsndfileError's str() repeats the path; the error string alone is the useful part.
    return getattr(err, "error_string", None) or str(err)
