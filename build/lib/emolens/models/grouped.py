"""Fit a pipeline whose per-speaker/per-corpus scaler also sees unlabelled utterances.

Group statistics must come from all of a speaker's utterances (other emotions included,
unlabelled), not from the 4-class subset: choosing that subset would let the labels decide
which recordings define the statistics, and a deployed model never sees that subset either.
Used by the experiment runner and by the training of shipped bundles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def with_unlabelled(X: pd.DataFrame, unlabelled: pd.DataFrame | None) -> pd.DataFrame:
    """``X`` followed by the unlabelled utterances of the speakers in ``X``.

    Selecting by speaker keeps folds speaker-disjoint for every normalisation.

    Args:
        X: labelled model input, indexed ``(file, corpus, speaker)``.
        unlabelled: unlabelled model input with the same columns and index levels, or None.

    Returns:
        ``X``'s rows first (same order), then the matching unlabelled rows.
    """
    if unlabelled is None or not len(unlabelled):
        return X
    speakers = set(X.index.get_level_values("speaker"))
    extra = unlabelled[unlabelled.index.get_level_values("speaker").isin(speakers)]
    return pd.concat([X, extra]) if len(extra) else X


class GroupScaled:
    """A pipeline whose group ``scale`` step sees the unlabelled utterances of the same speakers.

    ``fit``/``scaled`` take the labelled rows; the scale step is fitted on (and transforms)
    labelled + unlabelled rows, the other steps only the labelled ones.
    The fitted ``pipe`` is an ordinary Pipeline (saved and reloaded as usual).

    Args:
        pipe: Pipeline with a group ``scale`` step (fitted in place by ``fit``).
        unlabelled: the unlabelled model input (see :func:`with_unlabelled`), or None.
    """

    def __init__(self, pipe, unlabelled: pd.DataFrame | None):
        self.pipe, self.unlabelled = pipe, unlabelled

    def scaled(self, X, fit: bool = False) -> np.ndarray:
        """Scale step output for the labelled rows ``X`` (statistics over all rows)."""
        scale = self.pipe.named_steps["scale"]
        full = with_unlabelled(X, self.unlabelled)
        Z = scale.fit_transform(full) if fit else scale.transform(full)
        return Z[: len(X)]

    def fit(self, X, y):
        self.pipe[1:].fit(self.scaled(X, fit=True), y)
        return self
