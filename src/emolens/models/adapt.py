"""Adapting a fitted classifier to a batch of unlabelled target utterances (no labels used).

A model trained on some corpora meets a new corpus (language, speakers, recording) whose
emotions sit a little elsewhere in the feature space. :class:`PseudoLabels` lets the batch
itself correct that: the fitted classifier labels the batch, the most confident half of each
predicted class trains a fresh copy of the classifier on the batch alone, and the two models'
probabilities are averaged. Nothing but the batch's own features is used (no labels, no
training data), so it works the same in ``emolens run`` (a held-out or ``--test`` corpus)
and in ``emolens predict`` (a folder or manifest).

Measured by leave-one-corpus-out over the four shared corpora in docs/benchmarks.md#transfer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Adapted", "PseudoLabels", "ADAPTS", "adaptation", "probabilities", "restrict"]

#: Values of a model's ``adapt`` option.
ADAPTS = ("none", "pseudo-labels")


def probabilities(clf, latent) -> np.ndarray:
    """Class probabilities of a fitted classifier (``predict_proba``, else a softmax of its
    one-vs-rest decision values), columns in ``clf.classes_`` order."""
    latent = np.asarray(latent, dtype=float)
    try:
        return np.asarray(clf.predict_proba(latent), dtype=float)
    except AttributeError:  # none, or SVC(probability=False)
        pass
    s = np.asarray(clf.decision_function(latent), dtype=float)
    if s.ndim == 1:  # binary: the score of the second class
        s = np.column_stack([-s, s]) / 2
    if s.shape[1] != len(clf.classes_):
        raise ValueError(f"{type(clf).__name__} gives {s.shape[1]} decision values for "
                         f"{len(clf.classes_)} classes (one-vs-rest values are needed)")
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def unweighted(clf):
    """Switch off every (nested) ``class_weight`` of an estimator, so that sample weights
    alone balance the classes. Returns ``clf``."""
    clf.set_params(**{k: None for k in clf.get_params(deep=True)
                      if k == "class_weight" or k.endswith("__class_weight")})
    return clf


@dataclass
class Adapted:
    """Result of :meth:`PseudoLabels.adapt`.

    Attributes:
        proba: (n, k) probabilities, columns in the classifier's ``classes_`` order.
        n_pseudo: utterances that trained the batch's own classifier (0: not adapted).
        note: why the batch was not adapted ('' when it was).
    """

    proba: np.ndarray
    n_pseudo: int
    note: str = ""

    @property
    def adapted(self) -> bool:
        return self.n_pseudo > 0


@dataclass(frozen=True)
class PseudoLabels:
    """Self-training on the target batch: a second classifier on the batch's confident
    pseudo-labels, its probabilities averaged with the fitted classifier's.

    Args:
        top: share of each predicted class kept as pseudo-labels (most confident first).
        min_per_class: fewest pseudo-labels per class; a batch that gives fewer for any class
            (too small, or a class the model hardly predicts there) is left unadapted.
        max_per_class: most pseudo-labels per class (the most confident), so that a very
            large batch costs a bounded refit (an RBF SVC grows with the square of its rows);
            None: no bound.
    """

    top: float = 0.5
    min_per_class: int = 5
    max_per_class: int | None = 1000

    def __post_init__(self):
        if not 0 < self.top <= 1:
            raise ValueError(f"top must be in (0, 1], got {self.top}")
        if self.min_per_class < 2:
            raise ValueError(f"min_per_class must be at least 2, got {self.min_per_class}")
        if self.max_per_class is not None and self.max_per_class < self.min_per_class:
            raise ValueError(f"max_per_class ({self.max_per_class}) must be at least "
                             f"min_per_class ({self.min_per_class})")

    def pseudo_labels(self, proba: np.ndarray) -> np.ndarray:
        """Row positions kept: the most confident ``top`` share of every predicted class (at
        most ``max_per_class``)."""
        pred, conf = proba.argmax(axis=1), proba.max(axis=1)
        keep = []
        for c in np.unique(pred):
            rows = np.flatnonzero(pred == c)
            n = max(1, int(round(self.top * len(rows))))
            if self.max_per_class is not None:
                n = min(n, self.max_per_class)
            keep.append(rows[np.argsort(-conf[rows], kind="stable")[:n]])
        return np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=int)

    def adapt(self, clf, latent, proba=None) -> Adapted:
        """Probabilities of the fitted ``clf`` on the batch ``latent``, adapted when the batch
        allows it.

        Args:
            clf: a fitted scikit-learn classifier (cloned, never changed).
            latent: (n, d) classifier input of the batch (one corpus or recording set).
            proba: the model's probabilities for the batch, columns in ``clf.classes_`` order
                (e.g. from a calibration head); default :func:`probabilities`.

        Returns:
            :class:`Adapted`.
        """
        from sklearn.base import clone
        from sklearn.utils.class_weight import compute_sample_weight

        latent = np.asarray(latent, dtype=float)
        proba = probabilities(clf, latent) if proba is None else np.asarray(proba, dtype=float)
        if proba.shape != (len(latent), len(clf.classes_)):
            raise ValueError(f"proba must have shape {(len(latent), len(clf.classes_))}, "
                             f"got {proba.shape}")
        classes = np.asarray(clf.classes_)
        keep = self.pseudo_labels(proba)
        y = classes[proba[keep].argmax(axis=1)]
        counts = {c: int((y == c).sum()) for c in classes}
        short = [str(c) for c, n in counts.items() if n < self.min_per_class]
        if short:
            return Adapted(proba, 0, f"too few confident utterances of {', '.join(short)} "
                                     f"(fewer than {self.min_per_class}) to adapt")
        own = unweighted(clone(clf))
        own.fit(latent[keep], y, sample_weight=compute_sample_weight("balanced", y))
        if not np.array_equal(np.asarray(own.classes_), classes):  # pragma: no cover - guard
            return Adapted(proba, 0, "the batch's classifier has other classes")
        return Adapted((proba + probabilities(own, latent)) / 2, len(keep))


def adaptation(name: str | None) -> PseudoLabels | None:
    """The adaptation a model option names: ``"pseudo-labels"`` or ``"none"``/None."""
    if name in (None, "none"):
        return None
    if name == "pseudo-labels":
        return PseudoLabels()
    raise ValueError(f"adapt must be one of {', '.join(map(repr, ADAPTS))}, got {name!r}")


def restrict(proba: np.ndarray, labels, classes) -> np.ndarray:
    """Probabilities with every class outside ``classes`` set to 0 and the rest rescaled to
    sum to 1, so that the label is the most probable class the files can hold.

    A model trained on four classes still gives some utterances to a class a corpus lacks;
    for a user who knows which classes occur, the argmax over those is the better label
    (the default model on TESS with one class dropped: 64.9 -> 81.8 % UA with the bundle of
    2026-12-04 18:19; docs/benchmarks.md, "A class missing from the corpus").

    Args:
        proba: (n, len(labels)) probabilities.
        labels: the column order of ``proba``.
        classes: the labels kept.
    """
    keep = np.isin(np.asarray(labels, dtype=str), np.asarray(list(classes), dtype=str))
    out = np.where(keep, np.asarray(proba, dtype=float), 0.0)
    total = out.sum(axis=1, keepdims=True)
    uniform = np.where(keep, 1.0 / keep.sum(), 0.0)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), uniform)
