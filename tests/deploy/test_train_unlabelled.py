"""build_bundle: speaker statistics from all of a speaker's utterances, labelled or not."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from emolens.deploy.ood import OODScorer
from emolens.deploy.train import build_bundle


@pytest.fixture(scope="module")
def split_data(synth):
    """First synthetic corpus; every other "sad" utterance plays an unlabelled emotion."""
    X, m = synth["X"], synth["manifest"]
    first = X.index.get_level_values("corpus") == synth["names"][0]
    X = X[first]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].astype(str).to_numpy()
    hide = (y == "sad") & (np.arange(len(y)) % 2 == 0)
    return X[~hide], y[~hide], X[hide]


@pytest.fixture(scope="module")
def bundle_unl(split_data):
    X, y, X_unl = split_data
    return build_bundle(X, y, "dae_svc", params={"by": "speaker", "epochs": 10, "clf": "logreg"},
                        n_splits=4, X_unlabelled=X_unl)


def _latent(pipe, Z):
    reduce = pipe.named_steps["reduce"]
    return reduce.transform(Z), reduce.reconstruction_error(Z)


def test_scaler_statistics_cover_the_unlabelled_rows(bundle_unl, split_data):
    X, y, X_unl = split_data
    scale = bundle_unl.pipeline.named_steps["scale"]
    full = pd.concat([X, X_unl])
    assert scale.n_samples_seen_ == len(full)
    np.testing.assert_allclose(scale.mean_, full.to_numpy().mean(axis=0), rtol=1e-10)
    assert bundle_unl.info["training"]["n_utterances"] == len(X)
    assert bundle_unl.info["training"]["n_unlabelled_for_normalisation"] == len(X_unl)


def test_training_latents_use_all_rows_of_each_speaker(bundle_unl, split_data):
    # The out-of-domain scorer is fitted on the training latents: they must be those of the
    # labelled rows z-scored with statistics over *all* of their speaker's rows.
    X, y, X_unl = split_data
    pipe = bundle_unl.pipeline
    scale = pipe.named_steps["scale"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        z_all = scale.transform(pd.concat([X, X_unl]))[: len(X)]
        z_lab = scale.transform(X)
    ood = bundle_unl.ood
    params = {"n_components": ood.n_components, "random_state": ood.random_state}
    with_all = OODScorer(**params).fit(*_latent(pipe, z_all))
    labelled_only = OODScorer(**params).fit(*_latent(pipe, z_lab))
    assert ood.rec_mean_ == pytest.approx(with_all.rec_mean_, rel=1e-6)
    assert ood.nll_mean_ == pytest.approx(with_all.nll_mean_, rel=1e-6)
    assert ood.rec_mean_ != pytest.approx(labelled_only.rec_mean_, rel=1e-3)


def test_unlabelled_rows_are_checked(split_data):
    X, y, X_unl = split_data
    with pytest.raises(ValueError, match="both in X and X_unlabelled"):
        build_bundle(X, y, X_unlabelled=X.iloc[:3], params={"epochs": 1})
    with pytest.raises(ValueError, match="same feature columns"):
        build_bundle(X, y, X_unlabelled=X_unl.iloc[:, ::-1], params={"epochs": 1})
    with pytest.raises(ValueError, match="indexed by"):
        build_bundle(X, y, X_unlabelled=X_unl.droplevel(["corpus", "speaker"]),
                     params={"epochs": 1})
