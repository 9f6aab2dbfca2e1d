#!/usr/bin/env python
"""The default model on utterances with more silence around them than in training.

    python benchmarks/silence.py [--corpus tess] [--pads 0.5 1.0] [--mix 0.5] [--inside]
                                 [--out runs/silence]

Corpora cut their utterances differently: EmoDB's start at the first word, RAVDESS's after
about a second of studio silence, and a natural corpus cut by a voice-activity detector may
keep long pauses. eGeMAPS describes the whole file, so its loudness means, unvoiced-segment
lengths and spectral means move with the silence. This script pads every 4-class utterance
of ``--corpus`` (TESS by default: no part of the default model's training) with ``--pads``
seconds of its own noise floor (Gaussian noise at the RMS of its quietest 5 % of 25 ms
frames) at both ends, and predicts each set with the default model as ``emolens predict
MANIFEST`` does (the corpus's speaker ids; adapted). It also predicts the corpus with a share
``--mix`` of its files padded by the last of ``--pads``, so that one speaker's files differ
in their margins. With ``--inside`` the silence goes inside the utterance instead, as one
pause at its quietest frame between a quarter and three quarters of its length (a voice-
activity detector keeps such pauses, and the preprocessing trims only the ends). Prints UA %
and the share flagged out-of-domain per set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from short_clips import measure


def frames(x: np.ndarray, sr: int) -> np.ndarray:
    """The 25 ms frames of ``x``, 10 ms apart, as rows."""
    n, hop = int(0.025 * sr), int(0.010 * sr)
    return np.lib.stride_tricks.sliding_window_view(x, n)[::hop]


def noise_floor(x: np.ndarray, sr: int) -> float:
    """RMS of the quietest 5 % of the frames (:func:`frames`) of ``x``."""
    return float(max(np.percentile(np.sqrt(np.mean(frames(x, sr) ** 2, axis=1)), 5), 1e-5))


def quietest_middle(x: np.ndarray, sr: int) -> int:
    """Sample index of the quietest frame (:func:`frames`) between a quarter and three
    quarters of ``x``."""
    hop = int(0.010 * sr)
    level = np.mean(frames(x, sr) ** 2, axis=1)
    lo, hi = len(level) // 4, max(len(level) // 4 + 1, 3 * len(level) // 4)
    return (lo + int(np.argmin(level[lo:hi]))) * hop


def add_silence(x: np.ndarray, sr: int, seconds: float, rng, inside: bool = False) -> np.ndarray:
    """``x`` with ``seconds`` of its noise floor (:func:`noise_floor`, Gaussian, drawn from
    ``rng``) at both ends, or with ``inside`` as one pause at :func:`quietest_middle`."""
    pad = lambda: rng.normal(0.0, noise_floor(x, sr), int(seconds * sr))  # noqa: E731
    if inside:
        at = quietest_middle(x, sr)
        return np.concatenate([x[:at], pad(), x[at:]])
    return np.concatenate([pad(), x, pad()])


def write_padded(manifest: pd.DataFrame, seconds: float, out: Path,
                 inside: bool = False) -> pd.DataFrame:
    """A manifest of the utterances padded with ``seconds`` of their noise floor at both ends,
    or with ``inside`` as one pause at :func:`quietest_middle` (written under ``out``; the
    noise drawn from the file's position, so reruns agree)."""
    import soundfile as sf

    if not seconds:
        return manifest[["file", "speaker", "emotion"]]
    folder = out / f"{'pause' if inside else 'pad'}{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, path in enumerate(manifest["file"]):
        target = folder / (Path(path).stem + ".wav")
        if not target.exists():
            x, sr = sf.read(path)
            x = x.mean(axis=1) if x.ndim > 1 else x
            sf.write(target, add_silence(x, sr, seconds, np.random.default_rng(i), inside), sr)
        files.append(str(target))
    return manifest[["speaker", "emotion"]].assign(file=files)[["file", "speaker", "emotion"]]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="tess")
    parser.add_argument("--pads", type=float, nargs="*", default=[0.5, 1.0])
    parser.add_argument("--mix", type=float, default=0.5,
                        help="share of files padded (by the last of --pads) in the mixed set")
    parser.add_argument("--inside", action="store_true",
                        help="one pause inside each utterance instead of margins")
    parser.add_argument("--out", type=Path, default=Path("runs/silence"))
    args = parser.parse_args(argv)
    where = "as one pause inside" if args.inside else "at both ends"
    sets = [("as recorded" if not seconds else f"{seconds:g} s of noise floor {where}",
             lambda corpus, out, seconds=seconds: write_padded(corpus, seconds, out, args.inside))
            for seconds in [0.0, *args.pads]]
    last = args.pads[-1] if args.pads else 1.0
    measure(args, sets, lambda corpus, out: write_padded(corpus, last, out, args.inside),
            f"{'paused' if args.inside else 'padded'} by {last:g} s")

if __name__ == "__main__":
    main()
