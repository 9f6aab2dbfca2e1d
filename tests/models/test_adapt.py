"""PseudoLabels: adapting a fitted classifier to an unlabelled target batch."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from emolens.models import PseudoLabels, adaptation, make_classifier
from emolens.models.adapt import probabilities

CLASSES = np.array(["angry", "happy", "neutral", "sad"])
CENTRES = np.array([[2.0, 2.0], [2.0, -2.0], [-2.0, 2.0], [-2.0, -2.0]])


def _blobs(n_per_class: int, shift, scale: float = 1.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = np.vstack([c * scale + shift + rng.normal(0, 0.9, (n_per_class, 2)) for c in CENTRES])
    return X, np.repeat(CLASSES, n_per_class)


def _source_model(kind="logreg"):
    X, y = _blobs(60, shift=0.0)
    return make_classifier(kind).fit(X, y)


def test_adapting_to_a_shifted_corpus_recovers_accuracy():
    """The target corpus sits elsewhere (shifted and stretched): the batch's own classifier
    moves the boundaries towards it."""
    clf = _source_model()
    X, y = _blobs(50, shift=np.array([2.5, 1.8]), scale=1.5, seed=2)
    before = (clf.predict(X) == y).mean()
    result = PseudoLabels().adapt(clf, X)
    after = (CLASSES[result.proba.argmax(axis=1)] == y).mean()
    assert result.adapted and result.note == ""
    assert result.n_pseudo == pytest.approx(len(X) / 2, abs=4)
    assert after > before + 0.05
    np.testing.assert_allclose(result.proba.sum(axis=1), 1.0)


def test_the_fitted_classifier_is_left_unchanged():
    clf = _source_model()
    coef = clf.coef_.copy()
    PseudoLabels().adapt(clf, _blobs(30, shift=1.0, seed=2)[0])
    np.testing.assert_array_equal(clf.coef_, coef)
    assert clf.class_weight == "balanced"


def test_a_batch_too_small_for_every_class_is_not_adapted():
    clf = _source_model()
    X, _ = _blobs(3, shift=0.0, seed=3)  # 3 per class: at most 2 pseudo-labels each
    result = PseudoLabels(min_per_class=5).adapt(clf, X)
    assert not result.adapted and result.n_pseudo == 0
    assert "too few confident utterances" in result.note
    np.testing.assert_allclose(result.proba, clf.predict_proba(X))


def test_a_class_the_model_never_predicts_is_named():
    clf = _source_model()
    X, y = _blobs(40, shift=0.0, seed=4)
    X = X[y != "sad"]
    result = PseudoLabels().adapt(clf, X)
    assert not result.adapted and "sad" in result.note


def test_pseudo_labels_keep_the_most_confident_share_of_each_class():
    proba = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.3, 0.7], [0.45, 0.55]])
    keep = PseudoLabels(top=0.5).pseudo_labels(proba)
    # class 0: rows 0, 1, 2 -> the 2 most confident (0, 2); class 1: rows 3, 4 -> row 3
    assert keep.tolist() == [0, 2, 3]


def test_vote_and_svc_without_probabilities_adapt_too():
    X, y = _blobs(50, shift=np.array([1.6, 1.2]), scale=1.5, seed=5)
    for clf in (_source_model("vote"), SVC(kernel="rbf").fit(*_blobs(40, 0.0))):
        result = PseudoLabels().adapt(clf, X)
        assert result.adapted and result.proba.shape == (len(X), 4)
    assert probabilities(SVC().fit(*_blobs(20, 0.0)), X).shape == (len(X), 4)


def test_a_large_batch_keeps_at_most_max_per_class():
    proba = np.tile([[0.9, 0.1], [0.2, 0.8]], (50, 1)) + np.linspace(0, 0.05, 100)[:, None]
    proba /= proba.sum(axis=1, keepdims=True)
    keep = PseudoLabels(top=0.5, max_per_class=10).pseudo_labels(proba)
    pred = proba[keep].argmax(axis=1)
    assert (pred == 0).sum() == 10 and (pred == 1).sum() == 10
    conf = proba.max(axis=1)
    for c in (0, 1):  # the most confident of each class
        rows = np.flatnonzero(proba.argmax(axis=1) == c)
        assert conf[keep[pred == c]].min() >= np.sort(conf[rows])[-10]
    assert len(PseudoLabels(top=0.5, max_per_class=None).pseudo_labels(proba)) == 50


@pytest.mark.parametrize("bad", [{"top": 0}, {"top": 1.5}, {"min_per_class": 1},
                                 {"min_per_class": 5, "max_per_class": 4}])
def test_bad_parameters(bad):
    with pytest.raises(ValueError):
        PseudoLabels(**bad)


def test_adaptation_names():
    assert adaptation(None) is None and adaptation("none") is None
    assert isinstance(adaptation("pseudo-labels"), PseudoLabels)
    with pytest.raises(ValueError, match="pseudo-labels"):
        adaptation("pseudo")


class _Recording(LogisticRegression):
    """Records the sample weights and class weight of every fit (clones keep the class)."""

    fits: list = []

    def fit(self, X, y, sample_weight=None):
        _Recording.fits.append((np.asarray(y), sample_weight, self.class_weight))
        return super().fit(X, y, sample_weight=sample_weight)


def test_the_batch_classifier_weighs_every_pseudo_class_the_same():
    """A class the batch holds twice as often weighs no more in the batch's own fit: balanced
    sample weights, the classifier's own class weights switched off."""
    clf = _Recording(class_weight="balanced").fit(*_blobs(40, 0.0))
    X, y = _blobs(40, shift=0.0, seed=6)
    X = np.vstack([X, X[y == "angry"]])  # angry twice as frequent
    _Recording.fits.clear()
    result = PseudoLabels().adapt(clf, X)
    assert result.adapted and len(_Recording.fits) == 1
    labels, weights, class_weight = _Recording.fits[0]
    assert class_weight is None and weights is not None
    totals = {c: weights[labels == c].sum() for c in CLASSES}
    assert (labels == "angry").sum() > 1.5 * (labels == "sad").sum()
    np.testing.assert_allclose(list(totals.values()), totals["angry"])
    assert clf.class_weight == "balanced"  # the fitted classifier is untouched
