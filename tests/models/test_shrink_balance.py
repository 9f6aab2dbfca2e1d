"""FeatureScaler(shrink=k): speaker statistics shrunk towards their corpus; balanced_weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.models import FeatureScaler, balanced_weights, fit_pipelines, make_model


def _frame(values, corpus, speaker):
    idx = pd.MultiIndex.from_arrays(
        [[f"f{i}" for i in range(len(values))], corpus, speaker], names=["file", "corpus", "speaker"])
    return pd.DataFrame(np.asarray(values, dtype=float), index=idx)


@pytest.fixture
def two_corpora():
    rng = np.random.default_rng(0)
    n = 40
    corpus = ["a"] * n + ["b"] * n
    speaker = [f"a{i % 4}" for i in range(n)] + [f"b{i % 4}" for i in range(n)]
    offsets = {s: rng.normal(0, 3, 3) for s in set(speaker)}
    X = np.array([offsets[s] + rng.normal(0, 1, 3) for s in speaker]) + np.r_[[0] * n, [5] * n][:, None]
    return _frame(X, corpus, speaker)


def test_zero_shrink_is_plain_speaker_scaling(two_corpora):
    a = FeatureScaler(by="speaker").fit(two_corpora).transform(two_corpora)
    b = FeatureScaler(by="speaker", shrink=0).fit(two_corpora).transform(two_corpora)
    np.testing.assert_array_equal(a, b)


def test_large_shrink_tends_to_corpus_scaling(two_corpora):
    corpus = FeatureScaler(by="corpus").fit(two_corpora).transform(two_corpora)
    huge = FeatureScaler(by="speaker", shrink=1e9).fit(two_corpora).transform(two_corpora)
    np.testing.assert_allclose(huge, corpus, atol=1e-6)


def test_shrink_is_between_speaker_and_corpus(two_corpora):
    spk = FeatureScaler(by="speaker").fit_transform(two_corpora)
    mid = FeatureScaler(by="speaker", shrink=10).fit_transform(two_corpora)
    cor = FeatureScaler(by="corpus").fit_transform(two_corpora)
    d_spk, d_cor = np.abs(mid - spk).mean(), np.abs(mid - cor).mean()
    assert 0 < d_spk and 0 < d_cor
    assert not np.allclose(mid, spk) and not np.allclose(mid, cor)


def test_one_emotion_speaker_keeps_part_of_his_offset():
    # speaker s1 is "angry" (+2 on every feature) throughout; the others are mixed
    rng = np.random.default_rng(1)
    speakers = [f"s{i}" for i in range(6) for _ in range(20)]
    X = rng.normal(0, 1, (120, 4))
    X[:20] += 2.0
    frame = _frame(X, ["c"] * 120, speakers)
    full = FeatureScaler(by="speaker", clip=None).fit_transform(frame)
    shrunk = FeatureScaler(by="speaker", shrink=20, clip=None).fit_transform(frame)
    assert abs(full[:20].mean()) < 1e-9          # per-speaker scaling erases the anger
    assert shrunk[:20].mean() > 0.5               # shrinkage keeps part of it


def test_single_utterance_speaker_is_finite_and_listed(two_corpora):
    X = pd.concat([two_corpora, _frame([[1.0, 2.0, 3.0]], ["a"], ["lonely"])])
    scaler = FeatureScaler(by="speaker", shrink=10)
    with pytest.warns(UserWarning, match="lonely"):
        Z = scaler.fit_transform(X)
    assert np.isfinite(Z).all()
    assert scaler.fallback_groups_ == ["lonely"]


def test_without_corpus_level_shrinks_towards_training_statistics(two_corpora):
    scaler = FeatureScaler(by="speaker", shrink=1e9, clip=None).fit(two_corpora)
    Z = scaler.transform(two_corpora.to_numpy(), groups=two_corpora.index.get_level_values("speaker"))
    np.testing.assert_allclose(Z, (two_corpora.to_numpy() - scaler.mean_) / scaler.scale_, atol=1e-6)


@pytest.mark.parametrize("bad", [-1, float("nan"), "10", True])
def test_bad_shrink(bad, two_corpora):
    with pytest.raises(ValueError, match="shrink"):
        FeatureScaler(by="speaker", shrink=bad).fit(two_corpora)


def test_shrink_needs_speaker_groups(two_corpora):
    with pytest.raises(ValueError, match="by='speaker'"):
        FeatureScaler(by="corpus", shrink=5).fit(two_corpora)


def test_shrink_round_trips_through_a_saved_pipeline(two_corpora, tmp_path):
    from emolens.models import load_pipeline, save_pipeline

    y = np.array(["neutral", "happy", "sad", "angry"] * 20)
    pipe = make_model("logreg", by="speaker", shrink=7.5).fit(two_corpora, y)
    save_pipeline(pipe, tmp_path / "p")
    again = load_pipeline(tmp_path / "p")
    assert again.named_steps["scale"].shrink == 7.5
    np.testing.assert_allclose(again.predict_proba(two_corpora), pipe.predict_proba(two_corpora))


def test_balanced_weights_give_every_cell_the_same_total():
    corpus = np.array(["big"] * 90 + ["small"] * 10)
    y = np.array((["a"] * 60 + ["b"] * 30) + (["a"] * 5 + ["b"] * 5))
    w = balanced_weights(y, corpus)
    assert w.mean() == pytest.approx(1.0)
    totals = pd.Series(w).groupby([corpus, y]).sum()
    np.testing.assert_allclose(totals, totals.iloc[0])


def _weighted_and_plain(model: str, n: int):
    """``model`` fitted twice on the same rows: with lopsided sample weights, and without."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = np.array(["a", "b"] * (n // 2))
    w = np.where(np.arange(n) < n // 2, 10.0, 0.1)
    weighted, plain = make_model(model), make_model(model)
    fit_pipelines([weighted, plain], [X, X], [y, y], sample_weights=[w, None])
    return weighted, plain


def test_weights_reach_the_classifier():
    weighted, plain = _weighted_and_plain("logreg", 60)
    assert weighted.named_steps["clf"].class_weight is None
    assert not np.allclose(weighted.named_steps["clf"].coef_, plain.named_steps["clf"].coef_)


def test_weights_reach_every_member_of_the_vote_classifier():
    weighted, plain = _weighted_and_plain("vote", 80)
    params = weighted.named_steps["clf"].get_params(deep=True)
    assert params["svc__estimator__class_weight"] is None and params["logreg__class_weight"] is None
    assert plain.named_steps["clf"].get_params()["logreg__class_weight"] == "balanced"
    members = [m.named_steps["clf"].estimators_[1].coef_ for m in (weighted, plain)]
    assert not np.allclose(*members)
