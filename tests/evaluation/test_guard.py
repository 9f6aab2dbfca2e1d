"""The leakage guard and the speaker-disjointness of every protocol."""

import numpy as np
import pandas as pd
import pytest

from emolens import LABELS
from emolens.evaluation.guard import LeakageError, check_disjoint
from emolens.evaluation.protocols import fold_indices, make_splits


def _manifest(corpora=("a", "b"), speakers=6, per=8):
    rows = []
    for c in corpora:
        for s in range(speakers):
            for i in range(per):
                rows.append(
                    {"file": f"/x/{c}/{s}_{i}.wav", "corpus": c, "speaker": f"{c}:{s}",
                     "label4": LABELS[i % 4]}
                )
    return pd.DataFrame(rows)


def test_guard_fires_for_shared_speaker():
    m = _manifest()
    with pytest.raises(LeakageError, match=r"speaker.*a:0"):
        check_disjoint(m.iloc[:5], m.iloc[5:10])


def test_guard_fires_for_shared_file_even_when_speakers_are_allowed():
    m = _manifest()
    with pytest.raises(LeakageError, match=r"file.*/x/a/0_3.wav"):
        check_disjoint(m.iloc[:5], m.iloc[3:10], speakers=False)


def test_guard_reads_multiindex_and_passes_disjoint_data():
    m = _manifest()
    idx = pd.MultiIndex.from_frame(m[["file", "corpus", "speaker"]])
    X = pd.DataFrame({"f": np.arange(len(m))}, index=idx)
    check_disjoint(X[m["corpus"].eq("a").to_numpy()], X[m["corpus"].eq("b").to_numpy()])
    assert issubclass(LeakageError, ValueError)
    with pytest.raises(LeakageError):
        check_disjoint(X.iloc[:9], X.iloc[8:])


@pytest.mark.parametrize("folds", [3, "loso"])
def test_speaker_folds_are_speaker_disjoint_and_cover_everything(folds):
    m = _manifest(("a",))
    held = []
    for tr, te in fold_indices(m, folds, "speaker", seed=0):
        assert not set(m.speaker.iloc[tr]) & set(m.speaker.iloc[te])
        held.extend(te)
    assert sorted(held) == list(range(len(m)))


@pytest.mark.parametrize("protocol", ["transfer", "pairwise", "within", "loco"])
def test_every_protocol_split_is_speaker_disjoint(protocol):
    m = _manifest(("a", "b", "c"))
    test = [] if protocol == "within" else ["c"]
    train = ["a", "b"] if protocol != "pairwise" else ["a", "b"]
    splits = make_splits(m, protocol, train, test, folds=3, split="speaker", seed=1)
    assert splits and len({s.fold for s in splits}) == len(splits)
    for s in splits:
        for t in s.tests:
            if t.role != "train":
                assert not set(m.speaker.iloc[s.train]) & set(m.speaker.iloc[t.index]), t.name


def test_stratified_split_shares_speakers_only_in_validation():
    m = _manifest(("a", "b"))
    splits = make_splits(m, "transfer", ["a"], ["b"], folds=4, split="stratified", seed=0)
    valid = [t for t in splits[0].tests if t.role == "valid"][0]
    assert set(m.speaker.iloc[splits[0].train]) & set(m.speaker.iloc[valid.index])
    assert not set(m.file.iloc[splits[0].train]) & set(m.file.iloc[valid.index])


def test_zero_shot_corpus_sharing_a_speaker_is_refused():
    m = _manifest(("a", "b"))
    m.loc[m.corpus.eq("b") & m.speaker.eq("b:0"), "speaker"] = "a:0"
    with pytest.raises(LeakageError, match="a:0"):
        make_splits(m, "transfer", ["a"], ["b"], folds=3)


def test_too_few_speakers_gives_clear_error():
    m = _manifest(("a",), speakers=2)
    with pytest.raises(ValueError, match="at least 5 speakers"):
        fold_indices(m, 5, "speaker")
