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


def test_predict_groups_of_the_shared_folders(shared_corpora):
    """`emolens predict FOLDER` normalises by the layout's speakers, never by emotion folder
    (TESS's folders are OAF_angry/, YAF_sad/...), and a folder of corpora keeps them apart."""
    from emolens.corpora import audio_files, folder_groups

    files = [str(f.resolve()) for f in audio_files(shared_corpora / "tess")]
    found = folder_groups(shared_corpora / "tess", files)
    assert sorted(set(found.groups)) == ["tess:OAF", "tess:YAF"] and "TESS" in found.rule
    everything = [str(f.resolve()) for f in audio_files(shared_corpora)]
    found = folder_groups(shared_corpora, everything)
    sets = {s.rsplit("/", 1)[1] for s in found.sets}
    assert sets == {"emodb", "ravdess", "nemo", "tess"}
    assert len(set(found.groups)) == 10 + 24 + 9 + 2
