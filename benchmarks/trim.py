#!/usr/bin/env python
"""Leave one corpus out with silence margins that differ within a speaker: does emolens'
preprocessing (which trims the silence, ``emolens.features.audio.trim_silence``) absorb them?

    python benchmarks/trim.py [--pad 1.0] [--share 0.5] [--inside] [--seeds 0 1 2]
                              [--only LABEL ...] [--out runs/trim]

``benchmarks/silence.py`` shows the exposure on one model. Here a share ``--share`` of every
held-out corpus's files (chosen by a hash of the path) gets ``--pad`` seconds of its own
noise floor at both ends (with ``--inside``: as one pause at its quietest frame between a
quarter and three quarters of its length, ``silence.add_silence``), and the configurations
of ``benchmarks/transfer.py`` (eGeMAPS, trained on the other three corpora as recorded) are
scored on the corpus as recorded and so padded. Padded copies and their features go below
``--out``. UA %, conditions all/few/skewed, markdown. Before 2026-12-04 (commit 4b1c3d2 and earlier) the preprocessing
did not trim, and this script compared the untrimmed features with a trim of its own, the
one now built in.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from silence import add_silence
from transfer import CORPORA, NAMES, evaluate, ideas, print_tables

#: configurations compared by default (labels of benchmarks/transfer.py's ideas)
DEFAULT = ["empirical-Bayes shrink, cw, logreg C=0.01",
           "empirical-Bayes shrink, guard, cw, logreg C=0.01, adapted",
           "empirical-Bayes shrink, guard, cw, vote: SVC C=0.5 + logreg C=0.1, adapted"]


def _seed(path: str) -> int:
    return int(hashlib.md5(path.encode()).hexdigest()[:8], 16)


def copies(files, out: Path, pad: float, share: float, inside: bool = False) -> list[str]:
    """The files padded (a share ``share`` of them, by path hash; ``inside``: paused), written
    as FLAC below ``out`` once; the original paths of the others."""
    import soundfile as sf

    folder = out / f"{'pause' if inside else 'pad'}{pad:g}-share{share:g}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        if not (pad > 0 and (_seed(f) % 1000) / 1000 < share):
            paths.append(f)
            continue
        target = folder / f"{_seed(f):08x}-{Path(f).stem}.flac"
        if not target.exists():
            x, sr = sf.read(f)
            x = x.mean(axis=1) if x.ndim > 1 else x
            sf.write(target, add_silence(x, sr, pad, np.random.default_rng(_seed(f)), inside), sr)
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
    ap.add_argument("--inside", action="store_true", help="one pause inside instead of margins")
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--only", nargs="*", default=DEFAULT)
    ap.add_argument("--out", type=Path, default=Path("runs/trim"))
    args = ap.parse_args(argv)
    from emolens.corpora import load_corpus
    from emolens.features import feature_blocks, get_config

    out = args.out.resolve()
    manifest = pd.concat([load_corpus(CORPORA / n) for n in NAMES], ignore_index=True)
    files = manifest["file"].tolist()
    X = features(manifest, files)
    X_pad = features(manifest, copies(files, out, args.pad, args.share, args.inside))
    transfer.TRAIT_COLUMNS[:] = transfer.trait_columns(X.columns)
    transfer.BLOCKS[:] = feature_blocks(get_config("egemaps"))
    padded = f"{args.share:.0%} {'paused' if args.inside else 'padded'} by {args.pad:g} s"
    for label, X_test in (("as recorded", X), (padded, X_pad)):
        results = [evaluate(idea, X, manifest, conditions=("all", "few", "skewed"),
                            seeds=tuple(args.seeds), X_test=X_test)
                   .assign(idea=f"{idea.label}; test {label}")
                   for idea in ideas(False) if idea.label in args.only]
        print(f"\n## test corpus {label}\n")
        print_tables(results)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
