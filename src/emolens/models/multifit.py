"""Fit several pipelines of one configuration together (e.g. the folds x seeds of a run).

Pipelines are fitted step by step: an autoencoder step of all of them trains in lockstep
(:func:`~emolens.models.autoencoder.fit_autoencoders`); any other step is fitted one pipeline
at a time, as ``Pipeline.fit`` would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from .adapt import unweighted
from .autoencoder import AutoencoderTransformer, fit_autoencoders
from .decision_map import DecisionMap
from .fitted import is_grouped, scaled_input


#: Values of a model's ``balance`` option: how training utterances are weighted.
BALANCES = ("class", "corpus")


def balanced_weights(y, corpus) -> np.ndarray:
    """Sample weights that give every (corpus, class) cell the same total weight.

    With several training corpora of very different sizes (TESS has 400 utterances per
    speaker), class-balanced weights alone let the largest corpus decide the boundaries.

    Args:
        y: class label per row.
        corpus: corpus id per row.

    Returns:
        float64 weights with mean 1.
    """
    cell = pd.Series(list(zip(np.asarray(corpus, dtype=object), np.asarray(y, dtype=object))))
    w = 1.0 / cell.map(cell.value_counts()).to_numpy(dtype=np.float64)
    return w * (len(w) / w.sum())


def evidence_groups(X) -> np.ndarray | None:
    """The groups a :class:`DecisionMap` takes its out-of-fold evidence over: the corpus of
    each row of the model input ``X`` when it holds several, else the speaker (a channel copy
    with its original: the same utterance must not be on both sides); None without ids."""
    from emolens.features.channels import COPY_SUFFIX

    if not isinstance(X, pd.DataFrame) or "corpus" not in (X.index.names or []):
        return None
    for level in ("corpus", "speaker"):
        ids = np.array([str(v).removesuffix(COPY_SUFFIX)
                        for v in X.index.get_level_values(level)], dtype=object)
        if len(pd.unique(ids)) >= 2:
            return ids
    return None


def fit_pipelines(pipes: list[Pipeline], Xs: list, ys: list, unlabelled=None,
                  sample_weights: list | None = None) -> list[Pipeline]:
    """Fit ``pipes[i]`` on ``(Xs[i], ys[i])`` for every i, sharing autoencoder training.

    Args:
        pipes: Pipelines with the same step names (fitted in place).
        Xs: one training input per pipeline.
        ys: one label vector per pipeline.
        unlabelled: unlabelled model input whose rows of the training speakers join a group
            scaler's statistics (as in :func:`~emolens.models.fitted.fit_model`).
        sample_weights: one weight vector per pipeline for the final (classifier) step
            (e.g. :func:`balanced_weights`), or None. The classifier's ``class_weight`` is then
            switched off: the weights already balance the classes. A supervised autoencoder
            (``kind="sae"``) weights its cross-entropy with them too, and a
            :class:`DecisionMap` its regressions and map (its out-of-fold evidence is taken
            over :func:`evidence_groups`).

    Returns:
        The pipelines, fitted.
    """
    if not len(pipes) == len(Xs) == len(ys):
        raise ValueError("pipes, Xs and ys must have the same length.")
    names = [[name for name, _ in p.steps] for p in pipes]
    if any(n != names[0] for n in names):
        raise ValueError("pipelines must have the same steps to be fitted together.")
    inputs, first = list(Xs), 0
    if all(is_grouped(p) for p in pipes):  # the group scaler also sees unlabelled rows
        inputs = [scaled_input(p, X, unlabelled, fit=True, y=y)[0]
                  for p, X, y in zip(pipes, inputs, ys)]
        first = 1
    last = len(names[0]) - 1
    for i in range(first, last + 1):
        steps = [p.steps[i][1] for p in pipes]
        if i == last:
            weights = sample_weights or [None] * len(steps)
            for step, X, y, w in zip(steps, inputs, ys, weights):
                if step in (None, "passthrough"):
                    continue
                if w is None:
                    step.fit(X, y)
                else:
                    unweighted(step).fit(X, y, sample_weight=w)
        elif all(isinstance(s, AutoencoderTransformer) for s in steps):
            fit_autoencoders(steps, inputs, ys, sample_weights)
            inputs = [s.transform(X) for s, X in zip(steps, inputs)]
        elif all(isinstance(s, DecisionMap) for s in steps):
            weights = sample_weights or [None] * len(steps)
            groups = [evidence_groups(X) for X in Xs]  # the ids: Xs still has its index
            inputs = [s.fit_transform(X, y, sample_weight=w, groups=g)
                      for s, X, y, w, g in zip(steps, inputs, ys, weights, groups)]
        else:
            inputs = [X if s in (None, "passthrough") else s.fit_transform(X, y)
                      for s, X, y in zip(steps, inputs, ys)]
    return pipes
