"""Classification metrics of the paper: UA, WA, macro-F1, per-class recall, confusion, CI.

UA (unweighted accuracy) is the balanced accuracy, the mean of the per-class recalls over the
classes present in ``y_true``; WA (weighted accuracy) is the plain accuracy.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import confusion_matrix

from emolens import LABELS


def _check(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(
            f"y_true and y_pred must be 1-D and of equal length, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    if len(y_true) == 0:
        raise ValueError("cannot score an empty test set")
    return y_true, y_pred


def scores(y_true, y_pred, labels: Sequence[str] = LABELS) -> dict[str, float]:
    """UA, WA, macro-F1 and the recall of every class.

    Args:
        y_true: true labels.
        y_pred: predicted labels.
        labels: the classes, in report order.

    Returns:
        dict with ``n, ua, wa, macro_f1`` and ``recall_<label>`` (NaN for a class absent
        from ``y_true``). Macro-F1 averages over the classes present in ``y_true``.
    """
    y_true, y_pred = _check(y_true, y_pred)
    # One confusion matrix gives every number (the runner scores thousands of test sets;
    # four sklearn metric calls on object arrays cost ~10 ms each). Labels outside ``labels``
    # are kept, so UA/WA/F1 are exactly sklearn's balanced_accuracy/accuracy/f1 (macro).
    extra = sorted(set(np.unique(np.concatenate([y_true, y_pred]).astype(str))) - set(labels))
    every = list(labels) + extra
    cm = confusion_matrix(y_true.astype(str), y_pred.astype(str), labels=every).astype(float)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    has = support > 0
    recall = np.divide(tp, support, out=np.full_like(tp, np.nan), where=has)
    denom = support + predicted  # 2 tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    present = has[: len(labels)]
    out = {
        "n": int(len(y_true)),
        "ua": float(recall[has].mean()),
        "wa": float(tp.sum() / len(y_true)),
        "macro_f1": float(f1[: len(labels)][present].mean()) if present.any() else 0.0,
    }
    for lab, r in zip(labels, recall):
        out[f"recall_{lab}"] = float(r)
    return out


def confusion(y_true, y_pred, labels: Sequence[str] = LABELS) -> pd.DataFrame:
    """Confusion matrix of counts, rows = true class, columns = predicted class."""
    y_true, y_pred = _check(y_true, y_pred)
    cm = confusion_matrix(y_true, y_pred, labels=list(labels))
    return pd.DataFrame(
        cm,
        index=pd.Index(list(labels), name="true"),
        columns=pd.Index(list(labels), name="predicted"),
    )


def _ua_statistic(codes_true, codes_pred, axis=-1):
    """Vectorised balanced accuracy over integer codes (for scipy.stats.bootstrap)."""
    codes_true = np.asarray(codes_true)
    codes_pred = np.asarray(codes_pred)
    n_classes = int(max(codes_true.max(), codes_pred.max())) + 1
    recalls = []
    for c in range(n_classes):
        is_c = codes_true == c
        support = is_c.sum(axis=axis)
        hits = (is_c & (codes_pred == c)).sum(axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(support > 0, hits / np.maximum(support, 1), np.nan))
    return np.nanmean(np.stack(recalls), axis=0)


def bootstrap_ua(
    y_true, y_pred, n_resamples: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of UA, resampling test utterances.

    Args:
        y_true: true labels.
        y_pred: predicted labels.
        n_resamples: bootstrap resamples (1000 by default).
        level: confidence level.
        seed: seed of the resampling, so the interval is reproducible.

    Returns:
        (low, high)
    """
    y_true, y_pred = _check(y_true, y_pred)
    classes, codes = np.unique(np.concatenate([y_true, y_pred]).astype(str), return_inverse=True)
    codes_true, codes_pred = codes[: len(y_true)], codes[len(y_true) :]
    if len(y_true) < 2 or n_resamples < 1:
        ua = float(_ua_statistic(codes_true, codes_pred))
        return ua, ua
    res = stats.bootstrap(
        (codes_true, codes_pred),
        _ua_statistic,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
