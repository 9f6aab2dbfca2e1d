"""FeatureScaler: training z-score, per-corpus/per-speaker semantics, clipping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.models import FeatureScaler, SmallGroupWarning, make_model


def test_training_statistics_are_reused_at_transform(xy):
    X, _ = xy
    scaler = FeatureScaler(clip=None).fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(Z.std(0), 1, atol=1e-10)
    shifted = scaler.transform(X + 3 * X.std(0))
    np.testing.assert_allclose(shifted.mean(0), 3, atol=1e-8)


def test_clipping_at_ten_sd(xy):
    X, _ = xy
    scaler = FeatureScaler().fit(X)
    far = X[:5] + 50 * X.std(0)
    Z = scaler.transform(far)
    assert Z.max() == pytest.approx(10.0)
    assert FeatureScaler(clip=None).fit(X).transform(far).max() > 40
    assert np.abs(FeatureScaler(clip=2.5).fit_transform(X)).max() <= 2.5


def test_zero_variance_feature_maps_to_zero(xy):
    X, _ = xy
    X = X.copy()
    X[:, 3] = 7.0
    Z = FeatureScaler().fit_transform(X)
    assert np.isfinite(Z).all()
    assert np.all(Z[:, 3] == 0)


def test_dtype_and_output_type(frame):
    X, _ = frame
    Z = FeatureScaler().fit_transform(X)
    assert isinstance(Z, np.ndarray) and Z.dtype == np.float64
    Z32 = FeatureScaler().fit_transform(X.to_numpy(dtype=np.float32))
    assert Z32.dtype == np.float32


@pytest.mark.parametrize("by", ["speaker", "corpus"])
def test_each_group_is_standardised_with_its_own_statistics(frame, by):
    X, _ = frame
    scaler = FeatureScaler(by=by, clip=None).fit(X)
    # Transductive: a new recording condition (offset + gain) is removed by the group's own
    # unlabelled statistics, not by the training ones.
    X_new = X * 1.7 + 25.0
    for Z, data in ((scaler.transform(X), X), (scaler.transform(X_new), X_new)):
        levels = data.index.get_level_values(by)
        for group in np.unique(levels):
            rows = Z[np.asarray(levels == group)]
            np.testing.assert_allclose(rows.mean(0), 0, atol=1e-9)
            np.testing.assert_allclose(rows.std(0), 1, atol=1e-9)


def test_group_scaling_needs_ids(xy):
    X, _ = xy
    with pytest.raises(ValueError, match="speaker ids"):
        FeatureScaler(by="speaker").fit(X)
    with pytest.raises(ValueError, match="corpus ids"):
        FeatureScaler(by="corpus").fit(pd.DataFrame(X))
    fitted = FeatureScaler(by="speaker").fit(X, groups=np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="speaker ids"):
        fitted.transform(X)
    with pytest.raises(ValueError, match="one speaker id per row"):
        fitted.transform(X, groups=[0, 1])


def test_explicit_groups_match_index_level(frame):
    X, _ = frame
    speakers = X.index.get_level_values("speaker")
    a = FeatureScaler(by="speaker").fit(X).transform(X)
    b = FeatureScaler(by="speaker").fit(X.to_numpy(), groups=speakers).transform(
        X.to_numpy(), groups=speakers
    )
    np.testing.assert_array_equal(a, b)


def test_single_utterance_group_falls_back_to_training_statistics(frame):
    X, _ = frame
    scaler = FeatureScaler(by="speaker", clip=None).fit(X)
    lone = X.iloc[:1].rename(index={X.index[0][2]: "new:speaker"}, level="speaker")
    with pytest.warns(SmallGroupWarning, match="new:speaker"):
        Z = scaler.transform(lone)
    np.testing.assert_allclose(Z[0], (lone.to_numpy()[0] - scaler.mean_) / scaler.scale_)
    before = dict(vars(scaler))
    Z2, fallback = scaler.transform_with_fallback(lone)
    assert fallback == ["new:speaker"] and np.array_equal(Z, Z2)
    assert vars(scaler).keys() == before.keys()  # transform changes nothing on the scaler


def test_bad_parameters():
    with pytest.raises(ValueError, match="by must be one of"):
        FeatureScaler(by="gender").fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="clip"):
        FeatureScaler(clip=-1).fit(np.ones((3, 2)))


def test_per_speaker_scaling_inside_a_pipeline(frame):
    X, y = frame
    pipe = make_model("linsvc", scale__by="speaker").fit(X, y)
    assert pipe.score(X, y) > 0.9
