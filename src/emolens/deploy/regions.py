"""What a bundle keeps about its training data for explanations: a few numbers, no features.

* **Latent regions**: per class, the mean and covariance of the final model's latent codes of
  the training utterances (a Gaussian ellipse per emotion, drawn behind a user's recordings
  by ``emolens serve``). For a 2-D latent that is 5 numbers per class.
* **Attribution reference**: the neutral-class mean of the *scaled* model input (what the
  encoder sees), the DeepLIFT reference of the report; ``emolens serve`` attributes how far
  each recording's latent code moved away from it, by feature group.

Both are computed by :func:`emolens.deploy.train.build_bundle` and stored in
``bundle.json`` under ``info["latent_regions"]`` and ``info["attribution_reference"]``.
Bundles made before they existed have neither; :func:`read_regions` and
:func:`read_reference` then return ``None`` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "latent_regions",
    "attribution_reference",
    "read_regions",
    "read_reference",
    "ellipse",
]

#: Where build_bundle stores them in ``Bundle.info``.
REGIONS_KEY = "latent_regions"
REFERENCE_KEY = "attribution_reference"


def _digits(x) -> list:
    """Nested lists of floats rounded to 6 significant digits (plenty for a drawing)."""
    return np.vectorize(lambda v: float(f"{v:.6g}"), otypes=[float])(np.asarray(x, float)).tolist()


def latent_regions(latent, y, labels: Sequence[str]) -> dict[str, Any]:
    """Per-class Gaussian summary of latent codes.

    Args:
        latent: (n, k) latent codes of the training utterances.
        y: (n,) their class labels.
        labels: class order; classes with fewer than 3 rows are left out (no covariance).

    Returns:
        ``{"method": ..., "classes": {label: {"n", "mean" (k,), "cov" (k, k)}}}``.
    """
    latent = np.asarray(latent, dtype=float)
    y = np.asarray(y, dtype=object)
    if latent.ndim != 2 or len(latent) != len(y):
        raise ValueError(f"latent {latent.shape} and labels ({len(y)}) do not match")
    classes = {}
    for c in labels:
        rows = latent[y == c]
        if len(rows) < 3:
            continue
        classes[str(c)] = {"n": int(len(rows)), "mean": _digits(rows.mean(axis=0)),
                           "cov": _digits(np.atleast_2d(np.cov(rows, rowvar=False)))}
    return {"method": "per-class mean and covariance of the final model's latent codes of "
                      "its training utterances (Gaussian ellipses)",
            "classes": classes}


def attribution_reference(scaled, y, label: str = "neutral") -> dict[str, Any] | None:
    """Mean of the scaled model input over the rows of ``label`` (None when there are none).

    Args:
        scaled: (n, p) training input after the pipeline's scaler.
        y: (n,) class labels.
        label: reference class.
    """
    scaled = np.asarray(scaled, dtype=float)
    rows = scaled[np.asarray(y, dtype=object) == label]
    if len(rows) == 0:
        return None
    return {"label": label, "n": int(len(rows)), "space": "scaled model input",
            "values": _digits(rows.mean(axis=0))}


def read_regions(info: dict, latent_dim: int) -> tuple[dict | None, str]:
    """Validated latent regions of a bundle's ``info``.

    Returns:
        (``{label: {"n", "mean" ndarray, "cov" ndarray}}`` or None, reason when None).
    """
    raw = info.get(REGIONS_KEY) if isinstance(info, dict) else None
    if raw is None:
        return None, ("this bundle stores no latent regions (it was built before they were "
                      "added; rebuild it with emolens.deploy.train.build_bundle)")
    try:
        out = {}
        for c, d in raw["classes"].items():
            mean = np.asarray(d["mean"], dtype=float)
            cov = np.asarray(d["cov"], dtype=float)
            if mean.shape != (latent_dim,) or cov.shape != (latent_dim, latent_dim):
                raise ValueError(f"class {c!r}: shapes {mean.shape}/{cov.shape}")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
                raise ValueError(f"class {c!r}: non-finite values")
            out[str(c)] = {"n": int(d["n"]), "mean": mean, "cov": cov}
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        return None, f"this bundle's latent regions are malformed ({err})"
    if not out:
        return None, "this bundle's latent regions hold no class"
    return out, ""


def read_reference(info: dict, n_features: int) -> tuple[np.ndarray | None, str]:
    """The attribution reference (p,) of a bundle's ``info``, or None with the reason."""
    raw = info.get(REFERENCE_KEY) if isinstance(info, dict) else None
    if raw is None:
        return None, "this bundle stores no neutral reference (built before it was added)"
    try:
        values = np.asarray(raw["values"], dtype=float)
    except (KeyError, TypeError, ValueError) as err:
        return None, f"this bundle's attribution reference is malformed ({err!r})"
    if values.shape != (n_features,) or not np.all(np.isfinite(values)):
        return None, f"this bundle's attribution reference has shape {values.shape}, not ({n_features},)"
    return values, ""


def ellipse(mean, cov, mass: float = 0.5) -> dict[str, float]:
    """Axes of the 2-D Gaussian ellipse that holds ``mass`` of the distribution.

    For a 2-D Gaussian the squared Mahalanobis radius is chi-square with 2 degrees of
    freedom, so the radius is ``sqrt(-2 ln(1 - mass))`` standard deviations along each
    principal axis.

    Returns:
        ``cx, cy, rx, ry`` (semi-axes, latent units) and ``angle`` (degrees, of ``rx`` from
        the z1 axis, counter-clockwise).
    """
    if not 0 < mass < 1:
        raise ValueError(f"mass must be in (0, 1), got {mass}")
    mean = np.asarray(mean, dtype=float)
    cov = np.asarray(cov, dtype=float)
    if mean.shape != (2,) or cov.shape != (2, 2):
        raise ValueError("ellipse() needs a 2-D mean and a 2 x 2 covariance")
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2)
    vals = np.clip(vals, 0.0, None)
    k = math.sqrt(-2.0 * math.log(1.0 - mass))
    major = vecs[:, 1]  # eigh sorts ascending: the last is the major axis
    return {"cx": float(mean[0]), "cy": float(mean[1]),
            "rx": float(k * math.sqrt(vals[1])), "ry": float(k * math.sqrt(vals[0])),
            "angle": float(math.degrees(math.atan2(major[1], major[0])))}
