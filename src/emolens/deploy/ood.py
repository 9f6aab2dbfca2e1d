"""Out-of-domain score: how unlike the training data an input is.

The score combines two standardised signals:

* the log reconstruction error of the autoencoder (inputs it cannot rebuild lie off the
  manifold it learned), and
* the negative log density of the latent code under a Gaussian mixture fitted on the
  training latents (codes far from where training utterances landed).

Each signal is z-scored with its mean/std on the training data and the score is their mean.
The threshold is a quantile (default 95 %) of the score on *held-out* training-corpus data,
so about 5 % of in-domain utterances are flagged by construction. A flag means "unlike the
training data", not "the prediction is wrong".

Everything fitted is plain numbers, so the scorer round-trips through JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

__all__ = ["OODScorer"]


class OODScorer:
    """Out-of-domain scorer on latent codes and reconstruction errors.

    Args:
        n_components: Gaussian mixture components for the latent density.
        quantile: quantile of held-out scores used as the threshold.
        random_state: seed of the mixture fit.
    """

    def __init__(self, n_components: int = 4, quantile: float = 0.95, random_state: int = 0):
        self.n_components = n_components
        self.quantile = quantile
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(self, latent, recon_error=None) -> OODScorer:
        """Fit the latent density and the standardisation on training data.

        Args:
            latent: (n, k) latent codes of the training data.
            recon_error: (n,) reconstruction errors, or None for models without a decoder.

        Returns:
            self
        """
        from sklearn.mixture import GaussianMixture

        latent = _check_2d(latent, "latent")
        n_comp = int(min(self.n_components, max(1, len(latent) // 10)))
        gmm = GaussianMixture(
            n_components=n_comp, covariance_type="full", reg_covar=1e-4,
            random_state=self.random_state,
        ).fit(latent)
        self.weights_ = gmm.weights_.copy()
        self.means_ = gmm.means_.copy()
        self.covariances_ = gmm.covariances_.copy()
        nll = -self._log_density(latent)
        self.nll_mean_, self.nll_std_ = float(nll.mean()), _std(nll)
        if recon_error is None:
            self.uses_recon_ = False
            self.rec_mean_, self.rec_std_ = 0.0, 1.0
        else:
            rec = np.log(_check_1d(recon_error, "recon_error", len(latent)) + 1e-12)
            self.uses_recon_ = True
            self.rec_mean_, self.rec_std_ = float(rec.mean()), _std(rec)
        # Provisional threshold from the training data; calibrate() replaces it with held-out.
        self.threshold_ = np.inf
        self.set_threshold(self.score(latent, recon_error), "the training data (not held out)")
        return self

    def calibrate(self, latent, recon_error=None, source: str = "held-out data") -> OODScorer:
        """Set the threshold to the ``quantile`` of scores on held-out in-domain data."""
        return self.set_threshold(self.score(latent, recon_error), source)

    def set_threshold(self, scores, source: str) -> OODScorer:
        """Set the threshold to the ``quantile`` of already computed held-out scores.

        Scores are standardised against each model's own training data, so held-out scores
        pooled over cross-validation folds (each from its own fold model) are comparable.
        """
        scores = np.asarray(scores, dtype=float).ravel()
        if len(scores) == 0 or not np.all(np.isfinite(scores)):
            raise ValueError("held-out scores must be a non-empty array of finite numbers")
        self.threshold_ = float(np.quantile(scores, self.quantile))
        self.threshold_source_ = f"{self.quantile:.0%} quantile on {source} (n={len(scores)})"
        return self

    # ------------------------------------------------------------------ scoring
    def _log_density(self, latent: np.ndarray) -> np.ndarray:
        out = []
        for w, mu, cov in zip(self.weights_, self.means_, self.covariances_):
            chol = np.linalg.cholesky(cov)
            diff = np.linalg.solve(chol, (latent - mu).T).T
            logdet = 2.0 * np.log(np.diag(chol)).sum()
            k = latent.shape[1]
            out.append(np.log(w) - 0.5 * (np.sum(diff**2, axis=1) + logdet + k * np.log(2 * np.pi)))
        return logsumexp(np.stack(out, axis=1), axis=1)

    def components(self, latent, recon_error=None) -> dict[str, np.ndarray]:
        """The standardised parts of the score: ``density`` and ``reconstruction``."""
        self._check_fitted()
        latent = _check_2d(latent, "latent", self.means_.shape[1])
        parts = {"density": (-self._log_density(latent) - self.nll_mean_) / self.nll_std_}
        if self.uses_recon_:
            if recon_error is None:
                raise ValueError("this scorer was fitted with reconstruction errors; pass them")
            rec = np.log(_check_1d(recon_error, "recon_error", len(latent)) + 1e-12)
            parts["reconstruction"] = (rec - self.rec_mean_) / self.rec_std_
        return parts

    def score(self, latent, recon_error=None) -> np.ndarray:
        """Out-of-domain score per row (higher = less like the training data)."""
        parts = self.components(latent, recon_error)
        return np.mean(np.stack(list(parts.values()), axis=1), axis=1)

    def flag(self, latent, recon_error=None) -> np.ndarray:
        """Boolean flag per row: score above the threshold."""
        return self.score(latent, recon_error) > self.threshold_

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "n_components": self.n_components,
            "quantile": self.quantile,
            "weights": self.weights_.tolist(),
            "means": self.means_.tolist(),
            "covariances": self.covariances_.tolist(),
            "nll_mean": self.nll_mean_,
            "nll_std": self.nll_std_,
            "uses_reconstruction": self.uses_recon_,
            "rec_mean": self.rec_mean_,
            "rec_std": self.rec_std_,
            "threshold": self.threshold_,
            "threshold_source": self.threshold_source_,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OODScorer:
        """Rebuild a fitted scorer from :meth:`to_dict` output (validated)."""
        try:
            self = cls(n_components=int(d["n_components"]), quantile=float(d["quantile"]))
            self.weights_ = np.asarray(d["weights"], dtype=float)
            self.means_ = np.asarray(d["means"], dtype=float)
            self.covariances_ = np.asarray(d["covariances"], dtype=float)
            self.nll_mean_, self.nll_std_ = float(d["nll_mean"]), float(d["nll_std"])
            self.uses_recon_ = bool(d["uses_reconstruction"])
            self.rec_mean_, self.rec_std_ = float(d["rec_mean"]), float(d["rec_std"])
            self.threshold_ = float(d["threshold"])
            self.threshold_source_ = str(d["threshold_source"])
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"invalid out-of-domain parameters: {err!r}") from None
        m, k = self.means_.shape if self.means_.ndim == 2 else (0, 0)
        if (
            m == 0 or self.weights_.shape != (m,) or self.covariances_.shape != (m, k, k)
            or not np.all(np.isfinite(self.covariances_))
        ):
            raise ValueError(
                "invalid out-of-domain parameters: weights/means/covariances shapes "
                f"{self.weights_.shape}/{self.means_.shape}/{self.covariances_.shape} do not fit"
            )
        return self

    def _check_fitted(self):
        if not hasattr(self, "threshold_"):
            raise RuntimeError("OODScorer is not fitted; call fit() first")


def _std(x: np.ndarray) -> float:
    s = float(np.std(x))
    return s if s > 1e-12 else 1.0


def _check_2d(x, name: str, k: int | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {x.shape}")
    if k is not None and x.shape[1] != k:
        raise ValueError(f"{name} has {x.shape[1]} columns, the scorer was fitted on {k}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _check_1d(x, name: str, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    if len(x) != n:
        raise ValueError(f"{name} has {len(x)} values, expected {n}")
    return x
