"""benchmarks/transfer.py's 2-D latents of the fusion: they read its class evidence."""

import numpy as np
import pytest

import transfer
from transfer import Idea, ideas


def corpora(rng, n=60, shift=0.0):
    """Three corpora of four classes, separable along two of 12 columns (two blocks)."""
    y = np.repeat(np.array(["angry", "happy", "neutral", "sad"]), n // 4)
    centres = {"angry": (2, 2), "happy": (2, -2), "neutral": (-2, 2), "sad": (-2, -2)}
    X = rng.normal(size=(n, 12))
    X[:, :2] += np.array([centres[c] for c in y]) + shift
    return X, y


@pytest.mark.parametrize(("latent", "adapt"), [("fusion2", False), ("fusion2a", False),
                                               ("fusion2a", True), ("fusion3a", True),
                                               ("fusion2n", True)])
def test_a_fusion_read_in_few_dimensions_recognises_separable_classes(monkeypatch, latent,
                                                                      adapt):
    monkeypatch.setattr(transfer, "BLOCKS", [8, 4])
    rng = np.random.default_rng(0)
    parts = [corpora(rng) for _ in range(3)]
    X = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    corpus = np.repeat(["a", "b", "c"], 60)
    Xte, yte = corpora(rng, n=80, shift=0.3)  # another corpus, shifted a little
    idea = Idea("test", "shrink", weights=True, clf="logreg", C=1.0, latent=latent,
                adapt=adapt)
    fitted = idea.fit(X, y, corpus, seed=0)
    pred = idea.predict(fitted, Xte)
    assert set(pred) <= set(y)
    assert np.mean(pred == yte) > 0.9


def test_the_adapted_reading_is_listed_for_the_fused_features():
    labels = [i.label for i in ideas(False) if i.latent == "fusion2a"]
    assert labels and all("adapted fusion" in label for label in labels)
