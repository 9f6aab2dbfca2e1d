"""The paper's three findings: verdicts with bootstrap intervals, and their per-corpus tables.

Pure functions on the tables of a results directory (``results.csv``) and on the latent /
attribution tables the report computes; no files are read or written here.

Every verdict follows the same precedence (docs/interpretation.md):

1. *not testable* when the run lacks what the rule needs;
2. the **mean decides the direction**: within the tie margin -> *no clear difference*,
   against the claim beyond it -> *does not hold*;
3. in the claimed direction the verdict is *holds* only when the 95 % bootstrap interval
   excludes no effect **and** no corpus goes against the claim beyond the margin; otherwise
   *partly holds* (uncertainty and disagreement across corpora only soften a verdict, they
   never turn it around).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

#: UA differences below this (1 point) count as ties in the verdict of finding (i).
TIE_MARGIN = 0.01
#: |rho| differences below this count as ties in the verdict of finding (ii).
RHO_MARGIN = 0.05
#: Bootstrap replicates and interval level of every finding.
N_BOOT = 2000
LEVEL = 0.95
#: Finding (iii) needs a loudness and a spectral-flux group among the top ``TOP`` groups.
TOP = 3
LOUDNESS_GROUPS = ("loudness", "equivalent sound level")
FLUX_GROUPS = ("spectral flux", "spectral flux (voiced)", "spectral flux (unvoiced)")
#: A corpus needs this many correctly classified angry utterances for its own (iii) ranking.
MIN_CORPUS_SAMPLES = 5


# -- bootstrap -------------------------------------------------------------------------------
def two_stage_bootstrap(values, clusters, n_boot: int = N_BOOT,
                        random_state: int = 0) -> np.ndarray:
    """Bootstrap replicates of the mean over clusters of the within-cluster mean.

    Stage one resamples the clusters (test corpora) with replacement, stage two the rows
    inside each cluster (fits, or utterances); a cluster drawn twice reuses one inner
    resample (a standard shortcut).

    Args:
        values: ``(n,)`` or ``(n, g)`` numbers, one row per observation.
        clusters: ``(n,)`` cluster label per row.
        n_boot: replicates.
        random_state: seed.

    Returns:
        ``(n_boot, g)`` replicate statistics (``(n_boot, 1)`` for 1-D values).
    """
    x = np.asarray(values, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    codes, _ = pd.factorize(pd.Series(np.asarray(clusters)).astype(str))
    rng = np.random.default_rng(random_state)
    inner = []
    for k in range(codes.max() + 1):
        rows = x[codes == k]
        n = len(rows)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot)  # (n_boot, n)
        inner.append(counts @ rows / n)  # (n_boot, g)
    inner = np.stack(inner)  # (k, n_boot, g)
    k = len(inner)
    pick = rng.integers(k, size=(n_boot, k))
    return inner[pick, np.arange(n_boot)[:, None]].mean(axis=1)


def interval(replicates, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (one column)."""
    r = np.asarray(replicates, dtype=float).ravel()
    a = (1 - level) / 2
    return float(np.quantile(r, a)), float(np.quantile(r, 1 - a))


def _ci(values, clusters, random_state: int):
    """Interval of the mean of cluster means, or (nan, nan) when fewer than 2 rows."""
    if len(values) < 2:
        return float("nan"), float("nan")
    return interval(two_stage_bootstrap(values, clusters, random_state=random_state))


def _verdict(estimate: float, low: float, margin: float, against: int,
             unit: str = "") -> tuple[str, str]:
    """Status and reason from the precedence of the module docstring."""
    if not np.isfinite(estimate):
        return "n/a", "no estimate"
    if estimate < -margin:
        return "fails", f"the mean goes against the claim by more than the margin ({unit})"
    if estimate <= margin:
        return "tie", f"the mean difference is within the tie margin (± {unit})"
    if not np.isfinite(low):
        return "partly", "no interval (a single observation)"
    if low <= 0:
        return "partly", "the interval includes no effect"
    if against:
        return "partly", f"{against} {'corpus goes' if against == 1 else 'corpora go'} against it"
    return "holds", "the interval excludes no effect and no corpus goes against it"


class _Judgement(NamedTuple):
    estimate: float
    low: float
    high: float
    ahead: int    # corpora in the claimed direction beyond the margin
    behind: int   # ... and against it
    status: str
    reason: str


def _judge(per_corpus: pd.Series, values, clusters, margin: float, unit: str,
           random_state: int) -> _Judgement:
    """The verdict of a difference claimed to be positive (findings i and ii).

    Args:
        per_corpus: the difference per corpus; its mean is the estimate.
        values, clusters: the differences (per fit) and their corpora, bootstrapped for the
            interval.
        margin: differences within it are ties.
        unit: the margin in words.
        random_state: bootstrap seed.
    """
    estimate = float(per_corpus.mean())
    low, high = _ci(values, clusters, random_state)
    ahead = int((per_corpus > margin).sum())
    behind = int((per_corpus < -margin).sum())
    status, reason = _verdict(estimate, low, margin, behind, unit)
    return _Judgement(estimate, low, high, ahead, behind, status, reason)


def _ci_text(low: float, high: float, scale: float = 1.0, fmt: str = "{:+.1f}") -> str:
    if not np.isfinite(low):
        return "no interval (a single observation)"
    return (f"{LEVEL * 100:.0f} % interval [{fmt.format(low * scale)}, "
            f"{fmt.format(high * scale)}]")


# -- (i) transfer ----------------------------------------------------------------------------
def unseen_mask(results: pd.DataFrame) -> pd.Series:
    """Rows scored zero-shot (:func:`emolens.results.unseen_mask`: the ``unseen`` column the
    results reader adds, from the run's structured test sets).

    Judged per row, because in a pairwise run a corpus is trained on in some rows and unseen
    in others.
    """
    from emolens.results import unseen_mask as mask

    return mask(results)


def unseen_tests(results: pd.DataFrame) -> list[str]:
    """Names of the zero-shot test sets (see :func:`unseen_mask`)."""
    return list(pd.unique(results.loc[unseen_mask(results), "test"].astype(str)))


def paired_differences(results: pd.DataFrame, better: str, worse: str) -> pd.DataFrame:
    """UA of ``better`` minus UA of ``worse`` per zero-shot test set and fit.

    Rows are paired on train, test, seed and fold (the same split); when the two models share
    no fit, one row per test set compares their means.

    Returns:
        ``test, train, seed, fold, ua_a, ua_b, diff`` (``a`` = ``better``).
    """
    sel = results[unseen_mask(results)]
    keys = [k for k in ("train", "test", "seed", "fold") if k in sel.columns]
    a = sel[sel["model"] == better].groupby(keys, as_index=False)["ua"].mean()
    b = sel[sel["model"] == worse].groupby(keys, as_index=False)["ua"].mean()
    pair = a.merge(b, on=keys, suffixes=("_a", "_b"))
    if pair.empty:
        a = a.groupby("test", as_index=False)["ua"].mean()
        b = b.groupby("test", as_index=False)["ua"].mean()
        pair = a.merge(b, on="test", suffixes=("_a", "_b"))
    pair["diff"] = pair["ua_a"] - pair["ua_b"]
    return pair


def transfer_by_corpus(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per zero-shot test set: mean UA of the two models, their difference and the fits."""
    return (pairs.groupby("test", sort=False)
            .agg(ua_latent=("ua_a", "mean"), ua_raw=("ua_b", "mean"), diff=("diff", "mean"),
                 diff_sd=("diff", "std"), n_fits=("diff", "size")).reset_index())


def finding_transfer(results: pd.DataFrame, kinds: dict[str, str],
                     random_state: int = 0) -> dict:
    """Finding (i): latent + SVC transfers better to unseen corpora than raw + SVC.

    The statistic is the mean over zero-shot test sets of the mean paired UA difference
    (best autoencoder model minus best raw-feature model); the interval bootstraps test sets
    and, inside each, fits.
    """
    from emolens.models.autoencoder import AE_KINDS

    unseen = unseen_tests(results)
    raw = [m for m, k in kinds.items() if k == "passthrough"]
    raw = ["svc"] if "svc" in raw else raw
    latent = [m for m, k in kinds.items() if k in AE_KINDS]
    out = {"finding": "latent + SVC transfers better to unseen corpora than raw features + SVC",
           "unseen_tests": unseen, "raw_models": raw, "latent_models": latent,
           "statistic": "mean UA difference (latent − raw), points"}
    if not unseen or not raw or not latent:
        out.update(status="n/a", text="needs a raw-feature model, an autoencoder model and at "
                   "least one zero-shot test corpus in the run")
        return out
    sel = results[unseen_mask(results)]
    # the best of each kind on the mean over test sets (each test set weighs the same)
    mean = sel.groupby(["model", "test"])["ua"].mean().groupby("model").mean()
    if mean.reindex(raw).isna().all() or mean.reindex(latent).isna().all():
        out.update(status="n/a", text="the raw-feature or the autoencoder models have no "
                   "zero-shot scores")
        return out
    best_raw = mean.reindex(raw).idxmax()
    best_lat = mean.reindex(latent).idxmax()
    pairs = paired_differences(results, best_lat, best_raw)
    per = transfer_by_corpus(pairs)
    j = _judge(per["diff"], pairs["diff"].to_numpy(), pairs["test"].to_numpy(), TIE_MARGIN,
               f"{TIE_MARGIN * 100:g} UA point", random_state)
    n, diff = len(per), _points(j.estimate)
    out.update(status=j.status, reason=j.reason, best_latent=best_lat, best_raw=best_raw,
               ua_latent=float(per["ua_latent"].mean()), ua_raw=float(per["ua_raw"].mean()),
               estimate=j.estimate, ci_low=j.low, ci_high=j.high, wins=j.ahead,
               losses=j.behind, n_unseen=n, n_fits=int(len(pairs)),
               per_test={r.test: {best_lat: float(r.ua_latent), best_raw: float(r.ua_raw)}
                         for r in per.itertuples()},
               text=(f"mean UA on {n} unseen corpora: {best_lat} "
                     f"{out_pct(per['ua_latent'].mean())} vs {best_raw} "
                     f"{out_pct(per['ua_raw'].mean())} ({diff} points); the latent "
                     f"model is better by more than {TIE_MARGIN * 100:.0f} point on {j.ahead} "
                     f"and worse on {j.behind} of {n} unseen corpora."),
               interval=(f"difference {diff} points, "
                         f"{_ci_text(j.low, j.high, 100)} (bootstrap over {n} test "
                         f"corpora and {len(pairs)} fit × corpus scores); {j.reason}."))
    return out


def _points(d: float) -> str:
    """A UA difference in points; two decimals next to the tie margin, where one would
    round onto it."""
    near = abs(abs(d) - TIE_MARGIN) * 100 < 0.05
    return f"{d * 100:+.2f}" if near else f"{d * 100:+.1f}"


def out_pct(x: float) -> str:
    return f"{x * 100:.1f} %"


# -- (ii) activation -------------------------------------------------------------------------
def finding_activation(by_corpus: pd.DataFrame, pooled: pd.DataFrame | None = None,
                       random_state: int = 0) -> dict:
    """Finding (ii): the latent models activation more than valence.

    Args:
        by_corpus: one row per corpus x fit with ``corpus, max_abs_rho_activation,
            max_abs_rho_valence`` (strongest |Spearman rho| of any latent dimension, within
            that corpus's utterances).
        pooled: optional rows per fit with the same columns over all utterances (shown for
            reference only).

    The statistic is the mean over corpora of the mean over fits of the difference
    ``max|rho_activation| - max|rho_valence|``; the interval bootstraps corpora and fits.
    """
    out = {"finding": "the latent models activation more than valence",
           "statistic": "max |ρ| with activation − max |ρ| with valence, within corpus"}
    cols = ("max_abs_rho_activation", "max_abs_rho_valence")
    if by_corpus is None or by_corpus.empty or any(c not in by_corpus for c in cols):
        out.update(status="n/a", text="needs activation and valence labels")
        return out
    d = by_corpus.dropna(subset=list(cols)).copy()
    if d.empty:
        out.update(status="n/a", text="no corpus has varying activation and valence labels")
        return out
    d["diff"] = d[cols[0]] - d[cols[1]]
    per = d.groupby("corpus", sort=False)[["diff", *cols]].mean()
    j = _judge(per["diff"], d["diff"].to_numpy(), d["corpus"].to_numpy(), RHO_MARGIN,
               f"{RHO_MARGIN:g} in |ρ|", random_state)
    n = len(per)
    text = (f"strongest |Spearman ρ| of a latent dimension, within each corpus: activation "
            f"{per[cols[0]].mean():.2f} vs valence {per[cols[1]].mean():.2f} (mean over {n} "
            f"corpora); activation ahead by more than {RHO_MARGIN} in {j.ahead} and behind in "
            f"{j.behind} of them.")
    if pooled is not None and not pooled.empty and all(c in pooled for c in cols):
        text += (f" Over all utterances pooled: activation {pooled[cols[0]].mean():.2f} vs "
                 f"valence {pooled[cols[1]].mean():.2f}.")
    out.update(status=j.status, reason=j.reason, estimate=j.estimate, ci_low=j.low,
               ci_high=j.high, n_corpora=n, n_fits=int(d.groupby("corpus").size().max()),
               ahead=j.ahead, behind=j.behind,
               mean_abs_rho_activation=float(per[cols[0]].mean()),
               mean_abs_rho_valence=float(per[cols[1]].mean()), text=text,
               interval=(f"difference {j.estimate:+.2f}, "
                         f"{_ci_text(j.low, j.high, 1, '{:+.2f}')} "
                         f"(bootstrap over {n} corpora and {len(d)} fit × corpus "
                         f"correlations); {j.reason}."))
    return out


# -- (iii) anger -----------------------------------------------------------------------------
def anger_matrix(anger: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """|DeepLIFT| summed over latent dimensions, one row per angry sample and fit.

    Args:
        anger: long rows ``sample, group, attribution`` (+ ``dimension``, ``corpus``,
            ``seed``, ``fold``) of correctly classified angry utterances.

    Returns:
        ``(matrix, corpus)``: samples x groups, and each row's corpus.
    """
    a = anger.assign(abs=anger["attribution"].abs())
    keys = [k for k in ("seed", "fold", "corpus", "sample") if k in a.columns]
    wide = a.pivot_table(index=keys, columns="group", values="abs", aggfunc="sum",
                         fill_value=0.0)
    corpus = (pd.Series(wide.index.get_level_values("corpus"), index=wide.index)
              if "corpus" in keys else pd.Series("all", index=wide.index))
    return wide, corpus


def _best_rank(ranks: pd.Series | np.ndarray, groups, names) -> float:
    idx = [i for i, g in enumerate(names) if g in groups]
    if not idx:
        return float("inf")
    r = np.asarray(ranks)
    return r[..., idx].min(axis=-1) if r.ndim > 1 else float(r[idx].min())


def anger_by_corpus(anger: pd.DataFrame) -> pd.DataFrame:
    """Per corpus: each group's mean |DeepLIFT| for angry utterances, share and rank.

    Returns:
        ``corpus, group, mean_abs_attribution, share, rank, n_samples`` (rank 1 = largest).
    """
    wide, corpus = anger_matrix(anger)
    rows = []
    for c, part in wide.groupby(corpus.to_numpy(), sort=False):
        m = part.mean()
        rank = m.rank(ascending=False, method="min")
        for g in wide.columns:
            rows.append({"corpus": c, "group": g, "mean_abs_attribution": float(m[g]),
                         "share": float(m[g] / m.sum()) if m.sum() > 0 else float("nan"),
                         "rank": int(rank[g]), "n_samples": len(part)})
    return pd.DataFrame(rows)


def _rank_intervals(wide: pd.DataFrame, corpus: pd.Series, random_state: int):
    """Intervals of the rank of the best loudness and the best spectral-flux group when
    corpora, then samples inside each corpus, are bootstrapped, and the share of resamples
    with both in the top ``TOP`` (NaN with fewer than two samples)."""
    if len(wide) < 2:
        return (float("nan"), float("nan")), (float("nan"), float("nan")), float("nan")
    names = list(wide.columns)
    reps = two_stage_bootstrap(wide.to_numpy(float), corpus.to_numpy(),
                               random_state=random_state)
    ranks = (-reps).argsort(axis=1).argsort(axis=1) + 1
    rl, rf = _best_rank(ranks, LOUDNESS_GROUPS, names), _best_rank(ranks, FLUX_GROUPS, names)
    return interval(rl), interval(rf), float(np.mean((rl <= TOP) & (rf <= TOP)))


def _corpora_against(per_corpus: pd.DataFrame, counts: pd.Series) -> list[str]:
    """Corpora (with enough samples) where neither kind of group is in the top ``TOP``."""
    names = list(per_corpus.columns)
    against = []
    for c, part in per_corpus.iterrows():
        if counts[c] < MIN_CORPUS_SAMPLES:
            continue
        rk = part.rank(ascending=False, method="min").reindex(names).to_numpy()
        if _best_rank(rk, LOUDNESS_GROUPS, names) > TOP and _best_rank(
                rk, FLUX_GROUPS, names) > TOP:
            against.append(str(c))
    return against


def finding_anger(anger: pd.DataFrame | None, random_state: int = 0) -> dict:
    """Finding (iii): anger is driven mostly by loudness and spectral flux.

    The group ranking is the mean over corpora of each group's mean |DeepLIFT| (summed over
    latent dimensions) on correctly classified angry utterances; the interval is that of the
    rank of the best loudness and the best spectral-flux group when corpora and utterances
    are bootstrapped.
    """
    out = {"finding": "anger is driven mostly by loudness and spectral flux",
           "statistic": "rank of the best loudness and spectral-flux group"}
    if anger is None or anger.empty:
        out.update(status="n/a", text="needs DeepLIFT attributions of correctly classified "
                   "angry samples (an autoencoder model saved with the run)")
        return out
    wide, corpus = anger_matrix(anger)
    names = list(wide.columns)
    per_corpus = wide.groupby(corpus.to_numpy(), sort=False).mean()
    score = per_corpus.mean().sort_values(ascending=False)
    share = score / score.sum()
    rank = score.rank(ascending=False, method="min").reindex(names).to_numpy()
    r_l = _best_rank(rank, LOUDNESS_GROUPS, names)
    r_f = _best_rank(rank, FLUX_GROUPS, names)
    first = score.index[0]
    both = (r_l <= 2 and r_f <= 2) or (r_l <= TOP and r_f <= TOP
                                       and first in LOUDNESS_GROUPS + FLUX_GROUPS)
    one = r_l <= TOP or r_f <= TOP
    n = len(wide)
    ci_l, ci_f, p_top = _rank_intervals(wide, corpus, random_state)
    against = _corpora_against(per_corpus, corpus.value_counts())
    if not one:
        status, why = "fails", f"no loudness or spectral-flux group in the top {TOP}"
    elif not both:
        status, why = "partly", f"only one of the two kinds in the top {TOP}"
    elif not np.isfinite(ci_l[1]):
        status, why = "partly", "no interval (a single sample)"
    elif max(ci_l[1], ci_f[1]) > TOP:
        status, why = "partly", f"the rank interval leaves the top {TOP}"
    elif against:
        status, why = "partly", f"neither in the top {TOP} on {', '.join(against)}"
    else:
        status, why = "holds", (f"both stay in the top {TOP} in the interval and on every "
                                "corpus")
    fmt = (lambda c: "—" if not np.isfinite(c[0]) else f"[{c[0]:.0f}, {c[1]:.0f}]")
    out.update(status=status, reason=why,
               ranking=[{"group": g, "mean_abs_attribution": float(v),
                         "share": float(share[g])} for g, v in score.items()],
               n_samples=int(n), n_corpora=int(len(per_corpus)),
               rank_loudness=float(r_l), rank_flux=float(r_f),
               ci_rank_loudness=list(ci_l), ci_rank_flux=list(ci_f),
               share_resamples_both_top=p_top, corpora_against=against,
               estimate=float(max(r_l, r_f)), ci_low=float(max(ci_l[0], ci_f[0])),
               ci_high=float(max(ci_l[1], ci_f[1])),
               text=(f"DeepLIFT (reference: neutral mean) on {n} correctly classified angry "
                     f"utterances × fits from {len(per_corpus)} corpora, mean |attribution| "
                     "summed over latent dimensions (each corpus weighs the same); top groups: "
                     + ", ".join(f"{g} ({share[g] * 100:.0f} %)" for g in score.index[:5])
                     + "."),
               interval=(f"rank of the best loudness group {r_l:.0f} "
                         f"({LEVEL * 100:.0f} % interval {fmt(ci_l)}), of the best "
                         f"spectral-flux group {r_f:.0f} ({fmt(ci_f)}); both in the top {TOP} "
                         + ("in —" if not np.isfinite(p_top) else f"in {p_top * 100:.0f} %")
                         + f" of {N_BOOT} resamples of corpora and utterances; {why}."))
    return out


def findings_table(findings: list[dict]) -> pd.DataFrame:
    """One row per finding: status, statistic, estimate and interval (``findings.csv``)."""
    rows = []
    for r, f in zip(("i", "ii", "iii"), findings):
        rows.append({"finding": r, "claim": f.get("finding"), "status": f.get("status"),
                     "statistic": f.get("statistic"), "estimate": f.get("estimate"),
                     "ci_low": f.get("ci_low"), "ci_high": f.get("ci_high"),
                     "level": LEVEL, "reason": f.get("reason", f.get("text"))})
    return pd.DataFrame(rows)
