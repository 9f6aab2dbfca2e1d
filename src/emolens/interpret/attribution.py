"""Which input features drive the latent and the decision.

* :func:`latent_deeplift` — DeepLIFT (captum) from the scaled inputs to each latent
  dimension of the autoencoder encoder, with a reference input (the paper: the neutral-class
  mean), aggregated into feature groups by summing (DeepLIFT is additive: the group sums add
  up to ``z(x) - z(reference)``).
* :func:`group_occlusion` — attribution of the whole pipeline's decision: replace one feature
  group by the reference and measure the drop of the predicted class's score (captum
  ``FeatureAblation`` with a group mask); works for any fitted pipeline, differentiable or not.
* :func:`grouped_permutation_importance` — held-out permutation importance of the whole
  pipeline by feature group (the group's columns are shuffled jointly).
* :func:`group_ablation` — retrain without each group and report the change of UA.

Everything returns tidy DataFrames.
"""

from __future__ import annotations

import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score

from emolens.results import latent_column

__all__ = [
    "groups_for_columns",
    "latent_deeplift",
    "aggregate_groups",
    "group_occlusion",
    "grouped_permutation_importance",
    "group_ablation",
    "stacked_index",
]


def groups_for_columns(columns: Sequence[str], groups: Mapping[str, Sequence[str]]
                       ) -> dict[str, list[int]]:
    """Map each group to the positions of its columns in ``columns``.

    Columns that belong to no group are collected under ``"other"``; empty groups are left out.

    Raises:
        ValueError: if a column is listed in two groups.
    """
    columns = list(columns)
    pos = {c: i for i, c in enumerate(columns)}
    out: dict[str, list[int]] = {}
    seen: dict[str, str] = {}
    for g, cols in groups.items():
        idx = []
        for c in cols:
            if c in seen:
                raise ValueError(f"column {c!r} is in two groups: {seen[c]!r} and {g!r}")
            seen[c] = g
            if c in pos:
                idx.append(pos[c])
        if idx:
            out[g] = idx
    rest = [pos[c] for c in columns if c not in seen]
    if rest:
        out["other"] = rest
    return out


def _column_group(columns: Sequence[str], groups: Mapping[str, Sequence[str]] | None
                  ) -> dict[str, str]:
    if groups is None:
        return {c: c for c in columns}
    index = groups_for_columns(columns, groups)
    return {columns[i]: g for g, idx in index.items() for i in idx}


def latent_deeplift(
    encoder,
    X_scaled,
    baseline,
    columns: Sequence[str],
    index: Sequence | None = None,
    dimensions: Sequence[str] | None = None,
) -> pd.DataFrame:
    """DeepLIFT attributions from the (scaled) inputs to every latent dimension.

    Args:
        encoder: ``torch.nn.Module`` mapping ``(n, p)`` float32 to the latent ``(n, k)``
            (e.g. ``AutoencoderTransformer.encoder_``). Put in eval mode here.
        X_scaled: inputs as the encoder sees them ``(n, p)`` (after the pipeline's scaler).
        baseline: reference input ``(p,)``, e.g. the neutral-class mean of the scaled training
            features.
        columns: the ``p`` input feature names.
        index: sample identifiers (default ``0..n-1``).
        dimensions: latent dimension names (default ``z1..zk``).

    Returns:
        Wide DataFrame, one row per sample x dimension: index levels ``(sample, dimension)``,
        one column per input feature.
    """
    import torch
    from captum.attr import DeepLift

    X = np.asarray(X_scaled, dtype=np.float32)
    base = np.asarray(baseline, dtype=np.float32).reshape(1, -1)
    if X.ndim != 2 or X.shape[1] != len(columns) or base.shape[1] != len(columns):
        raise ValueError(f"inputs {X.shape} / baseline {base.shape} do not match "
                         f"{len(columns)} feature columns")
    encoder = encoder.eval()
    x = torch.from_numpy(X)
    b = torch.from_numpy(base).expand_as(x).contiguous()
    with torch.no_grad():
        k = encoder(x[:1]).shape[1]
    dims = list(dimensions) if dimensions is not None else [latent_column(i) for i in range(k)]
    index = list(index) if index is not None else list(range(len(X)))
    dl = DeepLift(encoder)
    frames = []
    for d in range(k):
        with warnings.catch_warnings():
            # captum announces that it hooks the ReLUs, on every call.
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks")
            attr = dl.attribute(x.clone().requires_grad_(True), baselines=b, target=d)
        frames.append(pd.DataFrame(attr.detach().numpy().astype(float), columns=list(columns),
                                   index=pd.MultiIndex.from_arrays(
                                       [index, [dims[d]] * len(X)],
                                       names=["sample", "dimension"])))
    return pd.concat(frames)


def aggregate_groups(attributions: pd.DataFrame, groups: Mapping[str, Sequence[str]],
                     value_name: str = "attribution") -> pd.DataFrame:
    """Sum wide per-feature attributions into feature groups and return a long table.

    Args:
        attributions: rows = samples (any index), columns = features.
        groups: group name -> columns (e.g. ``emolens.features.groups.FEATURE_GROUPS``).
        value_name: name of the value column.

    Returns:
        Long DataFrame: the index levels of ``attributions`` as columns, then ``group`` and
        ``value_name``.
    """
    colgroup = _column_group(list(attributions.columns), groups)
    summed = attributions.T.groupby(pd.Series(colgroup)).sum().T
    summed.columns.name = "group"
    long = summed.stack().rename(value_name).reset_index()
    return long


#: Most values (rows x columns) stacked into one model call by the occlusion and permutation
#: analyses: 160 MB of float64, which the model's own copies multiply. With eGeMAPS (88
#: columns) ``max_rows`` binds first; with ComParE (6373) it is about 3000 rows per call.
MAX_CELLS = 20_000_000


def _copies_per_call(max_rows: int, shape: tuple[int, int]) -> int:
    """How many copies of an ``(n, p)`` input one call may stack: at most ``max_rows`` rows
    and :data:`MAX_CELLS` values, at least one copy."""
    n, p = max(shape[0], 1), max(shape[1], 1)
    return max(1, min(max_rows, MAX_CELLS // p) // n)


def group_occlusion(
    score: Callable[[np.ndarray], np.ndarray],
    X,
    reference,
    target,
    groups: Mapping[str, Sequence[str]],
    columns: Sequence[str],
    max_rows: int = 100_000,
) -> pd.DataFrame:
    """Decision attribution by feature group: score drop when the group is set to reference.

    Uses captum ``FeatureAblation`` with a group mask; the model is called as a black box, so
    any fitted pipeline works (SVC, PCA, AE...). Several groups are occluded per call
    (captum's ``perturbations_per_eval``, up to ``max_rows`` rows and :data:`MAX_CELLS`
    values per call).

    Args:
        score: ``f(X (m, p) numpy) -> (m, n_classes)`` decision scores or probabilities
            (e.g. ``pipe.decision_function`` behind a wrapper that restores the index).
            ``m`` is a multiple of ``n``: rows ``k*n .. (k+1)*n`` are copy ``k`` of ``X``
            with one group occluded (see :func:`stacked_index` to rebuild an index).
        X: raw inputs ``(n, p)``.
        reference: reference input ``(p,)`` (raw feature space), e.g. neutral-class mean.
        target: class column per sample (int array; usually the predicted class).
        groups: group name -> columns.
        columns: the ``p`` feature names.

    Returns:
        Wide DataFrame ``(n, n_groups)``: ``score(x) - score(x with group := reference)`` for
        each sample's target class (positive: the group pushes towards the decision).
    """
    import torch
    from captum.attr import FeatureAblation

    X = np.array(X, dtype=float)  # a writable copy: torch.from_numpy shares memory
    ref = np.array(reference, dtype=float).reshape(1, -1)
    index = groups_for_columns(columns, groups)
    names = list(index)
    mask = np.zeros(len(columns), dtype=np.int64)
    for gi, g in enumerate(names):
        mask[index[g]] = gi

    def forward(x):
        return torch.as_tensor(np.asarray(score(x.detach().numpy()), dtype=float))

    fa = FeatureAblation(forward)
    per_eval = int(max(1, min(len(names), _copies_per_call(max_rows, X.shape))))
    attr = fa.attribute(torch.from_numpy(X), baselines=torch.from_numpy(ref),
                        target=torch.as_tensor(np.asarray(target, dtype=np.int64)),
                        feature_mask=torch.from_numpy(mask).unsqueeze(0),
                        perturbations_per_eval=per_eval)
    attr = attr.numpy()
    # Every column of a group carries the group's value; read it from the first one.
    return pd.DataFrame({g: attr[:, index[g][0]] for g in names})


def stacked_index(index: pd.Index, copies: int) -> pd.Index:
    """``index`` repeated ``copies`` times, each copy's labels made distinct.

    Stacking perturbed copies of a held-out set into one ``predict`` call is much faster than
    one call per copy. Transductive steps (per-corpus / per-speaker scaling reads the index
    levels and normalises each group with its own statistics) must still see every copy as
    separate data, so each label gets the suffix ``#<copy>``: the stacked call then returns
    exactly what the separate calls would.
    """
    n = len(index)
    if copies == 1:
        return index
    if isinstance(index, pd.RangeIndex):
        return pd.RangeIndex(n * copies, name=index.name)
    mi = index if isinstance(index, pd.MultiIndex) else pd.MultiIndex.from_arrays([index])
    levels, codes = [], []
    for level, code in zip(mi.levels, mi.codes):
        # relabel the (few) distinct labels once per copy instead of every row
        labels = np.asarray(level, dtype=str)
        levels.append(np.concatenate([np.char.add(labels, f"#{k}") for k in range(copies)]))
        code = np.asarray(code, dtype=np.int64)
        codes.append(np.concatenate([np.where(code < 0, -1, code + k * len(labels))
                                     for k in range(copies)]))
    out = pd.MultiIndex(levels=levels, codes=codes, names=mi.names, verify_integrity=False)
    return out if isinstance(index, pd.MultiIndex) else out.get_level_values(0)


def _balanced_accuracy_per_copy(y: np.ndarray, pred: np.ndarray, copies: int) -> np.ndarray:
    """``balanced_accuracy_score(y, copy)`` for every stacked copy of the predictions at once
    (mean recall over the classes present in ``y``, as sklearn computes it)."""
    classes, codes = np.unique(y, return_inverse=True)
    hit = pred.reshape(copies, len(y)) == y[None, :]
    recall = np.stack([hit[:, codes == c].mean(axis=1) for c in range(len(classes))], axis=1)
    return recall.mean(axis=1)


def grouped_permutation_importance(
    estimator,
    X: pd.DataFrame,
    y,
    groups: Mapping[str, Sequence[str]],
    n_repeats: int = 5,
    random_state: int = 0,
    scorer: Callable | None = None,
    max_rows: int = 100_000,
) -> pd.DataFrame:
    """Held-out permutation importance per feature group (joint shuffle of its columns).

    ``sklearn.inspection.permutation_importance`` permutes single columns; correlated
    columns inside a group would mask each other, so the group's rows are shuffled together.
    All shuffled copies (groups x repeats) are stacked and predicted in as few calls as
    ``max_rows`` allows (see :func:`stacked_index`); the shuffles are drawn in the order
    group by group, repeat by repeat, so results do not depend on ``max_rows``.

    Args:
        estimator: fitted pipeline with ``predict``; predictions must be row by row (or
            transductive by index group, see :func:`stacked_index`).
        X: held-out inputs as DataFrame (index kept, so per-corpus scalers still work).
        y: true labels.
        groups: group name -> columns.
        n_repeats: shuffles per group.
        random_state: seed.
        scorer: ``f(y_true, y_pred)``; default (None) balanced accuracy (UA), computed for
            all shuffles at once.
        max_rows: at most this many stacked rows per ``predict`` call (memory cap; also at
            most :data:`MAX_CELLS` values).

    Returns:
        Columns ``group, repeat, baseline, score, importance`` (``baseline - score``).
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a DataFrame with feature column names")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be >= 1, got {n_repeats}")
    y = np.asarray(y)
    rng = np.random.default_rng(random_state)

    def score_copies(pred, copies):
        if scorer is None:
            return _balanced_accuracy_per_copy(y, pred, copies)
        return [scorer(y, pred[k * n:(k + 1) * n]) for k in range(copies)]

    n = len(X)
    base = float(score_copies(np.asarray(estimator.predict(X)), 1)[0])
    index = groups_for_columns(list(X.columns), groups)
    values = X.to_numpy()
    jobs = [(g, r, idx, rng.permutation(n)) for g, idx in index.items()
            for r in range(n_repeats)]
    per_call = _copies_per_call(max_rows, values.shape)
    rows = []
    for start in range(0, len(jobs), per_call):
        chunk = jobs[start:start + per_call]
        stacked = np.tile(values, (len(chunk), 1))
        for k, (_, _, idx, perm) in enumerate(chunk):
            stacked[k * n:(k + 1) * n, idx] = values[np.ix_(perm, idx)]
        frame = pd.DataFrame(stacked, columns=X.columns,
                             index=stacked_index(X.index, len(chunk)))
        scores = score_copies(np.asarray(estimator.predict(frame)), len(chunk))
        for (g, r, _, _), s in zip(chunk, scores):
            s = float(s)
            rows.append({"group": g, "repeat": r, "baseline": base, "score": s,
                         "importance": base - s})
    return pd.DataFrame(rows, columns=["group", "repeat", "baseline", "score", "importance"])


def _refit_score(estimator, X_train, y_train, X_test, y_test, drop, scorer) -> float:
    """Fit a clone without the columns ``drop`` and score it (one thread: the refits run
    side by side in ``n_jobs`` processes)."""
    import sys

    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # imported by unpickling an autoencoder, if any
    threads = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = clone(estimator).fit(X_train.drop(columns=drop), y_train)
            return float(scorer(y_test, model.predict(X_test.drop(columns=drop))))
    finally:
        if torch is not None:
            torch.set_num_threads(threads)


def group_ablation(
    estimator,
    X_train: pd.DataFrame,
    y_train,
    X_test: pd.DataFrame,
    y_test,
    groups: Mapping[str, Sequence[str]],
    scorer: Callable = balanced_accuracy_score,
    only: Sequence[str] | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Retrain a clone of ``estimator`` without each feature group; report the UA change.

    Every refit is a full ``fit`` of the clone on the remaining columns (for an autoencoder
    pipeline: a new, narrower network), so the model can compensate with other groups.

    Args:
        estimator: unfitted (or fitted; it is cloned) estimator.
        X_train, y_train: training data (DataFrame with feature columns).
        X_test, y_test: held-out data.
        groups: group name -> columns.
        scorer: ``f(y_true, y_pred)``; default balanced accuracy (UA).
        only: restrict to these groups (retraining is expensive).
        n_jobs: refits run in this many processes (joblib; a pool left by an earlier
            ``joblib.Parallel`` call, e.g. the fits of ``emolens run``, is reused).

    Returns:
        Columns ``group, n_removed, score_full, score_without, delta`` (``without - full``;
        negative: the group was needed).
    """
    from joblib import Parallel, delayed

    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    index = groups_for_columns(list(X_train.columns), groups)
    names = [g for g in index if only is None or g in only]
    drops = [[]] + [[X_train.columns[i] for i in index[g]] for g in names]
    args = (X_train, y_train, X_test, y_test)
    if n_jobs == 1:
        scores = [_refit_score(estimator, *args, drop, scorer) for drop in drops]
    else:
        scores = Parallel(n_jobs=n_jobs)(
            delayed(_refit_score)(estimator, *args, drop, scorer) for drop in drops)
    s_full = scores[0]
    rows = [{"group": g, "n_removed": len(drop), "score_full": s_full, "score_without": s,
             "delta": s - s_full} for g, drop, s in zip(names, drops[1:], scores[1:])]
    return pd.DataFrame(rows, columns=["group", "n_removed", "score_full", "score_without",
                                       "delta"])
