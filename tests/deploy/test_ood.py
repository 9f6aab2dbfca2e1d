import numpy as np
import pandas as pd
import pytest

from emolens.deploy.ood import OODScorer


def _data(n, shift=0.0, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 2)) + shift
    rec = np.exp(rng.normal(size=n) * 0.3 + shift / 3)
    return latent, rec


def test_heldout_rate_near_quantile_and_far_shift_flagged():
    scorer = OODScorer(quantile=0.95).fit(*_data(800, seed=1))
    scorer.calibrate(*_data(800, seed=2))
    rate_in = scorer.flag(*_data(2000, seed=3)).mean()
    rate_far = scorer.flag(*_data(500, shift=6.0, seed=4)).mean()
    assert 0.02 < rate_in < 0.09
    assert rate_far > 0.95


def test_reconstruction_error_alone_raises_score():
    scorer = OODScorer().fit(*_data(500))
    latent, rec = _data(50, seed=5)
    assert np.all(scorer.score(latent, rec * 100) > scorer.score(latent, rec))


def test_json_round_trip_identical():
    scorer = OODScorer().fit(*_data(300))
    again = OODScorer.from_dict(scorer.to_dict())
    latent, rec = _data(40, shift=1.0, seed=9)
    np.testing.assert_array_equal(scorer.score(latent, rec), again.score(latent, rec))
    assert again.threshold_ == scorer.threshold_


def test_without_reconstruction_and_errors():
    latent, _ = _data(200)
    scorer = OODScorer().fit(latent)
    assert scorer.score(latent).shape == (200,)
    with pytest.raises(ValueError, match="columns"):
        scorer.score(np.zeros((3, 3)))
    with pytest.raises(RuntimeError, match="not fitted"):
        OODScorer().score(latent)
    bad = scorer.to_dict()
    bad["covariances"] = [[1.0]]
    with pytest.raises(ValueError, match="shapes"):
        OODScorer.from_dict(bad)


def _raw(n, shift=0.0, seed=0, p=6):
    rng = np.random.default_rng(seed)
    mix = np.random.default_rng(99).normal(size=(p, p))  # correlated columns, like eGeMAPS
    return pd.DataFrame(rng.normal(size=(n, p)) @ mix + shift, columns=[f"c{i}" for i in range(p)])


def test_raw_signal_flags_what_normalised_latents_hide():
    latent, rec = _data(800, seed=1)
    scorer = OODScorer().fit(latent, rec, _raw(800, seed=1))
    scorer.calibrate(*_data(800, seed=2), raw=_raw(800, seed=2))
    # the latent and reconstruction look in-domain (as after per-speaker normalisation) but
    # the unnormalised features are far away: the raw part alone flags them
    lat, r = _data(300, seed=3)
    assert scorer.flag(lat, r, _raw(300, seed=3)).mean() < 0.1
    far = _raw(300, shift=8.0, seed=4)
    assert scorer.flag(lat, r, far).mean() > 0.95
    assert np.all(scorer.components(lat, r, far)["raw"] > 3)
    # columns are taken by name; a table missing one is refused, a model without raw data too
    shuffled = far[list(reversed(far.columns))]
    np.testing.assert_array_equal(scorer.score(lat, r, shuffled), scorer.score(lat, r, far))
    with pytest.raises(ValueError, match="lack columns"):
        scorer.score(lat, r, far.drop(columns="c0"))
    with pytest.raises(ValueError, match="raw features"):
        scorer.score(lat, r)
    again = OODScorer.from_dict(scorer.to_dict())
    np.testing.assert_array_equal(again.score(lat, r, far), scorer.score(lat, r, far))


def test_raw_columns_leave_out_the_recording_level():
    from emolens.deploy.ood import raw_columns
    from emolens.features.groups import COLUMN_GROUP

    cols = list(COLUMN_GROUP)
    kept = raw_columns(cols)
    assert 0 < len(kept) < len(cols)
    assert not any(c.startswith("loudness_sma3") or c.startswith("equivalentSoundLevel")
                   for c in kept)
    assert "F0semitoneFrom27.5Hz_sma3nz_amean" in kept
    assert raw_columns(cols + ["pcm_RMSenergy_sma_amean"]) == []  # not eGeMAPS: no raw signal


def test_weighted_quantile():
    from emolens.deploy.ood import weighted_quantile

    assert weighted_quantile([4, 1, 3, 2], [1, 1, 1, 1], 0.75) == 3
    assert weighted_quantile([1, 2, 3, 4], [3, 1, 1, 1], 0.5) == 1   # 1 holds half the weight
    assert weighted_quantile([1, 2, 3, 4], [0, 0, 0, 1], 0.01) == 4
    for bad in ([1, 1, 1], [-1, 1, 1, 1], [0, 0, 0, 0]):
        with pytest.raises(ValueError, match="non-negative"):
            weighted_quantile([1, 2, 3, 4], bad, 0.5)
    scorer = OODScorer(quantile=0.5).set_threshold([1, 2, 3, 4], "x", weights=[3, 1, 1, 1])
    assert scorer.threshold_ == 1


def test_threshold_from_held_out_corpora(synth):
    """Every corpus scored by a model that never saw it; each corpus weighs the same."""
    from emolens.deploy.ood import weighted_quantile
    from emolens.deploy.train import build_bundle, heldout_outputs
    from emolens.models import make_model

    X, m = synth["X"], synth["manifest"]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    params = {"by": "speaker", "epochs": 5}
    b = build_bundle(X, y, "dae_svc", params=params, n_splits=4, ood_reference="corpora")
    assert b.ood.threshold_source_.startswith("95% quantile on held-out corpora")
    held = heldout_outputs(make_model("dae_svc", seed=0, **params), X, y, held_out="corpora")
    corpus = np.asarray(X.index.get_level_values("corpus"))
    assert sorted(np.unique(held["fold"])) == [0, 1]
    for f in (0, 1):  # one fold per corpus
        assert len(np.unique(corpus[held["fold"] == f])) == 1
    size = pd.Series(corpus).map(pd.Series(corpus).value_counts()).to_numpy()
    assert b.ood.threshold_ == pytest.approx(weighted_quantile(held["ood"], 1 / size, 0.95))
    speakers = build_bundle(X, y, "dae_svc", params=params, n_splits=4)
    assert "held-out speakers" in speakers.ood.threshold_source_
    assert speakers.ood.threshold_ != b.ood.threshold_
    one = corpus == corpus[0]
    with pytest.raises(ValueError, match="leave-one-corpus-out.* needs >= 2 corpora"):
        build_bundle(X[one], y[one], "dae_svc", params=params, n_splits=4,
                     ood_reference="corpora")
    with pytest.raises(ValueError, match="ood_reference must be"):
        build_bundle(X, y, "dae_svc", params=params, n_splits=4, ood_reference="files")
