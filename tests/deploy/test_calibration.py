import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from emolens.deploy.calibration import ProbabilityHead, classifier_scores, linear_scores

LABELS = ["neutral", "happy", "sad", "angry"]


def _toy(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = np.array(LABELS)[np.arange(n) % 4]
    codes = np.arange(n) % 4
    X = rng.normal(size=(n, 2)) + np.c_[np.cos(codes), np.sin(codes)] * 2
    return X, y


def test_probabilities_sum_to_one_in_label_order():
    X, y = _toy()
    head = ProbabilityHead().fit(X, y, LABELS)
    p = head.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
    assert head.labels_ == LABELS
    # column j must be the probability of LABELS[j]: argmax recovers most labels
    assert (np.array(LABELS)[p.argmax(1)] == y).mean() > 0.6


def test_svc_linear_pairwise_scores_are_affine():
    X, y = _toy()
    svc = SVC(kernel="linear", decision_function_shape="ovo").fit(X, y)
    W, b, kind = linear_scores(svc)
    assert kind == "svc-ovo-linear"
    np.testing.assert_allclose(classifier_scores(svc, X), svc.decision_function(X), atol=1e-9)
    assert linear_scores(SVC(kernel="rbf").fit(X, y)) is None
    lr = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(classifier_scores(lr, X), lr.decision_function(X), atol=1e-12)


def test_head_errors():
    X, y = _toy()
    with pytest.raises(ValueError, match="no held-out samples"):
        ProbabilityHead().fit(X[y != "sad"], y[y != "sad"], LABELS)
    head = ProbabilityHead().fit(X, y, LABELS)
    with pytest.raises(ValueError, match="expects 2"):
        head.predict_proba(np.zeros((2, 3)))
    d = head.to_dict()
    d["intercept"] = [0.0]
    with pytest.raises(ValueError, match="do not fit"):
        ProbabilityHead.from_dict(d)
