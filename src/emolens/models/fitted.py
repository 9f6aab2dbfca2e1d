"""A fitted model applied to rows: the one place that knows a pipeline's steps.

Every model is a ``Pipeline(scale, reduce, clf)`` (:func:`~emolens.models.make_model`). The
runner, the training of shipped bundles, :class:`~emolens.deploy.Predictor` and the report
all need more than ``predict``: the scaled rows, the latent, the reconstruction error, the
classifier's scores, the groups that fell back to the training statistics. :func:`apply`
returns them as named fields of one :class:`ModelOutput`; :func:`fit_model` fits a pipeline the
same way for everyone. With a per-corpus/per-speaker scaler both let the group statistics
see the unlabelled utterances of the same speakers (``unlabelled=``), never the classifier:
group statistics must come from all of a speaker's utterances (other emotions included), not
from a subset the emotion labels chose, as a deployed model never sees that subset either.
"""

from __future__ import annotations

import warnings
from functools import cached_property

import numpy as np
import pandas as pd


__all__ = ["ModelOutput", "apply", "classifier_scores", "fit_model", "is_grouped", "linear_scores",
           "scaled_input", "with_unlabelled"]


def with_unlabelled(X: pd.DataFrame, unlabelled: pd.DataFrame | None) -> pd.DataFrame:
    """``X`` followed by the unlabelled utterances of the speakers in ``X``.

    Selecting by speaker keeps folds speaker-disjoint for every normalisation.

    Args:
        X: labelled model input, indexed ``(file, corpus, speaker)``.
        unlabelled: unlabelled model input with the same columns and index levels, or None.

    Returns:
        ``X``'s rows first (same order), then the matching unlabelled rows.
    """
    if unlabelled is None or not len(unlabelled):
        return X
    speakers = set(X.index.get_level_values("speaker"))
    extra = unlabelled[unlabelled.index.get_level_values("speaker").isin(speakers)]
    return pd.concat([X, extra]) if len(extra) else X


def is_grouped(pipe) -> bool:
    """Whether the pipeline's scaler z-scores per corpus/speaker (needs their ids)."""
    return getattr(pipe.named_steps.get("scale"), "by", None) is not None


def _steps(pipe):
    steps = pipe.named_steps
    missing = [s for s in ("scale", "reduce", "clf") if s not in steps]
    if missing:
        raise ValueError(f"the pipeline lacks the step(s) {missing} (scale, reduce, clf)")
    return steps["scale"], steps["reduce"], steps["clf"]


def scaled_input(pipe, X, unlabelled=None, fit: bool = False, y=None):
    """The scale step's output for the rows ``X`` and the groups that used the training
    statistics; a group scaler's statistics also cover ``unlabelled`` (same speakers only).

    Args:
        pipe: the pipeline (its scale step is fitted here when ``fit``).
        X: model input (``emolens.features.model_input``).
        unlabelled: unlabelled model input, or None.
        fit: fit the scale step on these rows first.
        y: labels of ``X`` when fitting (a guarding scaler learns the emotion directions
            from them; the unlabelled rows get None).

    Returns:
        ``(scaled rows of X, fallback groups)``
    """
    scale, _, _ = _steps(pipe)
    full = with_unlabelled(X, unlabelled) if is_grouped(pipe) else X
    if fit:
        labels = None if y is None else (
            list(np.asarray(y, dtype=object)) + [None] * (len(full) - len(X)))
        Z = scale.fit_transform(full, labels)
        fallback = list(scale.fallback_groups_)
    else:
        Z, fallback = scale.transform_with_fallback(full)
    return Z[: len(X)], fallback


def fit_model(pipe, X, y, unlabelled=None):
    """Fit ``pipe`` in place on the labelled rows; a group scaler's statistics over the
    labelled and the ``unlabelled`` rows of the same speakers. Returns ``pipe``.

    The same as :func:`~emolens.models.fit_pipelines` with one pipeline and no weights (a
    decision map's out-of-fold evidence also needs the rows' corpus/speaker ids)."""
    from .multifit import fit_pipelines

    return fit_pipelines([pipe], [X], [y], unlabelled=unlabelled)[0]


def linear_scores(clf) -> tuple[np.ndarray, np.ndarray, str] | None:
    """``(W, b, kind)`` when the classifier's scores are affine in its input, else None.

    A linear-kernel SVC's one-vs-one decision values are ``x @ coef_.T + intercept_`` (one
    per class pair); its one-vs-rest output (votes plus confidences) is not affine, so the
    pairwise values are what the probability head reads. Logistic regression and LinearSVC
    decision functions are affine too.
    """
    if not hasattr(clf, "coef_") or not hasattr(clf, "intercept_"):
        return None
    if getattr(clf, "kernel", "linear") != "linear":
        return None
    try:
        W = np.atleast_2d(np.asarray(clf.coef_, dtype=float))
    except (AttributeError, ValueError):  # SVC.coef_ raises for non-linear kernels
        return None
    b = np.atleast_1d(np.asarray(clf.intercept_, dtype=float))
    kind = "svc-ovo-linear" if hasattr(clf, "support_vectors_") else "linear-decision"
    return W, b, kind


def classifier_scores(clf, latent) -> np.ndarray:
    """Class scores of a classifier: affine scores when available (see :func:`linear_scores`),
    else ``decision_function``, else log ``predict_proba``; always 2-D."""
    latent = np.asarray(latent, dtype=float)
    lin = linear_scores(clf)
    if lin is not None:
        W, b, _ = lin
        return latent @ W.T + b
    if hasattr(clf, "decision_function"):
        s = np.asarray(clf.decision_function(latent), dtype=float)
        return s[:, None] if s.ndim == 1 else s
    return np.log(np.clip(clf.predict_proba(latent), 1e-12, None))


class ModelOutput:
    """What a fitted pipeline gives for some rows; each field is computed on first access.

    Attributes:
        scaled: the scale step's output (n, n_features).
        fallback_groups: corpus/speaker groups too small for their own statistics (they used
            the training statistics); empty for ``by=None``.
        latent: the reduce step's output (n, latent_dim) as float64, None for
            ``"passthrough"`` (no latent).
        latent_dim: the latent's width (0 without latent).
        classifier_input: what the classifier reads (the latent, else the scaled rows).
        reconstruction_error: per row, None when the reduce step has no decoder.
        predictions: the classifier's labels (str).
        scores: the classifier's class scores (:func:`classifier_scores`), 2-D.
        probabilities: the classifier's ``predict_proba``, None when it has none.
    """

    def __init__(self, pipe, X, unlabelled=None):
        self.pipe, self._X, self._unlabelled = pipe, X, unlabelled
        self._scale, self._reduce, self._clf = _steps(pipe)

    @cached_property
    def _scaled(self):
        with warnings.catch_warnings():
            # small groups are reported through fallback_groups, not once per call
            warnings.simplefilter("ignore", UserWarning)
            return scaled_input(self.pipe, self._X, self._unlabelled)

    @property
    def scaled(self) -> np.ndarray:
        return self._scaled[0]

    @property
    def fallback_groups(self) -> list:
        return self._scaled[1]

    @cached_property
    def _features(self):
        """The classifier's input: the reduce step's output (the scaled rows for passthrough)."""
        if self._reduce in (None, "passthrough"):
            return self.scaled
        return self._reduce.transform(self.scaled)

    @property
    def classifier_input(self) -> np.ndarray:
        """What the classifier reads: the latent, or the scaled rows without a reduce step."""
        return np.asarray(self._features, dtype=np.float64)

    @property
    def latent(self) -> np.ndarray | None:
        if self._reduce in (None, "passthrough"):
            return None
        return np.asarray(self._features, dtype=np.float64)

    @property
    def latent_dim(self) -> int:
        return 0 if self.latent is None else int(self.latent.shape[1])

    @cached_property
    def reconstruction_error(self) -> np.ndarray | None:
        if not hasattr(self._reduce, "reconstruction_error"):
            return None
        return np.asarray(self._reduce.reconstruction_error(self.scaled), dtype=float)

    def adapted(self, adaptation) -> tuple:
        """The classifier adapted to these rows as one batch (labels unused), and the input
        it read then: the reduce step's own adapted output where it adapts too (a
        :class:`~emolens.models.decision_map.DecisionMap` adapts its fusion first), else
        :attr:`classifier_input`.

        Args:
            adaptation: a :class:`~emolens.models.adapt.PseudoLabels`.

        Returns:
            ``(Adapted, classifier input (n, d))``
        """
        latent = self.classifier_input
        if hasattr(self._reduce, "adapted_transform"):
            latent, _ = self._reduce.adapted_transform(self.scaled, adaptation)
        return adaptation.adapt(self._clf, latent), latent

    @cached_property
    def predictions(self) -> np.ndarray:
        return np.asarray(self._clf.predict(self._features)).astype(str)

    @cached_property
    def scores(self) -> np.ndarray:
        return classifier_scores(self._clf, self._features)

    @cached_property
    def probabilities(self) -> np.ndarray | None:
        if not hasattr(self._clf, "predict_proba"):
            return None
        try:
            return np.asarray(self._clf.predict_proba(self._features), dtype=float)
        except AttributeError:  # SVC(probability=False) has the method but refuses it
            return None


def apply(pipe, X, unlabelled=None) -> ModelOutput:
    """Apply a fitted ``Pipeline(scale, reduce, clf)`` to the rows ``X``.

    Args:
        pipe: fitted pipeline.
        X: model input (``emolens.features.model_input``; a group scaler needs its
            corpus/speaker index levels).
        unlabelled: unlabelled model input whose rows of the same speakers join a group
            scaler's statistics (ignored by ``by=None``).

    Returns:
        :class:`ModelOutput` (lazy: only the fields read are computed).
    """
    return ModelOutput(pipe, X, unlabelled)
