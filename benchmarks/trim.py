#!/usr/bin/env python
"""Leave one corpus out with silence margins that differ within a speaker, with and without
trimming the silence before extraction (a candidate for emolens' preprocessing; not in it).

    python benchmarks/trim.py [--pad 1.0] [--share 0.5] [--seeds 0 1 2] [--only LABEL ...]
                              [--out runs/trim]

``benchmarks/silence.py`` shows the exposure on the default model: margins that differ
between one speaker's files cost 5-7 points. Here a share ``--share`` of every held-out
corpus's files (chosen by a hash of the path) gets ``--pad`` seconds of its own noise floor
at both ends, and the configurations of ``benchmarks/transfer.py`` (eGeMAPS, trained on the
other three corpora as recorded) are scored on the corpus as recorded and so padded; then
the same with every file, training ones included, trimmed by :func:`trim` first. Audio
copies and their features go below ``--out``. UA %, conditions all/few/skewed, markdown.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from silence import frames, noise_floor
from transfer import CORPORA, NAMES, evaluate, ideas, print_tables

#: configurations compared by default (labels of benchmarks/transfer.py's ideas)
DEFAULT = ["empirical-Bayes shrink, cw, logreg C=0.01",
           "empirical-Bayes shrink, guard, cw, logreg C=0.01, adapted",
           "empirical-Bayes shrink, guard, cw, vote: SVC C=0.5 + logreg C=0.1, adapted"]


def trim(x: np.ndarray, sr: int, below_peak: float = 40.0, above_floor: float = 10.0,
         margin: float = 0.1) -> np.ndarray:
    """``x`` without its leading and trailing silence: frames quieter than both ``below_peak``
    dB under the loudest frame and ``above_floor`` dB over the 10th percentile are silence;
    ``margin`` seconds are kept around the rest."""
    n, hop = int(0.025 * sr), int(0.010 * sr)
    if len(x) < 2 * n:
        return x
    db = 10 * np.log10(np.mean(frames(x, sr).astype(np.float64) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > max(db.max() - below_peak, np.percentile(db, 10) + above_floor))
    if len(loud) == 0:
        return x
    start = max(0, loud[0] * hop - int(margin * sr))
    end = min(len(x), loud[-1] * hop + n + int(margin * sr))
    return x[start:end]


def _seed(path: str) -> int:
    return int(hashlib.md5(path.encode()).hexdigest()[:8], 16)


def copies(files, out: Path, pad: float, share: float, trimmed: bool) -> list[str]:
    """The files padded (a share ``share`` of them, by path hash) and/or trimmed, written as
    FLAC below ``out`` once; the original paths where nothing changes."""
    import soundfile as sf

    folder = out / f"pad{pad:g}-share{share:g}-{'trim' if trimmed else 'raw'}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        padded = pad > 0 and (_seed(f) % 1000) / 1000 < share
        if not padded and not trimmed:
            paths.append(f)
            continue
        target = folder / f"{_seed(f):08x}-{Path(f).stem}.flac"
        if not target.exists():
            x, sr = sf.read(f)
            x = x.mean(axis=1) if x.ndim > 1 else x
            if padded:
                rng = np.random.default_rng(_seed(f))
                noise = lambda: rng.normal(0.0, noise_floor(x, sr), int(pad * sr))  # noqa: E731
                x = np.concatenate([noise(), x, noise()])
            sf.write(target, trim(x, sr) if trimmed else x, sr)
        paths.append(str(target))
    return paths


def features(manifest: pd.DataFrame, paths: list[str]) -> pd.DataFrame:
    """eGeMAPS of ``paths`` (row for row with ``manifest``) as model input."""
    from emolens.features import extract, model_input

    ext = extract(paths, feature_set="egemaps", jobs=2, progress=False)
    missing = sorted(set(paths) - set(ext.features.index))
    if missing:
        raise SystemExit(f"{len(missing)} file(s) gave no features, e.g. {missing[0]}")
    table = ext.features.loc[paths]
    table.index = manifest["file"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_input(table, manifest)


def main(argv=None) -> None:
    import transfer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pad", type=float, default=1.0)
    ap.add_argument("--share", type=float, default=0.5)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--only", nargs="*", default=DEFAULT)
    ap.add_argument("--out", type=Path, default=Path("runs/trim"))
    args = ap.parse_args(argv)
    from emolens.corpora import load_corpus
    from emolens.features import feature_blocks, get_config

    out = args.out.resolve()
    manifest = pd.concat([load_corpus(CORPORA / n) for n in NAMES], ignore_index=True)
    files = manifest["file"].tolist()
    for trimmed in (False, True):
        X = features(manifest, copies(files, out, 0.0, 0.0, trimmed))
        X_pad = features(manifest, copies(files, out, args.pad, args.share, trimmed))
        transfer.TRAIT_COLUMNS[:] = transfer.trait_columns(X.columns)
        transfer.BLOCKS[:] = feature_blocks(get_config("egemaps"))
        how = "trimmed" if trimmed else "untrimmed"
        padded = f"{args.share:.0%} padded by {args.pad:g} s"
        for label, X_test in (("as recorded", X), (padded, X_pad)):
            results = [evaluate(idea, X, manifest, conditions=("all", "few", "skewed"),
                                seeds=tuple(args.seeds), X_test=X_test)
                       .assign(idea=f"{idea.label}; {how}, test {label}")
                       for idea in ideas(False) if idea.label in args.only]
            print(f"\n## {how}, test corpus {label}\n")
            print_tables(results)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
