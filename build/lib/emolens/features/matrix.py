"""Model input: the feature table joined with the manifest's corpus and speaker."""

from __future__ import annotations

import warnings

import pandas as pd

#: Index levels of the model input ``X``.
INDEX_LEVELS = ("file", "corpus", "speaker")


def model_input(features: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Re-index a feature table by ``(file, corpus, speaker)`` from the manifest.

    The per-corpus / per-speaker scaler of :mod:`emolens.models` reads these index levels.
    Rows follow the manifest order; manifest rows without features (skipped files) are
    dropped with a warning, features of files not in the manifest are left out.

    Args:
        features: functionals indexed by ``file`` (as :func:`emolens.features.extract`
            gives them).
        manifest: corpus manifest with columns ``file``, ``corpus`` and ``speaker``.

    Returns:
        float64 DataFrame with the feature columns and a MultiIndex
        ``(file, corpus, speaker)``.

    Raises:
        ValueError: missing columns, low-level descriptors instead of functionals,
            duplicate files in the manifest, or no file in common.
    """
    missing = [c for c in INDEX_LEVELS if c not in manifest.columns]
    if missing:
        raise ValueError(f"the manifest lacks column(s) {missing}; needed: {list(INDEX_LEVELS)}")
    if features.index.nlevels != 1:
        raise ValueError(
            "model_input expects functionals indexed by 'file' (one row per file); got an "
            f"index with levels {list(features.index.names)} (low-level descriptors?)"
        )
    if features.index.has_duplicates:
        raise ValueError("the feature table has duplicate files in its index")
    files = manifest["file"].astype(str)
    if files.duplicated().any():
        dup = files[files.duplicated()].iloc[0]
        raise ValueError(f"the manifest lists {dup!r} more than once")
    present = files.isin(features.index)
    if not present.any():
        raise ValueError(
            "no file of the manifest is in the feature table; were the features extracted "
            "from this manifest (paths must match exactly)?"
        )
    if not present.all():
        warnings.warn(
            f"{int((~present).sum())} of {len(files)} manifest files have no features "
            "(skipped during extraction) and are left out",
            stacklevel=2,
        )
    rows = manifest.loc[present.to_numpy()]
    X = features.loc[rows["file"].astype(str)].astype("float64")
    X.index = pd.MultiIndex.from_arrays(
        [rows["file"].astype(str).to_numpy(), rows["corpus"].astype(str).to_numpy(),
         rows["speaker"].astype(str).to_numpy()],
        names=list(INDEX_LEVELS),
    )
    return X
