"""Built-in synthetic emotional speech corpora.

A small source-filter speech synthesiser that makes several *synthetic* corpora differing the
way real ones do (speakers, "language", recording channel) and four emotions that differ in the
acoustic cues the literature reports (Banse & Scherer 1996; Juslin & Laukka 2003): F0 level
and range, loudness, speaking rate, spectral tilt, jitter/shimmer and breathiness. Cue values
are drawn per utterance from overlapping distributions, with per-speaker and per-corpus
offsets, so that a classifier is clearly above chance but not perfect, and worse across
corpora than within one. Nothing here is real speech: the "languages" (``xa``, ``xb`` ...)
are made-up vowel inventories and rhythms. See ``docs/synthetic.md``.

Everything is deterministic per seed: each file has its own random stream derived from
``(seed, corpus, speaker, utterance)``, so the same call writes bit-identical files.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import soundfile as sf
from scipy import signal

from emolens import LABELS
from emolens.corpora.schema import COLUMNS, conform, make_manifest

__all__ = [
    "CorpusSpec",
    "DEFAULT_CORPORA",
    "EMOTION_CUES",
    "GENERATOR_VERSION",
    "SMALL",
    "generate",
    "synthesize_utterance",
]

#: Bumped whenever the synthesis changes, so cached output is regenerated.
GENERATOR_VERSION = 1

# Per-emotion cue distributions: (mean, standard deviation) of each utterance's draw, relative
# to the speaker's neutral voice. Directions follow Banse & Scherer (1996) and
# Juslin & Laukka (2003); the spreads are wide on purpose so the classes overlap. One row per
# cue, one column per emotion:
#   f0_level   semitones above the speaker's baseline F0
#   f0_range   semitones of the pitch accents (log-normal around the mean)
#   loudness   dB relative to the speaker's neutral level
#   rate       speaking-rate factor (syllables/s relative to the language's neutral rate)
#   tilt_hz    corner of the one-pole spectral-tilt filter: higher = flatter spectrum,
#              more high-frequency energy (log-normal around the mean)
#   jitter     cycle-to-cycle F0 perturbation, fraction of the period
#   shimmer    cycle-to-cycle amplitude perturbation, fraction of the amplitude
#   breath     aspiration-noise level relative to the voiced excitation
_CUES = {
    #            neutral          happy            sad              angry
    "f0_level": ((0.0, 1.2),      (3.0, 1.5),      (-1.5, 1.2),     (4.0, 1.5)),
    "f0_range": ((2.5, 0.3),      (4.2, 0.3),      (1.4, 0.3),      (3.8, 0.3)),
    "loudness": ((0.0, 2.0),      (3.0, 2.0),      (-5.0, 2.0),     (8.0, 2.0)),
    "rate":     ((1.0, 0.08),     (1.08, 0.08),    (0.82, 0.08),    (1.10, 0.08)),
    "tilt_hz":  ((600.0, 0.25),   (900.0, 0.25),   (350.0, 0.25),   (1800.0, 0.25)),
    "jitter":   ((0.010, 0.003),  (0.010, 0.003),  (0.018, 0.004),  (0.012, 0.003)),
    "shimmer":  ((0.05, 0.015),   (0.05, 0.015),   (0.07, 0.02),    (0.06, 0.015)),
    "breath":   ((0.08, 0.03),    (0.07, 0.03),    (0.20, 0.05),    (0.05, 0.02)),
}
#: emotion -> cue -> (mean, sd), the table above read by emotion (cues in the order above).
EMOTION_CUES: dict[str, dict[str, tuple[float, float]]] = {
    emotion: {cue: draws[k] for cue, draws in _CUES.items()}
    for k, emotion in enumerate(("neutral", "happy", "sad", "angry"))
}
_LOGNORMAL_CUES = ("f0_range", "tilt_hz")


@dataclass(frozen=True)
class CorpusSpec:
    """One synthetic corpus: its made-up language, its recording channel and its style.

    Args:
        name: corpus name, e.g. ``"synth-a"``.
        language: made-up language code (``"xa"`` ...); it only names the vowel inventory
            and rhythm below, it is not a real language.
        vowels: vowel inventory as (F1, F2, F3) in Hz for a reference (male) vocal tract.
        syllable_s: mean syllable duration in seconds at neutral rate.
        rhythm_var: relative spread of syllable durations (stress-timed languages vary more).
        stress_lengthening: duration factor of stressed syllables.
        f0_register: semitone offset of the corpus's speaker F0 (a pitch-register habit).
        expressiveness: scale of all emotion deviations (acted corpora differ in how much).
        cue_bias: per-emotion additive offsets on the cue means, e.g. "cold" anger.
        sample_rate: rate of the written files.
        channel: ``"studio"``, ``"telephone"`` (300-3400 Hz) or ``"room"`` (reverberant).
        snr_db: noise floor below the reference (neutral) speech level, in dB.
        gain_db: recording gain applied to everything, in dB.
        t60_s: reverberation time of the room impulse response (``"room"`` only).
    """

    name: str
    language: str
    vowels: tuple[tuple[float, float, float], ...]
    syllable_s: float = 0.20
    rhythm_var: float = 0.15
    stress_lengthening: float = 1.3
    f0_register: float = 0.0
    expressiveness: float = 1.0
    cue_bias: dict[str, dict[str, float]] = field(default_factory=dict)
    sample_rate: int = 16000
    channel: str = "studio"
    snr_db: float = 40.0
    gain_db: float = 0.0
    t60_s: float = 0.0

    def __post_init__(self):
        if self.channel not in ("studio", "telephone", "room"):
            raise ValueError(
                f"channel must be 'studio', 'telephone' or 'room', got {self.channel!r}"
            )
        if self.channel == "telephone" and self.sample_rate < 8000:
            raise ValueError("a telephone channel needs a sample rate of at least 8000 Hz")
        if not self.vowels:
            raise ValueError(f"corpus {self.name!r} needs at least one vowel")
        for emotion in self.cue_bias:
            if emotion not in EMOTION_CUES:
                raise ValueError(f"cue_bias of {self.name!r} names unknown emotion {emotion!r}")


DEFAULT_CORPORA: tuple[CorpusSpec, ...] = (
    # Clean studio recording, five-vowel syllable-timed language.
    CorpusSpec(
        name="synth-a",
        language="xa",
        vowels=((730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010),
                (570, 840, 2410), (300, 870, 2240)),
        syllable_s=0.20,
        rhythm_var=0.10,
        stress_lengthening=1.2,
        sample_rate=16000,
        channel="studio",
        snr_db=45.0,
    ),
    # Telephone: 8 kHz, 300-3400 Hz, noisy; stress-timed language with front rounded vowels;
    # reserved speakers and "cold" anger (less loud, less high-frequency energy).
    CorpusSpec(
        name="synth-b",
        language="xb",
        vowels=((660, 1720, 2410), (390, 1990, 2550), (280, 1650, 2100),
                (450, 1500, 2300), (640, 1190, 2390), (360, 900, 2300),
                (490, 1350, 2450)),
        syllable_s=0.19,
        rhythm_var=0.25,
        stress_lengthening=1.6,
        f0_register=-1.0,
        expressiveness=0.8,
        cue_bias={"angry": {"loudness": -2.0, "tilt_hz": -300.0}, "sad": {"rate": 0.06}},
        sample_rate=8000,
        channel="telephone",
        snr_db=30.0,
        gain_db=-2.0,
    ),
    # Reverberant room at 44.1 kHz; three-vowel, fast mora-timed language, high register,
    # very expressive speakers whose happiness is loud.
    CorpusSpec(
        name="synth-c",
        language="xc",
        vowels=((800, 1300, 2600), (320, 2200, 2900), (350, 800, 2300)),
        syllable_s=0.17,
        rhythm_var=0.06,
        stress_lengthening=1.1,
        f0_register=1.5,
        expressiveness=1.2,
        cue_bias={"happy": {"loudness": 2.0, "f0_level": 1.0}},
        sample_rate=44100,
        channel="room",
        snr_db=32.0,
        gain_db=1.0,
        t60_s=0.3,
    ),
    # Laptop microphone in a small room at 22.05 kHz; six vowels.
    CorpusSpec(
        name="synth-d",
        language="xd",
        vowels=((700, 1200, 2500), (450, 1900, 2600), (300, 2100, 2900),
                (480, 950, 2400), (320, 1000, 2250), (550, 1500, 2450)),
        syllable_s=0.22,
        rhythm_var=0.18,
        stress_lengthening=1.4,
        f0_register=0.5,
        expressiveness=0.9,
        cue_bias={"neutral": {"f0_range": 0.8}},
        sample_rate=22050,
        channel="room",
        snr_db=28.0,
        gain_db=-2.0,
        t60_s=0.25,
    ),
)

#: Small preset for unit tests: 3 corpora x 4 speakers x 4 emotions x 4 short utterances.
SMALL = {
    "corpora": 3,
    "speakers_per_corpus": 4,
    "utterances_per_emotion": 4,
    "duration": (1.0, 1.6),
}

_REF_DBFS = -26.0  # RMS level of a neutral utterance of an average speaker, before gain
_SYNTH_MIN_RATE = 16000  # synthesise at least at this rate, then band-limit downwards


# --------------------------------------------------------------------------- speakers


@dataclass(frozen=True)
class _Speaker:
    id: str
    gender: str
    f0_hz: float
    vtl_scale: float  # formant scale: shorter vocal tract -> higher formants
    loudness_db: float
    rate: float
    tilt_scale: float
    breath: float
    expressiveness: float


def _speakers(spec: CorpusSpec, n: int, seed: int, corpus_index: int) -> list[_Speaker]:
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, corpus_index, i, 0])
        female = i % 2 == 1
        local = f"{'f' if female else 'm'}{i // 2 + 1:02d}"
        f0 = rng.normal(205.0, 22.0) if female else rng.normal(118.0, 14.0)
        out.append(
            _Speaker(
                id=f"{spec.name}:{local}",
                gender="female" if female else "male",
                f0_hz=float(f0 * 2 ** (spec.f0_register / 12)),
                vtl_scale=float(rng.normal(1.16 if female else 1.0, 0.04)),
                loudness_db=float(rng.normal(0.0, 1.5)),
                rate=float(rng.normal(1.0, 0.07)),
                tilt_scale=float(np.exp(rng.normal(0.0, 0.15))),
                breath=float(rng.normal(0.03 if female else 0.0, 0.02)),
                expressiveness=float(np.clip(rng.normal(1.0, 0.2), 0.5, 1.5)),
            )
        )
    return out


def _draw_cues(
    emotion: str, speaker: _Speaker, spec: CorpusSpec, rng: np.random.Generator
) -> dict[str, float]:
    """One utterance's cue values: emotion mean scaled by expressiveness, plus noise."""
    scale = spec.expressiveness * speaker.expressiveness
    bias = spec.cue_bias.get(emotion, {})
    cues = {}
    for name, (mean, sd) in EMOTION_CUES[emotion].items():
        neutral = EMOTION_CUES["neutral"][name][0]
        if name in _LOGNORMAL_CUES:
            # deviation from neutral on a log scale, so it stays positive when scaled
            m = np.log(neutral) + scale * (np.log(mean + bias.get(name, 0.0)) - np.log(neutral))
            cues[name] = float(np.exp(rng.normal(m, sd)))
        else:
            m = neutral + scale * (mean + bias.get(name, 0.0) - neutral)
            cues[name] = float(rng.normal(m, sd))
    cues["rate"] = float(np.clip(cues["rate"] * speaker.rate, 0.55, 1.7))
    cues["tilt_hz"] = float(np.clip(cues["tilt_hz"] * speaker.tilt_scale, 150.0, 5000.0))
    cues["loudness"] += speaker.loudness_db
    cues["breath"] = float(np.clip(cues["breath"] + speaker.breath, 0.0, 0.6))
    cues["jitter"] = float(np.clip(cues["jitter"], 0.002, 0.05))
    cues["shimmer"] = float(np.clip(cues["shimmer"], 0.01, 0.2))
    return cues


# --------------------------------------------------------------------------- synthesis


def _resonator_sos(freqs, bandwidths, fs: float) -> np.ndarray:
    """Cascade of unity-DC-gain 2nd-order resonators (Klatt 1980) as an SOS array."""
    rows = []
    for f, bw in zip(freqs, bandwidths):
        if f >= 0.45 * fs:  # above Nyquist: nothing to shape
            continue
        r = np.exp(-np.pi * bw / fs)
        a1, a2 = -2 * r * np.cos(2 * np.pi * f / fs), r * r
        rows.append([1 + a1 + a2, 0.0, 0.0, 1.0, a1, a2])
    return np.asarray(rows, dtype=float)


@functools.lru_cache(maxsize=256)
def _bandpass(lo: float, hi: float, fs: int) -> np.ndarray:
    sos = signal.butter(2, [lo, hi], btype="bandpass", fs=fs, output="sos")
    return sos


def _raised_cosine_ramp(n: int, ramp: int) -> np.ndarray:
    env = np.ones(n)
    ramp = min(ramp, n // 2)
    if ramp > 0:
        r = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        env[:ramp] = r
        env[n - ramp:] = r[::-1]
    return env


def _plan_syllables(spec, cues, duration, rng, fs):
    """Segment plan: list of (kind, n_samples, info) and the stressed vowel centres."""
    target = rng.uniform(*duration)
    syl = spec.syllable_s / cues["rate"]
    n_syl = max(3, int(round(target / spec.syllable_s)))
    plan = []
    lead = int(rng.uniform(0.12, 0.25) * fs)
    plan.append(("pause", lead, None))
    i = 0
    while i < n_syl:
        word = min(int(rng.integers(1, 4)), n_syl - i)
        for k in range(word):
            stressed = k == 0 and rng.random() < 0.75
            dur = syl * np.exp(rng.normal(0.0, spec.rhythm_var))
            if stressed:
                dur *= spec.stress_lengthening
            r = rng.random()
            if r < 0.35:
                cons, cdur = "fric", rng.uniform(0.05, 0.09)
            elif r < 0.65:
                cons, cdur = "stop", rng.uniform(0.03, 0.05)
            elif r < 0.85:
                cons, cdur = "nasal", rng.uniform(0.04, 0.07)
            else:
                cons, cdur = None, 0.0
            cdur = min(cdur / np.sqrt(cues["rate"]), 0.4 * dur)
            if cons:
                plan.append((cons, int(cdur * fs), None))
            vowel = int(rng.integers(len(spec.vowels)))
            plan.append(("vowel", int((dur - cdur) * fs), (vowel, stressed)))
        i += word
        if i < n_syl and rng.random() < 0.3:
            # slower (sad) speech also pauses longer
            plan.append(("pause", int(rng.uniform(0.06, 0.2) / cues["rate"] ** 2 * fs), None))
    plan.append(("pause", int(rng.uniform(0.12, 0.25) * fs), None))
    return [p for p in plan if p[1] > 0]


def _f0_contour(plan, speaker, cues, rng, fs):
    n = sum(p[1] for p in plan)
    t = np.arange(n) / fs
    # declination: about -2..-4 semitones over the utterance
    st = cues["f0_level"] - rng.uniform(2.0, 4.0) * t / max(t[-1], 1e-3)
    pos = 0
    for kind, length, info in plan:
        if kind == "vowel" and info[1]:
            centre = pos + length // 2
            width = max(int(0.18 * fs / cues["rate"]), length)
            height = cues["f0_range"] * rng.uniform(0.6, 1.1)
            lo, hi = max(0, centre - width), min(n, centre + width)
            x = (np.arange(lo, hi) - centre) / width
            st[lo:hi] += height * 0.5 * (1 + np.cos(np.pi * x))
        pos += length
    # slow random wander (about 4 Hz), so contours are not all alike; drawn at a 100 Hz
    # control rate and interpolated, which is much cheaper than filtering at audio rate
    knots = np.arange(0, n + fs // 100, fs // 100)
    slow = signal.sosfiltfilt(
        signal.butter(2, 4.0, fs=100, output="sos"), rng.normal(0, 1, len(knots)), padlen=0
    )
    wander = np.interp(np.arange(n), knots, slow)
    st += 0.4 * cues["f0_range"] * wander / (wander.std() + 1e-12)
    return speaker.f0_hz * 2 ** (st / 12)


def _glottal_source(f0, cues, rng, fs):
    """Rosenberg glottal-flow derivative with jitter and shimmer, plus aspiration noise."""
    # jitter: one random factor per glottal cycle (cycle index from the smooth contour)
    cycles = np.floor(np.cumsum(f0) / fs).astype(int)
    n_cycles = cycles[-1] + 2
    jit = 1 + rng.normal(0, cues["jitter"], n_cycles)
    phase = np.cumsum(f0 * jit[cycles]) / fs
    cyc = np.floor(phase).astype(int)
    frac = phase - cyc
    # Rosenberg pulse: opening 0..tp, closing tp..tp+tn, closed after.
    # Breathier voices have a longer open phase (open quotient).
    oq = np.clip(0.55 + 0.8 * cues["breath"], 0.4, 0.85)
    tp, tn = 0.65 * oq, 0.35 * oq
    flow = np.where(
        frac < tp,
        0.5 * (1 - np.cos(np.pi * frac / tp)),
        np.where(frac < tp + tn, np.cos(0.5 * np.pi * (frac - tp) / tn), 0.0),
    )
    shim = np.clip(1 + rng.normal(0, cues["shimmer"], cyc[-1] + 2), 0.3, 2.0)
    flow = flow * shim[cyc]
    excitation = np.diff(flow, prepend=flow[0])
    excitation /= np.sqrt(np.mean(excitation**2)) + 1e-12
    # aspiration noise, louder while the glottis is open
    noise = rng.normal(0, 1, len(f0)) * (0.4 + flow)
    excitation += cues["breath"] * 1.2 * noise
    # spectral tilt: low-pass at tilt_hz; a lower corner means a steeper (softer) spectrum
    a = np.exp(-2 * np.pi * cues["tilt_hz"] / fs)
    # applied twice (-12 dB/octave above the corner) so the cue survives the channel
    return signal.lfilter([(1 - a) ** 2], [1, -2 * a, a * a], excitation)


def synthesize_utterance(
    spec: CorpusSpec,
    speaker: _Speaker,
    emotion: str,
    rng: np.random.Generator,
    duration: tuple[float, float] = (1.2, 2.5),
) -> np.ndarray:
    """One utterance at the corpus's sample rate, float in [-1, 1].

    Args:
        spec: the corpus (language and channel).
        speaker: the speaker (from the corpus's speaker pool).
        emotion: one of ``emolens.LABELS``.
        rng: random stream of this utterance.
        duration: range of the utterance's text length in seconds at the language's neutral
            rate (slower speech comes out longer).

    Returns:
        1-D float64 array.
    """
    fs = max(spec.sample_rate, _SYNTH_MIN_RATE)
    cues = _draw_cues(emotion, speaker, spec, rng)
    plan = _plan_syllables(spec, cues, duration, rng, fs)
    f0 = _f0_contour(plan, speaker, cues, rng, fs)
    source = _glottal_source(f0, cues, rng, fs)

    n = len(f0)
    voiced = np.zeros(n)  # vowels and nasals, through the formant filter
    frication = np.zeros(n)  # consonant noise, in dB relative to the vowels
    bw_scale = 1 + 2 * cues["breath"]  # breathy voices have damped (wider) formants
    bandwidths = np.array([80, 100, 140, 200, 250]) * np.array([bw_scale, 1.2, 1, 1, 1])
    ramp = int(0.012 * fs)
    zi = None
    pos = 0
    for kind, length, info in plan:
        seg = slice(pos, pos + length)
        if kind in ("vowel", "nasal"):
            if kind == "vowel":
                formants = np.array(spec.vowels[info[0]], float)
                amp = 1.25 if info[1] else 1.0
            else:
                formants, amp = np.array([280.0, 1150.0, 2400.0]), 0.3
            formants = formants * speaker.vtl_scale * rng.normal(1.0, 0.03, 3)
            freqs = np.concatenate([formants, [3500.0, 4500.0]]) * np.array(
                [1, 1, 1, speaker.vtl_scale, speaker.vtl_scale]
            )
            sos = _resonator_sos(freqs, bandwidths, fs)
            if zi is None or zi.shape[0] != sos.shape[0]:
                zi = np.zeros((sos.shape[0], 2))
            y, zi = signal.sosfilt(sos, source[seg], zi=zi)
            voiced[seg] = amp * y * _raised_cosine_ramp(length, ramp)
        elif kind in ("fric", "stop"):
            noise = rng.normal(0, 1, length)
            if kind == "fric":
                lo = 250.0 * rng.integers(10, 19)  # 2500..4500 Hz
                hi = min(lo + 500.0 * rng.integers(3, 8), 0.45 * fs)
                level_db = -14.0
            else:  # closure silence then a short broadband burst
                noise[: length * 2 // 3] = 0.0
                lo, hi, level_db = 500.0, min(5000.0, 0.45 * fs), -8.0
            y = signal.sosfilt(_bandpass(lo, hi, fs), noise)
            y /= np.sqrt(np.mean(y[y != 0] ** 2)) + 1e-12  # level relative to the vowels
            # consonants are articulated with more effort in high-arousal speech
            level_db += 0.3 * cues["loudness"]
            frication[seg] = 10 ** (level_db / 20) * y * _raised_cosine_ramp(length, ramp // 3)
        pos += length

    is_voiced = np.concatenate([np.full(p[1], p[0] in ("vowel", "nasal")) for p in plan])
    voiced /= np.sqrt(np.mean(voiced[is_voiced] ** 2)) + 1e-12
    out = voiced + frication
    out *= 10 ** ((_REF_DBFS + cues["loudness"]) / 20)
    return _channel(out, spec, fs, rng)


@functools.lru_cache(maxsize=16)
def _room_impulse_response(name: str, t60_s: float, fs: int) -> np.ndarray:
    """Synthetic room: direct path plus exponentially decaying noise tail (fixed per corpus)."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")
    rng = np.random.default_rng(seed)
    n = int(t60_s * fs)
    t = np.arange(n) / fs
    tail = rng.normal(0, 1, n) * 10 ** (-3 * t / t60_s)  # -60 dB at t60
    tail = signal.sosfilt(signal.butter(1, 4000, fs=fs, output="sos"), tail)  # air absorption
    delay = int(0.004 * fs)
    tail[:delay] = 0.0
    tail *= 0.25 / np.sqrt(np.sum(tail**2))  # direct-to-reverberant ratio about +12 dB
    tail[0] = 1.0
    return tail


def _channel(x: np.ndarray, spec: CorpusSpec, fs: int, rng: np.random.Generator) -> np.ndarray:
    if spec.channel == "room":
        x = signal.fftconvolve(x, _room_impulse_response(spec.name, spec.t60_s, fs))[: len(x)]
    if spec.sample_rate != fs:
        g = np.gcd(spec.sample_rate, fs)
        x = signal.resample_poly(x, spec.sample_rate // g, fs // g)
    sr = spec.sample_rate
    if spec.channel == "telephone":
        sos = signal.butter(4, [300, 3400], btype="bandpass", fs=sr, output="sos")
    else:
        sos = signal.butter(2, 60, btype="highpass", fs=sr, output="sos")
    x = signal.sosfilt(sos, x)
    # a fixed noise floor (not a fixed SNR): soft speech ends up closer to the noise
    noise = rng.normal(0, 1, len(x))
    noise = signal.lfilter([1.0], [1.0, -0.7], noise)  # pinkish
    noise *= 10 ** ((_REF_DBFS - spec.snr_db) / 20) / noise.std()
    x = (x + noise) * 10 ** (spec.gain_db / 20)
    return np.clip(x, -1.0, 32767 / 32768)


# --------------------------------------------------------------------------- corpora on disk


def _resolve_corpora(corpora) -> tuple[CorpusSpec, ...]:
    if isinstance(corpora, (int, np.integer)) and not isinstance(corpora, bool):
        if not 1 <= corpora <= len(DEFAULT_CORPORA):
            raise ValueError(
                f"corpora must be between 1 and {len(DEFAULT_CORPORA)}, got {corpora}"
            )
        return DEFAULT_CORPORA[:corpora]
    specs = tuple(corpora)
    if not specs or not all(isinstance(s, CorpusSpec) for s in specs):
        raise TypeError("corpora must be an int or a non-empty sequence of CorpusSpec")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"corpus names must be unique, got {names}")
    return specs


def _write_wav_atomic(path: Path, x: np.ndarray, sample_rate: int) -> None:
    buffer = io.BytesIO()  # encode in memory: one write instead of many small ones
    sf.write(buffer, x, sample_rate, subtype="PCM_16", format="WAV")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    os.replace(tmp, path)


def _write_csv_atomic(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def _params(specs, speakers_per_corpus, utterances_per_emotion, seed, duration) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": int(seed),
        "speakers_per_corpus": int(speakers_per_corpus),
        "utterances_per_emotion": int(utterances_per_emotion),
        "duration": [float(duration[0]), float(duration[1])],
        "emotion_cues": {e: {k: list(v) for k, v in c.items()} for e, c in EMOTION_CUES.items()},
        "corpora": [json.loads(json.dumps(asdict(s))) for s in specs],
    }


def _read_manifest(out_dir: Path) -> pd.DataFrame | None:
    """The existing top-level manifest with absolute paths, or None if incomplete."""
    path = out_dir / "manifest.csv"
    if not path.is_file():
        return None
    df = pd.read_csv(path, usecols=COLUMNS)
    df["file"] = [str((out_dir / f).resolve()) for f in df["file"]]
    if not all(Path(f).is_file() for f in df["file"]):
        return None
    return conform(df)


def _check_sizes(speakers_per_corpus, utterances_per_emotion, duration) -> None:
    if int(speakers_per_corpus) < 1:
        raise ValueError(f"speakers_per_corpus must be at least 1, got {speakers_per_corpus}")
    if int(utterances_per_emotion) < 1:
        raise ValueError(
            f"utterances_per_emotion must be at least 1, got {utterances_per_emotion}"
        )
    if len(duration) != 2 or not 0.3 <= duration[0] <= duration[1]:
        raise ValueError(
            f"duration must be (min, max) seconds with 0.3 <= min <= max, got {duration}"
        )


def _up_to_date(out_dir: Path, params: dict) -> pd.DataFrame | None:
    """The manifest of ``out_dir`` when its ``params.json`` is ``params`` and every file
    exists, else None."""
    params_path = out_dir / "params.json"
    if not params_path.is_file():
        return None
    try:
        same = json.loads(params_path.read_text()) == params
    except json.JSONDecodeError:
        same = False
    return _read_manifest(out_dir) if same else None


def _write_corpus(out_dir: Path, spec: CorpusSpec, ci: int, speakers_per_corpus: int,
                  utterances_per_emotion: int, seed: int, duration) -> pd.DataFrame:
    """Write corpus number ``ci`` (wav files and its manifest.csv); returns that manifest
    (paths relative to the corpus folder)."""
    corpus_rows = []
    for si, speaker in enumerate(_speakers(spec, speakers_per_corpus, seed, ci)):
        local = speaker.id.split(":", 1)[1]
        (out_dir / spec.name / local).mkdir(parents=True, exist_ok=True)
        for ei, emotion in enumerate(LABELS):
            for u in range(utterances_per_emotion):
                rng = np.random.default_rng([seed, ci, si, 1 + ei, u])
                x = synthesize_utterance(spec, speaker, emotion, rng, duration)
                rel = Path(local) / f"{local}_{emotion}_{u + 1:02d}.wav"
                _write_wav_atomic(out_dir / spec.name / rel, x, spec.sample_rate)
                corpus_rows.append({"file": rel.as_posix(), "corpus": spec.name,
                                    "language": spec.language, "speaker": speaker.id,
                                    "gender": speaker.gender, "emotion": emotion})
    # label4 and the category (activation, valence) come from the loaders' schema
    corpus_df = make_manifest(corpus_rows)
    _write_csv_atomic(corpus_df, out_dir / spec.name / "manifest.csv")
    return corpus_df


def generate(
    out_dir: str | Path,
    corpora: int | Sequence[CorpusSpec] = 3,
    speakers_per_corpus: int = 6,
    utterances_per_emotion: int = 8,
    seed: int = 0,
    duration: tuple[float, float] = (1.2, 2.5),
    force: bool = False,
) -> pd.DataFrame:
    """Write synthetic emotional speech corpora as 16-bit wav files with manifests.

    Layout: ``OUT_DIR/<corpus>/<speaker>/<speaker>_<emotion>_<nn>.wav``,
    ``OUT_DIR/<corpus>/manifest.csv`` (paths relative to that folder),
    ``OUT_DIR/manifest.csv`` (all corpora, paths relative to ``OUT_DIR``) and
    ``OUT_DIR/params.json``. When ``params.json`` matches the request and every file exists,
    nothing is regenerated.

    Args:
        out_dir: output folder (created).
        corpora: how many of :data:`DEFAULT_CORPORA` to write, or the corpus specs.
        speakers_per_corpus: speakers per corpus, alternately male and female.
        utterances_per_emotion: utterances per speaker and emotion.
        seed: random seed; the same seed writes bit-identical files.
        duration: range (seconds) of the utterance text length at neutral rate.
        force: regenerate even if matching output exists.

    Returns:
        Manifest of all corpora (``COLUMNS``, absolute file paths, RangeIndex).
    """
    specs = _resolve_corpora(corpora)
    _check_sizes(speakers_per_corpus, utterances_per_emotion, duration)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    params = _params(specs, speakers_per_corpus, utterances_per_emotion, seed, duration)
    params_path = out_dir / "params.json"
    if not force:
        existing = _up_to_date(out_dir, params)
        if existing is not None:
            return existing
    # Stale or partial output: drop the old params first so an interrupted run is redone.
    params_path.unlink(missing_ok=True)

    rows = []
    for ci, spec in enumerate(specs):
        corpus_df = _write_corpus(out_dir, spec, ci, speakers_per_corpus,
                                  utterances_per_emotion, seed, duration)
        rows.append(corpus_df.assign(file=[f"{spec.name}/{f}" for f in corpus_df["file"]]))
    manifest = pd.concat(rows, ignore_index=True)
    _write_csv_atomic(manifest, out_dir / "manifest.csv")
    tmp = params_path.with_name("params.json.tmp")
    tmp.write_text(json.dumps(params, indent=1, sort_keys=True))
    os.replace(tmp, params_path)
    manifest["file"] = [str((out_dir / f).resolve()) for f in manifest["file"]]
    return conform(manifest)
