"""Fitting several autoencoders / pipelines together equals fitting them one by one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emolens.models import (
    AutoencoderTransformer,
    FeatureScaler,
    fit_autoencoders,
    fit_pipelines,
    make_model,
)


@pytest.fixture(scope="module")
def parts(xy):
    """Three overlapping training sets of different sizes, scaled, with their labels."""
    X, y = xy
    X = FeatureScaler().fit_transform(X)
    cuts = [slice(0, 200), slice(20, 215), slice(40, 240)]
    return [X[c] for c in cuts], [y[c] for c in cuts]


def _weights(ae):
    return [p.detach().clone() for p in ae.module_.parameters()]


@pytest.mark.parametrize("kind", ["uae", "dae", "vae", "cvae", "ssvae", "sae"])
def test_together_equals_alone(parts, kind):
    Xs, ys = parts
    alone = [AutoencoderTransformer(kind=kind, epochs=6, seed=s).fit(X, y)
             for s, (X, y) in enumerate(zip(Xs, ys))]
    together = [AutoencoderTransformer(kind=kind, epochs=6, seed=s) for s in range(len(Xs))]
    assert fit_autoencoders(together, Xs, ys) == together
    for a, b, X in zip(alone, together, Xs):
        # float rounding only: the reductions run over stacked tensors
        for wa, wb in zip(_weights(a), _weights(b)):
            torch.testing.assert_close(wa, wb, rtol=0, atol=1e-5)
        np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)
        np.testing.assert_allclose(a.transform(X), b.transform(X), atol=1e-4)
    # different seeds and data really are different models
    assert not torch.equal(_weights(together[0])[0], _weights(together[1])[0])


def test_same_group_is_bit_for_bit_reproducible(parts):
    Xs, _ = parts
    runs = [[AutoencoderTransformer(kind="dae", epochs=3, seed=s) for s in range(3)]
            for _ in range(2)]
    for ests in runs:
        fit_autoencoders(ests, Xs)
    for a, b in zip(*runs):
        assert all(torch.equal(wa, wb) for wa, wb in zip(_weights(a), _weights(b)))


def test_different_settings_train_in_separate_groups(parts):
    Xs, _ = parts
    mixed = [AutoencoderTransformer(epochs=3, seed=0),
             AutoencoderTransformer(epochs=3, seed=0, latent_dim=3),
             AutoencoderTransformer(epochs=3, seed=0, batch_size=150)]  # other steps per epoch
    fit_autoencoders(mixed, Xs)
    assert [m.transform(Xs[0]).shape[1] for m in mixed] == [2, 3, 2]
    alone = AutoencoderTransformer(epochs=3, seed=0, batch_size=150).fit(Xs[2])
    for wa, wb in zip(_weights(alone), _weights(mixed[2])):
        torch.testing.assert_close(wa, wb, rtol=0, atol=1e-5)


def test_bad_arguments(parts):
    Xs, _ = parts
    with pytest.raises(ValueError, match="same length"):
        fit_autoencoders([AutoencoderTransformer()], Xs)
    with pytest.raises(TypeError, match="AutoencoderTransformer"):
        fit_autoencoders([FeatureScaler()], Xs[:1])
    with pytest.raises(ValueError, match="epochs"):
        fit_autoencoders([AutoencoderTransformer(epochs=-1)], Xs[:1])


@pytest.mark.parametrize("name", ["dae_svc", "pca_svc", "svc"])
def test_fit_pipelines_equals_pipeline_fit(xy, name):
    X, y = xy
    cuts = [slice(0, 180), slice(60, 240)]
    alone = [make_model(name, seed=s, reduce__epochs=5) if "ae" in name
             else make_model(name, seed=s) for s in range(2)]
    for p, c in zip(alone, cuts):
        p.fit(X[c], y[c])
    together = [make_model(name, seed=s, reduce__epochs=5) if "ae" in name
                else make_model(name, seed=s) for s in range(2)]
    fit_pipelines(together, [X[c] for c in cuts], [y[c] for c in cuts])
    for a, b in zip(alone, together):
        agree = np.mean(a.predict(X) == b.predict(X))
        assert agree > 0.98, agree


def test_fit_pipelines_needs_the_same_steps(xy):
    X, y = xy
    with pytest.raises(ValueError, match="same steps"):
        fit_pipelines([make_model("svc"), make_model("linsvc")[:1]], [X, X], [y, y])


def test_ssvae_with_and_without_labels_train_apart(parts):
    Xs, ys = parts
    together = [AutoencoderTransformer(kind="ssvae", epochs=3, seed=s) for s in range(2)]
    fit_autoencoders(together, Xs[:2], [None, ys[1]])
    alone = [AutoencoderTransformer(kind="ssvae", epochs=3, seed=0).fit(Xs[0]),
             AutoencoderTransformer(kind="ssvae", epochs=3, seed=1).fit(Xs[1], ys[1])]
    for a, b in zip(alone, together):
        for wa, wb in zip(_weights(a), _weights(b)):
            torch.testing.assert_close(wa, wb, rtol=0, atol=1e-5)


def test_memory_budget_splits_a_group(parts, monkeypatch):
    import emolens.models.autoencoder as A

    Xs, _ = parts
    calls = []
    train = A._train_lockstep
    monkeypatch.setattr(A, "_train_lockstep", lambda members: calls.append(len(members))
                        or train(members))
    monkeypatch.setattr(A, "LOCKSTEP_BYTES", 6 * 4 * 256 * 88 * 2)  # room for two members
    small = [AutoencoderTransformer(epochs=2, seed=s) for s in range(3)]
    fit_autoencoders(small, [Xs[0]] * 3)
    assert calls == [2, 1]
    alone = AutoencoderTransformer(epochs=2, seed=2).fit(Xs[0])
    for wa, wb in zip(_weights(alone), _weights(small[2])):
        torch.testing.assert_close(wa, wb, rtol=0, atol=1e-5)


def test_fit_pipelines_weights_the_sae_cross_entropy(xy):
    X, y = xy
    weights = np.where(y == y[0], 5.0, 1.0)
    pipes = [make_model("sae_svc", clf="logreg", seed=0, reduce__epochs=4) for _ in range(2)]
    fit_pipelines(pipes[:1], [X], [y])
    fit_pipelines(pipes[1:], [X], [y], sample_weights=[weights])
    scaled = pipes[0][:1].transform(X)
    direct = AutoencoderTransformer(kind="sae", epochs=4, seed=0)
    fit_autoencoders([direct], [scaled], [y], [weights])
    np.testing.assert_allclose(pipes[1][:2].transform(X), direct.transform(scaled), atol=1e-5)
    assert not np.allclose(pipes[0][:2].transform(X), direct.transform(scaled), atol=1e-3)
