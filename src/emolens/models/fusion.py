"""Late fusion of feature sets: one logistic regression per feature set, probabilities averaged.

A hybrid feature set such as ``compare+egemaps`` puts the columns of its parts side by side.
One classifier on all of them is ruled by the larger set (6373 ComParE columns against 88
eGeMAPS ones under one L2 penalty); :class:`FusedLogisticRegression` gives each set its own
regression and each the same say. On a corpus held out of training, their mean probability
recognises the emotions better than either set alone, as recorded, through other channels
and without speaker ids (it ties ComParE through channels without ids;
docs/benchmarks.md#fusion-of-two-feature-sets). ``combine="product"`` averages their
log-probabilities instead (a product of experts): its class evidence is then affine in the
features, what :class:`~emolens.models.decision_map.DecisionMap` draws in two dimensions.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

#: Values of ``combine``: how the blocks' probabilities make one.
COMBINES = ("mean", "product")


class FusedLogisticRegression(ClassifierMixin, BaseEstimator):
    """One L2 logistic regression per block of columns, class probabilities averaged.

    Args:
        blocks: the number of columns of each block (feature set), in column order; they must
            add up to the number of features. ``None``: one block, a plain logistic regression.
        C: inverse L2 strength of every regression (the same for all: each block's columns are
            z-scored alike).
        class_weight: of every regression (``"balanced"``, a dict or ``None``).
        max_iter: of every regression.
        random_state: of every regression.
        combine: ``"mean"``: the blocks' probabilities averaged; ``"product"``: their
            log-probabilities averaged and renormalised (the softmax of :meth:`evidence`).

    Attributes:
        estimators_: the fitted regressions, one per block.
        classes_: class labels.
        n_iter_: the iterations of each regression.
        n_features_in_: number of columns seen in ``fit``.
    """

    def __init__(self, blocks=None, C=1.0, class_weight="balanced", max_iter=1000,
                 random_state=None, combine="mean"):
        self.blocks = blocks
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state
        self.combine = combine

    def _check_params(self):
        if self.combine not in COMBINES:
            raise ValueError(f"combine must be one of {', '.join(map(repr, COMBINES))}, got "
                             f"{self.combine!r}.")
        if self.blocks is not None:
            sizes = list(self.blocks) if isinstance(self.blocks, (list, tuple)) else None
            if not sizes or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool)
                                    and s > 0 for s in sizes):
                raise ValueError(f"blocks must be None or a list of positive column counts, "
                                 f"got {self.blocks!r}.")
        self._regression()._validate_params()

    def _regression(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, class_weight=self.class_weight,
                                  max_iter=self.max_iter, random_state=self.random_state)

    def _slices(self, n_features: int) -> list[slice]:
        sizes = [n_features] if self.blocks is None else [int(s) for s in self.blocks]
        if sum(sizes) != n_features:
            raise ValueError(f"blocks {list(sizes)} add up to {sum(sizes)} columns; X has "
                             f"{n_features}.")
        ends = np.cumsum(sizes)
        return [slice(int(e - s), int(e)) for s, e in zip(sizes, ends)]

    def fit(self, X, y, sample_weight=None):
        """Fit one regression per block.

        Args:
            X: (n, sum(blocks)) features.
            y: class labels.
            sample_weight: optional weights, the same for every block.

        Returns:
            self
        """
        self._check_params()
        X, y = validate_data(self, X, y, reset=True)
        check_classification_targets(y)
        self.estimators_ = [
            self._regression().fit(X[:, part], y, sample_weight=sample_weight)
            for part in self._slices(X.shape[1])
        ]
        self.classes_ = self.estimators_[0].classes_
        self.n_iter_ = np.array([int(np.max(m.n_iter_)) for m in self.estimators_])
        return self

    def evidence_affine(self) -> tuple[np.ndarray, np.ndarray]:
        """``(W, b)`` of :meth:`evidence`, which is ``X @ W.T + b``: (classes, features) and
        (classes,)."""
        check_is_fitted(self)
        W = np.zeros((len(self.classes_), self.n_features_in_))
        b = np.zeros(len(self.classes_))
        for m, part in zip(self.estimators_, self._slices(self.n_features_in_)):
            coef, intercept = m.coef_, m.intercept_
            if coef.shape[0] == 1:  # binary: the logit of the second class
                coef, intercept = np.vstack([-coef, coef]) / 2, np.r_[-intercept, intercept] / 2
            W[:, part] += coef - coef.mean(axis=0)
            b += intercept - intercept.mean()
        return W / len(self.estimators_), b / len(self.estimators_)

    def evidence(self, X) -> np.ndarray:
        """Class evidence: the mean over blocks of each regression's log-probabilities, centred
        per row (equal to its centred logits, so affine in ``X``: :meth:`evidence_affine`);
        columns in ``classes_`` order."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        W, b = self.evidence_affine()
        return X @ W.T + b

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (combined as ``combine`` says), columns in ``classes_`` order."""
        check_is_fitted(self)
        if self.combine == "product":
            e = self.evidence(X)
            e = np.exp(e - e.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        X = validate_data(self, X, reset=False)
        parts = self._slices(X.shape[1])
        return np.mean([m.predict_proba(X[:, part]) for m, part in zip(self.estimators_, parts)],
                       axis=0)

    def predict(self, X) -> np.ndarray:
        """The class of highest mean probability."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
