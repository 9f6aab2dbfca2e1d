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
