#!/usr/bin/env python
"""Leave one corpus out with every test speaker behind a recording channel of his/her own.

    python benchmarks/channels.py [--seeds 0 1 2] [--conditions all few skewed single]
                                  [--only LABEL ...] [--channel-seed 0] [--train-copies 1]

The shared corpora were each recorded in one studio. Natural corpora are not: every speaker
may have his/her own microphone and room. Per-speaker statistics remove such a channel with
the voice; per-corpus statistics keep it; the guard (``guard = true``) moves a corpus to its
corpus statistics when its speakers differ along the emotion directions, which a channel may
cause too. This script measures what a channel per speaker costs each normalisation and
whether it sets the guard off where speakers show every emotion.

Each held-out corpus is copied with :func:`augment.channel_manifest` (band-pass, tilt, room,
gain and noise drawn once per speaker; 16 kHz FLAC next to the feature cache, reused), its
features extracted, and every configuration (trained on the other three corpora *as shared*)
is tested on the original recordings and on the copies, in the conditions of
``benchmarks/transfer.py`` (draws ``--seeds``). UA %; markdown on stdout, and the guard's
weight per corpus on stderr. ``--train-copies 1`` trains every configuration on the training
utterances and on a channel copy of each (channels drawn with seed 1, those of the test copies
with ``--channel-seed``), as ``augment = "channel"`` does in ``emolens run``. eGeMAPS by
default (``--features compare`` for ComParE_2016); about 10 minutes on 2 cores, half of it
the first extraction of the copies (ComParE: about 6 minutes to extract the copies, 10-20 per
configuration with ``--seeds 0``; twice that with ``--train-copies``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from augment import channel_manifest
from transfer import CORPORA, NAMES, evaluate, ideas, load, markdown, table

#: configurations of benchmarks/transfer.py compared (labels of :func:`transfer.ideas`)
LABELS = ("speaker, cw, logreg C=0.01", "shrink 10, cw, logreg C=0.01",
          "shrink 10, cw, logreg C=0.01, adapted",
          "shrink 10, guard, cw, logreg C=0.01, adapted", "corpus, cw, logreg C=0.01")


def channel_features(X: pd.DataFrame, manifest: pd.DataFrame, seed: int,
                     features: str = "egemaps", wideband: bool = False) -> pd.DataFrame:
    """``X`` with every row replaced by the features of its channel copy (same index)."""
    from emolens.features import default_cache_dir, extract, model_input

    folder = Path(default_cache_dir()).parent / "emolens-augmented-audio"
    copies = channel_manifest(manifest, folder, seed=seed, wideband=wideband)
    ext = extract(copies["file"].tolist(), feature_set=features, jobs=2, progress=False)
    if len(ext.skipped):
        sys.exit(f"{len(ext.skipped)} channel copies could not be read:\n{ext.skipped.head()}")
    feats = ext.features.loc[copies["file"]].set_axis(pd.Index(manifest["file"], name="file"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Xc = model_input(feats, manifest)
    return Xc.loc[X.index]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2],
                    help="draws of the few/skewed/single conditions")
    ap.add_argument("--conditions", nargs="*", default=["all", "few", "skewed", "single"])
    ap.add_argument("--only", nargs="*", default=list(LABELS),
                    help="labels of benchmarks/transfer.py ideas")
    ap.add_argument("--channel-seed", type=int, default=0, help="draws the speakers' channels")
    ap.add_argument("--features", default="egemaps", help="feature set (e.g. compare)")
    ap.add_argument("--channel-only", action="store_true",
                    help="test on the channel copies only (not on the recordings as shared)")
    ap.add_argument("--wideband", action="store_true",
                    help="channels' high edges at 6.5-7.8 kHz (default 3-7.5 kHz)")
    ap.add_argument("--train-copies", type=int, default=None, metavar="CHANNEL_SEED",
                    help="also train on a channel copy of every training utterance (channels "
                         "drawn with this seed, which should differ from --channel-seed)")
    args = ap.parse_args(argv)
    if not CORPORA.is_dir():
        sys.exit(f"needs the shared corpora at {CORPORA}")
    t0 = time.time()
    X, manifest = load(features=args.features)
    Xc = channel_features(X, manifest, args.channel_seed, args.features, args.wideband)
    Xa = None if args.train_copies is None else channel_features(
        X, manifest, args.train_copies, args.features)
    print(f"loaded {len(X)} utterances and their channel copies in {time.time() - t0:.0f} s",
          file=sys.stderr)
    trained = "" if Xa is None else ", trained with channel copies"
    results = []
    for idea in (i for i in ideas(False) if i.label in args.only):
        recordings = (("as shared", None), ("channel per speaker", Xc))
        for recording, X_test in recordings[args.channel_only:]:
            r = evaluate(idea, X, manifest, conditions=tuple(args.conditions),
                         seeds=tuple(args.seeds), names=NAMES, X_test=X_test, X_copies=Xa)
            results.append(r.assign(idea=f"{idea.label}{trained}; {recording}"))
            print(table(results[-1]).to_string(), file=sys.stderr)
    full = table(pd.concat(results))
    print(markdown(full))
    print("\nMean over the conditions:\n")
    print(markdown(full.groupby(level=0, sort=False)[["mean", "worst"]].mean().round(1)))


if __name__ == "__main__":
    main()
