"""Physical interpretation of the latent: activation, valence and eGeMAPS feature groups.

Two analyses, as in the paper:

* **Pair separations.** For every pair of emotions and every latent dimension, how far apart
  the two classes are (Bhattacharyya), next to how far apart they are in ground-truth
  activation and valence. A dimension that models activation separates exactly the pairs
  that differ in activation (neutral-angry, sad-happy ...), and not the others.
* **Correlations.** Spearman's ρ of each latent dimension with activation, valence and every
  eGeMAPS column (summarised per feature group), Benjamini-Hochberg corrected.

Bhattacharyya is computed under a **Gaussian** model of each class (closed form, documented in
docs/interpretation.md): it needs no bandwidth, is stable for the small classes of acted
corpora, and is invariant to affine rescaling, so a latent dimension and the activation scale
can be compared directly. Because categorical corpora map every class to one constant
activation, each variable is measured in units of its standard deviation over all classes and
each class variance is floored at ``min_var`` (default 0.05 of that unit²), so a constant
class still gives a finite distance that grows with the gap between the class values. The reported *separation* is ``1 - BC`` with ``BC = exp(-D_B)``: 0 for
identical distributions, 1 for disjoint ones. A histogram estimate is available as
``method="histogram"``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, spearmanr

__all__ = [
    "bhattacharyya_distance",
    "bhattacharyya_separation",
    "pair_separations",
    "separation_agreement",
    "spearman_table",
    "group_correlations",
    "dimension_verdicts",
    "max_abs_rho_by",
]


def bhattacharyya_distance(a, b, method: str = "gaussian", min_var: float = 0.05,
                           bins: int = 20, scale: float | None = None) -> float:
    """Bhattacharyya distance ``D_B`` between two 1-D samples.

    Args:
        a: values of class A.
        b: values of class B.
        method: ``"gaussian"`` (closed form on class means/variances) or ``"histogram"``
            (shared bins over the pooled range).
        min_var: variance floor in units of ``scale²`` (Gaussian only), so that constant
            classes (categorical activation) give a finite distance.
        bins: number of histogram bins (histogram only).
        scale: unit of the variable, e.g. its standard deviation over all classes (what
            :func:`pair_separations` passes), so that the floor means the same for every
            pair; default: the pooled standard deviation of ``a`` and ``b``.

    Returns:
        ``D_B >= 0``; 0 for identical distributions, growing with their separation
        (``inf`` for disjoint histograms). NaN when a class has no finite value.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    pooled = np.concatenate([a, b])
    if pooled.std() == 0:  # both classes are the same constant
        return 0.0
    scale = pooled.std() if scale is None or not scale > 0 else float(scale)
    a, b = (a - pooled.mean()) / scale, (b - pooled.mean()) / scale
    if method == "gaussian":
        va, vb = max(a.var(), min_var), max(b.var(), min_var)
        return float(0.25 * (a.mean() - b.mean()) ** 2 / (va + vb)
                     + 0.5 * np.log((va + vb) / (2.0 * np.sqrt(va * vb))))
    if method == "histogram":
        edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
        p = np.histogram(a, edges)[0] / len(a)
        q = np.histogram(b, edges)[0] / len(b)
        bc = float(np.sqrt(p * q).sum())
        return float(-np.log(bc)) if bc > 0 else float("inf")
    raise ValueError(f"method must be 'gaussian' or 'histogram', got {method!r}")


def bhattacharyya_separation(a, b, **kwargs) -> float:
    """``1 - BC`` with ``BC = exp(-D_B)``: 0 identical, 1 disjoint. See :func:`bhattacharyya_distance`."""
    d = bhattacharyya_distance(a, b, **kwargs)
    return float("nan") if np.isnan(d) else float(1.0 - np.exp(-d))


def _nanstd(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.std()) if len(x) else float("nan")


def pair_separations(
    data: pd.DataFrame,
    variables: Sequence[str],
    label: str = "emotion",
    labels: Sequence[str] | None = None,
    **kwargs,
) -> pd.DataFrame:
    """Bhattacharyya separation of every emotion pair along every variable.

    Args:
        data: one row per sample with the ``label`` column and the ``variables``
            (latent dimensions, ``activation``, ``valence`` ...).
        variables: columns to compare.
        label: class column.
        labels: class order (default: as found, sorted).
        **kwargs: passed to :func:`bhattacharyya_separation`.

    Returns:
        Columns ``pair, class_a, class_b, variable, separation, distance``.
    """
    missing = [c for c in [label, *variables] if c not in data.columns]
    if missing:
        raise ValueError(f"columns missing for pair separations: {missing}")
    y = data[label].astype(str).to_numpy()
    classes = list(labels) if labels is not None else sorted(pd.unique(y[pd.notna(y)]))
    classes = [c for c in classes if (y == c).any()]
    rows = []
    # numpy, not pandas indexing: called for every fit of a report (~50x faster)
    values = {var: data[var].to_numpy(dtype=float) for var in variables}
    masks = {c: y == c for c in classes}
    used = np.isin(y, classes)
    # One unit per variable (its sd over all classes): the variance floor then means the same
    # for every pair, and pairs far apart in a categorical activation stay further apart.
    # (NaN-skipping like pandas' std)
    scales = {var: _nanstd(values[var][used]) for var in variables}
    for a, b in combinations(classes, 2):
        for var in variables:
            xa, xb = values[var][masks[a]], values[var][masks[b]]
            d = bhattacharyya_distance(xa, xb, **{"scale": scales[var], **kwargs})
            rows.append({"pair": f"{a}–{b}", "class_a": a, "class_b": b, "variable": var,
                         "separation": float("nan") if np.isnan(d) else 1.0 - np.exp(-d),
                         "distance": d})
    return pd.DataFrame(rows, columns=["pair", "class_a", "class_b", "variable",
                                       "separation", "distance"])


def separation_agreement(separations: pd.DataFrame, dimensions: Sequence[str],
                         references: Sequence[str] = ("activation", "valence")) -> pd.DataFrame:
    """How closely each dimension's pair-separation profile follows activation / valence.

    Across emotion pairs, Spearman's ρ between the separation along a latent dimension and
    the separation along each reference. A dimension that models activation separates the
    same pairs activation separates (high ρ with activation).

    Args:
        separations: output of :func:`pair_separations` (one fold) or its mean over folds.
        dimensions: latent dimension variables.
        references: reference variables.

    Returns:
        Columns ``dimension, reference, rho, n_pairs``.
    """
    wide = separations.pivot_table(index="pair", columns="variable", values="separation")
    rows = []
    for dim in dimensions:
        for ref in references:
            if dim not in wide or ref not in wide:
                continue
            pair = wide[[dim, ref]].dropna()
            rho = (float(spearmanr(pair[dim], pair[ref]).statistic)
                   if len(pair) >= 3 and pair[dim].nunique() > 1 and pair[ref].nunique() > 1
                   else float("nan"))
            rows.append({"dimension": dim, "reference": ref, "rho": rho, "n_pairs": len(pair)})
    return pd.DataFrame(rows, columns=["dimension", "reference", "rho", "n_pairs"])


def spearman_table(latent: pd.DataFrame, targets: pd.DataFrame,
                   group_of: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Spearman's ρ of every latent dimension with every target column, BH-FDR corrected.

    Args:
        latent: one column per latent dimension.
        targets: same rows; activation, valence and/or feature columns.
        group_of: optional target column -> group name (e.g. the eGeMAPS feature group;
            ``activation``/``valence`` default to themselves).

    Returns:
        Columns ``dimension, target, group, rho, p, p_fdr, n``. ``p_fdr`` are
        Benjamini-Hochberg adjusted over the whole table (``scipy.stats.false_discovery_control``).
    """
    if len(latent) != len(targets):
        raise ValueError(f"latent has {len(latent)} rows, targets {len(targets)}")
    group_of = dict(group_of or {})
    rows = []
    for dim in latent.columns:
        z = np.asarray(latent[dim], dtype=float)
        for col in targets.columns:
            t = np.asarray(targets[col], dtype=float)
            ok = np.isfinite(z) & np.isfinite(t)
            if ok.sum() < 3 or np.ptp(z[ok]) == 0 or np.ptp(t[ok]) == 0:
                rho, p = float("nan"), float("nan")
            else:
                res = spearmanr(z[ok], t[ok])
                rho, p = float(res.statistic), float(res.pvalue)
            rows.append({"dimension": dim, "target": col, "group": group_of.get(col, col),
                         "rho": rho, "p": p, "n": int(ok.sum())})
    table = pd.DataFrame(rows, columns=["dimension", "target", "group", "rho", "p", "n"])
    table["p_fdr"] = np.nan
    ok = table["p"].notna()
    if ok.any():
        table.loc[ok, "p_fdr"] = false_discovery_control(table.loc[ok, "p"].to_numpy(),
                                                         method="bh")
    return table[["dimension", "target", "group", "rho", "p", "p_fdr", "n"]]


def max_abs_rho_by(latent: pd.DataFrame, targets: pd.DataFrame, by, min_n: int = 5
                   ) -> pd.DataFrame:
    """Strongest |Spearman ρ| of any latent dimension with each target, within each group.

    Args:
        latent: one column per latent dimension.
        targets: same rows; e.g. ``activation`` and ``valence``.
        by: group label per row (e.g. the corpus).
        min_n: groups with fewer rows get NaN.

    Returns:
        One row per group: ``<by name>, n, max_abs_rho_<target>...`` (NaN where a target or
        every dimension is constant inside the group).
    """
    if len(latent) != len(targets):
        raise ValueError(f"latent has {len(latent)} rows, targets {len(targets)}")
    by = pd.Series(np.asarray(by), index=latent.index, name=getattr(by, "name", None) or "group")
    zc, tc = list(latent.columns), list(targets.columns)
    both = pd.concat([latent.reset_index(drop=True), targets.reset_index(drop=True)
                      .add_prefix("\0")], axis=1)
    rows = []
    for g, idx in by.reset_index(drop=True).groupby(by.to_numpy(), sort=False).groups.items():
        part = both.loc[idx]
        row = {by.name: g, "n": len(part)}
        if len(part) >= min_n:
            rho = part.corr(method="spearman").loc[zc, ["\0" + t for t in tc]].abs()
        for t in tc:
            row[f"max_abs_rho_{t}"] = (float(rho["\0" + t].max()) if len(part) >= min_n
                                       and rho["\0" + t].notna().any() else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows, columns=[by.name, "n", *(f"max_abs_rho_{t}" for t in tc)])


def group_correlations(table: pd.DataFrame) -> pd.DataFrame:
    """Summarise :func:`spearman_table` per dimension x group by its strongest column.

    Returns:
        Columns ``dimension, group, rho, p_fdr, target`` (the column with the largest |ρ|).
    """
    t = table.dropna(subset=["rho"])
    if t.empty:
        return pd.DataFrame(columns=["dimension", "group", "rho", "p_fdr", "target"])
    idx = t.assign(abs_rho=t["rho"].abs()).groupby(["dimension", "group"])["abs_rho"].idxmax()
    return t.loc[idx, ["dimension", "group", "rho", "p_fdr", "target"]].reset_index(drop=True)


def dimension_verdicts(table: pd.DataFrame, alpha: float = 0.05, min_rho: float = 0.3,
                       references: Sequence[str] = ("activation", "valence")) -> pd.DataFrame:
    """One-line verdict per latent dimension from a :func:`spearman_table`.

    A dimension "follows" the reference (activation or valence) with the largest |ρ| when that
    ρ is FDR-significant at ``alpha`` and ``|ρ| >= min_rho``; its strongest feature group is
    added for the physical picture.

    Returns:
        Columns ``dimension, follows, rho, p_fdr, top_group, top_group_rho, verdict``.
    """
    rows = []
    groups = group_correlations(table)
    for dim in pd.unique(table["dimension"]):
        ref = table[(table["dimension"] == dim) & table["target"].isin(references)].dropna(
            subset=["rho"])
        feat = groups[(groups["dimension"] == dim) & ~groups["group"].isin(references)]
        top_g, top_rho = None, float("nan")
        if not feat.empty:
            best = feat.loc[feat["rho"].abs().idxmax()]
            top_g, top_rho = best["group"], float(best["rho"])
        follows, rho, p = None, float("nan"), float("nan")
        if not ref.empty:
            best = ref.loc[ref["rho"].abs().idxmax()]
            rho, p = float(best["rho"]), float(best["p_fdr"])
            if p < alpha and abs(rho) >= min_rho:
                follows = best["target"]
        if follows:
            others = ref[ref["target"] != follows]
            other = "" if others.empty else "; " + ", ".join(
                f"{r.target} ρ = {r.rho:.2f}" for r in others.itertuples())
            text = f"{dim} follows {follows}, ρ = {rho:.2f} (FDR p {_fmt_p(p)}{other})"
        elif not ref.empty:
            text = (f"{dim} follows neither {' nor '.join(references)} clearly "
                    f"(largest |ρ| = {abs(rho):.2f}, FDR p {_fmt_p(p)})")
        else:
            text = f"{dim}: no activation/valence labels to compare with"
        if top_g is not None:
            text += f"; strongest feature group: {top_g} (ρ = {top_rho:.2f})"
        rows.append({"dimension": dim, "follows": follows, "rho": rho, "p_fdr": p,
                     "top_group": top_g, "top_group_rho": top_rho, "verdict": text})
    return pd.DataFrame(rows, columns=["dimension", "follows", "rho", "p_fdr", "top_group",
                                       "top_group_rho", "verdict"])


def _fmt_p(p: float) -> str:
    if np.isnan(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"
