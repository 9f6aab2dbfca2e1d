"""Does the latent cluster by emotion or by corpus / language / speaker?

Every function takes the latent itself (``Z``, shape ``(n, k)``), never a 2-D projection
of it, plus one label vector per factor, and returns plain numbers or tidy DataFrames.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_mutual_info_score, silhouette_score
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.metrics import balanced_accuracy_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emolens.results import latent_column

__all__ = [
    "as_latent",
    "silhouette_by",
    "kmeans_ami",
    "knn_predictability",
    "eta_squared",
    "emotion_shifts",
    "shift_angles",
    "corpus_emotion_summary",
]


def as_latent(Z) -> np.ndarray:
    """Validate a latent matrix and return it as a float 2-D array.

    Args:
        Z: array-like or DataFrame of shape ``(n, k)``.

    Returns:
        ``np.ndarray`` of float64.

    Raises:
        ValueError: if ``Z`` is not 2-D, is empty or holds non-finite values.
    """
    Z = np.asarray(Z, dtype=float)
    if Z.ndim == 1:
        Z = Z[:, None]
    if Z.ndim != 2 or Z.shape[0] == 0 or Z.shape[1] == 0:
        raise ValueError(f"latent must be a non-empty (n_samples, k) matrix, got shape {Z.shape}")
    if not np.isfinite(Z).all():
        raise ValueError("latent holds NaN or infinite values")
    return Z


def _labels(labels, n: int, name: str = "labels") -> np.ndarray:
    labels = np.asarray(pd.Series(labels).astype(str).to_numpy())
    if labels.shape[0] != n:
        raise ValueError(f"{name} has {labels.shape[0]} entries but the latent has {n} rows")
    return labels


def silhouette_by(Z, labels, sample_size: int | None = 2000, random_state: int = 0) -> float:
    """Mean silhouette of the latent points grouped by ``labels``.

    Near 1: tight, well separated groups; near 0: overlapping; negative: points sit closer
    to another group. Euclidean distance in the latent.

    Args:
        Z: latent ``(n, k)``.
        labels: one label per row (emotion, corpus, ...).
        sample_size: subsample for speed (silhouette is O(n²)); ``None`` uses all rows.
        random_state: seed of the subsample.

    Returns:
        The silhouette score, or NaN when there are fewer than two groups.
    """
    Z = as_latent(Z)
    y = _labels(labels, len(Z))
    n_groups = len(np.unique(y))
    if n_groups < 2 or n_groups >= len(Z):
        return float("nan")
    if sample_size is not None and len(Z) > sample_size:
        return float(silhouette_score(Z, y, sample_size=sample_size, random_state=random_state))
    return float(silhouette_score(Z, y))


def kmeans_ami(Z, labels, n_clusters: int | None = None, random_state: int = 0) -> float:
    """Adjusted mutual information between k-means clusters of the latent and ``labels``.

    Args:
        Z: latent ``(n, k)``.
        labels: one label per row.
        n_clusters: number of k-means clusters; default: the number of distinct labels, so
            the clustering has the chance to recover exactly that factor.
        random_state: k-means seed.

    Returns:
        AMI in [-small, 1]; 0 is chance agreement. NaN with fewer than two labels.
    """
    Z = as_latent(Z)
    y = _labels(labels, len(Z))
    k = n_clusters or len(np.unique(y))
    if k < 2 or k > len(Z):
        return float("nan")
    clusters = KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(Z)
    return float(adjusted_mutual_info_score(y, clusters))


def knn_predictability(
    Z,
    labels,
    n_neighbors: int = 5,
    n_splits: int = 5,
    groups=None,
    random_state: int = 0,
) -> dict:
    """How well a k-NN classifier predicts ``labels`` (e.g. the corpus) from the latent.

    Cross-validated balanced accuracy, compared with chance (1 / number of classes).

    Args:
        Z: latent ``(n, k)``.
        labels: target per row (corpus, language, emotion ...).
        n_neighbors: k of the k-NN.
        n_splits: cross-validation folds (reduced when a class is too small).
        groups: optional group per row (e.g. speaker) for GroupKFold, so that the same
            speaker is never both neighbour and query. Ignored when it has too few groups.
        random_state: fold shuffling seed.

    Returns:
        ``{"balanced_accuracy", "chance", "n_classes", "n"}``; accuracy NaN with < 2 classes.
    """
    Z = as_latent(Z)
    y = _labels(labels, len(Z))
    classes, counts = np.unique(y, return_counts=True)
    out = {"balanced_accuracy": float("nan"), "chance": float("nan"),
           "n_classes": int(len(classes)), "n": int(len(Z))}
    if len(classes) < 2:
        return out
    out["chance"] = 1.0 / len(classes)
    model = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=n_neighbors))
    cv = None
    if groups is not None:
        g = _labels(groups, len(Z), "groups")
        if len(np.unique(g)) >= n_splits:
            cv = list(GroupKFold(n_splits=n_splits).split(Z, y, g))
    if cv is None:
        splits = int(min(n_splits, counts.min()))
        if splits < 2:
            return out
        cv = StratifiedKFold(n_splits=splits, shuffle=True, random_state=random_state)
    pred = cross_val_predict(model, Z, y, cv=cv)
    out["balanced_accuracy"] = float(balanced_accuracy_score(y, pred))
    return out


def eta_squared(Z, labels, columns: Sequence[str] | None = None) -> pd.Series:
    """Share of latent variance explained by ``labels`` (one-way ANOVA eta²).

    ``eta² = SS_between / SS_total`` per dimension, and pooled over dimensions as
    ``sum_d SS_between,d / sum_d SS_total,d`` (the share of the total latent scatter).

    Args:
        Z: latent ``(n, k)``.
        labels: factor per row.
        columns: names of the dimensions (default ``z1..zk``).

    Returns:
        Series indexed by the dimension names plus ``"pooled"``.
    """
    Z = as_latent(Z)
    y = _labels(labels, len(Z))
    names = list(columns) if columns is not None else [latent_column(i) for i in range(Z.shape[1])]
    if len(names) != Z.shape[1]:
        raise ValueError(f"{len(names)} column names for a latent with {Z.shape[1]} dimensions")
    grand = Z.mean(axis=0)
    ss_total = ((Z - grand) ** 2).sum(axis=0)
    ss_between = np.zeros(Z.shape[1])
    for value in np.unique(y):
        part = Z[y == value]
        ss_between += len(part) * (part.mean(axis=0) - grand) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        per_dim = np.where(ss_total > 0, ss_between / ss_total, np.nan)
        pooled = ss_between.sum() / ss_total.sum() if ss_total.sum() > 0 else np.nan
    return pd.Series(list(per_dim) + [pooled], index=names + ["pooled"], name="eta2")


def emotion_shifts(
    Z,
    emotion,
    corpus,
    reference: str = "neutral",
    targets: Sequence[str] = ("angry", "sad", "happy"),
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per corpus, the shift of each emotion's latent mean away from the reference emotion.

    Args:
        Z: latent ``(n, k)``.
        emotion: emotion label per row.
        corpus: corpus per row.
        reference: the emotion the shifts start from.
        targets: emotions the shifts point to.
        columns: names of the dimensions (default ``z1..zk``).

    Returns:
        One row per corpus x target: ``corpus, emotion, n_reference, n_emotion,
        d_<dim>... , length, direction_deg`` (``direction_deg`` is the angle of the shift in
        the (dim1, dim2) plane, counter-clockwise from dim1; NaN for a 1-D latent). Rows
        whose reference or target class is absent are left out.
    """
    Z = as_latent(Z)
    emo = _labels(emotion, len(Z), "emotion")
    corp = _labels(corpus, len(Z), "corpus")
    names = list(columns) if columns is not None else [latent_column(i) for i in range(Z.shape[1])]
    rows = []
    for c in pd.unique(corp):
        in_c = corp == c
        ref = Z[in_c & (emo == reference)]
        if len(ref) == 0:
            continue
        for t in targets:
            tgt = Z[in_c & (emo == t)]
            if len(tgt) == 0:
                continue
            v = tgt.mean(axis=0) - ref.mean(axis=0)
            row = {"corpus": c, "emotion": t, "n_reference": len(ref), "n_emotion": len(tgt)}
            row.update({f"d_{name}": float(x) for name, x in zip(names, v)})
            row["length"] = float(np.linalg.norm(v))
            row["direction_deg"] = (
                float(np.degrees(np.arctan2(v[1], v[0]))) if len(v) >= 2 else float("nan")
            )
            rows.append(row)
    cols = (["corpus", "emotion", "n_reference", "n_emotion"]
            + [f"d_{n}" for n in names] + ["length", "direction_deg"])
    return pd.DataFrame(rows, columns=cols)


def emotion_means(Z, emotion, corpus, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Latent mean of every emotion in every corpus (the end points of the shift arrows).

    Returns:
        One row per corpus x emotion present: ``corpus, emotion, n, <dim>...``.
    """
    Z = as_latent(Z)
    names = list(columns) if columns is not None else [latent_column(i) for i in range(Z.shape[1])]
    frame = pd.DataFrame(Z, columns=names)
    frame["corpus"] = _labels(corpus, len(Z), "corpus")
    frame["emotion"] = _labels(emotion, len(Z), "emotion")
    g = frame.groupby(["corpus", "emotion"], sort=False)
    out = g[names].mean()
    out.insert(0, "n", g.size())
    return out.reset_index()


def shift_angles(shifts: pd.DataFrame) -> pd.DataFrame:
    """Angle between the same emotion shift in every pair of corpora.

    Args:
        shifts: output of :func:`emotion_shifts`.

    Returns:
        One row per emotion x corpus pair: ``emotion, corpus_a, corpus_b, angle_deg``
        (unsigned, 0..180, from the cosine in the full latent) and ``length_ratio``
        (``length_b / length_a``).
    """
    dcols = [c for c in shifts.columns if c.startswith("d_")]
    rows = []
    for emo, part in shifts.groupby("emotion", sort=False):
        part = part.set_index("corpus")
        for a, b in combinations(part.index, 2):
            va = part.loc[a, dcols].to_numpy(float)
            vb = part.loc[b, dcols].to_numpy(float)
            na, nb = np.linalg.norm(va), np.linalg.norm(vb)
            if na == 0 or nb == 0:
                angle = float("nan")
            else:
                angle = float(np.degrees(np.arccos(np.clip(va @ vb / (na * nb), -1.0, 1.0))))
            rows.append({"emotion": emo, "corpus_a": a, "corpus_b": b, "angle_deg": angle,
                         "length_ratio": float(nb / na) if na > 0 else float("nan")})
    return pd.DataFrame(rows, columns=["emotion", "corpus_a", "corpus_b", "angle_deg",
                                       "length_ratio"])


def corpus_emotion_summary(
    Z,
    factors: Mapping[str, Sequence],
    groups=None,
    sample_size: int | None = 2000,
    random_state: int = 0,
) -> pd.DataFrame:
    """All "emotion or corpus?" numbers for several factors in one tidy table.

    Args:
        Z: latent ``(n, k)``.
        factors: name -> label per row, e.g. ``{"emotion": ..., "corpus": ..., "speaker": ...}``.
            Factors with a single level are reported as NaN.
        groups: optional speaker per row for the k-NN cross-validation (see
            :func:`knn_predictability`); not used for the ``speaker`` factor itself.
        sample_size: silhouette subsample size.
        random_state: seed.

    Returns:
        Columns ``factor, n_levels, silhouette, kmeans_ami, knn_balanced_accuracy,
        knn_chance, eta2_pooled``.
    """
    Z = as_latent(Z)
    rows = []
    for name, labels in factors.items():
        y = _labels(labels, len(Z), name)
        knn = knn_predictability(Z, y, groups=None if name == "speaker" else groups,
                                 random_state=random_state)
        rows.append({
            "factor": name,
            "n_levels": int(len(np.unique(y))),
            "silhouette": silhouette_by(Z, y, sample_size=sample_size, random_state=random_state),
            "kmeans_ami": kmeans_ami(Z, y, random_state=random_state),
            "knn_balanced_accuracy": knn["balanced_accuracy"],
            "knn_chance": knn["chance"],
            "eta2_pooled": float(eta_squared(Z, y)["pooled"]) if len(np.unique(y)) > 1
            else float("nan"),
        })
    return pd.DataFrame(rows)
