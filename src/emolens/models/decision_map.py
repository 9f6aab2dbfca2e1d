"""A 2-D latent that draws a fusion's decision: :class:`DecisionMap`.

The paper's latent summarises the features (an autoencoder's two dimensions). Across corpora
that costs 5-9 points of unweighted accuracy against the best model on both feature sets
(docs/benchmarks.md#transfer-leave-one-corpus-out-over-four-corpora), and even the best
model's own class evidence loses 5.6 points through any *linear* 2-D projection, where a
third dimension costs nothing. A small
non-linear map of that evidence keeps it: the model's decision drawn in a plane, each class a
region, confidence a distance from the others.

The chain, each step a fixed function of the one before (so DeepLIFT follows it from the
features to ``z1``/``z2``, :attr:`DecisionMap.encoder_`):

1. ``fusion_``: one L2 logistic regression per feature set (:class:`FusedLogisticRegression`
   with ``combine="product"``), whose class evidence ``e`` (the mean of the regressions'
   centred logits, one value per class) is affine in the scaled features;
2. the map: ``z = W2 tanh(W1 e / 5 + b1) + b2`` (``hidden`` tanh units, then 2), trained with a
   linear softmax head on ``z`` (the head is a training device, dropped afterwards).

The map learns from *out-of-fold* evidence: for each group of training rows (a corpus, when
``fit`` is given several), the fusion trained on the other groups. Evidence on a training
row from a fusion that saw it is far more confident than on a corpus it never saw, and a
map learnt on that would not know what unseen corpora look like. For the same reason
``fit_transform`` returns the out-of-fold latent (as scikit-learn's ``TargetEncoder`` does),
so the pipeline's classifier learns the regions that unseen data fall in.

:meth:`DecisionMap.adapted_transform` adapts the fusion to a batch of unlabelled target rows
(:class:`~emolens.models.adapt.PseudoLabels`) before reading its evidence; the pipeline's
classifier can then be adapted on the latent as any other (two-stage adaptation).
"""

from __future__ import annotations

import copy
import hashlib
import numbers
from collections import OrderedDict

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, StratifiedKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .fusion import FusedLogisticRegression

__all__ = ["DecisionMap"]

#: The evidence is read in units of this many nats (logits of a C = 0.01 regression on
#: z-scored features span about ±10), so the tanh units start in their working range.
EVIDENCE_SCALE = 5.0


#: Fusions and out-of-fold evidence of recent fits in this process, by the fingerprint of
#: their data and parameters (a run fits each training set once per seed; the fusion is the
#: same for all seeds). Small: a fusion is its regressions' coefficients.
_SHARED: OrderedDict = OrderedDict()
_SHARED_MAX = 8


def _fingerprint(*parts) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        if part is None or isinstance(part, (int, float, str, tuple, list)):
            h.update(repr(part).encode())
        else:
            a = np.ascontiguousarray(part)
            h.update(repr((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes() if a.dtype.kind != "O" else repr(a.tolist()).encode())
    return h.hexdigest()


class DecisionMap(TransformerMixin, BaseEstimator):
    """Features → a fusion's class evidence → a non-linear 2-D latent of it.

    Args:
        blocks: column count of each feature set (``FusedLogisticRegression.blocks``);
            ``None``: one logistic regression.
        C: inverse L2 strength of the fusion's regressions (0.01: strong, for thousands of
            ComParE columns).
        hidden: tanh units of the map.
        steps: full-batch Adam steps that train the map.
        folds: most out-of-fold splits: with up to ``folds`` groups one per group, with more
            ``folds`` group folds; without groups ``folds`` stratified folds shuffled with
            ``seed``.
        seed: seeds the map's initialisation and the folds (not the fusion: fits of the
            same rows with other seeds reuse it and its out-of-fold evidence).

    Attributes:
        fusion_: the fusion trained on every training row.
        classes_: class labels (the fusion's).
        hidden_weight_, hidden_bias_: ``W1`` (hidden, classes) and ``b1`` of the map.
        latent_weight_, latent_bias_: ``W2`` (2, hidden) and ``b2``.
        oof_groups_: how many groups the out-of-fold evidence came from.
        n_features_in_: number of columns seen in ``fit``.
    """

    def __init__(self, blocks=None, C=0.01, hidden=16, steps=500, folds=5, seed=0):
        self.blocks = blocks
        self.C = C
        self.hidden = hidden
        self.steps = steps
        self.folds = folds
        self.seed = seed

    def _check_params(self):
        for name, low in (("hidden", 1), ("steps", 1), ("folds", 2)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
        if not isinstance(self.seed, numbers.Integral) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an int, got {self.seed!r}.")
        self._fusion()._check_params()

    def _fusion(self) -> FusedLogisticRegression:
        # lbfgs uses no randomness: the fusion is the same for every seed (and shared)
        return FusedLogisticRegression(blocks=self.blocks, C=self.C, combine="product",
                                       random_state=0)

    def _fusion_and_evidence(self, X, y, w, groups):
        """``(fusion on every row, out-of-fold evidence, splits)``: the part of ``fit`` that
        does not depend on the map's seed (except through stratified folds), so the fits of
        one training set with several seeds share it (:data:`_SHARED`, by content)."""
        key = _fingerprint(X, y, w, groups, self.blocks, self.C, self.folds,
                           self.seed if groups is None else None)
        if key not in _SHARED:
            fusion = self._fusion().fit(X, y, sample_weight=w)
            _SHARED[key] = (fusion, *self._oof_evidence(X, y, w, groups, fusion.classes_))
            while len(_SHARED) > _SHARED_MAX:
                _SHARED.popitem(last=False)
        fusion, oof, splits = _SHARED[key]
        return copy.deepcopy(fusion), oof.copy(), splits

    def _oof_evidence(self, X, y, w, groups, classes) -> tuple[np.ndarray, int]:
        """Each row's evidence from a fusion trained without its group (fold)."""
        n_groups = 0 if groups is None else len(np.unique(groups))
        if 2 <= n_groups <= self.folds:
            splits = list(LeaveOneGroupOut().split(X, y, groups))
        elif n_groups > self.folds:
            splits = list(GroupKFold(self.folds).split(X, y, groups))
        else:
            n = min(self.folds, int(np.min(np.unique(y, return_counts=True)[1])))
            if n < 2:
                raise ValueError("DecisionMap needs two groups, or two rows of every class, "
                                 "for out-of-fold evidence.")
            splits = list(StratifiedKFold(n, shuffle=True, random_state=self.seed).split(X, y))
        oof = np.zeros((len(X), len(classes)))
        for train, held in splits:
            missing = sorted(set(classes.tolist()) - set(y[train].tolist()))
            if missing:
                where = "one fold"
                if n_groups >= 2:
                    where = "group(s) " + ", ".join(repr(str(g)) for g in np.unique(groups[held]))
                raise ValueError(f"class(es) {missing} occur only in {where}: each out-of-fold "
                                 "fusion must be trained on every class (give every class in "
                                 "at least two corpora).")
            fold = self._fusion().fit(X[train], y[train], sample_weight=w[train])
            oof[held] = fold.evidence(X[held])
        return oof, len(splits)

    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit the fusion on every row and the map on the out-of-fold evidence.

        Args:
            X: (n, sum(blocks)) scaled features.
            y: class labels.
            sample_weight: optional row weights (fusion and map).
            groups: optional group of each row (its corpus, or its speaker in one corpus):
                the out-of-fold evidence of a row never comes from a fusion that saw its group
                (see ``folds``).

        Returns:
            self
        """
        self._fit(X, y, sample_weight, groups)
        return self

    def fit_transform(self, X, y=None, sample_weight=None, groups=None):
        """:meth:`fit`, returning the *out-of-fold* latent of the training rows (what unseen
        rows look like to the map), not ``transform(X)``."""
        return self._read(self._fit(X, y, sample_weight, groups))

    def _fit(self, X, y, sample_weight, groups) -> np.ndarray:
        self._check_params()
        X, y = validate_data(self, X, y, reset=True, dtype=np.float64)
        check_classification_targets(y)
        w = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if not w.sum() > 0:
            raise ValueError("sample weights are all zero: nothing to fit.")
        w = w / np.mean(w)
        self.fusion_, oof, self.oof_groups_ = self._fusion_and_evidence(X, y, w, groups)
        self.classes_ = self.fusion_.classes_
        self._train_map(oof, y, w)
        return oof

    def _train_map(self, evidence, y, w):
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.seed))
            net = torch.nn.Sequential(torch.nn.Linear(evidence.shape[1], self.hidden),
                                      torch.nn.Tanh(), torch.nn.Linear(self.hidden, 2))
            head = torch.nn.Linear(2, len(self.classes_))
        opt = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=0.01,
                               weight_decay=1e-4)
        X = torch.tensor(evidence / EVIDENCE_SCALE, dtype=torch.float32)
        W = torch.tensor(w, dtype=torch.float32)
        Y = torch.tensor(np.searchsorted(self.classes_, y))
        for _ in range(int(self.steps)):
            opt.zero_grad()
            ce = torch.nn.functional.cross_entropy(head(net(X)), Y, reduction="none")
            (ce * W).mean().backward()
            opt.step()
        self.hidden_weight_ = net[0].weight.detach().numpy().astype(np.float64)
        self.hidden_bias_ = net[0].bias.detach().numpy().astype(np.float64)
        self.latent_weight_ = net[2].weight.detach().numpy().astype(np.float64)
        self.latent_bias_ = net[2].bias.detach().numpy().astype(np.float64)

    def _read(self, evidence) -> np.ndarray:
        h = np.tanh(evidence / EVIDENCE_SCALE @ self.hidden_weight_.T + self.hidden_bias_)
        return h @ self.latent_weight_.T + self.latent_bias_

    def evidence(self, X) -> np.ndarray:
        """The fusion's class evidence (n, classes): centred mean logits."""
        check_is_fitted(self)
        return self.fusion_.evidence(X)

    def transform(self, X) -> np.ndarray:
        """The 2-D latent (n, 2) of the rows ``X``."""
        return self._read(self.evidence(X))

    def adapted_transform(self, X, adaptation):
        """The latent of a batch after adapting the fusion to it.

        Args:
            X: (n, features) scaled rows of one corpus or recording set (no labels).
            adaptation: a :class:`~emolens.models.adapt.PseudoLabels` (or None: not adapted).

        Returns:
            ``(latent (n, 2), Adapted or None)``: the latent read from the adapted fusion's
            evidence (its log-probabilities, centred), and what the adaptation did.
        """
        check_is_fitted(self)
        if adaptation is None:
            return self.transform(X), None
        result = adaptation.adapt(self.fusion_, X)
        if not result.adapted:
            return self.transform(X), result
        log = np.log(np.clip(result.proba, 1e-12, None))
        return self._read(log - log.mean(axis=1, keepdims=True)), result

    @property
    def encoder_(self):
        """The chain from scaled features to latent as a ``torch.nn.Sequential`` (float32):
        the evidence (Linear), then the map (Linear, Tanh, Linear); for DeepLIFT."""
        import torch

        check_is_fitted(self)
        W, b = self.fusion_.evidence_affine()
        layers = [torch.nn.Linear(W.shape[1], W.shape[0]),
                  torch.nn.Linear(self.hidden_weight_.shape[1], self.hidden_weight_.shape[0]),
                  torch.nn.Tanh(),
                  torch.nn.Linear(self.latent_weight_.shape[1], 2)]
        values = [(W, b), (self.hidden_weight_ / EVIDENCE_SCALE, self.hidden_bias_),
                  (self.latent_weight_, self.latent_bias_)]
        with torch.no_grad():
            for layer, (w, c) in zip([layers[0], layers[1], layers[3]], values):
                layer.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
                layer.bias.copy_(torch.as_tensor(c, dtype=torch.float32))
        return torch.nn.Sequential(*layers).eval()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
