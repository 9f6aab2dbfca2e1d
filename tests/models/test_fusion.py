"""FusedLogisticRegression: one logistic regression per feature set, probabilities averaged."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from emolens.models import (
    FusedLogisticRegression,
    PseudoLabels,
    check_model,
    load_pipeline,
    make_model,
    n_parameters,
    save_pipeline,
    with_feature_blocks,
)


@pytest.fixture
def blocks_data():
    """Two blocks (3 and 5 columns), each with a signal of its own about three classes."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["a", "b", "c"]), 40)
    X = rng.normal(size=(len(y), 8))
    X[:, 0] += (y == "a") * 1.5
    X[:, 4] += (y == "b") * 1.5
    return X, y


def test_probabilities_are_the_mean_of_one_regression_per_block(blocks_data):
    X, y = blocks_data
    fused = FusedLogisticRegression(blocks=(3, 5), C=0.1).fit(X, y)
    alone = [LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000).fit(X[:, s], y)
             for s in (slice(0, 3), slice(3, 8))]
    expected = np.mean([m.predict_proba(X[:, s]) for m, s in
                        zip(alone, (slice(0, 3), slice(3, 8)))], axis=0)
    np.testing.assert_allclose(fused.predict_proba(X), expected, rtol=1e-6, atol=1e-8)
    assert list(fused.classes_) == ["a", "b", "c"]
    np.testing.assert_array_equal(fused.predict(X), fused.classes_[expected.argmax(axis=1)])
    # not one regression over all the columns
    whole = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000).fit(X, y)
    assert not np.allclose(fused.predict_proba(X), whole.predict_proba(X), atol=1e-3)


def test_without_blocks_it_is_a_plain_logistic_regression(blocks_data):
    X, y = blocks_data
    fused = FusedLogisticRegression(C=0.1).fit(X, y)
    whole = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000).fit(X, y)
    np.testing.assert_allclose(fused.predict_proba(X), whole.predict_proba(X), rtol=1e-6)


def test_blocks_must_cover_the_columns(blocks_data):
    X, y = blocks_data
    with pytest.raises(ValueError, match=r"add up to 7 columns; X has 8"):
        FusedLogisticRegression(blocks=(3, 4)).fit(X, y)
    with pytest.raises(ValueError, match="clf: blocks must be None or a list of positive"):
        check_model(make_model("fusion", clf__blocks=(3, 0)))


def test_the_pipeline_learns_the_blocks_of_its_feature_set():
    pipe = with_feature_blocks(make_model("fusion", C=0.01), "compare+egemaps")
    assert pipe.named_steps["clf"].blocks == (6373, 88)
    assert with_feature_blocks(make_model("fusion"), "egemaps").named_steps["clf"].blocks == (88,)
    kept = with_feature_blocks(make_model("fusion", clf__blocks=(1, 2)), "compare+egemaps")
    assert kept.named_steps["clf"].blocks == (1, 2)
    on_latent = with_feature_blocks(make_model("dae_svc", clf="fusion"), "compare+egemaps")
    assert on_latent.named_steps["clf"].blocks is None  # one regression on the 2-D latent
    plain = make_model("logreg")
    assert with_feature_blocks(plain, "compare+egemaps").get_params() == plain.get_params()


def test_saved_adapted_and_counted(blocks_data, tmp_path):
    X, y = blocks_data
    pipe = make_model("fusion", C=0.1, clf__blocks=(3, 5)).fit(X, y)
    loaded = load_pipeline(save_pipeline(pipe, tmp_path / "fused"))
    np.testing.assert_allclose(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded.named_steps["clf"].blocks == (3, 5)
    assert n_parameters(pipe) == 3 * (3 + 1) + 3 * (5 + 1)
    clf = pipe.named_steps["clf"]
    adapted = PseudoLabels().adapt(clf, X)
    assert adapted.adapted and adapted.proba.shape == (len(X), 3)
    assert clf.class_weight == "balanced"  # the model's own classifier is untouched
