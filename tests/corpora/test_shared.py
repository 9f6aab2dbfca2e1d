"""Loaders against the real corpora in ../shared/corpora (skipped when absent)."""

from __future__ import annotations

import pytest

from emolens.corpora import COLUMNS, detect_corpus, load_corpus

pytestmark = pytest.mark.corpora


def test_emodb(shared_corpora):
    root = shared_corpora / "emodb"
    assert detect_corpus(root) == "emodb"
    manifest = load_corpus(root)
    assert list(manifest.columns) == COLUMNS
    assert len(manifest) == 535
    assert manifest["speaker"].nunique() == 10
    assert set(manifest["emotion"]) == {"angry", "boredom", "disgust", "fear", "happy", "sad",
                                        "neutral"}
    assert set(manifest["gender"]) == {"male", "female"}


def test_ravdess(shared_corpora):
    root = shared_corpora / "ravdess"
    assert detect_corpus(root) == "ravdess"
    manifest = load_corpus(root)
    assert len(manifest) == 1440
    assert manifest["speaker"].nunique() == 24
    counts = manifest["emotion"].value_counts()
    assert counts["neutral"] == 96 and counts["calm"] == 192
    assert (manifest.groupby("speaker")["gender"].nunique() == 1).all()
