"""Check that the synthetic corpora behave like emotional speech corpora.

Runs openSMILE eGeMAPSv02 functionals on a generated set and reports unweighted accuracy
(balanced accuracy) of StandardScaler + SVC within each corpus (speaker-grouped CV) and
train-on-one / test-on-another across corpora. Used to tune the generator; the numbers are in
``docs/synthetic.md``.

    python benchmarks/synthetic_validate.py data/synthetic
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def egemaps(files, cache: Path | None = None) -> pd.DataFrame:
    """eGeMAPSv02 functionals of ``files`` (DataFrame indexed by file), optionally cached."""
    import opensmile

    if cache is not None and cache.is_file():
        feats = pd.read_parquet(cache)
        if set(files) <= set(feats.index):
            return feats.loc[list(files)]
    smile = opensmile.Smile(
        feature_set=opensmile.FeatureSet.eGeMAPSv02,
        feature_level=opensmile.FeatureLevel.Functionals,
    )
    rows = [smile.process_file(f).reset_index(drop=True).iloc[0] for f in files]
    feats = pd.DataFrame(rows, index=pd.Index(list(files), name="file"))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        feats.to_parquet(cache)
    return feats


def evaluate(manifest: pd.DataFrame, feats: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """UA (%) of StandardScaler (clipped at +-10) + SVC for every train corpus x test corpus pair.

    The diagonal is speaker-grouped cross-validation (a speaker's files never appear in
    both training and test folds); off-diagonal cells train on all of one corpus.
    """
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from sklearn.preprocessing import FunctionTransformer

    def model():
        # z-scores clipped at +-10 as in the paper (and emolens.models.FeatureScaler):
        # eGeMAPS coefficients of variation explode on other channels otherwise
        clip = FunctionTransformer(np.clip, kw_args={"a_min": -10.0, "a_max": 10.0})
        return make_pipeline(StandardScaler(), clip, SVC(C=1.0, random_state=seed))

    corpora = sorted(manifest["corpus"].unique())
    table = pd.DataFrame(index=pd.Index(corpora, name="train"), columns=corpora, dtype=float)
    for train in corpora:
        tr = manifest[manifest["corpus"] == train]
        X, y = feats.loc[tr["file"]].to_numpy(), tr["label4"].to_numpy()
        groups = tr["speaker"].to_numpy()
        n_splits = min(5, len(np.unique(groups)))
        pred = cross_val_predict(model(), X, y, groups=groups, cv=GroupKFold(n_splits))
        table.loc[train, train] = 100 * balanced_accuracy_score(y, pred)
        fitted = model().fit(X, y)
        for test in corpora:
            if test == train:
                continue
            te = manifest[manifest["corpus"] == test]
            pred = fitted.predict(feats.loc[te["file"]].to_numpy())
            table.loc[train, test] = 100 * balanced_accuracy_score(te["label4"], pred)
    return table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="folder to generate into / read from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--speakers", type=int, default=6)
    parser.add_argument("--utterances", type=int, default=8)
    parser.add_argument("--corpora", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=None, help="parquet feature cache")
    args = parser.parse_args(argv)

    from emolens.corpora.synthetic import generate

    manifest = generate(
        args.out_dir,
        corpora=args.corpora,
        speakers_per_corpus=args.speakers,
        utterances_per_emotion=args.utterances,
        seed=args.seed,
    )
    feats = egemaps(list(manifest["file"]), args.cache)
    table = evaluate(manifest, feats)
    diag = np.diag(table.to_numpy())
    off = table.to_numpy()[~np.eye(len(table), dtype=bool)]
    pd.set_option("display.precision", 1)
    print("UA % (rows: train corpus, columns: test corpus; diagonal: speaker-grouped CV)")
    print(table)
    print(f"within-corpus mean UA {diag.mean():.1f} %, cross-corpus mean UA {off.mean():.1f} %")


if __name__ == "__main__":
    main()
