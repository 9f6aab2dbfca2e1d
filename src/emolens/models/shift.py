"""Diagnose a test set that lies far outside the training distribution.

The typical cross-corpus failure: a corpus recorded with another channel is shifted by many
standard deviations under the training z-score, values hit the ±10 clip, and an RBF-SVC
predicts one class for everything. ``distribution_shift`` measures this with the fitted
scaler and says which normalisation fixes it; the evaluation writes its ``message`` into the
log and ``summary.md``.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np

from .scaling import FeatureScaler

log = logging.getLogger(__name__)

#: Under a standard normal, median |z| is 0.674; above this the test set is called shifted.
MEDIAN_ABS_Z_LIMIT = 1.5
#: Share of test values beyond the clip above which the test set is called shifted.
CLIPPED_SHARE_LIMIT = 0.01
#: A feature counts as shifted when its median test z-score is beyond ±1 sd ...
FEATURE_SHIFT_SD = 1.0
#: ... and the test set is called shifted when more than this share of features is.
#: (EmoDB -> RAVDESS under training z-scores: median |z| only 0.90 but a third of the
#: features shifted by > 1 sd, and the RBF-SVC predicts "angry" for every file; an
#: in-corpus held-out split has none.)
SHIFTED_FEATURES_LIMIT = 0.1
#: Share of the most frequent predicted class above which predictions are called collapsed.
COLLAPSE_LIMIT = 0.9


@dataclass
class ShiftReport:
    """Result of :func:`distribution_shift`.

    Attributes:
        normalisation: description of the scaler's normalisation.
        n_samples: rows of the test set.
        median_abs_z: median |z| over all test values (unclipped).
        train_median_abs_z: the same on the training data (reference; ~0.6 for normal data).
        share_clipped: share of test values beyond ±clip.
        share_shifted_features: share of features whose median test z-score lies beyond
            ±1 sd (a location shift of the whole corpus, e.g. another channel).
        clip: the scaler's clip value (None: no clipping; share computed at 10).
        worst_features: up to 5 ``(feature, median z)`` pairs with the largest |median z|.
        majority_share: share of the most frequent predicted class (if ``y_pred`` given).
        majority_class: that class.
        shifted: the test set lies far outside the training distribution.
        collapsed: predictions collapsed onto one class.
        message: human-readable verdict with the numbers and the suggested fix ("" if fine).
        fix: the suggested fix alone ("" if fine).
    """

    normalisation: str
    n_samples: int
    median_abs_z: float
    train_median_abs_z: float
    share_clipped: float
    share_shifted_features: float
    clip: float | None
    worst_features: list[tuple[str, float]] = field(default_factory=list)
    majority_share: float | None = None
    majority_class: object = None
    shifted: bool = False
    collapsed: bool = False
    message: str = ""
    #: the suggested fix (part of ``message``), for summaries over several fits
    fix: str = ""

    @property
    def flagged(self) -> bool:
        """Anything worth a warning."""
        return self.shifted or self.collapsed

    def as_dict(self) -> dict:
        """JSON-friendly dict."""
        d = asdict(self)
        d["worst_features"] = [[f, float(z)] for f, z in self.worst_features]
        if d["majority_class"] is not None:
            d["majority_class"] = str(d["majority_class"])
        return d


_FIX = {
    None: (
        'Normalise each corpus with its own unlabelled statistics (FeatureScaler(by="corpus"), '
        'i.e. scale__by="corpus"), or each speaker with its own (by="speaker"; needs speaker ids '
        "at test time)."
    ),
    "corpus": (
        'Try per-speaker normalisation (FeatureScaler(by="speaker"); needs speaker ids at test '
        "time)."
    ),
    "speaker": "The shift remains after per-speaker normalisation: check the features/audio.",
}


def _describe(scaler: FeatureScaler) -> str:
    if scaler.by is None:
        return "z-score with training statistics"
    return f"per-{scaler.by} z-score"


def distribution_shift(
    scaler_fitted: FeatureScaler,
    X_test,
    y_pred=None,
    groups=None,
    median_abs_z_limit: float = MEDIAN_ABS_Z_LIMIT,
    clipped_share_limit: float = CLIPPED_SHARE_LIMIT,
    shifted_features_limit: float = SHIFTED_FEATURES_LIMIT,
    collapse_limit: float = COLLAPSE_LIMIT,
    name: str = "test set",
) -> ShiftReport:
    """How far X_test lies from the training distribution under the chosen normalisation.

    Args:
        scaler_fitted: the fitted ``scale`` step of a pipeline.
        X_test: test features (same columns as in training; DataFrame with index levels for
            per-corpus/per-speaker scalers).
        y_pred: optional predictions on X_test, to detect a collapse onto one class.
        groups: corpus/speaker ids when X_test carries no index level.
        median_abs_z_limit, clipped_share_limit, shifted_features_limit, collapse_limit:
            thresholds of the verdict (shifted if any of the first three is exceeded).
        name: name of the test set, used in the message.

    Returns:
        ShiftReport (``message`` is empty when nothing is wrong; a flagged report is also
        logged as a warning on the ``emolens.models.shift`` logger).
    """
    if not isinstance(scaler_fitted, FeatureScaler):
        raise TypeError(f"scaler_fitted must be a fitted FeatureScaler, got {type(scaler_fitted).__name__}.")
    report = _statistics(scaler_fitted, scaler_fitted.z_scores(X_test, groups=groups))
    report.shifted = (
        report.median_abs_z > median_abs_z_limit
        or report.share_clipped > clipped_share_limit
        or report.share_shifted_features > shifted_features_limit
    )
    if y_pred is not None and len(y_pred):
        values, counts = np.unique(np.asarray(y_pred).astype(str), return_counts=True)
        report.majority_share = float(counts.max() / counts.sum())
        report.majority_class = values[int(np.argmax(counts))]
        report.collapsed = report.majority_share > collapse_limit and len(y_pred) >= 10
    if report.flagged:
        report.fix = _FIX.get(scaler_fitted.by, _FIX[None])
        report.message = _message(report, name)
        log.warning(report.message)
    return report


def _clip_limit(clip) -> float:
    """Where values count as clipped: the scaler's clip, 10 sd without one."""
    return float(clip) if clip is not None else 10.0


def _statistics(scaler_fitted: FeatureScaler, Z: np.ndarray) -> ShiftReport:
    """The report's numbers from the test set's z-scores ``Z`` (no verdict yet)."""
    absz = np.abs(Z)
    clip = scaler_fitted.clip
    names = getattr(scaler_fitted, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(Z.shape[1])]
    med = np.median(Z, axis=0) if Z.shape[0] else np.zeros(Z.shape[1])
    order = np.argsort(-np.abs(med), kind="stable")[:5]
    return ShiftReport(
        normalisation=_describe(scaler_fitted),
        n_samples=int(Z.shape[0]),
        median_abs_z=float(np.median(absz)) if absz.size else 0.0,
        train_median_abs_z=float(getattr(scaler_fitted, "train_median_abs_z_", float("nan"))),
        share_clipped=float(np.mean(absz > _clip_limit(clip))) if absz.size else 0.0,
        share_shifted_features=(float(np.mean(np.abs(med) > FEATURE_SHIFT_SD)) if med.size
                                else 0.0),
        clip=None if clip is None else float(clip),
        worst_features=[(str(names[i]), float(med[i])) for i in order],
    )


def _message(report: ShiftReport, name: str) -> str:
    """The verdict in words: the shift, the collapse, the fix."""
    parts = []
    if report.shifted:
        feats = ", ".join(f"{f} (median z = {z:+.1f})" for f, z in report.worst_features[:3])
        r = report
        parts.append(
            f"{name} lies far outside the training distribution under {r.normalisation}: "
            f"median |z| = {r.median_abs_z:.2f} (training: {r.train_median_abs_z:.2f}), "
            f"{100 * r.share_shifted_features:.0f} % of the features shifted by more "
            f"than {FEATURE_SHIFT_SD:g} sd (median), "
            f"{100 * r.share_clipped:.1f} % of values beyond ±{_clip_limit(r.clip):g} sd; "
            f"most shifted features: {feats}."
        )
    if report.collapsed:
        parts.append(
            f"{100 * report.majority_share:.0f} % of the predictions on {name} are "
            f"{report.majority_class!s} (prediction collapse, typical of an RBF-SVC on "
            "shifted features)."
        )
    parts.append(report.fix)
    return " ".join(parts)
