"""FeatureScaler(shrink="auto"): the weight of a speaker's own statistics set per corpus,
speaker and feature by how much the corpus's speakers differ (empirical Bayes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.models import FeatureScaler, make_model
from emolens.models.scaling import shrink_words, speaker_weights


def _frame(values, corpus, speaker):
    idx = pd.MultiIndex.from_arrays(
        [[f"f{i}" for i in range(len(values))], corpus, speaker], names=["file", "corpus", "speaker"])
    return pd.DataFrame(np.asarray(values, dtype=float), index=idx)


def _voices(n_speakers=12, per_speaker=20, seed=0, corpus="c"):
    """Feature 0 differs by speaker (sd 3 between, 1 within); feature 1 does not."""
    rng = np.random.default_rng(seed)
    speaker = np.repeat([f"{corpus}{i}" for i in range(n_speakers)], per_speaker)
    X = rng.normal(0, 1, (len(speaker), 2))
    X[:, 0] += np.repeat(rng.normal(0, 3, n_speakers), per_speaker)
    return _frame(X, [corpus] * len(speaker), speaker)


def test_weights_follow_how_much_speakers_differ():
    X = _voices().to_numpy()
    codes = np.repeat(np.arange(12), 20)
    W = speaker_weights(X, codes, ratio=np.ones(2))
    assert W.shape == (12, 2)
    assert (W[:, 0] > 0.95).all()          # 9 between vs 1/20 within: the speaker's own mean
    assert (W[:, 1] < 0.3).all()           # no speaker effect: mostly the corpus mean


def test_weights_grow_with_a_speakers_utterances():
    # between-speaker sd 0.5, within 1: weights 0.25 / (0.25 + 1 / n), well inside (0, 1)
    rng = np.random.default_rng(2)
    n = np.array([3, 12] * 20)
    codes = np.repeat(np.arange(40), n)
    X = rng.normal(0, 1, (len(codes), 1)) + np.repeat(rng.normal(0, 0.5, 40), n)[:, None]
    W = speaker_weights(X, codes, ratio=np.ones(1))[:, 0]
    assert W[n == 3].max() < W[n == 12].min()
    assert 0.05 < W[n == 3].mean() < W[n == 12].mean() < 0.95


def test_one_utterance_per_speaker_uses_the_training_ratio():
    X = np.random.default_rng(1).normal(size=(5, 2))
    ratio = np.array([4.0, 0.25])
    W = speaker_weights(X, np.arange(5), ratio)
    np.testing.assert_allclose(W, np.tile([4 / 5, 0.25 / 1.25], (5, 1)))


def test_auto_keeps_voices_out_and_emotions_in():
    """Feature 0 (voice) is scaled like per-speaker statistics, feature 1 like the corpus's."""
    frame = _voices()
    auto = FeatureScaler(by="speaker", shrink="auto", clip=None).fit_transform(frame)
    spk = FeatureScaler(by="speaker", clip=None).fit_transform(frame)
    cor = FeatureScaler(by="corpus", clip=None).fit_transform(frame)
    assert np.abs(auto[:, 0] - spk[:, 0]).mean() < 0.1 * np.abs(cor[:, 0] - spk[:, 0]).mean()
    assert np.abs(auto[:, 1] - cor[:, 1]).mean() < 0.5 * np.abs(spk[:, 1] - cor[:, 1]).mean()


def test_auto_learns_the_training_ratio_and_round_trips(tmp_path):
    from emolens.models import load_pipeline, save_pipeline

    frame = pd.concat([_voices(seed=0, corpus="a"), _voices(seed=1, corpus="b")])
    scaler = FeatureScaler(by="speaker", shrink="auto").fit(frame)
    assert scaler.speaker_ratio_[0] > 3 and scaler.speaker_ratio_[1] < 0.2
    y = np.resize(["neutral", "happy", "sad", "angry"], len(frame))
    pipe = make_model("logreg", by="speaker", shrink="auto").fit(frame, y)
    save_pipeline(pipe, tmp_path / "p")
    again = load_pipeline(tmp_path / "p")
    assert again.named_steps["scale"].shrink == "auto"
    np.testing.assert_allclose(again.named_steps["scale"].speaker_ratio_,
                               pipe.named_steps["scale"].speaker_ratio_)
    np.testing.assert_allclose(again.predict_proba(frame), pipe.predict_proba(frame))


def test_a_lone_utterance_is_finite_and_not_erased():
    scaler = FeatureScaler(by="speaker", shrink="auto", clip=None).fit(_voices())
    lone = _frame([[8.0, 3.0]], ["new"], ["x"])
    with pytest.warns(UserWarning, match="fewer than 2 rows"):
        Z = scaler.transform(lone)
    assert np.isfinite(Z).all()
    assert Z[0, 1] > 1.0  # the feature speakers do not move keeps its deviation


def test_auto_needs_speakers_to_learn_from():
    one_each = _frame(np.random.default_rng(0).normal(size=(4, 2)), ["c"] * 4, list("abcd"))
    with pytest.raises(ValueError, match="two speakers"):
        FeatureScaler(by="speaker", shrink="auto").fit(one_each)


@pytest.mark.parametrize("bad", ["Auto", "eb"])
def test_other_words_are_refused(bad):
    with pytest.raises(ValueError, match="'auto'"):
        FeatureScaler(by="speaker", shrink=bad).fit(_voices())


def test_auto_needs_speaker_groups():
    with pytest.raises(ValueError, match="by='speaker'"):
        FeatureScaler(by="corpus", shrink="auto").fit(_voices())


def test_words():
    assert "empirical Bayes" in shrink_words("auto")
    assert shrink_words(10.0) == "10 pseudo-utterances"
