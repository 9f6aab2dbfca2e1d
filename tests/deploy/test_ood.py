import numpy as np
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
