"""scikit-learn transformer around the paper's autoencoders (UAE, DAE, VAE, cVAE, ssVAE).

Training choices (paper.md; the paper's code was never published):

* Adam, MSE reconstruction, mini-batches drawn by indexing one tensor with a seeded
  permutation (no DataLoader: 100 epochs on ~1000 rows take about a second on one thread).
* UAE/DAE minimise the mean squared error over all inputs. The DAE corrupts only its
  *training* input: ``noise="gaussian"`` adds N(0, noise_std²) to the z-scored features (the
  follow-up code uses std 1.0); ``noise="masking"`` sets each input to 0 (the training mean
  after z-scoring) with probability ``mask_rate``. ``transform`` never adds noise.
* VAEs minimise the per-sample ELBO: squared error summed over the features plus
  ``beta`` × KL(q(z|x) || N(0, I)) summed over latent dimensions, both averaged over the
  batch. Summing over the 88 features keeps a unit ``beta`` from collapsing a 2-D latent.
  ``kind="cvae"`` anneals beta cyclically per optimisation step: ``cycles`` cycles, in each
  beta rises linearly from 0 to its maximum over the first ``ramp`` fraction, then stays.
  ``kind="ssvae"`` adds ``gamma`` × L_clus on the labelled rows of each batch, L_clus = (sum of
  Euclidean distances of latent means to their class centroid) / (sum of distances between
  class centroids); rows whose label is missing only contribute to the ELBO.
* ``loss_curve_`` holds the mean reconstruction MSE per epoch for every kind (comparable
  across kinds); ``objective_curve_`` the full training objective per epoch.
* Reproducibility: weights are initialised under ``torch.manual_seed(seed)`` inside a forked
  RNG (the global torch RNG is left untouched) and a private ``torch.Generator`` seeded with
  ``seed`` drives shuffling, noise and VAE sampling, so two fits with the same seed give
  bit-identical weights on CPU.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from .networks import build_network

#: Kinds of autoencoder.
AE_KINDS = ("uae", "dae", "vae", "cvae", "ssvae")
NOISE_KINDS = ("gaussian", "masking")
_DEFAULT_BETA = {"vae": 1.0, "cvae": 0.25, "ssvae": 1.0}


def cyclical_beta(step: int, total_steps: int, beta_max: float, cycles: int, ramp: float) -> float:
    """Beta of cyclical KL annealing (Fu et al. 2019) at optimisation step ``step``."""
    if total_steps <= 0:
        return beta_max
    position = (step * cycles / total_steps) % 1.0
    return beta_max * min(1.0, position / ramp)


def cluster_loss(z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """L_clus of the semi-supervised VAE: within-class spread / between-centroid spread.

    Args:
        z: latent points (n, k).
        codes: integer class code per row (n,).

    Returns:
        Scalar tensor; 0 when fewer than two classes are present (nothing to separate).
    """
    classes = torch.unique(codes)
    if classes.numel() < 2:
        return z.new_zeros(())
    onehot = (codes[:, None] == classes[None, :]).to(z.dtype)
    centroids = (onehot.T @ z) / onehot.sum(0)[:, None]
    within = torch.linalg.vector_norm(z - onehot @ centroids, dim=1).sum()
    i, j = torch.triu_indices(len(classes), len(classes), offset=1)
    between = torch.linalg.vector_norm(centroids[i] - centroids[j], dim=1).sum()
    return within / (between + 1e-8)


def _adam(module: nn.Module, lr: float, weight_decay: float) -> torch.optim.Adam:
    # The fused kernel is ~30 % faster for these tiny layers (and deterministic on CPU);
    # older torch builds without CPU support for it fall back to the default implementation.
    try:
        return torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)


class AutoencoderTransformer(TransformerMixin, BaseEstimator):
    """Autoencoder latent as a scikit-learn transformer.

    Args:
        kind: ``"uae"`` undercomplete AE, ``"dae"`` denoising AE, ``"vae"`` variational AE,
            ``"cvae"`` VAE with cyclical KL annealing, ``"ssvae"`` semi-supervised VAE with the
            cluster loss (uses ``y`` in fit; missing labels are unsupervised rows).
        latent_dim: size of the latent (paper: 2).
        hidden: encoder hidden widths, mirrored in the decoder (paper: (40, 20, 10)).
        noise: DAE corruption, ``"gaussian"`` (additive) or ``"masking"``.
        noise_std: std of the additive Gaussian noise of the DAE.
        mask_rate: probability of zeroing an input for ``noise="masking"``.
        epochs, lr, batch_size, weight_decay: Adam training settings.
        beta: KL weight; ``None`` means 1.0 for vae/ssvae and a maximum of 0.25 for cvae.
        cycles, ramp: cyclical annealing of the cvae (4 cycles, rising over half of each).
        gamma: weight of the ssvae cluster loss.
        seed: seeds weight init, shuffling, noise and sampling.
        device: torch device (``"cpu"``; bit-for-bit reproducibility is only promised there).

    Attributes:
        module_: the trained ``torch.nn.Module`` (``encoder``, ``decoder`` submodules).
        encoder_: ``nn.Module`` mapping inputs to the latent (the mean for VAEs), in eval mode.
        loss_curve_: mean reconstruction MSE per epoch.
        objective_curve_: training objective per epoch.
        classes_: (ssvae fitted with labels) the class labels used by the cluster loss.
    """

    def __init__(
        self,
        kind="uae",
        latent_dim=2,
        hidden=(40, 20, 10),
        noise="gaussian",
        noise_std=1.0,
        mask_rate=0.2,
        epochs=100,
        lr=1e-3,
        batch_size=64,
        weight_decay=0.0,
        beta=None,
        cycles=4,
        ramp=0.5,
        gamma=1.0,
        seed=0,
        device="cpu",
    ):
        self.kind = kind
        self.latent_dim = latent_dim
        self.hidden = hidden
        self.noise = noise
        self.noise_std = noise_std
        self.mask_rate = mask_rate
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.beta = beta
        self.cycles = cycles
        self.ramp = ramp
        self.gamma = gamma
        self.seed = seed
        self.device = device

    # -- parameter checks ---------------------------------------------------------------
    def _check_params(self) -> None:
        def positive_int(name, minimum=1):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < minimum:
                raise ValueError(f"{name} must be an int >= {minimum}, got {v!r}.")

        def number(name, low=0.0, low_open=False, high=None):
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > low if low_open else v >= low) and (high is None or v <= high)
            if not ok:
                bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high else "")
                raise ValueError(f"{name} must be a number {bound}, got {v!r}.")

        if self.kind not in AE_KINDS:
            raise ValueError(f"kind must be one of {AE_KINDS}, got {self.kind!r}.")
        if self.noise not in NOISE_KINDS:
            raise ValueError(f"noise must be one of {NOISE_KINDS}, got {self.noise!r}.")
        positive_int("latent_dim")
        positive_int("epochs", 0)
        positive_int("batch_size")
        positive_int("cycles")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}.")
        hidden = self.hidden
        if not isinstance(hidden, (tuple, list)) or not all(
            isinstance(h, numbers.Integral) and not isinstance(h, bool) and h >= 1 for h in hidden
        ):
            raise ValueError(f"hidden must be a tuple of positive ints, got {hidden!r}.")
        number("noise_std")
        number("mask_rate", high=1.0)
        if self.mask_rate >= 1.0:
            raise ValueError(f"mask_rate must be < 1, got {self.mask_rate!r}.")
        number("lr", low_open=True)
        number("weight_decay")
        number("ramp", low_open=True, high=1.0)
        number("gamma")
        if self.beta is not None:
            number("beta")

    @property
    def beta_(self) -> float:
        """The KL weight (maximum for cvae) actually used."""
        return float(self.beta) if self.beta is not None else _DEFAULT_BETA.get(self.kind, 0.0)

    # -- fitting ------------------------------------------------------------------------
    def _label_codes(self, y, n_rows: int):
        """Integer codes for the cluster loss; -1 marks unlabelled rows."""
        if self.kind != "ssvae" or y is None:
            return None, None
        y = np.asarray(y, dtype=object)
        if y.ndim != 1 or y.shape[0] != n_rows:
            raise ValueError(f"y must be 1-D with {n_rows} entries, got shape {y.shape}.")
        missing = np.asarray(pd.isna(y), dtype=bool)
        labelled = y[~missing]
        try:
            classes = np.unique(labelled)
        except TypeError:  # mixed label types: compare them as strings
            labelled = labelled.astype(str)
            classes = np.unique(labelled)
        classes = np.asarray(classes.tolist())  # object -> native dtype (ints stay ints)
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        codes = np.full(n_rows, -1, dtype=np.int64)
        codes[~missing] = [lookup[v] for v in labelled.tolist()]
        return codes, classes

    def fit(self, X, y=None):
        """Train the autoencoder on X (labels only used by ``kind="ssvae"``).

        Args:
            X: scaled features (n_samples, n_features).
            y: class labels for ssvae (missing values allowed); ignored by other kinds.

        Returns:
            self
        """
        self._check_params()
        Xv = validate_data(self, X, dtype=[np.float64, np.float32])
        n, n_features = Xv.shape
        codes, classes = self._label_codes(y, n)
        if classes is not None:
            self.classes_ = classes

        device = torch.device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            module = build_network(self.kind, n_features, tuple(self.hidden), self.latent_dim)
        module = module.to(device)
        gen = torch.Generator(device=device).manual_seed(int(self.seed))
        Xt = torch.tensor(Xv, dtype=torch.float32, device=device)
        codes_t = None if codes is None else torch.as_tensor(codes, device=device)

        optimiser = _adam(module, self.lr, self.weight_decay)
        batch = min(int(self.batch_size), n)
        steps_per_epoch = math.ceil(n / batch)
        total_steps = steps_per_epoch * int(self.epochs)
        beta_max = self.beta_
        loss_curve, objective_curve = [], []
        step = 0
        module.train()
        for _ in range(int(self.epochs)):
            perm = torch.randperm(n, generator=gen, device=device)
            rec_sum = torch.zeros((), device=device)
            obj_sum = torch.zeros((), device=device)
            for start in range(0, n, batch):
                idx = perm[start : start + batch]
                xb = Xt[idx]
                inp = self._corrupt(xb, gen) if self.kind == "dae" else xb
                recon, z, logvar = module(inp, gen)
                sq = (recon - xb).pow(2)
                rec = sq.mean()
                if module.variational:
                    kl = -0.5 * (1 + logvar - z.pow(2) - logvar.exp()).sum(1).mean()
                    if self.kind == "cvae":
                        beta = cyclical_beta(step, total_steps, beta_max, self.cycles, self.ramp)
                    else:
                        beta = beta_max
                    loss = sq.sum(1).mean() + beta * kl
                    if codes_t is not None and self.gamma > 0:
                        cb = codes_t[idx]
                        lab = cb >= 0
                        if int(lab.sum()) > 1:
                            loss = loss + self.gamma * cluster_loss(z[lab], cb[lab])
                else:
                    loss = rec
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                step += 1
                rec_sum += rec.detach() * len(idx)
                obj_sum += loss.detach() * len(idx)
            loss_curve.append(float(rec_sum) / n)
            objective_curve.append(float(obj_sum) / n)
        module.eval()
        self.module_ = module
        self.encoder_ = module.encoder
        self.loss_curve_ = loss_curve
        self.objective_curve_ = objective_curve
        self.n_parameters_ = int(sum(p.numel() for p in module.parameters()))
        return self

    def _corrupt(self, xb: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        if self.noise == "gaussian":
            if self.noise_std == 0:
                return xb
            noise = torch.randn(xb.shape, generator=gen, device=xb.device, dtype=xb.dtype)
            return xb + self.noise_std * noise
        keep = torch.rand(xb.shape, generator=gen, device=xb.device) >= self.mask_rate
        return xb * keep

    # -- inference ----------------------------------------------------------------------
    def _tensor(self, X):
        check_is_fitted(self, "module_")
        Xv = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        device = next(self.module_.parameters()).device
        Xt = torch.tensor(Xv, dtype=torch.float32, device=device)
        return Xv, Xt

    def transform(self, X):
        """Latent codes (means for VAEs), shape (n_samples, latent_dim), in X's float dtype."""
        Xv, Xt = self._tensor(X)
        with torch.no_grad():
            z = self.encoder_(Xt)
        return z.cpu().numpy().astype(Xv.dtype)

    def decode(self, Z) -> np.ndarray:
        """Reconstructions (n_samples, n_features) from latent codes Z."""
        check_is_fitted(self, "module_")
        Z = np.asarray(Z, dtype=np.float32)
        if Z.ndim != 2 or Z.shape[1] != self.latent_dim:
            raise ValueError(f"Z must have shape (n, {self.latent_dim}), got {Z.shape}.")
        with torch.no_grad():
            out = self.module_.decoder(torch.as_tensor(Z))
        return out.cpu().numpy().astype(np.float64)

    def reconstruction_error(self, X) -> np.ndarray:
        """Per-sample mean squared reconstruction error (no noise, latent mean), float64."""
        Xv, Xt = self._tensor(X)
        with torch.no_grad():
            recon = self.module_.decoder(self.encoder_(Xt))
            err = (recon - Xt).pow(2).mean(1)
        return err.cpu().numpy().astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "module_")
        return np.asarray([f"z{i + 1}" for i in range(self.latent_dim)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def count_parameters(module: nn.Module) -> int:
    """Number of weights and biases of a torch module."""
    return int(sum(p.numel() for p in module.parameters()))
