"""Out-of-domain score: how unlike the training data an input is.

The score combines standardised signals:

* the log reconstruction error of the autoencoder (inputs it cannot rebuild lie off the
  manifold it learned),
* the negative log density of the latent code under a Gaussian mixture fitted on the
  training latents (codes far from where training utterances landed), and, when fitted with
  ``raw`` features,
* the log Mahalanobis distance of the *unnormalised* features (z-scored with the training
  statistics, Ledoit-Wolf covariance) from the training utterances. The first two see the
  features after per-speaker normalisation, which erases what a whole folder has in common:
  a folder of noise, tones or music normalised "per speaker" looks like ordinary speech to
  them. The raw signal sees each file as it is. Pass only gain-invariant columns (no
  loudness levels), so that a quieter microphone alone does not flag.

Each signal is z-scored with its mean/std on the training data; the score is the mean of
the latent signals, or the raw signal where that is higher (it can flag on its own).
The threshold is a quantile (default 95 %) of the score on *held-out* data: held-out
speakers of the training corpora (about 5 % of in-domain utterances flagged by
construction) or held-out corpora (:func:`emolens.deploy.train.build_bundle`'s
``ood_reference``: about 5 % of a new speech corpus). A flag means "unlike the training
data", not "the prediction is wrong".

Everything fitted is plain numbers, so the scorer round-trips through JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp

__all__ = ["OODScorer", "raw_columns", "weighted_quantile"]

#: Feature groups that follow the recording level (microphone gain, distance): per-speaker
#: normalisation absorbs them, so the raw signal leaves them out.
LEVEL_GROUPS = ("loudness", "equivalent sound level")


def raw_columns(columns) -> list[str]:
    """Columns for the raw signal: the eGeMAPS/GeMAPS functionals outside :data:`LEVEL_GROUPS`.

    Returns ``[]`` (no raw signal) for other feature sets: a covariance over thousands of
    ComParE columns would be large and poorly estimated from a few thousand utterances.
    """
    from emolens.features.groups import COLUMN_GROUP

    cols = [str(c) for c in columns]
    if not cols or any(c not in COLUMN_GROUP for c in cols):
        return []
    return [c for c in cols if COLUMN_GROUP[c] not in LEVEL_GROUPS]


def weighted_quantile(values, weights, q: float) -> float:
    """The smallest value whose cumulative weight reaches ``q`` of the total (inverted CDF).

    Raises:
        ValueError: weights of another length, negative, or summing to zero.
    """
    values = np.asarray(values, dtype=float).ravel()
    weights = np.asarray(weights, dtype=float).ravel()
    if len(weights) != len(values) or np.any(weights < 0) or not weights.sum() > 0:
        raise ValueError("weights must be one non-negative number per value, not all zero")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][min(np.searchsorted(cumulative, q - 1e-12), len(values) - 1)])


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
    def fit(self, latent, recon_error=None, raw=None) -> OODScorer:
        """Fit the latent density and the standardisation on training data.

        Args:
            latent: (n, k) latent codes of the training data.
            recon_error: (n,) reconstruction errors, or None for models without a decoder.
            raw: (n, p) unnormalised features of the same rows, or None (no raw signal).

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
        self.uses_raw_ = raw is not None
        if self.uses_raw_:
            from sklearn.covariance import LedoitWolf

            self.raw_columns_ = [str(c) for c in getattr(raw, "columns", range(np.shape(raw)[1]))]
            raw = _check_2d(raw, "raw")
            if len(raw) != len(latent):
                raise ValueError(f"raw has {len(raw)} rows, latent {len(latent)}")
            # 6 significant digits: plenty for a distance, and a third of the JSON
            self.raw_mean_ = _digits(raw.mean(0))
            self.raw_scale_ = _digits(np.where(raw.std(0) > 1e-12, raw.std(0), 1.0))
            self.raw_precision_ = _digits(
                LedoitWolf().fit((raw - self.raw_mean_) / self.raw_scale_).precision_)
            far = self._log_distance(raw)
            self.raw_log_mean_, self.raw_log_std_ = float(far.mean()), _std(far)
        # Provisional threshold from the training data; calibrate() replaces it with held-out.
        self.threshold_ = np.inf
        self.set_threshold(self.score(latent, recon_error, raw), "the training data (not held out)")
        return self

    def calibrate(self, latent, recon_error=None, source: str = "held-out data",
                  raw=None) -> OODScorer:
        """Set the threshold to the ``quantile`` of scores on held-out in-domain data."""
        return self.set_threshold(self.score(latent, recon_error, raw), source)

    def set_threshold(self, scores, source: str, weights=None) -> OODScorer:
        """Set the threshold to the ``quantile`` of already computed held-out scores.

        Scores are standardised against each model's own training data, so held-out scores
        pooled over cross-validation folds (each from its own fold model) are comparable.

        Args:
            scores: held-out scores.
            source: what they were held out from, in words (kept in ``threshold_source_``).
            weights: non-negative weight per score (None: equal), e.g. ``1 / size`` of each
                held-out corpus so that every corpus counts the same.
        """
        scores = np.asarray(scores, dtype=float).ravel()
        if len(scores) == 0 or not np.all(np.isfinite(scores)):
            raise ValueError("held-out scores must be a non-empty array of finite numbers")
        if weights is None:
            self.threshold_ = float(np.quantile(scores, self.quantile))
        else:
            self.threshold_ = weighted_quantile(scores, weights, self.quantile)
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

    def _log_distance(self, raw: np.ndarray) -> np.ndarray:
        """log squared Mahalanobis distance of raw rows from the training mean."""
        r = (raw - self.raw_mean_) / self.raw_scale_
        return np.log(np.einsum("ij,jk,ik->i", r, self.raw_precision_, r) + 1e-12)

    def components(self, latent, recon_error=None, raw=None) -> dict[str, np.ndarray]:
        """The standardised parts of the score: ``density``, ``reconstruction``, ``raw``."""
        self._check_fitted()
        latent = _check_2d(latent, "latent", self.means_.shape[1])
        parts = {"density": (-self._log_density(latent) - self.nll_mean_) / self.nll_std_}
        if self.uses_recon_:
            if recon_error is None:
                raise ValueError("this scorer was fitted with reconstruction errors; pass them")
            rec = np.log(_check_1d(recon_error, "recon_error", len(latent)) + 1e-12)
            parts["reconstruction"] = (rec - self.rec_mean_) / self.rec_std_
        if self.uses_raw_:
            if raw is None:
                raise ValueError("this scorer was fitted with raw features; pass them")
            if hasattr(raw, "columns"):  # a feature table: take the fitted columns by name
                missing = sorted(set(self.raw_columns_) - {str(c) for c in raw.columns})
                if missing:
                    raise ValueError(f"raw features lack columns the scorer was fitted on: "
                                     f"{missing[:3]}")
                raw = raw.rename(columns=str)[self.raw_columns_]
            raw = _check_2d(raw, "raw", len(self.raw_mean_))
            if len(raw) != len(latent):
                raise ValueError(f"raw has {len(raw)} rows, latent {len(latent)}")
            parts["raw"] = (self._log_distance(raw) - self.raw_log_mean_) / self.raw_log_std_
        return parts

    def score(self, latent, recon_error=None, raw=None) -> np.ndarray:
        """Out-of-domain score per row (higher = less like the training data)."""
        parts = self.components(latent, recon_error, raw)
        raw_part = parts.pop("raw", None)
        score = np.mean(np.stack(list(parts.values()), axis=1), axis=1)
        return score if raw_part is None else np.maximum(score, raw_part)

    def flag(self, latent, recon_error=None, raw=None) -> np.ndarray:
        """Boolean flag per row: score above the threshold."""
        return self.score(latent, recon_error, raw) > self.threshold_

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
            **({"raw_columns": self.raw_columns_, "raw_mean": self.raw_mean_.tolist(),
                "raw_scale": self.raw_scale_.tolist(), "raw_precision": self.raw_precision_.tolist(),
                "raw_log_mean": self.raw_log_mean_, "raw_log_std": self.raw_log_std_}
               if self.uses_raw_ else {}),
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
            self.uses_raw_ = "raw_mean" in d  # bundles before the raw signal have none
            if self.uses_raw_:
                self.raw_columns_ = [str(c) for c in d["raw_columns"]]
                self.raw_mean_ = np.asarray(d["raw_mean"], dtype=float)
                self.raw_scale_ = np.asarray(d["raw_scale"], dtype=float)
                self.raw_precision_ = np.asarray(d["raw_precision"], dtype=float)
                self.raw_log_mean_ = float(d["raw_log_mean"])
                self.raw_log_std_ = float(d["raw_log_std"])
                p = len(self.raw_mean_)
                if (self.raw_mean_.ndim != 1 or self.raw_scale_.shape != (p,)
                        or len(self.raw_columns_) != p
                        or self.raw_precision_.shape != (p, p)):
                    raise ValueError("raw_mean/raw_scale/raw_precision shapes do not fit")
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


def _digits(x: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda v: float(f"{v:.6g}"))(np.asarray(x, dtype=float))


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
