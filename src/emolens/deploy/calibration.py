"""Calibrated probability head.

The classifier of a pipeline (a linear SVC in the paper) gives decision scores, not
probabilities. The deployed model maps those scores to probabilities with a multinomial
logistic regression ("matrix scaling", the multi-class form of Platt scaling) fitted on
*held-out* decision scores, i.e. scores that cross-validation models gave to utterances they
did not train on. The head is a single affine map followed by a softmax, so it is stored as
two JSON arrays and exported to ONNX exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import softmax

# The head reads the classifier's scores as emolens.models defines them (re-exported here).
from emolens.models.fitted import classifier_scores, linear_scores  # noqa: E402,F401

__all__ = ["ProbabilityHead", "classifier_scores", "linear_scores"]


class ProbabilityHead:
    """Multinomial logistic regression on decision scores.

    Args:
        C: inverse L2 regularisation strength of the logistic regression.
    """

    def __init__(self, C: float = 1.0):
        self.C = C

    def fit(self, scores, y, labels) -> ProbabilityHead:
        """Fit on held-out decision scores.

        Args:
            scores: (n, m) decision scores of the classifier on held-out data.
            y: (n,) true labels (values of ``labels``).
            labels: the class order of the probabilities.

        Returns:
            self
        """
        from sklearn.linear_model import LogisticRegression

        scores = np.asarray(scores, dtype=float)
        if scores.ndim == 1:
            scores = scores[:, None]
        labels = list(labels)
        y = np.asarray(y)
        missing = sorted(set(labels) - set(y.tolist()))
        if missing:
            raise ValueError(f"cannot calibrate: no held-out samples of class(es) {missing}")
        unknown = sorted(set(y.tolist()) - set(labels))
        if unknown:
            raise ValueError(f"cannot calibrate: labels {unknown} are not in {labels}")
        lr = LogisticRegression(C=self.C, max_iter=1000).fit(scores, y)
        order = [list(lr.classes_).index(c) for c in labels]
        self.labels_ = labels
        self.coef_ = lr.coef_[order]
        self.intercept_ = lr.intercept_[order]
        return self

    def decision(self, scores) -> np.ndarray:
        """Logits of the head."""
        scores = np.asarray(scores, dtype=float)
        if scores.ndim == 1:
            scores = scores[:, None]
        if scores.shape[1] != self.coef_.shape[1]:
            raise ValueError(
                f"head expects {self.coef_.shape[1]} decision scores, got {scores.shape[1]}"
            )
        return scores @ self.coef_.T + self.intercept_

    def predict_proba(self, scores) -> np.ndarray:
        """Calibrated probabilities, columns in ``labels_`` order (rows sum to 1)."""
        return softmax(self.decision(scores), axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "multinomial-logistic",
            "C": self.C,
            "labels": list(self.labels_),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProbabilityHead:
        try:
            if d["kind"] != "multinomial-logistic":
                raise ValueError(f"unknown head kind {d['kind']!r}")
            self = cls(C=float(d["C"]))
            self.labels_ = [str(x) for x in d["labels"]]
            self.coef_ = np.asarray(d["coef"], dtype=float)
            self.intercept_ = np.asarray(d["intercept"], dtype=float)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"invalid probability head: {err!r}") from None
        n = len(self.labels_)
        if self.coef_.ndim != 2 or self.coef_.shape[0] != n or self.intercept_.shape != (n,):
            raise ValueError(
                f"invalid probability head: coef {self.coef_.shape} / intercept "
                f"{self.intercept_.shape} do not fit {n} labels"
            )
        return self
