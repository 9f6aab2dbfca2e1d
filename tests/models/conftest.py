"""Small synthetic data for the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

LABELS = ("neutral", "happy", "sad", "angry")


@pytest.fixture(scope="session")
def xy():
    """240 rows, 88 features, 4 separable classes (string labels).

    Like eGeMAPS, the features are strongly correlated: a 2-D class structure is spread over
    all 88 features by a random mixing matrix, plus feature noise, so that the main
    variance directions (what an unsupervised AE or PCA finds) carry the classes.
    """
    rng = np.random.default_rng(0)
    n = 240
    y = np.repeat(np.arange(4), n // 4)
    centres = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [3.0, 3.0]])
    latent = centres[y] + rng.normal(0, 0.5, (n, 2))
    X = latent @ rng.normal(0, 1, (2, 88)) + rng.normal(0, 0.5, (n, 88)) + rng.normal(0, 2, 88)
    order = rng.permutation(n)
    return X[order], np.asarray(LABELS)[y[order]]


@pytest.fixture(scope="session")
def frame(xy):
    """The same data as a DataFrame indexed by (file, corpus, speaker), with per-speaker
    and per-corpus offsets (as a different channel/voice would add)."""
    X, y = xy
    rng = np.random.default_rng(1)
    n = len(X)
    corpus = np.where(np.arange(n) < n // 2, "a", "b")
    speaker = np.asarray([f"{c}:{i % 4}" for c, i in zip(corpus, range(n))])
    offsets = {s: rng.normal(0, 3, X.shape[1]) for s in np.unique(speaker)}
    Xs = X * rng.uniform(0.5, 2.0, X.shape[1]) + np.stack([offsets[s] for s in speaker])
    index = pd.MultiIndex.from_arrays(
        [[f"/data/{i}.wav" for i in range(n)], corpus, speaker], names=["file", "corpus", "speaker"]
    )
    return pd.DataFrame(Xs, index=index, columns=[f"f{i}" for i in range(X.shape[1])]), y
