"""make_model: the model zoo, sklearn integration, parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from emolens.models import (
    MODEL_NAMES,
    AutoencoderTransformer,
    FeatureScaler,
    make_model,
    n_parameters,
    parameter_counts,
)

FAST = {"reduce__epochs": 40}


def _fast(name):
    return FAST if name.split("_")[0] in ("uae", "dae", "vae", "cvae", "ssvae", "sae") else {}


def test_every_model_is_a_three_step_pipeline():
    assert {"svc", "pca_svc", "uae_svc", "dae_svc", "vae_svc", "cvae_svc", "ssvae_svc",
            "sae_svc"} <= set(MODEL_NAMES)
    for name in MODEL_NAMES:
        pipe = make_model(name)
        assert isinstance(pipe, Pipeline)
        assert [n for n, _ in pipe.steps] == ["scale", "reduce", "clf"]
        assert isinstance(pipe.named_steps["scale"], FeatureScaler)
        clf = pipe.named_steps["clf"]
        weights = [v for k, v in clf.get_params(deep=True).items()
                   if k == "class_weight" or k.endswith("__class_weight")]
        assert weights and set(weights) == {"balanced"}, name
    assert make_model("svc").named_steps["clf"].kernel == "rbf"
    assert make_model("uae_svc").named_steps["clf"].kernel == "linear"
    assert isinstance(make_model("pca_svc").named_steps["reduce"], PCA)
    assert make_model("dae_svc").named_steps["reduce"].kind == "dae"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_learns_above_chance_on_separable_data(xy, name):
    X, y = xy
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    pipe = make_model(name, **_fast(name)).fit(Xtr, ytr)
    ua = balanced_accuracy_score(yte, pipe.predict(Xte))
    assert ua > 0.6, f"{name}: UA {ua:.2f} (chance 0.25)"
    scores = (pipe.decision_function if hasattr(pipe, "decision_function") else pipe.predict_proba)
    assert scores(Xte).shape == (len(Xte), 4)


def test_parameter_routing():
    pipe = make_model("dae_svc", epochs=7, by="corpus", C=3.0, seed=5)
    assert pipe.named_steps["reduce"].epochs == 7
    assert pipe.named_steps["reduce"].seed == 5
    assert pipe.named_steps["scale"].by == "corpus"
    assert pipe.named_steps["clf"].C == 3.0
    assert make_model("uae_svc", reduce__latent_dim=3).named_steps["reduce"].latent_dim == 3
    with pytest.raises(ValueError, match="reduce__gamma or clf__gamma"):
        make_model("ssvae_svc", clf="rbf", gamma=2.0)
    with pytest.raises(ValueError, match="unknown parameter 'epoch'"):
        make_model("uae_svc", epoch=3)
    with pytest.raises(ValueError, match="unknown model"):
        make_model("bert")
    with pytest.raises(ValueError, match="clf must be one of"):
        make_model("uae_svc", clf="tree")


def test_classifier_switch(xy):
    X, y = xy
    logreg = make_model("uae_svc", clf="logreg", reduce__epochs=5).fit(X, y)
    assert isinstance(logreg.named_steps["clf"], LogisticRegression)
    proba = logreg.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert make_model("uae_svc", clf="rbf").named_steps["clf"].kernel == "rbf"


def test_clone_and_grid_search(xy):
    X, y = xy
    pipe = make_model("uae_svc", reduce__epochs=5)
    twin = clone(pipe)
    assert twin.get_params()["reduce__epochs"] == 5 and twin is not pipe
    grid = GridSearchCV(
        pipe,
        {"reduce__latent_dim": [2, 3], "clf__C": [0.1, 1.0]},
        cv=2,
        scoring="balanced_accuracy",
    ).fit(X, y)
    assert grid.best_params_["reduce__latent_dim"] in (2, 3)
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert grid.predict(X).shape == (len(X),)


def test_parameter_count_of_the_paper_configuration(xy):
    X, y = xy
    pipe = make_model("uae_svc", reduce__epochs=1).fit(X, y)
    counts = parameter_counts(pipe)
    ae = pipe.named_steps["reduce"]
    assert isinstance(ae, AutoencoderTransformer)
    assert counts["reduce"] == sum(p.numel() for p in ae.module_.parameters())
    n_pairs = 4 * 3 // 2  # one-vs-one hyperplanes of the linear SVC in the 2-D latent
    assert counts["clf"] == n_pairs * (2 + 1)
    assert n_parameters(pipe) == counts["reduce"] + counts["clf"] <= 10_000
    assert n_parameters(pipe, include_scaler=True) == n_parameters(pipe) + 2 * X.shape[1]
    # The RBF baseline keeps its support vectors: far bigger.
    svc = make_model("svc").fit(X, y)
    sv = svc.named_steps["clf"]
    assert isinstance(sv, SVC)
    assert n_parameters(svc) == sv.support_vectors_.size + sv.dual_coef_.size + sv.intercept_.size + 1


def test_logreg_model_is_a_plain_logistic_regression_with_routed_C():
    from sklearn.linear_model import LogisticRegression

    pipe = make_model("logreg", C=0.1, by="speaker")
    assert pipe.named_steps["reduce"] == "passthrough"
    clf = pipe.named_steps["clf"]
    assert isinstance(clf, LogisticRegression) and clf.C == 0.1
    assert clf.class_weight == "balanced"
    assert pipe.named_steps["scale"].by == "speaker"


def test_vote_averages_a_calibrated_svc_and_a_logistic_regression(xy):
    X, y = xy
    pipe = make_model("vote", clf__svc__estimator__C=2.0, clf__logreg__C=0.3).fit(X, y)
    vote = pipe.named_steps["clf"]
    svc, logreg = vote.estimators_
    assert svc.estimator.kernel == "rbf" and svc.estimator.C == 2.0 and logreg.C == 0.3
    Z = pipe[:-1].transform(X)
    np.testing.assert_allclose(pipe.predict_proba(X),
                               (svc.predict_proba(Z) + logreg.predict_proba(Z)) / 2)
    defaults = make_model("vote").get_params()
    assert defaults["clf__svc__estimator__C"] == 0.5 and defaults["clf__logreg__C"] == 0.1
    with pytest.raises(ValueError, match="unknown parameter 'clf__svc__C'"):
        make_model("vote", clf__svc__C=1.0)
    counts = parameter_counts(pipe)
    sv = svc.calibrated_classifiers_[0].estimator
    assert counts["clf"] == (sv.support_vectors_.size + sv.dual_coef_.size + sv.intercept_.size
                             + 1 + 2 * 4 + logreg.coef_.size + logreg.intercept_.size)
