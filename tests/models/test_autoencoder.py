"""AutoencoderTransformer: architecture, training, determinism, variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import silhouette_score
from torch import nn

from emolens.models import (
    AutoencoderTransformer,
    FeatureScaler,
    cluster_loss,
    cyclical_beta,
    fit_autoencoders,
)


@pytest.fixture(scope="module")
def Xs(xy):
    X, y = xy
    return FeatureScaler().fit_transform(X), y


def _layers(seq):
    return [(m.in_features, m.out_features) if isinstance(m, nn.Linear) else "relu" for m in seq]


def test_paper_architecture(Xs):
    X, _ = Xs
    ae = AutoencoderTransformer(epochs=1).fit(X)
    assert _layers(ae.module_.encoder) == [
        (88, 40), "relu", (40, 20), "relu", (20, 10), "relu", (10, 2)
    ]
    # ReLU only after the decoder's 10 -> 20 layer (paper.md).
    assert _layers(ae.module_.decoder) == [(2, 10), (10, 20), "relu", (20, 40), (40, 88)]
    widths = [88, 40, 20, 10, 2]
    weights = 2 * sum(a * b for a, b in zip(widths, widths[1:]))
    expected = weights + sum(widths[1:]) + sum(widths[:-1])  # + encoder and decoder biases
    assert ae.n_parameters_ == expected <= 10_000


def test_configurable_widths_and_latent(Xs):
    X, _ = Xs
    ae = AutoencoderTransformer(hidden=(16, 8), latent_dim=3, epochs=1).fit(X)
    assert ae.transform(X).shape == (len(X), 3)
    assert _layers(ae.module_.decoder) == [(3, 8), (8, 16), "relu", (16, 88)]


def test_loss_curve_decreases(Xs):
    X, _ = Xs
    ae = AutoencoderTransformer(epochs=40).fit(X)
    assert len(ae.loss_curve_) == 40 == len(ae.objective_curve_)
    assert ae.loss_curve_[-1] < 0.8 * ae.loss_curve_[0]
    err = ae.reconstruction_error(X)
    assert err.shape == (len(X),) and np.all(err >= 0)
    assert ae.reconstruction_error(X + 5).mean() > err.mean()


@pytest.mark.parametrize("kind", ["uae", "dae", "vae", "cvae", "ssvae", "sae"])
def test_bit_identical_with_same_seed(Xs, kind):
    X, y = Xs
    rng_before = torch.random.get_rng_state()
    a = AutoencoderTransformer(kind=kind, epochs=4, seed=3).fit(X, y)
    b = AutoencoderTransformer(kind=kind, epochs=4, seed=3).fit(X, y)
    assert torch.equal(rng_before, torch.random.get_rng_state()), "global torch RNG touched"
    for (k, va), vb in zip(a.module_.state_dict().items(), b.module_.state_dict().values()):
        assert torch.equal(va, vb), k
    assert a.loss_curve_ == b.loss_curve_
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = AutoencoderTransformer(kind=kind, epochs=4, seed=4).fit(X, y)
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_dae_noise_only_at_training(Xs):
    X, _ = Xs
    uae = AutoencoderTransformer(kind="uae", epochs=3).fit(X)
    # Without noise the DAE is the UAE, bit for bit: noise is the only difference.
    silent = AutoencoderTransformer(kind="dae", noise_std=0.0, epochs=3).fit(X)
    np.testing.assert_array_equal(uae.transform(X), silent.transform(X))
    for noise in ("gaussian", "masking"):
        dae = AutoencoderTransformer(kind="dae", noise=noise, epochs=3).fit(X)
        assert not np.array_equal(uae.transform(X), dae.transform(X))
        # Inference is noise-free: repeatable and equal to the encoder itself.
        z = dae.transform(X)
        np.testing.assert_array_equal(z, dae.transform(X))
        with torch.no_grad():
            direct = dae.encoder_(torch.tensor(X, dtype=torch.float32)).numpy()
        np.testing.assert_allclose(z, direct, rtol=0, atol=0)


@pytest.mark.parametrize("kind", ["vae", "cvae", "ssvae"])
def test_variational_kinds_fit(Xs, kind):
    X, y = Xs
    ae = AutoencoderTransformer(kind=kind, epochs=10).fit(X, y)
    z = ae.transform(X)
    assert z.shape == (len(X), 2) and np.isfinite(z).all()
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    # The encoder module returns the latent mean (deterministic), ready for attribution.
    with torch.no_grad():
        mu = ae.encoder_(torch.tensor(X, dtype=torch.float32)).numpy()
    np.testing.assert_array_equal(mu.astype(np.float64), z)
    assert ae.beta_ == (0.25 if kind == "cvae" else 1.0)


def test_cyclical_beta_schedule():
    total, cycles = 400, 4
    betas = [cyclical_beta(s, total, 0.25, cycles, 0.5) for s in range(total)]
    assert betas[0] == 0.0 and max(betas) == pytest.approx(0.25)
    assert betas[25] == pytest.approx(0.125)  # half way up the first ramp
    assert betas[50] == pytest.approx(0.25) and betas[99] == pytest.approx(0.25)
    assert betas[100] == 0.0  # the next cycle starts again at 0
    assert betas[:100] == pytest.approx(betas[100:200])


def test_cluster_loss_prefers_separated_classes():
    codes = torch.tensor([0, 0, 1, 1])
    tight = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    loose = torch.tensor([[0.0, 0.0], [3.0, 0.0], [1.0, 1.0], [4.0, 1.0]])
    assert cluster_loss(tight, codes) < cluster_loss(loose, codes)
    assert cluster_loss(tight, torch.zeros(4, dtype=torch.long)) == 0


def test_ssvae_cluster_loss_reduces_class_overlap(Xs):
    X, y = Xs
    params = dict(epochs=30, seed=0)
    vae = AutoencoderTransformer(kind="vae", **params).fit(X, y)
    ssvae = AutoencoderTransformer(kind="ssvae", gamma=5.0, **params).fit(X, y)
    assert silhouette_score(ssvae.transform(X), y) > silhouette_score(vae.transform(X), y)
    assert list(ssvae.classes_) == sorted(set(y))


def test_ssvae_with_missing_labels(Xs):
    X, y = Xs
    partial = y.astype(object)
    partial[::2] = None
    ae = AutoencoderTransformer(kind="ssvae", epochs=3).fit(X, partial)
    assert set(ae.classes_) == set(y[1::2])
    unlabelled = AutoencoderTransformer(kind="ssvae", epochs=3).fit(X, [None] * len(X))
    assert unlabelled.transform(X).shape == (len(X), 2)
    with pytest.raises(ValueError, match="y must be 1-D"):
        AutoencoderTransformer(kind="ssvae", epochs=1).fit(X, y[:5])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"kind": "gan"}, "kind must be one of"),
        ({"noise": "salt"}, "noise must be one of"),
        ({"hidden": (40, 0)}, "hidden must be"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"lr": 0}, "lr"),
        ({"mask_rate": 1.0}, "mask_rate"),
        ({"seed": None}, "seed"),
    ],
)
def test_bad_parameters(Xs, params, match):
    X, _ = Xs
    with pytest.raises(ValueError, match=match):
        AutoencoderTransformer(**params).fit(X)


def test_sae_latent_separates_the_classes(Xs):
    X, y = Xs
    params = dict(epochs=30, seed=0)
    dae = AutoencoderTransformer(kind="dae", **params).fit(X, y)
    sae = AutoencoderTransformer(kind="sae", gamma=3.0, **params).fit(X, y)
    assert silhouette_score(sae.transform(X), y) > silhouette_score(dae.transform(X), y)
    assert list(sae.classes_) == sorted(set(y))
    # The softmax head only trains the latent: the fitted network is a plain autoencoder.
    assert not hasattr(sae.module_, "head")
    assert sae.module_.state_dict().keys() == dae.module_.state_dict().keys()
    # Without the cross-entropy it is the DAE, bit for bit.
    silent = AutoencoderTransformer(kind="sae", gamma=0.0, **params).fit(X, y)
    np.testing.assert_array_equal(silent.transform(X), dae.transform(X))


def test_sae_sample_weight_and_missing_labels(Xs):
    X, y = Xs

    def latent(weights=None):
        ae = AutoencoderTransformer(kind="sae", epochs=5, seed=1)
        fit_autoencoders([ae], [X], [y], None if weights is None else [weights])
        return ae.transform(X)

    plain = latent()
    np.testing.assert_array_equal(AutoencoderTransformer(kind="sae", epochs=5, seed=1)
                                  .fit(X, y).transform(X), plain)
    counts = {c: int((y == c).sum()) for c in set(y)}
    # Explicit class-balanced weights are what it uses without weights.
    np.testing.assert_allclose(latent(np.array([1.0 / counts[c] for c in y])), plain, atol=1e-5)
    assert not np.allclose(latent(np.where(y == y[0], 10.0, 1.0)), plain, atol=1e-3)
    partial = y.astype(object)
    partial[::2] = None
    ae = AutoencoderTransformer(kind="sae", epochs=3).fit(X, partial)
    assert set(ae.classes_) == set(y[1::2])
    with pytest.raises(ValueError, match="sample_weight must hold"):
        latent(np.ones(5))
    with pytest.raises(ValueError, match="no weight"):
        latent(np.zeros(len(y)))
