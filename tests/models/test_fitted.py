"""emolens.models.apply / fit_model: one place that applies a fitted pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.models import ModelOutput, apply, fit_model, fit_pipelines, is_grouped, make_model
from emolens.models.fitted import classifier_scores, with_unlabelled


def test_fields_are_what_the_pipeline_computes(frame):
    X, y = frame
    pipe = make_model("pca_svc", seed=0).fit(X, y)
    out = apply(pipe, X)
    assert isinstance(out, ModelOutput) and not is_grouped(pipe)
    np.testing.assert_array_equal(out.scaled, pipe.named_steps["scale"].transform(X))
    np.testing.assert_array_equal(out.latent, pipe.named_steps["reduce"].transform(out.scaled))
    assert out.latent.dtype == np.float64 and out.latent_dim == 2
    np.testing.assert_array_equal(out.predictions, pipe.predict(X).astype(str))
    np.testing.assert_allclose(out.scores, classifier_scores(pipe.named_steps["clf"], out.latent))
    assert out.scores.shape == (len(X), 6)  # linear SVC: one score per class pair
    assert out.reconstruction_error is None  # PCA has no reconstruction_error method
    assert out.probabilities is None  # SVC(probability=False)
    assert out.fallback_groups == []


def test_passthrough_has_no_latent_and_logreg_has_probabilities(frame):
    X, y = frame
    raw = apply(make_model("svc", seed=0).fit(X, y), X)
    assert raw.latent is None and raw.latent_dim == 0
    assert raw.predictions.shape == (len(X),)
    pipe = make_model("pca_svc", clf="logreg", seed=0).fit(X, y)
    proba = apply(pipe, X).probabilities
    np.testing.assert_allclose(proba, pipe.predict_proba(X))


def test_group_statistics_see_unlabelled_rows_of_the_same_speakers(frame):
    X, y = frame
    keep = (np.arange(len(X)) // 4) % 2 == 0  # every speaker has rows on both sides
    labelled, unlabelled, y = X[keep], X[~keep], y[keep]
    pipe = fit_model(make_model("pca_svc", seed=0, by="speaker"), labelled, y, unlabelled)
    scale = pipe.named_steps["scale"]
    full = with_unlabelled(labelled, unlabelled)
    assert len(full) == len(X)
    np.testing.assert_array_equal(apply(pipe, labelled, unlabelled).scaled,
                                  scale.transform(full)[: len(labelled)])
    alone = apply(pipe, labelled).scaled
    assert not np.allclose(alone, apply(pipe, labelled, unlabelled).scaled)
    # fit_pipelines (lockstep fits of a run) fits the same way
    twin = make_model("pca_svc", seed=0, by="speaker")
    fit_pipelines([twin], [labelled], [y], unlabelled=unlabelled)
    np.testing.assert_allclose(apply(twin, labelled, unlabelled).latent,
                               apply(pipe, labelled, unlabelled).latent)


def test_fallback_groups_are_returned_and_the_scaler_is_untouched(frame):
    X, y = frame
    pipe = make_model("pca_svc", seed=0, by="speaker").fit(X, y)
    lone = X.iloc[:1].rename(index={X.index[0][2]: "new:speaker"}, level="speaker")
    state = {k: v for k, v in vars(pipe.named_steps["scale"]).items()}
    out = apply(pipe, pd.concat([X.iloc[1:], lone]))
    assert out.fallback_groups == ["new:speaker"]
    assert vars(pipe.named_steps["scale"]).keys() == state.keys()


def test_a_pipeline_without_the_three_steps_is_refused():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    with pytest.raises(ValueError, match="lacks the step"):
        apply(Pipeline([("s", StandardScaler())]), np.zeros((2, 2)))
