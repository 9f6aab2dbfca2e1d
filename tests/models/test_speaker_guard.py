"""FeatureScaler(guard=True): corpora whose speakers each show one emotion keep the emotion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.models import FeatureScaler, load_pipeline, make_model, save_pipeline
from emolens.models.scaling import GUARD_MIN_SPEAKERS, GUARD_RANGE, speaker_share

EMOTIONS = ("angry", "happy", "neutral", "sad")


def _corpus(name, n_speakers, per_emotion, rng, single=False):
    """Rows whose features 0-1 carry the emotion and 2-3 the voice; with ``single`` each
    speaker speaks one emotion only (a talk-show guest angry all along)."""
    shift = {"angry": (3, 1), "happy": (2, -2), "neutral": (0, 0), "sad": (-2, 1)}
    rows, index, labels = [], [], []
    for s in range(n_speakers):
        voice = rng.normal(0, 3, size=2)
        emotions = [EMOTIONS[s % 4]] if single else EMOTIONS
        for e in emotions:
            for i in range(per_emotion * (4 if single else 1)):
                rows.append(np.r_[np.array(shift[e]) + rng.normal(0, 0.7, 2),
                                  voice + rng.normal(0, 0.3, 2)])
                index.append((f"{name}/{s}/{e}/{i}.wav", name, f"{name}:s{s}"))
                labels.append(e)
    idx = pd.MultiIndex.from_tuples(index, names=["file", "corpus", "speaker"])
    return pd.DataFrame(np.array(rows), index=idx), np.array(labels, dtype=object)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    train = [_corpus(c, 6, 10, rng) for c in ("a", "b")]
    X = pd.concat([t[0] for t in train])
    y = np.concatenate([t[1] for t in train])
    return X, y, _corpus("balanced", 8, 10, rng), _corpus("single", 8, 10, rng, single=True)


def _class_gap(Z, y):
    """Distance between the angry and sad means along the emotion feature 0."""
    return abs(Z[y == "angry", 0].mean() - Z[y == "sad", 0].mean())


def test_speaker_share():
    P = np.array([[0.0], [1.0], [10.0], [11.0]])
    # between 100, within 1; chance puts (k - 1) / (n - k) = 1/2 of the within part between
    assert speaker_share(P, ["a", "a", "b", "b"]) == pytest.approx((100 - 0.5) / 101)
    assert speaker_share(P, ["a", "b", "a", "b"]) == 0.0  # between 1 < chance 50
    assert speaker_share(P, ["a", "b", "c", "d"]) == 1.0  # one row per speaker
    assert speaker_share(P, ["a"] * 4) == 0.0
    assert speaker_share(np.zeros((3, 2)), ["a", "b", "c"]) == 0.0


def test_balanced_speakers_keep_their_statistics(data):
    X, y, (Xb, _), _ = data
    plain = FeatureScaler(by="speaker", shrink=10).fit(X)
    guarded = FeatureScaler(by="speaker", shrink=10, guard=True).fit(X, y)
    assert guarded.guard_weights(Xb) == {"balanced": 0.0}
    np.testing.assert_array_equal(guarded.transform(Xb), plain.transform(Xb))
    np.testing.assert_array_equal(guarded.fit_transform(X, y), plain.transform(X))


def test_one_emotion_per_speaker_gets_corpus_statistics(data):
    X, y, _, (Xs, ys) = data
    plain = FeatureScaler(by="speaker", shrink=10).fit(X)
    guarded = FeatureScaler(by="speaker", shrink=10, guard=True).fit(X, y)
    assert guarded.guard_weights(Xs) == {"single": 1.0}
    corpus = FeatureScaler(by="corpus").fit(X).transform(Xs)
    np.testing.assert_allclose(guarded.transform(Xs), corpus)
    # speaker statistics took most of the emotion away; the guard keeps it
    assert _class_gap(plain.transform(Xs), ys) < 0.5 * _class_gap(guarded.transform(Xs), ys)


def test_each_corpus_is_guarded_on_its_own(data):
    X, y, (Xb, _), (Xs, _) = data
    guarded = FeatureScaler(by="speaker", shrink=10, guard=True).fit(X, y)
    both = pd.concat([Xb, Xs])
    assert guarded.guard_weights(both) == {"balanced": 0.0, "single": 1.0}
    Z = guarded.transform(both)
    np.testing.assert_allclose(Z[: len(Xb)], guarded.transform(Xb))
    np.testing.assert_allclose(Z[len(Xb):], guarded.transform(Xs))


def test_the_weight_is_linear_between_the_bounds(data, monkeypatch):
    X, y, _, (Xs, _) = data
    guarded = FeatureScaler(by="speaker", guard=True).fit(X, y)
    share = speaker_share(
        FeatureScaler(by="corpus").fit(Xs).transform(Xs) @ guarded.directions_.T,
        Xs.index.get_level_values("speaker"))
    lo = share - 0.5 * (GUARD_RANGE[1] - GUARD_RANGE[0])
    monkeypatch.setattr("emolens.models.scaling.GUARD_RANGE",
                        (lo, lo + GUARD_RANGE[1] - GUARD_RANGE[0]))
    assert guarded.guard_weights(Xs)["single"] == pytest.approx(0.5)


def test_transform_changes_nothing_and_unlabelled_rows_are_allowed(data):
    X, y, _, (Xs, _) = data
    y = y.copy()
    y[::3] = None  # unlabelled utterances join the statistics, not the directions
    guarded = FeatureScaler(by="speaker", guard=True).fit(X, y)
    before = {k: np.copy(v) for k, v in vars(guarded).items() if isinstance(v, np.ndarray)}
    guarded.transform(Xs), guarded.guard_weights(Xs)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(guarded, k), v)
    assert guarded.directions_.shape == (4, X.shape[1])


def test_bad_guards():
    X = pd.DataFrame(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="guard needs by='speaker'"):
        FeatureScaler(by="corpus", guard=True).fit(X, ["a"] * 4)
    with pytest.raises(ValueError, match="guard must be True or False"):
        FeatureScaler(by="speaker", guard="yes").fit(X, groups=list("abab"))
    with pytest.raises(ValueError, match="needs the labels y"):
        FeatureScaler(by="speaker", guard=True).fit(X, groups=list("abab"))


def test_a_guarded_pipeline_round_trips(data, tmp_path):
    X, y, (Xb, _), (Xs, _) = data
    pipe = make_model("logreg", scale__by="speaker", shrink=10, guard=True).fit(X, y)
    assert pipe.named_steps["scale"].guard
    back = load_pipeline(save_pipeline(pipe, tmp_path / "p"))
    both = pd.concat([Xb, Xs])
    np.testing.assert_array_equal(back.predict_proba(both), pipe.predict_proba(both))


def test_two_speakers_are_not_enough_evidence(data):
    """Between two speakers a difference is as likely their voices as their emotions."""
    X, y, _, (Xs, _) = data
    guarded = FeatureScaler(by="speaker", shrink=10, guard=True).fit(X, y)
    speakers = Xs.index.get_level_values("speaker")
    for n, expected in ((GUARD_MIN_SPEAKERS - 1, 0.0), (GUARD_MIN_SPEAKERS, 1.0)):
        part = Xs[speakers.isin(sorted(set(speakers))[:n])]
        assert guarded.guard_weights(part) == {"single": expected}


def test_a_few_utterances_per_speaker_do_not_look_like_one_emotion_each():
    """Speaker means over 3 utterances stray by chance; the share discounts that."""
    rng = np.random.default_rng(0)
    speakers = np.repeat(np.arange(40), 3)
    noise = [speaker_share(rng.normal(size=(120, 3)), speakers) for _ in range(50)]
    raw = []  # the uncorrected share, for comparison: about (k - 1) / (n - 1) = 1/3
    for _ in range(50):
        P = rng.normal(size=(120, 3))
        P -= P.mean(axis=0)
        means = pd.DataFrame(P).groupby(speakers).transform("mean").to_numpy()
        raw.append((means ** 2).sum() / (P ** 2).sum())
    assert np.mean(raw) > GUARD_RANGE[0] and np.mean(noise) < 0.05
    shifted = rng.normal(size=(120, 3)) + 2 * rng.normal(size=(40, 3))[speakers]  # real ones
    assert speaker_share(shifted, speakers) > GUARD_RANGE[1]



def _wide(X, rng, n=20):
    """``X`` with ``n`` columns of noise appended (real feature sets are wide; the guard
    removes a few channel directions out of many)."""
    noise = pd.DataFrame(rng.normal(size=(len(X), n)), index=X.index,
                         columns=range(X.shape[1], X.shape[1] + n))
    return pd.concat([X, noise], axis=1)


def _channelled(X, rng, suffix=""):
    """``X`` with every speaker's rows moved by a channel of his/her own (a gain and tilt that
    moves the emotion feature 0 and the voice feature 2 together); ``suffix`` marks the rows
    as channel copies (corpus and speaker ids ending in it)."""
    direction = np.zeros(X.shape[1])
    direction[[0, 2]] = 1 / np.sqrt(2)
    speakers = X.index.get_level_values("speaker")
    offset = {s: rng.normal(0, 6) * direction for s in pd.unique(speakers)}
    moved = X.to_numpy() + np.array([offset[s] for s in speakers])
    index = pd.MultiIndex.from_arrays(
        [X.index.get_level_values("file") + suffix, X.index.get_level_values("corpus") + suffix,
         speakers + suffix], names=X.index.names)
    return pd.DataFrame(moved, index=index, columns=X.columns)


def test_channel_copies_keep_the_guard_off_a_channel_per_speaker(data):
    """Trained with channel copies, the guard tells a speaker's channel from a speaker's
    emotion; without them it takes a corpus recorded through a channel per speaker (every
    speaker showing every emotion) for speakers who each show one."""
    rng = np.random.default_rng(1)
    X, y, (Xb, _), (Xs, _) = data
    X, Xb, Xs = _wide(X, rng), _wide(Xb, rng), _wide(Xs, rng)
    test = _channelled(Xb, rng)
    plain = FeatureScaler(by="speaker", shrink="auto", guard=True).fit(X, y)
    assert plain.guard_weights(test)["balanced"] > 0.1
    X2 = pd.concat([X, _channelled(X, rng, "~channel")])
    scaler = FeatureScaler(by="speaker", shrink="auto", guard=True).fit(X2, np.r_[y, y])
    assert scaler.guard_weights(test)["balanced"] == 0.0
    assert scaler.guard_weights(Xs)["single"] == 1.0     # one emotion per speaker: still seen
    weights = scaler.guard_weights(X2)
    assert weights["a~channel"] == weights["b~channel"] == 1.0   # copies: corpus statistics
    assert weights["a"] == weights["b"] == 0.0


def test_channel_directions_stop_at_what_the_copies_span():
    """Copies that all differ along one direction give that direction alone: the singular
    vectors past the differences' rank are rounding noise, and removing them from the
    emotion directions made the guard blind on some LAPACK builds."""
    from emolens.models.scaling import channel_directions

    rng = np.random.default_rng(3)
    n_speakers, dim = 6, 10
    axis = np.zeros(dim)
    axis[[0, 2]] = 1 / np.sqrt(2)
    rows, speakers, corpora = [], [], []
    for s in range(n_speakers):
        x = rng.normal(size=(4, dim))
        rows += [x, x + rng.normal(0, 5) * axis]
        speakers += [f"s{s}"] * 4 + [f"s{s}~channel"] * 4
        corpora += ["c"] * 4 + ["c~channel"] * 4
    C = channel_directions(np.vstack(rows), speakers, corpora, np.ones(dim))
    assert C.shape == (1, dim)
    assert abs(C[0] @ axis) == pytest.approx(1.0)
    # three copied speakers with random channels: their centred differences span two
    free = [x + rng.normal(size=dim) if "~" in s else x
            for x, s in zip(np.vstack(rows), speakers)]
    three = slice(0, 24)
    C = channel_directions(np.vstack(free)[three], speakers[three], corpora[three], np.ones(dim))
    assert len(C) == 2
