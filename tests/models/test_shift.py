"""distribution_shift: flag a test corpus far outside the training distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from emolens.models import FeatureScaler, distribution_shift, make_model


def _two_corpora(xy, offset_sd=12.0):
    """Corpus a as is; corpus b: same classes, another 'channel' (gain + large offset)."""
    X, y = xy
    rng = np.random.default_rng(3)
    half = len(X) // 2
    b = X[half:] * rng.uniform(0.5, 1.5, X.shape[1]) + offset_sd * X.std(0) * rng.choice([-1, 1], X.shape[1])
    data = np.vstack([X[:half], b])
    index = pd.MultiIndex.from_arrays(
        [[f"/f{i}.wav" for i in range(len(X))], ["a"] * half + ["b"] * (len(X) - half),
         [f"s{i % 6}" for i in range(len(X))]],
        names=["file", "corpus", "speaker"],
    )
    frame = pd.DataFrame(data, index=index, columns=[f"feat{i}" for i in range(X.shape[1])])
    return frame.iloc[:half], y[:half], frame.iloc[half:], y[half:]


def test_in_distribution_is_not_flagged(xy):
    X, _ = xy
    scaler = FeatureScaler().fit(X[:120])
    report = distribution_shift(scaler, X[120:])
    assert not report.flagged and report.message == ""
    assert report.median_abs_z < 1.0
    assert report.train_median_abs_z == pytest.approx(scaler.train_median_abs_z_)


def test_shifted_corpus_is_flagged_with_numbers_and_fix(xy):
    Xa, _, Xb, _ = _two_corpora(xy)
    scaler = FeatureScaler().fit(Xa)
    report = distribution_shift(scaler, Xb, name="corpus b")
    assert report.shifted and report.share_clipped > 0.1
    assert report.median_abs_z > 5
    assert report.worst_features[0][0].startswith("feat")
    assert abs(report.worst_features[0][1]) >= abs(report.worst_features[-1][1])
    assert f"{report.median_abs_z:.2f}" in report.message
    assert "corpus b" in report.message and 'by="corpus"' in report.message
    assert "speaker ids" in report.message
    d = report.as_dict()
    assert d["shifted"] is True and isinstance(d["worst_features"][0][0], str)

    # The same data under per-corpus normalisation is no longer shifted.
    per_corpus = FeatureScaler(by="corpus").fit(Xa)
    assert not distribution_shift(per_corpus, Xb).shifted


def test_partial_location_shift_is_flagged(xy):
    # Like EmoDB -> RAVDESS: most values look normal (median |z| < 1.5), but a third of the
    # features moved by a few sd as a whole.
    X, _ = xy
    scaler = FeatureScaler().fit(X[:120])
    test = X[120:].copy()
    moved = np.arange(0, X.shape[1], 3)
    test[:, moved] += 3 * X[:120].std(0)[moved]
    report = distribution_shift(scaler, test)
    assert report.median_abs_z < 1.5 and report.share_clipped == 0
    assert report.share_shifted_features == pytest.approx(len(moved) / X.shape[1], abs=0.02)
    assert report.shifted and "features shifted by more than 1 sd" in report.message
    assert {f for f, _ in report.worst_features} <= {f"x{i}" for i in moved}


def test_flagged_report_is_logged(xy, caplog):
    Xa, _, Xb, _ = _two_corpora(xy)
    with caplog.at_level("WARNING", logger="emolens.models.shift"):
        report = distribution_shift(FeatureScaler().fit(Xa), Xb)
    assert report.message in caplog.text


def test_rbf_svc_collapse_is_detected_and_fixed_by_per_corpus_scaling(xy):
    Xa, ya, Xb, yb = _two_corpora(xy)
    svc = make_model("svc").fit(Xa, ya)
    pred = svc.predict(Xb)
    report = distribution_shift(svc.named_steps["scale"], Xb, y_pred=pred)
    assert report.collapsed and report.majority_share > 0.9
    assert "prediction collapse" in report.message
    fixed = make_model("svc", scale__by="corpus").fit(Xa, ya)
    assert balanced_accuracy_score(yb, fixed.predict(Xb)) > balanced_accuracy_score(yb, pred) + 0.3


def test_wrong_scaler_type(xy):
    with pytest.raises(TypeError, match="FeatureScaler"):
        distribution_shift(object(), xy[0])
