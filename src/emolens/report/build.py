"""Build ``report.html`` and ``interpret/*.csv|json`` from a results directory.

The interpretation is run for one representative model (the first autoencoder model of the
run, else the first model with a latent) and all its seeds x folds (spread, box plots);
pictures and attributions use its first fit. Per-dimension statistics pooled over fits are
computed after aligning each fit's latent to the first one (orthogonal Procrustes on the
files every fit shares), because an autoencoder's latent axes are only defined up to
rotation/reflection; rotation-invariant statistics (silhouette, AMI, k-NN, pooled eta²) do
not need it.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emolens import LABELS
from emolens.interpret import attribution as at
from emolens.interpret import latent_stats as ls
from emolens.interpret import physical as ph
from emolens.report import figures as F
from emolens.report import html as H

LOUDNESS_GROUPS = ("loudness", "equivalent sound level")
FLUX_GROUPS = ("spectral flux", "spectral flux (voiced)", "spectral flux (unvoiced)")


class ReportError(ValueError):
    """The results directory cannot be reported on (missing or malformed files)."""


@dataclass
class ReportOptions:
    """Caps that keep the report fast (all numbers are per fit)."""

    max_samples: int = 500       # DeepLIFT / occlusion / permutation samples
    n_repeats: int = 5           # permutation repeats per group
    max_fits: int = 3            # fits used for the costly spreads (clustering, permutation)
    ablation: bool = False       # retrain without each feature group (27 refits)
    jobs: int = 1                # processes: latent and attribution side by side, refits
    tsne_samples: int = 1500
    random_state: int = 0
    timings: dict = field(default_factory=dict)


_HOW_TO_READ = (
    "<strong>How to read this report.</strong> Every model was trained on the training "
    "corpus (or corpora) and tested on held-out speakers of it (test sets named "
    "<code>corpus:valid</code>) and, zero-shot, on corpora it never saw (plain corpus "
    "names). Start with the three "
    "findings of the paper (Das et al. 2021): each box says whether it holds in this run and "
    "on which numbers. <em>Accuracy</em> gives the unweighted accuracy (UA, mean recall of the "
    "four emotions; chance 25 %) per model and test set. The remaining sections look inside "
    "one representative autoencoder model: whether its 2-D latent space groups utterances by "
    "emotion or by corpus, what each latent dimension measures (activation, valence, eGeMAPS "
    "feature groups), and which feature groups drive the latent and the decision. Numbers are "
    "mean ± sd over seeds × folds unless said otherwise; every number is also in "
    "<code>interpret/*.csv</code>, and the methods are in docs/interpretation.md.")


# -- loading -------------------------------------------------------------------------------
def _read(results_dir: Path):
    need = ["results.csv", "predictions.parquet", "manifest.csv"]
    missing = [n for n in need if not (results_dir / n).is_file()]
    if missing:
        raise ReportError(f"{results_dir} is not a results directory of `emolens run`: "
                          f"missing {', '.join(missing)}")
    results = pd.read_csv(results_dir / "results.csv")
    preds = pd.read_parquet(results_dir / "predictions.parquet")
    manifest = pd.read_csv(results_dir / "manifest.csv")
    for name, frame, cols in (("results.csv", results, ["model", "test", "seed", "fold", "ua"]),
                              ("predictions.parquet", preds,
                               ["file", "model", "seed", "fold", "test", "role", "y_true",
                                "y_pred"]),
                              ("manifest.csv", manifest, ["file", "corpus", "speaker"])):
        lack = [c for c in cols if c not in frame.columns]
        if lack:
            raise ReportError(f"{results_dir / name} lacks column(s) {lack}")
    features = None
    if (results_dir / "features.parquet").is_file():
        features = pd.read_parquet(results_dir / "features.parquet")
    return results, preds, manifest, features


def _model_kinds(results_dir: Path, models) -> dict[str, str]:
    """model label -> reduce kind ("uae", "pca", "passthrough", ...) from saved metadata."""
    from emolens.models.factory import MODELS

    kinds = {}
    for m in models:
        name = m
        for meta in sorted((results_dir / "models" / m).glob("*/pipeline.json"))[:1]:
            try:
                name = json.loads(meta.read_text()).get("metadata", {}).get("make_model", m)
            except (OSError, json.JSONDecodeError):
                pass
        kinds[m] = MODELS.get(name, ("unknown",))[0] if name in MODELS else "unknown"
    return kinds


def _zcols(frame: pd.DataFrame) -> list[str]:
    cols = [c for c in frame.columns if c.startswith("z") and c[1:].isdigit()]
    return sorted(cols, key=lambda c: int(c[1:]))


# -- accuracy ------------------------------------------------------------------------------
def accuracy_table(results: pd.DataFrame, metric: str = "ua") -> pd.DataFrame:
    """Mean ± sd (in %) of ``metric`` per train/test/role x model, as strings and numbers."""
    keys = [k for k in ("train", "test", "role") if k in results.columns]
    g = results.groupby(keys + ["model"], sort=False)[metric].agg(["mean", "std", "count"])
    g = g.reset_index()
    g["cell"] = [f"{m * 100:.1f} ± {0 if np.isnan(s) else s * 100:.1f}"
                 for m, s in zip(g["mean"], g["std"])]
    wide = g.pivot_table(index=keys, columns="model", values="cell", aggfunc="first",
                         sort=False)
    wide = wide[list(pd.unique(results["model"]))].reset_index()
    wide.columns.name = None
    return wide, g


#: UA differences below this (1 point) count as ties in the verdict of finding (i).
TIE_MARGIN = 0.01


def unseen_mask(results: pd.DataFrame) -> pd.Series:
    """Rows scored zero-shot: role ``test`` and a plain corpus name not in that row's training set.

    Judged per row, because in a pairwise run a corpus is trained on in some rows and unseen
    in others.
    """
    test = results["test"].astype(str)
    train = results.get("train", pd.Series("", index=results.index)).astype(str)
    mask = pd.Series(
        [":" not in t and t not in tr.split("+") for t, tr in zip(test, train)],
        index=results.index,
    )
    if "role" in results.columns:
        mask &= results["role"] == "test"
    return mask


def unseen_tests(results: pd.DataFrame) -> list[str]:
    """Names of the zero-shot test sets (see :func:`unseen_mask`)."""
    return list(pd.unique(results.loc[unseen_mask(results), "test"].astype(str)))


def finding_transfer(results: pd.DataFrame, kinds: dict[str, str]) -> dict:
    """Finding (i): latent + SVC transfers better to unseen corpora than raw + SVC."""
    from emolens.models.autoencoder import AE_KINDS

    unseen = unseen_tests(results)
    raw = [m for m, k in kinds.items() if k == "passthrough"]
    raw = ["svc"] if "svc" in raw else raw
    latent = [m for m, k in kinds.items() if k in AE_KINDS]
    out = {"finding": "latent + SVC transfers better to unseen corpora than raw features + SVC",
           "unseen_tests": unseen, "raw_models": raw, "latent_models": latent}
    if not unseen or not raw or not latent:
        out.update(status="n/a", text="needs a raw-feature model, an autoencoder model and at "
                   "least one zero-shot test corpus in the run")
        return out
    sel = results[unseen_mask(results)]
    per = sel.groupby(["model", "test"])["ua"].mean().unstack("test")
    mean = sel.groupby("model")["ua"].mean()
    best_raw = mean[raw].idxmax()
    best_lat = mean[latent].idxmax()
    # a difference under TIE_MARGIN is retraining noise, not a win (a tie)
    wins = int((per.loc[best_lat] > per.loc[best_raw] + TIE_MARGIN).sum())
    diff = mean[best_lat] - mean[best_raw]
    status = ("holds" if diff > TIE_MARGIN and wins == len(unseen)
              else "partly" if diff > TIE_MARGIN or wins > 0
              else "fails" if diff < -TIE_MARGIN else "tie")
    out.update(status=status, best_latent=best_lat, best_raw=best_raw,
               ua_latent=float(mean[best_lat]), ua_raw=float(mean[best_raw]),
               wins=wins, n_unseen=len(unseen),
               per_test={t: {best_lat: float(per.loc[best_lat, t]),
                             best_raw: float(per.loc[best_raw, t])} for t in unseen},
               text=(f"mean UA on {len(unseen)} unseen corpora: {best_lat} "
                     f"{mean[best_lat] * 100:.1f} % vs {best_raw} {mean[best_raw] * 100:.1f} % "
                     f"({diff * 100:+.1f} points; the latent model is better by more than "
                     f"{TIE_MARGIN * 100:.0f} point on {wins} of {len(unseen)} unseen corpora)."))
    return out


def confusion_matrices(preds: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Counts summed over seeds x folds, per model x held-out test set."""
    held = preds[preds["role"] != "train"]
    out = {}
    present = set(pd.unique(held["y_true"])) | set(pd.unique(held["y_pred"]))
    labels = [lab for lab in LABELS if lab in present]
    for (m, t), g in held.groupby(["model", "test"], sort=False):
        cm = pd.crosstab(g["y_true"], g["y_pred"]).reindex(index=labels, columns=labels,
                                                           fill_value=0)
        out[f"{m} → {t}"] = cm
    return out


# -- latent --------------------------------------------------------------------------------
def _fits(preds: pd.DataFrame, model: str) -> list[tuple[int, int]]:
    p = preds[preds["model"] == model]
    return [tuple(x) for x in p[["seed", "fold"]].drop_duplicates().itertuples(index=False)]


def fit_latent(preds, manifest, model, seed, fold) -> pd.DataFrame:
    """One fit's latent, one row per file, joined with the manifest."""
    p = preds[(preds["model"] == model) & (preds["seed"] == seed) & (preds["fold"] == fold)]
    p = p.drop_duplicates("file")
    meta = manifest.drop(columns=[c for c in ("model",) if c in manifest.columns])
    keep = [c for c in ("file", "corpus", "language", "speaker", "gender", "activation",
                        "valence") if c in meta.columns]
    d = p.merge(meta[keep], on="file", how="left", validate="one_to_one")
    d["emotion"] = d["y_true"].astype(str)
    return d.reset_index(drop=True)


def _align(Z: np.ndarray, files, ref: pd.DataFrame, zc) -> np.ndarray:
    """Rotate/reflect ``Z`` onto the reference fit (Procrustes on the shared files)."""
    from scipy.linalg import orthogonal_procrustes

    r = ref.set_index("file")[zc]
    where = r.index.get_indexer(list(files))
    common = np.flatnonzero(where >= 0)
    if len(common) < Z.shape[1] + 1:
        return Z
    A = Z[common]
    B = r.to_numpy(float)[where[common]]
    R, _ = orthogonal_procrustes(A - A.mean(0), B - B.mean(0))
    return (Z - A.mean(0)) @ R + B.mean(0)


def latent_analysis(preds, manifest, features, model, opts: ReportOptions) -> dict:
    """Corpus-vs-emotion statistics and physical interpretation over all fits of ``model``."""
    zc = _zcols(preds[preds["model"] == model].dropna(axis=1, how="all"))
    fits = _fits(preds, model)
    ref = fit_latent(preds, manifest, model, *fits[0])
    summaries, shifts, angles, seps, maxrho = [], [], [], [], []
    for seed, fold in fits:
        d = ref if (seed, fold) == fits[0] else fit_latent(preds, manifest, model, seed, fold)
        Z = d[zc].to_numpy(float)
        if len(summaries) < opts.max_fits:  # the costly part: k-means, k-NN CV, silhouette
            factors = {"emotion": d["emotion"], "corpus": d["corpus"]}
            for extra in ("language", "speaker"):
                if extra in d and d[extra].nunique() > 1:
                    factors[extra] = d[extra]
            s = ls.corpus_emotion_summary(Z, factors, groups=d.get("speaker"),
                                          random_state=opts.random_state)
            summaries.append(s.assign(seed=seed, fold=fold))
        Za = _align(Z, list(d["file"]), ref, zc)
        sh = ls.emotion_shifts(Za, d["emotion"], d["corpus"], columns=zc)
        shifts.append(sh.assign(seed=seed, fold=fold))
        angles.append(ls.shift_angles(sh).assign(seed=seed, fold=fold))
        da = d.copy()
        da[zc] = Za
        refs = [v for v in ("activation", "valence") if v in d and d[v].notna().any()]
        seps.append(ph.pair_separations(da.dropna(subset=refs), zc + refs,
                                        labels=[x for x in LABELS if x in set(d["emotion"])])
                    .assign(seed=seed, fold=fold))
        if refs:
            t = ph.spearman_table(d[zc], d[refs])
            row = {"seed": seed, "fold": fold}
            for v in refs:
                tv = t[t["target"] == v]
                row[f"max_abs_rho_{v}"] = float(tv["rho"].abs().max())
            maxrho.append(row)
    out = {"zcols": zc, "fits": fits, "reference": ref,
           "summary": pd.concat(summaries, ignore_index=True),
           "shifts": pd.concat(shifts, ignore_index=True),
           "angles": pd.concat(angles, ignore_index=True),
           "separations": pd.concat(seps, ignore_index=True),
           "max_rho": pd.DataFrame(maxrho)}
    # Correlations and verdicts of the first fit, with every eGeMAPS column.
    refs = [v for v in ("activation", "valence") if v in ref and ref[v].notna().any()]
    targets = ref[refs].reset_index(drop=True)
    group_of = {}
    if features is not None:
        from emolens.features.groups import FEATURE_GROUPS

        f = features.reindex(ref["file"]).reset_index(drop=True)
        targets = pd.concat([targets, f], axis=1)
        group_of = {c: g for g, cols in FEATURE_GROUPS.items() for c in cols}
    table = ph.spearman_table(ref[zc], targets, group_of=group_of)
    out["spearman"] = table
    out["group_rho"] = ph.group_correlations(table)
    out["verdicts"] = ph.dimension_verdicts(table)
    return out


def finding_activation(lat: dict) -> dict:
    """Finding (ii): the latent models activation more than valence."""
    mr = lat["max_rho"]
    out = {"finding": "the latent models activation more than valence"}
    if mr.empty or "max_abs_rho_activation" not in mr or "max_abs_rho_valence" not in mr:
        out.update(status="n/a", text="needs activation and valence labels")
        return out
    a, v = mr["max_abs_rho_activation"], mr["max_abs_rho_valence"]
    share = float((a > v).mean())
    agree = ph.separation_agreement(
        lat["separations"].groupby(["pair", "variable"], as_index=False)["separation"].mean(),
        lat["zcols"])
    best = agree.groupby("reference")["rho"].max() if not agree.empty else pd.Series(dtype=float)
    status = "holds" if a.mean() > v.mean() and share > 0.5 else (
        "partly" if a.mean() > v.mean() or share > 0.5 else "fails")
    out.update(status=status, mean_abs_rho_activation=float(a.mean()),
               mean_abs_rho_valence=float(v.mean()), share_of_fits=share,
               pair_profile_rho=best.to_dict(),
               text=(f"strongest |Spearman ρ| of a latent dimension with activation "
                     f"{a.mean():.2f} ± {a.std(ddof=0):.2f} vs valence {v.mean():.2f} ± "
                     f"{v.std(ddof=0):.2f} (over {len(mr)} fits; activation ahead in "
                     f"{share * 100:.0f} % of them). Pair-separation profile agreement "
                     "(Spearman across emotion pairs, best dimension): "
                     + ", ".join(f"{k} {x:.2f}" for k, x in best.items()) + "."))
    return out


# -- attribution ---------------------------------------------------------------------------
def _load(results_dir: Path, model: str, seed, fold):
    folder = results_dir / "models" / model / f"seed{seed}_fold{fold}"
    if not (folder / "pipeline.json").is_file():
        return None
    from emolens.models import load_pipeline

    return load_pipeline(folder)


def _inputs(features: pd.DataFrame, manifest: pd.DataFrame, files) -> pd.DataFrame:
    from emolens.features import model_input

    m = manifest.set_index("file").loc[list(files)].reset_index()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model_input(features, m)


def _sample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= n else frame.sample(n=n, random_state=seed)


def attribution_analysis(results_dir, preds, manifest, features, model, fits,
                         opts: ReportOptions) -> dict:
    """DeepLIFT, decision occlusion, permutation importance (and ablation) for ``model``."""
    from emolens.features.groups import FEATURE_GROUPS

    out: dict = {}
    seed, fold = fits[0]
    pipe = _load(results_dir, model, seed, fold)
    if pipe is None:
        out["missing"] = f"no saved pipeline in models/{model}/seed{seed}_fold{fold}"
        return out
    p = preds[(preds["model"] == model) & (preds["seed"] == seed) & (preds["fold"] == fold)]
    train = p[p["role"] == "train"].drop_duplicates("file")
    held = p[p["role"] != "train"].drop_duplicates("file")
    right = _sample(held[held["y_true"] == held["y_pred"]], opts.max_samples, opts.random_state)
    cols = list(features.columns)
    X_train = _inputs(features, manifest, train["file"])
    X = _inputs(features, manifest, right["file"])
    neutral = train["y_true"].to_numpy() == "neutral"
    if not neutral.any():
        out["missing"] = "no neutral training sample for the DeepLIFT reference"
        return out
    # DeepLIFT on the encoder, reference = neutral mean of the scaled training features.
    reduce = pipe.named_steps.get("reduce")
    enc = getattr(reduce, "encoder_", None)
    scale = pipe.named_steps["scale"]
    if enc is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            Xs_train = np.asarray(scale.transform(X_train), dtype=float)
            Xs = np.asarray(scale.transform(X), dtype=float)
        base = Xs_train[neutral].mean(axis=0)
        wide = at.latent_deeplift(enc, Xs, base, cols, index=list(right["file"]))
        long = at.aggregate_groups(wide, FEATURE_GROUPS)
        emo = dict(zip(right["file"], right["y_true"].astype(str)))
        long["emotion"] = long["sample"].map(emo)
        out["deeplift"] = long
    # Decision occlusion by group, reference = neutral mean of the raw training features.
    clf = pipe.named_steps["clf"]
    classes = list(getattr(clf, "classes_", pipe.classes_))
    score_fn = pipe.decision_function if hasattr(pipe, "decision_function") else pipe.predict_proba

    def score(a):
        # captum stacks several occluded copies of X into one call
        index = at.stacked_index(X.index, len(a) // len(X))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            s = np.asarray(score_fn(pd.DataFrame(a, columns=cols, index=index)))
        return s if s.ndim == 2 else np.c_[-s, s]

    target = np.array([classes.index(c) for c in right["y_pred"].astype(str)])
    occ = at.group_occlusion(score, X.to_numpy(float), X_train.to_numpy(float)[neutral].mean(0),
                             target, FEATURE_GROUPS, cols)
    occ.insert(0, "emotion", right["y_pred"].astype(str).to_numpy())
    occ.insert(0, "file", right["file"].to_numpy())
    out["occlusion"] = occ.melt(id_vars=["file", "emotion"], var_name="group",
                                value_name="score_drop")
    # Permutation importance per held-out test set, over several fits.
    rows = []
    for s, f in fits[: opts.max_fits]:
        pp = pipe if (s, f) == (seed, fold) else _load(results_dir, model, s, f)
        if pp is None:
            continue
        q = preds[(preds["model"] == model) & (preds["seed"] == s) & (preds["fold"] == f)
                  & (preds["role"] != "train")]
        for t, g in q.groupby("test", sort=False):
            g = _sample(g.drop_duplicates("file"), opts.max_samples, opts.random_state)
            Xt = _inputs(features, manifest, g["file"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                imp = at.grouped_permutation_importance(
                    pp, Xt, g["y_true"].astype(str).to_numpy(), FEATURE_GROUPS,
                    n_repeats=opts.n_repeats, random_state=opts.random_state)
            rows.append(imp.assign(test=t, seed=s, fold=f))
    if rows:
        out["permutation"] = pd.concat(rows, ignore_index=True)
    return out


def ablation_analysis(results_dir, preds, manifest, features, model, fits,
                      opts: ReportOptions) -> pd.DataFrame | None:
    """Retrain the first fit's pipeline without each feature group (``opts.jobs`` processes)
    and score it on that fit's zero-shot test sets (its held-out fold if it has none)."""
    from sklearn.base import clone

    from emolens.features.groups import FEATURE_GROUPS

    seed, fold = fits[0]
    pipe = _load(results_dir, model, seed, fold)
    if pipe is None:
        return None
    p = preds[(preds["model"] == model) & (preds["seed"] == seed) & (preds["fold"] == fold)]
    train = p[p["role"] == "train"].drop_duplicates("file")
    held = p[p["role"] != "train"].drop_duplicates("file")
    tests = held[held["role"] == "test"]
    if tests.empty:
        tests = held
    X_train = _inputs(features, manifest, train["file"])
    Xte = _inputs(features, manifest, tests["file"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return at.group_ablation(
            clone(pipe), X_train, train["y_true"].astype(str).to_numpy(), Xte,
            tests["y_true"].astype(str).to_numpy(), FEATURE_GROUPS, n_jobs=opts.jobs)


def finding_anger(attr: dict) -> dict:
    """Finding (iii): anger is driven mostly by loudness and spectral flux."""
    out = {"finding": "anger is driven mostly by loudness and spectral flux"}
    long = attr.get("deeplift")
    if long is None or (long["emotion"] == "angry").sum() == 0:
        out.update(status="n/a", text="needs DeepLIFT attributions of correctly classified "
                   "angry samples (an autoencoder model saved with the run)")
        return out
    a = long[long["emotion"] == "angry"]
    # |attribution| per sample and group, summed over latent dimensions, then averaged.
    per = a.assign(abs=a["attribution"].abs()).groupby(["sample", "group"])["abs"].sum()
    rank = per.groupby("group").mean().sort_values(ascending=False)
    top2 = list(rank.index[:2])
    top3 = list(rank.index[:3])
    has_l = any(g in LOUDNESS_GROUPS for g in top3)
    has_f = any(g in FLUX_GROUPS for g in top3)
    both_top2 = (any(g in LOUDNESS_GROUPS for g in top2) and any(g in FLUX_GROUPS for g in top2))
    status = ("holds" if both_top2 or (has_l and has_f and top2[0] in LOUDNESS_GROUPS + FLUX_GROUPS)
              else "partly" if has_l or has_f else "fails")
    share = rank / rank.sum()
    out.update(status=status, ranking=[{"group": g, "mean_abs_attribution": float(v),
                                        "share": float(share[g])} for g, v in rank.items()],
               n_samples=int(a["sample"].nunique()),
               text=(f"DeepLIFT (reference: neutral mean) on {a['sample'].nunique()} correctly "
                     "classified angry samples, mean |attribution| summed over latent "
                     "dimensions; top groups: "
                     + ", ".join(f"{g} ({share[g] * 100:.0f} %)" for g in rank.index[:5])
                     + "."))
    return out


# -- report --------------------------------------------------------------------------------
def _shift_warnings(results_dir: Path) -> list[str]:
    path = results_dir / "summary.md"
    if not path.is_file():
        return []
    lines, on = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            on = line.lower().startswith("## distribution shift") or "warning" in line.lower()
            continue
        if on and line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


def _write(out: Path, name: str, obj) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_csv(out / f"{name}.csv", index=False)
    else:
        (out / f"{name}.json").write_text(json.dumps(obj, indent=1, default=_json),
                                          encoding="utf-8")


def _json(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


class _one_thread:
    """One BLAS/OpenMP/torch thread: the arrays are small, and k-means/kNN/torch thread pools
    oversubscribe a busy machine badly (minutes instead of seconds); parallelism is across
    tasks instead (``ReportOptions.jobs``)."""

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        import torch

        self._limits = threadpool_limits(limits=1)
        self._threads = torch.get_num_threads()
        torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self._threads)
        self._limits.restore_original_limits()


def _latent_task(preds, manifest, features, model, opts: ReportOptions) -> dict:
    """Latent statistics of ``model`` and their three figures (PNG bytes)."""
    with _one_thread():
        t = time.perf_counter()
        lat = latent_analysis(preds, manifest, features, model, opts)
        zc, ref = lat["zcols"], lat["reference"]
        if len(zc) == 2:
            pic, xl, yl, how = ref, zc[0], zc[1], "the 2-D latent itself"
        else:
            pic = _sample(ref, opts.tsne_samples, opts.random_state).copy()
            emb = F.tsne_2d(pic[zc].to_numpy(float), random_state=opts.random_state)
            pic["tsne1"], pic["tsne2"] = emb[:, 0], emb[:, 1]
            xl, yl, how = "tsne1", "tsne2", (f"a t-SNE picture of the {len(zc)}-D latent "
                                              "(statistics use the latent itself)")
        groups = set(lat["group_rho"]["group"])
        order = [g for g in ("activation", "valence") if g in groups]
        from emolens.features.groups import FEATURE_GROUPS

        order += [g for g in FEATURE_GROUPS if g in groups]
        order += [g for g in pd.unique(lat["group_rho"]["group"]) if g not in order]
        lat["how"] = how
        lat["png"] = {
            "latent": F.to_png(F.latent_grid(pic, x=xl, y=yl)),
            "separations": F.to_png(F.separation_boxplot(lat["separations"])),
            "correlations": F.to_png(F.correlation_heatmap(lat["group_rho"], order=order)),
        }
        lat["seconds"] = time.perf_counter() - t
        return lat


def _attribution_task(results_dir, preds, manifest, features, model, fits,
                      opts: ReportOptions) -> dict:
    """Attributions of ``model`` and their figures (PNG bytes)."""
    with _one_thread():
        t = time.perf_counter()
        attr = attribution_analysis(results_dir, preds, manifest, features, model, fits, opts)
        png = {}
        if "deeplift" in attr:
            png["deeplift"] = F.to_png(F.attribution_violins(attr["deeplift"]))
        if "occlusion" in attr:
            png["occlusion"] = F.to_png(F.importance_bars(
                attr["occlusion"], panel="emotion", value="score_drop",
                xlabel="decision score drop when the group is set to neutral mean"))
        if "permutation" in attr:
            spread = (attr["permutation"].groupby(["test", "group", "seed", "fold"],
                                                  as_index=False)["importance"].mean())
            attr["permutation_spread"] = spread
            png["permutation"] = F.to_png(F.importance_bars(spread, panel="test"))
        attr["png"] = png
        attr["seconds"] = time.perf_counter() - t
        return attr


def _run_tasks(calls, jobs: int) -> list:
    """``[f(*args) for f, args in calls]``; with ``jobs > 1`` every call but the last runs
    in joblib worker processes (the pool of the run's fits, already warm) while this process
    runs the last one."""
    if jobs <= 1 or len(calls) <= 1:
        return [f(*args) for f, args in calls]
    from joblib import Parallel, delayed

    # a generator dispatches at once; the results are collected after the local call
    background = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(f)(*args) for f, args in calls[:-1])
    f, args = calls[-1]
    last = f(*args)
    return [*background, last]


def build_report(results_dir, options: ReportOptions | None = None, **kwargs) -> Path:
    """Write ``report.html`` and ``interpret/`` (CSV/JSON/PNG) into a results directory.

    Args:
        results_dir: output folder of ``emolens run``.
        options: caps and switches (:class:`ReportOptions`); keyword arguments override its
            fields, e.g. ``build_report(dir, ablation=True)``.

    Returns:
        Path of ``report.html``.

    Raises:
        ReportError: the folder is not a results directory.
    """
    with _one_thread():
        return _build(results_dir, options, **kwargs)


def _build(results_dir, options: ReportOptions | None = None, **kwargs) -> Path:
    t0 = time.perf_counter()
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"results directory {results_dir} does not exist")
    opts = options or ReportOptions()
    for k, v in kwargs.items():
        if not hasattr(opts, k):
            raise TypeError(f"unknown report option {k!r}")
        setattr(opts, k, v)
    results, preds, manifest, features = _read(results_dir)
    out = results_dir / "interpret"
    figdir = out / "figures"
    models = list(pd.unique(results["model"]))
    kinds = _model_kinds(results_dir, models)
    page = H.Page(title=f"emolens report: {results_dir.name}",
                  meta=H.esc(f"{len(results)} result rows · models: {', '.join(models)} · "
                             f"{manifest['corpus'].nunique()} corpora, {len(manifest)} "
                             "utterances"),
                  intro=_HOW_TO_READ)
    findings = []
    figs: dict[str, bytes] = {}

    def fig(name, f):
        png = f if isinstance(f, bytes) else F.to_png(f)
        figdir.mkdir(parents=True, exist_ok=True)
        (figdir / f"{name}.png").write_bytes(png)
        figs[name] = png
        return png

    # Accuracy
    ua_wide, ua_long = accuracy_table(results, "ua")
    _write(out, "accuracy_ua", ua_long.drop(columns="cell"))
    findings.append(finding_transfer(results, kinds))
    cms = confusion_matrices(preds)
    acc_body = (H.para("Unweighted accuracy (UA, mean of per-class recall; chance 25 %), mean "
                       "± sd over seeds × folds, in %.")
                + H.table(ua_wide))
    if "wa" in results:
        wa_wide, wa_long = accuracy_table(results, "wa")
        _write(out, "accuracy_wa", wa_long.drop(columns="cell"))
        acc_body += H.para("Weighted accuracy (WA), %.") + H.table(wa_wide)
    if cms:
        acc_body += H.confusion_tables(cms, "Confusion matrices per model → held-out test set: "
                                       "share of each true class (row) predicted as each "
                                       "class, and the count, summed over seeds × folds "
                                       "(confusion/*.csv).")
    warn = _shift_warnings(results_dir)

    # Latent
    zmodels = [m for m in models if _zcols(preds[preds["model"] == m].dropna(axis=1, how="all"))]
    from emolens.models.autoencoder import AE_KINDS

    ae = [m for m in zmodels if kinds.get(m) in AE_KINDS]
    rep = (ae or zmodels or [None])[0]
    lat_body = phys_body = attr_body = ""
    attr: dict = {}
    if rep is None:
        lat_body = H.para("No model of this run has a latent (z1..zk in predictions.parquet); "
                          "latent analyses skipped.")
        findings.append({"finding": "the latent models activation more than valence",
                         "status": "n/a", "text": "no latent in this run"})
    else:
        # The two costly parts (with their figures) run side by side in ``jobs`` processes.
        mine = preds[preds["model"] == rep]
        calls = [(_latent_task, (mine, manifest, features, rep, opts))]
        if features is not None:
            calls.append((_attribution_task, (results_dir, mine, manifest, features, rep,
                                              _fits(mine, rep), opts)))
        done = _run_tasks(calls, opts.jobs)
        lat = done[0]
        attr = done[1] if len(done) > 1 else {}
        opts.timings["latent"] = lat["seconds"]
        zc, ref = lat["zcols"], lat["reference"]
        for name in ("summary", "shifts", "angles", "separations", "max_rho", "spearman",
                     "group_rho", "verdicts"):
            _write(out, f"latent_{name}" if name in ("summary", "shifts", "angles")
                   else name, lat[name])
        how = lat["how"]
        seed0, fold0 = lat["fits"][0]
        lat_body += H.para(f"Representative model: {rep} ({kinds.get(rep, '?')}), "
                           f"{len(lat['fits'])} fits (seeds × folds). The picture shows fit "
                           f"seed {seed0} fold {fold0}, {how}, every utterance of every corpus "
                           "(training-corpus utterances included), on shared axes.")
        lat_body += H.figure(fig("latent", lat["png"]["latent"]),
                             "Latent space per corpus, coloured by emotion, with per-emotion "
                             "densities on both axes; shared axes show shifts and rotations "
                             "between corpora.")
        summ = (lat["summary"].groupby("factor", sort=False)
                .agg(levels=("n_levels", "first"), silhouette=("silhouette", "mean"),
                     silhouette_sd=("silhouette", "std"), kmeans_ami=("kmeans_ami", "mean"),
                     knn_balanced_accuracy=("knn_balanced_accuracy", "mean"),
                     knn_chance=("knn_chance", "first"), eta2=("eta2_pooled", "mean"))
                .reset_index())
        lat_body += ("<h3>Does the latent cluster by emotion or by corpus?</h3>"
                     + H.para("Mean over fits. Silhouette and k-means AMI: how well the latent "
                              "groups by the factor; k-NN: cross-validated balanced accuracy "
                              "of predicting the factor from the latent (speaker-grouped folds), "
                              "next to chance; eta²: share of latent variance explained by the "
                              "factor.") + H.table(summ))
        ang = (lat["angles"].groupby(["emotion", "corpus_a", "corpus_b"], sort=False)
               .agg(angle_deg=("angle_deg", "mean"), angle_sd=("angle_deg", "std"),
                    length_ratio=("length_ratio", "mean")).reset_index())
        sh = (lat["shifts"].groupby(["corpus", "emotion"], sort=False)
              .agg(length=("length", "mean"), direction_deg=("direction_deg", "mean"))
              .reset_index())
        lat_body += ("<h3>Emotion shifts per corpus</h3>"
                     + H.para("Shift of each emotion's latent mean from neutral (after aligning "
                              "every fit to the first by orthogonal Procrustes), and the angle "
                              "between corpora: large angles mean the corpus rotates the "
                              "emotion layout.") + H.table(sh, "{:.2f}")
                     + (H.table(ang, "{:.1f}") if not ang.empty else ""))
        # physical
        phys_body += H.figure(fig("separations", lat["png"]["separations"]),
                              "Bhattacharyya separation (1 − BC, Gaussian class model) of "
                              "each emotion pair along each latent dimension (aligned fits) "
                              "and along ground-truth activation and valence; boxes over "
                              "seeds × folds.")
        phys_body += "<h3>Verdict per dimension</h3><ul>" + "".join(
            f"<li>{H.esc(v)}</li>" for v in lat["verdicts"]["verdict"]) + "</ul>"
        phys_body += H.para(f"Fit seed {seed0} fold {fold0}, all utterances; Spearman ρ, "
                            "Benjamini-Hochberg corrected over all dimensions × targets; a "
                            "feature group is summarised by its most correlated column.",
                            "note")
        phys_body += H.figure(fig("correlations", lat["png"]["correlations"]),
                              "Spearman ρ of each latent dimension with activation, valence "
                              "and each eGeMAPS feature group (* FDR p < 0.05).")
        findings.append(finding_activation(lat))
        # attribution
        if features is None:
            attr_body = H.para("features.parquet is missing: attributions skipped.")
        else:
            opts.timings["attribution"] = attr["seconds"]
            if opts.ablation and "missing" not in attr:
                t = time.perf_counter()
                ab = ablation_analysis(results_dir, mine, manifest, features, rep,
                                       lat["fits"], opts)
                if ab is not None:
                    attr["ablation"] = ab
                opts.timings["ablation"] = time.perf_counter() - t
            if "missing" in attr:
                attr_body = H.para(f"Attributions skipped: {attr['missing']}.")
            for name in ("deeplift", "occlusion", "permutation", "ablation"):
                if name in attr:
                    _write(out, name, attr[name])
            if "deeplift" in attr:
                d = attr["deeplift"]
                attr_body += H.figure(
                    fig("deeplift", attr["png"]["deeplift"]),
                    f"DeepLIFT attributions of the {d['sample'].nunique()} correctly "
                    f"classified held-out samples (fit seed {seed0} fold {fold0}) to the "
                    "latent dimensions, summed per feature group; reference: the neutral-class "
                    "mean of the scaled training features; per true emotion, groups sorted by "
                    "mean |attribution|.")
            if "occlusion" in attr:
                attr_body += H.figure(
                    fig("occlusion", attr["png"]["occlusion"]),
                    "Attribution of the whole pipeline's decision: drop of the predicted "
                    "class's decision score when a feature group is replaced by its neutral "
                    "training mean (captum FeatureAblation), per predicted emotion; bars: mean "
                    "± sd over samples.")
            if "permutation" in attr:
                spread = attr["permutation_spread"]
                attr_body += H.figure(
                    fig("permutation", attr["png"]["permutation"]),
                    f"Held-out permutation importance of the whole pipeline per test set and "
                    f"feature group ({opts.n_repeats} joint shuffles of the group's columns; "
                    f"mean ± sd over {spread[['seed', 'fold']].drop_duplicates().shape[0]} "
                    "fits).")
            if "ablation" in attr:
                ab = attr["ablation"].sort_values("delta")
                attr_body += ("<h3>Group ablation</h3>"
                              + H.para("Retrained without each feature group (fit seed "
                                       f"{seed0} fold {fold0}); delta = UA without − UA with, "
                                       "on the zero-shot test sets.")
                              + H.para("One refit per group, each a new (narrower) network: "
                                       "differences of a few points are retraining noise; "
                                       "look at the large drops. Correlated groups (e.g. "
                                       "loudness and equivalent sound level) can stand in for "
                                       "each other, so removing one may cost little.", "note")
                              + H.table(ab))
            elif "missing" not in attr:
                attr_body += H.para("Group ablation (retraining without each feature group) "
                                    "was not run: `emolens report DIR --ablation`, or "
                                    "`[report] ablation = true` in the experiment file.",
                                    "note")
    findings.append(finding_anger(attr))
    _write(out, "findings", findings)

    # Page
    fb = "".join(H.verdict(f.get("status", "n/a"), f"({r}) {f['finding']}", f.get("text", ""))
                 for r, f in zip(("i", "ii", "iii"), findings))
    fb += H.para("Verdict rules (docs/interpretation.md): (i) holds when the best autoencoder "
                 "model beats the raw-feature SVC by more than 1 UA point on the mean and on every "
                 "unseen corpus (smaller differences are ties); (ii) "
                 "when the strongest |ρ| with activation exceeds that with valence on average "
                 "and in most fits; (iii) when the two groups with the largest DeepLIFT "
                 "attribution for anger are a loudness and a spectral-flux group.", "note")
    if warn:
        fb += "<h3>Warnings of the run</h3><ul>" + "".join(f"<li>{H.esc(w)}</li>" for w in warn
                                                           ) + "</ul>"
    page.section("Findings of the paper: hold or not?", fb)
    page.section("Accuracy", acc_body)
    page.section("Latent space: emotion or corpus?", lat_body or H.para("n/a"))
    page.section("Physical interpretation", phys_body or H.para("n/a"))
    page.section("Input features", attr_body or H.para("n/a"))
    files = sorted(p.relative_to(results_dir).as_posix() for p in out.glob("*.*"))
    page.section("Files", H.para("Every number of this page is also in:")
                 + "<ul>" + "".join(f"<li><code>{H.esc(f)}</code></li>" for f in files)
                 + "</ul>")
    opts.timings["total"] = time.perf_counter() - t0
    path = results_dir / "report.html"
    path.write_text(page.render(), encoding="utf-8")
    return path
