"""Feature scaling step: z-score with training, per-corpus or per-speaker statistics.

The paper z-scores every feature with the training corpus statistics and clips at
±10 sd. Across corpora that is often the failure point: a corpus recorded with another
microphone lands far away from the training distribution, and an RBF-SVC then predicts a
single class. Per-corpus and per-speaker normalisation z-score each group with statistics of
its *own unlabelled* utterances (transductive, no labels involved), which removes channel and
speaker offsets. Per-speaker normalisation therefore needs speaker ids at test time.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

#: Values of ``FeatureScaler(by=...)``.
SCALING_GROUPS = (None, "corpus", "speaker")
#: The one vocabulary of normalisations (configs, bundles, metadata, summaries): ``none``
#: z-scores with the training statistics (the paper), ``corpus``/``speaker`` with each
#: group's own statistics. Index i names ``SCALING_GROUPS[i]``.
NORMALISATIONS = ("none", "corpus", "speaker")
#: Old spellings still read, each with a deprecation message.
NORMALISATION_ALIASES = {"global": "none"}


def normalisation_name(value, where: str = "normalisation") -> str:
    """The normalisation ``value`` means, in the one vocabulary :data:`NORMALISATIONS`.

    Accepts a name, ``None`` (the scaler's ``by=None``) and the deprecated alias ``"global"``
    (with a ``FutureWarning`` naming ``where``).

    Raises:
        ValueError: any other value.
    """
    if value is None:
        return "none"
    if isinstance(value, str) and value in NORMALISATION_ALIASES:
        new = NORMALISATION_ALIASES[value]
        warnings.warn(f"{where}: '{value}' is deprecated, write '{new}' (same meaning: "
                      "z-scoring with the training statistics)", FutureWarning, stacklevel=2)
        return new
    if value not in NORMALISATIONS:
        raise ValueError(f"{where} must be one of {', '.join(map(repr, NORMALISATIONS))}, "
                         f"got {value!r}")
    return value


def scaler_by(name: str):
    """``FeatureScaler(by=...)`` of a normalisation name (``"none"`` -> ``None``)."""
    return SCALING_GROUPS[NORMALISATIONS.index(normalisation_name(name))]


#: ``guard``: a corpus whose speakers take this share of the variance along the emotion
#: directions (:func:`speaker_share`) or less keeps its speaker statistics; from the upper
#: value on it is z-scored with its corpus statistics; linear in between
#: (``python benchmarks/transfer.py`` prints the shares of the shared corpora per test
#: condition for its guarded rows; docs/benchmarks.md#transfer).
GUARD_RANGE = (0.3, 0.5)
#: ``guard``: corpora with fewer speakers are left as they are: between two speakers, a
#: difference along the emotion directions is as likely their voices as their emotions.
GUARD_MIN_SPEAKERS = 3
#: ``guard`` with channel copies among the training corpora (``augment = "channel"``): this
#: many leading directions of how the copies differ from their recordings (a speaker's
#: microphone, room, gain) are removed from the emotion directions, so that a corpus whose
#: speakers were each recorded through a channel of their own is not taken for one whose
#: speakers each show one emotion (docs/benchmarks.md#fusion-of-two-feature-sets).
GUARD_CHANNEL_DIRECTIONS = 5


def _is_copy(corpus) -> bool:
    from emolens.features.channels import COPY_SUFFIX

    return str(corpus).endswith(COPY_SUFFIX)


def _group_means(X: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Mean row of ``X`` per group ``codes`` (0..k-1, each present), as one product with the
    (k, n) one-hot matrix: ``np.add.at`` and a wide DataFrame's groupby are many times
    slower."""
    n = np.bincount(codes)
    onehot = sparse.csr_matrix((np.ones(len(codes)), (codes, np.arange(len(codes)))),
                               shape=(len(n), len(codes)))
    return np.asarray(onehot @ X) / n[:, None].astype(np.float64)


def channel_directions(X: np.ndarray, speakers, corpora, scale: np.ndarray,
                       k: int = GUARD_CHANNEL_DIRECTIONS) -> np.ndarray | None:
    """How channel copies differ from their recordings: per copied speaker, the mean of the
    copies (corpus and speaker ids ending in ``COPY_SUFFIX``) minus the mean of the
    recordings, in units of ``scale``, centred over the speakers; the ``k`` leading right
    singular vectors of those differences.

    Returns:
        (at most k, n_features) orthonormal rows (no more than the differences span), or
        None when no speaker has both.
    """
    from emolens.features.channels import COPY_SUFFIX

    pairs = pd.MultiIndex.from_arrays([pd.Series(corpora, dtype=object).astype(str),
                                       pd.Series(speakers, dtype=object).astype(str)])
    codes, uniques = pairs.factorize()
    means = _group_means(X, codes)
    where = {pair: i for i, pair in enumerate(uniques)}
    deltas = []
    for (corpus, speaker), i in where.items():
        if _is_copy(corpus) and _is_copy(speaker):
            original = where.get((corpus.removesuffix(COPY_SUFFIX),
                                  speaker.removesuffix(COPY_SUFFIX)))
            if original is not None:
                deltas.append((means[i] - means[original]) / scale)
    if not deltas:
        return None
    D = np.asarray(deltas)
    D -= D.mean(axis=0)
    _, sv, Vt = np.linalg.svd(D, full_matrices=False)
    # Only directions the copies span: past D's rank (fewer copied speakers than k, or
    # channels that differ along fewer directions) the singular vectors are arbitrary
    # (rounding noise, different on every LAPACK build) and would remove emotion directions.
    rank = int(np.sum(sv > sv[0] * 1e-8)) if len(sv) and sv[0] > 0 else 0
    return Vt[:min(k, rank)]


def speaker_share(P: np.ndarray, speakers) -> float:
    """Share of the variance of the rows ``P`` that lies between the speakers' means, less
    what chance alone puts there.

    A speaker's mean over a few utterances strays from the corpus mean by chance: with k
    speakers and n rows the between-speaker sum of squares expects ``(k - 1) / (n - k)``
    times the within-speaker one even when speakers do not differ (one-way analysis of
    variance). That much is subtracted, so that speakers with 3-5 utterances each do not look
    like speakers who each show one emotion.

    Args:
        P: the n rows projected on the emotion directions (n, number of directions).
        speakers: speaker id per row.

    Returns:
        ``max(0, B - (k - 1) / (n - k) W) / (B + W)`` in [0, 1], where ``B = sum_s n_s
        |mean_s - mean|^2`` and ``W`` is the sum of squares within speakers; 0 for one
        speaker; ``B / (B + W) = 1`` when every speaker has one row.
    """
    P = np.asarray(P, dtype=np.float64)
    P = P - P.mean(axis=0)
    total = float((P ** 2).sum())
    if total <= 0:
        return 0.0
    speakers = np.asarray(speakers, dtype=object)
    means = pd.DataFrame(P).groupby(speakers).transform("mean")
    between = float((means.to_numpy() ** 2).sum())
    n, k = len(P), len(pd.unique(pd.Series(speakers, dtype=object)))
    if n <= k:
        return between / total
    chance = (k - 1) / (n - k) * (total - between)
    return max(0.0, between - chance) / total


def _guard_weight(share: float | None) -> float:
    """Share of corpus statistics for a corpus's :func:`speaker_share` (:data:`GUARD_RANGE`;
    0 without a share)."""
    if share is None:
        return 0.0
    lo, hi = GUARD_RANGE
    return float(np.clip((share - lo) / (hi - lo), 0.0, 1.0))


def _corpus_weight(corpus, share: float | None) -> float:
    """The guard's share of corpus statistics for a corpus: 1 for channel copies (each
    speaker's copies went through one channel: their corpus z-scores keep the channels, and
    teach a classifier the corpus z-scores the guard hands a corpus it moves), else
    :func:`_guard_weight`; 0 for a corpus too small to guard (``share`` None)."""
    if share is None:
        return 0.0
    return 1.0 if _is_copy(corpus) else _guard_weight(share)


#: ``FeatureScaler(shrink=AUTO)``: the weight of each speaker's own statistics comes from how
#: much the corpus's speakers differ (:func:`speaker_weights`) instead of a fixed number of
#: pseudo-utterances.
AUTO = "auto"


def shrink_words(shrink) -> str:
    """How a ``shrink`` value weighs a speaker's own statistics, in words (for notes)."""
    if shrink == AUTO:
        return "weights set by how much the speakers differ (empirical Bayes)"
    return f"{float(shrink):g} pseudo-utterances"


def _codes(ids) -> tuple[np.ndarray, np.ndarray]:
    """``(code per row, the distinct ids in order of appearance)`` of group ids (NaN is an id)."""
    return pd.factorize(pd.Series(ids, dtype=object), use_na_sentinel=False)


def _components(X: np.ndarray, codes: np.ndarray):
    """One-way random-effects analysis of variance of the rows ``X`` grouped by ``codes``
    (0..k-1): ``(n per group, tau2, sigma2)`` with ``sigma2`` the pooled within-group
    variance and ``tau2`` the between-group variance component, per feature; ``tau2`` and
    ``sigma2`` are None with fewer than two groups or no group of two rows."""
    n = np.bincount(codes).astype(np.float64)
    k, N = len(n), len(X)
    if k < 2 or N <= k:
        return n, None, None
    means = _group_means(X, codes)
    ms_between = (n[:, None] * (means - X.mean(axis=0)) ** 2).sum(axis=0) / (k - 1)
    ms_within = ((X - means[codes]) ** 2).sum(axis=0) / (N - k)
    n0 = (N - (n ** 2).sum() / N) / (k - 1)  # the mean group size, for unequal groups
    return n, np.maximum(0.0, (ms_between - ms_within) / n0), ms_within


def speaker_weights(X: np.ndarray, codes: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Empirical-Bayes weight of each speaker's own mean against the corpus mean.

    A speaker's mean over n utterances is his/her true mean plus noise of variance
    ``sigma2 / n``; speakers' true means spread around the corpus mean with variance
    ``tau2``. The best linear estimate weighs the speaker's own mean by
    ``tau2 / (tau2 + sigma2 / n)``: close to 1 where speakers differ much more than their
    utterances vary (voice, channel), close to 0 where they hardly differ, and growing with n.

    Args:
        X: the rows of one corpus (n_rows, n_features), float64.
        codes: speaker code per row, 0..k-1.
        ratio: ``tau2 / sigma2`` per feature to use when the corpus cannot give its own (one
            speaker, or one row per speaker): the training corpora's.

    Returns:
        (k, n_features) weights in [0, 1].
    """
    n, tau2, sigma2 = _components(X, codes)
    if tau2 is None:
        return ratio / (ratio + 1.0 / n[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        w = tau2 / (tau2 + sigma2 / n[:, None])
    return np.where(np.isfinite(w), w, 1.0)


class SmallGroupWarning(UserWarning):
    """A corpus/speaker group was too small for its own statistics."""


def _safe_std(std: np.ndarray) -> np.ndarray:
    # A constant feature (or a constant feature within one speaker) carries no information;
    # dividing by 1 maps it to 0 instead of producing inf/NaN.
    std = np.asarray(std, dtype=np.float64).copy()
    std[~np.isfinite(std) | (std <= np.finfo(np.float64).eps * 100)] = 1.0
    return std


def _group_labels(X, by: str, groups, n_rows: int) -> np.ndarray:
    """Return the group label of every row, from ``groups`` or from X's index level ``by``."""
    if groups is not None:
        labels = np.asarray(groups)
        if labels.ndim != 1 or labels.shape[0] != n_rows:
            raise ValueError(
                f"groups= must be 1-D with one {by} id per row of X "
                f"({n_rows} rows), got shape {labels.shape}."
            )
        return labels
    if isinstance(X, pd.DataFrame) and by in (X.index.names or []):
        labels = np.asarray(X.index.get_level_values(by))
        return labels
    kind = type(X).__name__
    raise ValueError(
        f"FeatureScaler(by={by!r}) needs {by} ids for every row: pass X as a DataFrame "
        f"indexed by a MultiIndex with a level named {by!r} (see "
        f"emolens.features.model_input), or pass groups=<{by} ids>. Got {kind} without "
        f"{by} ids. Use by=None for plain z-scoring with training statistics."
    )


class FeatureScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Z-score features and clip outliers.

    Args:
        by: ``None`` z-scores with the training statistics (the paper). ``"corpus"`` or
            ``"speaker"`` z-scores each group with the mean/std of that group's own rows in
            the data being transformed (unlabelled, transductive): at test time this needs the
            corpus/speaker id of every row, read from the index level of that name when X is
            a DataFrame with a MultiIndex ``(file, corpus, speaker)``, or from ``groups=``.
        clip: after scaling, values are clipped to ``[-clip, clip]`` (paper: 10 sd);
            ``None`` disables clipping.
        shrink: ``by="speaker"`` only: speaker statistics are shrunk towards the statistics
            of the speaker's corpus (in the data being transformed; the training statistics
            when X has no ``corpus`` level or the corpus is smaller than ``min_group_size``)
            as if the corpus contributed ``shrink`` pseudo-utterances: weight
            ``n / (n + shrink)`` for a speaker with ``n`` utterances. ``0`` (default) uses the
            speaker's own statistics. A speaker with few utterances, or one who shows the
            same emotion throughout, then keeps part of what sets him/her apart, instead of
            having it normalised away (docs/benchmarks.md#transfer). ``"auto"``: the weight
            is set per corpus, speaker and feature by :func:`speaker_weights` (empirical
            Bayes: how much the corpus's speakers differ against how much each one's
            utterances vary), so that no number of pseudo-utterances is chosen.
        guard: ``by="speaker"`` only: guard each corpus against speakers who show one
            emotion throughout, whose own statistics would take the emotion away. ``fit``
            learns the emotion directions (class centroids of the scaled training rows; needs
            ``y``); each corpus of the data being scaled is projected on them with its corpus
            statistics, and the share of that variance lying between its speakers
            (:func:`speaker_share`) sets how much of the corpus z-scores replace the speaker
            z-scores (:data:`GUARD_RANGE`; corpora with fewer than
            :data:`GUARD_MIN_SPEAKERS` speakers are left alone). Label-free at transform time.
            When the training rows hold channel copies (corpus and speaker ids ending in
            ``~channel``, ``augment = "channel"``), the emotion directions lose what the
            copies show of a speaker's channel (:func:`channel_directions`), and the copies
            themselves take their corpus statistics (copies of a corpus with at least
            :data:`GUARD_MIN_SPEAKERS` speakers).
        min_group_size: groups with fewer rows than this fall back to the training
            statistics (a std from one utterance is meaningless; with ``shrink > 0`` such a
            speaker leans on its corpus's statistics instead); they are listed in
            ``fallback_groups_`` (fit) / returned by :meth:`transform_with_fallback` and
            warned about.

    Attributes:
        mean_, scale_: training mean and std per feature (std 0 replaced by 1). Always
            learned; used by ``by=None`` and as the fallback for small groups.
        train_median_abs_z_: median |z| of the training data under the chosen
            normalisation, the reference for :func:`emolens.models.shift.distribution_shift`.
        fallback_groups_: groups of the training data that used the training statistics.
        directions_: ``guard`` only: the emotion directions (n_classes, n_features).
        speaker_ratio_: ``shrink="auto"`` only: ``tau2 / sigma2`` per feature of the
            training corpora (:func:`speaker_weights`), for a corpus with one speaker or one
            utterance per speaker, which cannot give its own.
    """

    def __init__(self, by=None, clip=10.0, min_group_size=2, shrink=0.0, guard=False):
        self.by = by
        self.clip = clip
        self.min_group_size = min_group_size
        self.shrink = shrink
        self.guard = guard

    # -- validation ---------------------------------------------------------------------
    def _check_params(self):
        if self.by not in SCALING_GROUPS:
            raise ValueError(f"by must be one of {SCALING_GROUPS}, got {self.by!r}.")
        if self.clip is not None and not (np.isscalar(self.clip) and float(self.clip) > 0):
            raise ValueError(f"clip must be a positive number or None, got {self.clip!r}.")
        if not (isinstance(self.min_group_size, (int, np.integer)) and self.min_group_size >= 1):
            raise ValueError(f"min_group_size must be an int >= 1, got {self.min_group_size!r}.")
        if self.shrink != AUTO and (
                isinstance(self.shrink, bool) or not isinstance(self.shrink, (int, float, np.number))
                or not np.isfinite(float(self.shrink)) or float(self.shrink) < 0):
            raise ValueError(f"shrink must be a number >= 0 or {AUTO!r}, got {self.shrink!r}.")
        if self._shrink_set() and self.by != "speaker":
            raise ValueError(f"shrink needs by='speaker' (it shrinks speaker statistics "
                             f"towards their corpus), got by={self.by!r}.")
        if not isinstance(self.guard, (bool, np.bool_)):
            raise ValueError(f"guard must be True or False, got {self.guard!r}.")
        if self.guard and self.by != "speaker":
            raise ValueError(f"guard needs by='speaker' (it guards speaker statistics), got "
                             f"by={self.by!r}.")

    def _validate(self, X, groups, reset: bool):
        labels = None
        if self.by is not None:
            n_rows = X.shape[0] if hasattr(X, "shape") else len(X)
            labels = _group_labels(X, self.by, groups, n_rows)
            if ((self._shrinks() or self.guard) and isinstance(X, pd.DataFrame)
                    and "corpus" in (X.index.names or [])):
                # speaker statistics shrink towards / are guarded by their corpus: both ids
                labels = (labels, np.asarray(X.index.get_level_values("corpus")))
        # C order: the statistics gather rows (a DataFrame's values come column-major, and
        # gathering rows of 6373 columns from them, or flattening them, copies slowly)
        Xv = validate_data(self, X, reset=reset, dtype=[np.float64, np.float32], order="C")
        return Xv, labels

    def _shrink_set(self) -> bool:
        return self.shrink == AUTO or float(self.shrink) > 0

    def _shrinks(self) -> bool:
        return self.by == "speaker" and self._shrink_set()

    # -- scaling ------------------------------------------------------------------------
    def _scale(self, X: np.ndarray, labels) -> tuple[np.ndarray, list]:
        Z, fallback = self._scale_groups(X, labels)
        if self.guard and hasattr(self, "directions_"):
            Z = self._guarded(X.astype(np.float64, copy=False), Z, labels)
        return Z, fallback

    def _scale_groups(self, X: np.ndarray, labels) -> tuple[np.ndarray, list]:
        X64 = X.astype(np.float64, copy=False)
        if self.by is None:
            return (X64 - self.mean_) / self.scale_, []
        if self._shrinks():
            return self._scale_shrunk(X64, labels)
        if isinstance(labels, tuple):
            labels = labels[0]
        Z = np.empty_like(X64)
        fallback = []
        codes, uniques = _codes(labels)
        for code, group in enumerate(uniques):
            rows = np.flatnonzero(codes == code)
            Xg = X64[rows]  # gathered once: three gathers of wide rows cost more than the maths
            if len(rows) < self.min_group_size:
                mean, std = self.mean_, self.scale_
                fallback.append(group.item() if hasattr(group, "item") else group)
            else:
                mean = Xg.mean(axis=0)
                std = _safe_std(Xg.std(axis=0))
            Z[rows] = (Xg - mean) / std
        return Z, fallback

    def _scale_shrunk(self, X64: np.ndarray, labels) -> tuple[np.ndarray, list]:
        """Speaker statistics shrunk towards their corpus's (see ``shrink``)."""
        use_corpus = isinstance(labels, tuple)  # without corpus ids: the training statistics
        speakers, corpora = self._corpora(labels, len(X64))
        Z = np.empty_like(X64)
        fallback = []
        c_codes, c_uniques = _codes(corpora)
        for c in range(len(c_uniques)):
            in_c = c_codes == c
            if use_corpus and in_c.sum() >= self.min_group_size:
                Xc = X64[in_c]
                c_mean, c_var = Xc.mean(axis=0), Xc.var(axis=0)
                del Xc
            else:
                c_mean, c_var = self.mean_, self.scale_**2
            s_codes, s_uniques = _codes(speakers[in_c])
            rows_c = np.flatnonzero(in_c)
            W = self._weights(X64, rows_c, s_codes)
            for code, group in enumerate(s_uniques):
                rows = rows_c[s_codes == code]
                if len(rows) < self.min_group_size:
                    fallback.append(group.item() if hasattr(group, "item") else group)
                w = W[code]
                Xg = X64[rows]  # gathered once (see _scale)
                s_mean, s_var = Xg.mean(axis=0), Xg.var(axis=0)
                mean = w * s_mean + (1 - w) * c_mean
                # second moment of the mixture around the shrunk mean
                var = w * (s_var + (s_mean - mean) ** 2) + (1 - w) * (c_var + (c_mean - mean) ** 2)
                Z[rows] = (Xg - mean) / _safe_std(np.sqrt(var))
        return Z, fallback

    def _weights(self, X64: np.ndarray, rows: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Weight of each speaker's own statistics, (k, 1) for a number of pseudo-utterances
        or (k, n_features) for ``shrink="auto"``."""
        if self.shrink == AUTO:
            return speaker_weights(X64[rows], codes, self.speaker_ratio_)
        n = np.bincount(codes).astype(np.float64)[:, None]
        return n / (n + float(self.shrink))

    def _learn_ratio(self, X64: np.ndarray, labels) -> None:
        """``speaker_ratio_``: ``tau2 / sigma2`` per feature, each averaged over the training
        corpora that have two speakers or more."""
        speakers, corpora = self._corpora(labels, len(X64))
        c_codes = _codes(corpora)[0]
        tau2, sigma2 = [], []
        for c in range(c_codes.max() + 1):
            rows = np.flatnonzero(c_codes == c)
            _, t, s = _components(X64[rows], _codes(speakers[rows])[0])
            if t is not None:
                tau2.append(t)
                sigma2.append(s)
        if not tau2:
            raise ValueError(f"shrink={AUTO!r} learns how much speakers differ: the training "
                             "data needs a corpus with two speakers or more and a speaker "
                             "with two rows or more")
        sigma2 = np.mean(sigma2, axis=0)
        self.speaker_ratio_ = np.mean(tau2, axis=0) / np.where(sigma2 > 0, sigma2, 1.0)

    def _corpora(self, labels, n: int):
        """(speaker ids, corpus ids) of the rows; one corpus when X carries none."""
        if isinstance(labels, tuple):
            return labels
        return labels, np.zeros(n, dtype=int)

    def _corpus_shares(self, X64: np.ndarray, labels):
        """Per corpus of the rows: ``(corpus, rows, mean, std, share)`` with the corpus
        statistics and its :func:`speaker_share` along the emotion directions (None with
        fewer than :data:`GUARD_MIN_SPEAKERS` speakers)."""
        speakers, corpora = self._corpora(labels, len(X64))
        codes, uniques = _codes(corpora)
        for code, corpus in enumerate(uniques):
            rows = np.flatnonzero(codes == code)
            corpus = corpus.item() if hasattr(corpus, "item") else corpus
            if len(pd.unique(pd.Series(speakers[rows], dtype=object))) < GUARD_MIN_SPEAKERS:
                yield corpus, rows, None, None, None
                continue
            Xc = X64[rows]
            if len(rows) >= self.min_group_size:
                mean, std = Xc.mean(axis=0), _safe_std(Xc.std(axis=0))
            else:
                mean, std = self.mean_, self.scale_
            # the projection of the corpus z-scores, without forming them (wide rows)
            D = self.directions_ / std
            yield corpus, rows, mean, std, speaker_share(Xc @ D.T - mean @ D.T, speakers[rows])

    def _guarded(self, X64: np.ndarray, Z: np.ndarray, labels) -> np.ndarray:
        """``Z`` with each corpus's rows moved towards its corpus z-scores by its guard
        weight (see ``guard``)."""
        for corpus, rows, mean, std, share in self._corpus_shares(X64, labels):
            a = _corpus_weight(corpus, share)
            if a > 0:
                Z[rows] = (1 - a) * Z[rows] + a * ((X64[rows] - mean) / std)
        return Z

    def _learn_directions(self, Z: np.ndarray, y, labels) -> None:
        """``directions_``: class centroids of the scaled labelled rows (each the mean over
        corpora of the corpus's class mean, so that a large corpus does not set them), minus
        their mean."""
        if y is None:
            raise ValueError("FeatureScaler(guard=True) needs the labels y in fit (the "
                             "emotion directions); unlabelled rows may be None/NaN")
        y = pd.Series(np.asarray(y, dtype=object))
        if len(y) != len(Z):
            raise ValueError(f"y has {len(y)} labels for {len(Z)} rows")
        known = y.notna().to_numpy()
        if y[known].nunique() < 2:
            raise ValueError("FeatureScaler(guard=True) needs at least two classes in y")
        _, corpora = self._corpora(labels, len(Z))
        keys = pd.DataFrame({"corpus": pd.Series(corpora[known], dtype=object),
                             "y": y[known].reset_index(drop=True)})
        cells = keys.groupby(["corpus", "y"], sort=True)
        code = cells.ngroup().to_numpy()
        # (corpus, class) means, then per class (sorted) the mean over its corpora
        means = _group_means(Z[known], code)
        cell_class = cells.size().index.get_level_values("y")
        centroids = np.stack([means[cell_class == c].mean(axis=0)
                              for c in cell_class.unique().sort_values()])
        self.directions_ = centroids - centroids.mean(axis=0)

    def _remove_channels(self, X64: np.ndarray, labels) -> None:
        """Remove from ``directions_`` what channel copies among the rows show of a
        speaker's channel (:func:`channel_directions`)."""
        speakers, corpora = self._corpora(labels, len(X64))
        C = channel_directions(X64, speakers, corpora, self.scale_)
        if C is not None:
            self.directions_ = self.directions_ - (self.directions_ @ C.T) @ C

    def speaker_shares(self, X, groups=None) -> dict:
        """Per corpus of ``X``: :func:`speaker_share` along the emotion directions (``guard``),
        None for a corpus with fewer than :data:`GUARD_MIN_SPEAKERS` speakers. Changes
        nothing on the scaler."""
        check_is_fitted(self, "directions_")
        Xv, labels = self._validate(X, groups, reset=False)
        return {corpus: share for corpus, _, _, _, share
                in self._corpus_shares(Xv.astype(np.float64, copy=False), labels)}

    def guard_weights(self, X, groups=None) -> dict:
        """The share of corpus z-scores each corpus of ``X`` gets (``guard``; 0: its speaker
        statistics, 1: its corpus statistics). Changes nothing on the scaler."""
        return {c: _corpus_weight(c, s) for c, s in self.speaker_shares(X, groups).items()}

    def _finish(self, Z: np.ndarray, dtype) -> np.ndarray:
        if self.clip is not None:
            np.clip(Z, -float(self.clip), float(self.clip), out=Z)
        return Z.astype(dtype, copy=False)

    def _warn_fallback(self, fallback, when: str):
        if fallback:
            shown = ", ".join(map(str, fallback[:5])) + (" ..." if len(fallback) > 5 else "")
            warnings.warn(
                f"FeatureScaler(by={self.by!r}) at {when}: {len(fallback)} {self.by} group(s) "
                f"with fewer than {self.min_group_size} rows used the training statistics "
                f"instead of their own: {shown}",
                SmallGroupWarning,
                stacklevel=3,
            )

    def fit(self, X, y=None, groups=None):
        """Learn the training statistics.

        Args:
            X: features (n_samples, n_features), numpy or DataFrame.
            y: class labels, read only with ``guard`` (None/NaN for unlabelled rows).
            groups: corpus/speaker id per row when ``by`` is set and X carries no index level.

        Returns:
            self
        """
        self._fit(X, y, groups)
        return self

    def _fit(self, X, y, groups):
        self._check_params()
        Xv, labels = self._validate(X, groups, reset=True)
        X64 = Xv.astype(np.float64, copy=False)
        self.mean_ = X64.mean(axis=0)
        self.scale_ = _safe_std(X64.std(axis=0))
        self.n_samples_seen_ = int(X64.shape[0])
        if self.by == "speaker" and self.shrink == AUTO:
            self._learn_ratio(X64, labels)
        Z, fallback = self._scale_groups(Xv, labels)
        if self.guard:
            self._learn_directions(Z, y, labels)
            self._remove_channels(X64, labels)
            Z = self._guarded(X64, Z, labels)
        self.fallback_groups_ = fallback
        # the median of a temporary: partitioned in place rather than copied (wide rows)
        self.train_median_abs_z_ = (float(np.median(np.abs(Z), overwrite_input=True))
                                    if Z.size else 0.0)
        self._warn_fallback(fallback, "fit")
        return Xv, Z

    def fit_transform(self, X, y=None, groups=None):
        """Fit, then transform the same rows (one pass)."""
        Xv, Z = self._fit(X, y, groups)
        return self._finish(Z, Xv.dtype)

    def transform(self, X, groups=None):
        """Scale X.

        Args:
            X: features with the columns seen in fit.
            groups: corpus/speaker id per row when ``by`` is set and X carries no index level.

        Returns:
            np.ndarray of X's float dtype (float32 stays float32, everything else float64).
        """
        return self.transform_with_fallback(X, groups)[0]

    def transform_with_fallback(self, X, groups=None) -> tuple[np.ndarray, list]:
        """:meth:`transform`, and the groups of X that used the training statistics (fewer
        than ``min_group_size`` rows; warned about). Changes nothing on the scaler.

        Returns:
            ``(scaled X, fallback groups)``; the list is empty for ``by=None``.
        """
        check_is_fitted(self, "mean_")
        self._check_params()
        Xv, labels = self._validate(X, groups, reset=False)
        Z, fallback = self._scale(Xv, labels)
        self._warn_fallback(fallback, "transform")
        return self._finish(Z, Xv.dtype), fallback

    def z_scores(self, X, groups=None) -> np.ndarray:
        """Unclipped float64 z-scores under the chosen normalisation (for shift diagnosis)."""
        check_is_fitted(self, "mean_")
        Xv, labels = self._validate(X, groups, reset=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SmallGroupWarning)
            Z, _ = self._scale(Xv, labels)
        return Z

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
