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
from emolens.report import findings as FD
from emolens.report import html as H
from emolens.results import ResultsError, RunResults, latent_columns
from emolens.results import load as load_results
from emolens.report.findings import (  # noqa: F401  (re-exported: the report's API)
    FLUX_GROUPS,
    LOUDNESS_GROUPS,
    TIE_MARGIN,
    finding_transfer,
    unseen_mask,
    unseen_tests,
)


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
    latent_axes: str = "auto"    # latent grid: "shared", "own" or "auto" (own if squeezed)
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
def _read(results_dir: Path) -> RunResults:
    """The results directory through :func:`emolens.results.load` (the one reader)."""
    try:
        return load_results(results_dir)
    except ResultsError as err:
        raise ReportError(str(err)) from None


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
    return latent_columns(frame)


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


def confusion_matrices(run: RunResults) -> dict[str, pd.DataFrame]:
    """The run's confusion matrices (confusion/*.csv, summed over seeds x folds) titled for the
    page, grouped as on disk: per model x (training set, held-out test set). The training set
    is named only where a model has several (pairwise, leave-one-corpus-out)."""
    present = set()
    for cm in run.confusions.values():
        present |= {c for c in cm.index if cm.loc[c].sum() > 0}
        present |= {c for c in cm.columns if cm[c].sum() > 0}
    labels = [lab for lab in LABELS if lab in present]
    trains: dict[str, set] = {}
    for model, train, _ in run.confusions:
        trains.setdefault(model, set()).add(train)
    out = {}
    for (model, train, test), cm in run.confusions.items():
        title = f"{model} → {test}" + (f" (trained on {train})" if len(trains[model]) > 1 else "")
        out[title] = cm.reindex(index=labels, columns=labels, fill_value=0)
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
    summaries, shifts, angles, seps, maxrho, bycorpus, means = [], [], [], [], [], [], []
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
        means.append(ls.emotion_means(Za, d["emotion"], d["corpus"], columns=zc)
                     .assign(seed=seed, fold=fold))
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
            bycorpus.append(ph.max_abs_rho_by(d[zc], d[refs], d["corpus"].rename("corpus"))
                            .assign(seed=seed, fold=fold))
    out = {"zcols": zc, "fits": fits, "reference": ref,
           "train_corpora": training_corpora(preds[preds["model"] == model], manifest),
           "summary": pd.concat(summaries, ignore_index=True),
           "shifts": pd.concat(shifts, ignore_index=True),
           "angles": pd.concat(angles, ignore_index=True),
           "separations": pd.concat(seps, ignore_index=True),
           "max_rho": pd.DataFrame(maxrho),
           "rho_by_corpus": (pd.concat(bycorpus, ignore_index=True) if bycorpus
                             else pd.DataFrame()),
           "means": pd.concat(means, ignore_index=True)}
    # Correlations and verdicts of the first fit, with every eGeMAPS column.
    refs = [v for v in ("activation", "valence") if v in ref and ref[v].notna().any()]
    targets = ref[refs].reset_index(drop=True)
    group_of = {}
    if features is not None:
        from emolens.features.groups import column_groups

        FEATURE_GROUPS = column_groups(features.columns)  # eGeMAPS groups, embedding blocks
        f = features.reindex(ref["file"]).reset_index(drop=True)
        targets = pd.concat([targets, f], axis=1)
        group_of = {c: g for g, cols in FEATURE_GROUPS.items() for c in cols}
    table = ph.spearman_table(ref[zc], targets, group_of=group_of)
    out["spearman"] = table
    out["group_rho"] = ph.group_correlations(table)
    out["verdicts"] = ph.dimension_verdicts(table)
    return out


def finding_activation(lat: dict, random_state: int = 0) -> dict:
    """Finding (ii): the latent models activation more than valence (per corpus, with a
    bootstrap interval; :func:`emolens.report.findings.finding_activation`), plus the
    pair-separation profile agreement for reference."""
    out = FD.finding_activation(lat.get("rho_by_corpus"), lat.get("max_rho"),
                                random_state=random_state)
    if out["status"] != "n/a" and not lat["separations"].empty:
        agree = ph.separation_agreement(
            lat["separations"].groupby(["pair", "variable"], as_index=False)["separation"]
            .mean(), lat["zcols"])
        if not agree.empty:
            best = agree.groupby("reference")["rho"].max()
            out["pair_profile_rho"] = best.to_dict()
            out["text"] += (" Pair-separation profile agreement (Spearman across emotion "
                            "pairs, best dimension): "
                            + ", ".join(f"{k} {x:.2f}" for k, x in best.items()) + ".")
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
    from emolens.features.groups import column_groups

    FEATURE_GROUPS = column_groups(features.columns)  # eGeMAPS groups, embedding blocks
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
    # DeepLIFT on the encoder, reference = neutral mean of the scaled training features:
    # every correctly classified held-out utterance of the first fit, and the angry ones of
    # up to max_fits fits (finding iii and its interval).
    corpus_of = manifest.drop_duplicates("file").set_index("file")["corpus"].astype(str)
    if getattr(pipe.named_steps.get("reduce"), "encoder_", None) is not None:
        long = _deeplift(pipe, X_train, neutral, X, right, cols, FEATURE_GROUPS)
        out["deeplift"] = long
        out["deeplift_absent"] = [e for e in LABELS if e in set(held["y_true"].astype(str))
                                  and e not in set(right["y_true"].astype(str))]
        anger = [long[long["emotion"] == "angry"].assign(seed=seed, fold=fold)]
        for s, f in fits[1: opts.max_fits]:
            pp = _load(results_dir, model, s, f)
            q = preds[(preds["model"] == model) & (preds["seed"] == s) & (preds["fold"] == f)]
            tr = q[q["role"] == "train"].drop_duplicates("file")
            ok = q[(q["role"] != "train") & (q["y_true"] == q["y_pred"])
                   & (q["y_true"] == "angry")].drop_duplicates("file")
            neu = tr[tr["y_true"] == "neutral"]
            if pp is None or ok.empty or neu.empty:
                continue
            ok = _sample(ok, opts.max_samples, opts.random_state)
            anger.append(_deeplift(pp, _inputs(features, manifest, tr["file"]),
                                   (tr["y_true"] == "neutral").to_numpy(),
                                   _inputs(features, manifest, ok["file"]), ok, cols,
                                   FEATURE_GROUPS).assign(seed=s, fold=f))
        anger = pd.concat(anger, ignore_index=True)
        anger["corpus"] = anger["sample"].map(corpus_of)
        out["anger"] = anger
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


def _deeplift(pipe, X_train, neutral, X, rows, cols, groups) -> pd.DataFrame:
    """DeepLIFT of ``pipe``'s encoder on ``X`` (reference: mean of the scaled training rows
    ``X_train[neutral]``), summed per feature group, with each sample's true emotion.

    The training rows are scaled together and the neutral ones picked afterwards: a
    per-speaker scaler must not get its statistics from the neutral utterances alone.
    """
    from emolens.models import apply

    enc = pipe.named_steps["reduce"].encoder_
    base = np.asarray(apply(pipe, X_train).scaled, dtype=float)[neutral].mean(axis=0)
    Xs = np.asarray(apply(pipe, X).scaled, dtype=float)
    wide = at.latent_deeplift(enc, Xs, base, cols, index=list(rows["file"]))
    long = at.aggregate_groups(wide, groups)
    long["emotion"] = long["sample"].map(dict(zip(rows["file"], rows["y_true"].astype(str))))
    return long


def ablation_analysis(results_dir, preds, manifest, features, model, fits,
                      opts: ReportOptions) -> pd.DataFrame | None:
    """Retrain the first fit's pipeline without each feature group (``opts.jobs`` processes)
    and score it on that fit's zero-shot test sets (its held-out fold if it has none)."""
    from sklearn.base import clone

    from emolens.features.groups import column_groups

    FEATURE_GROUPS = column_groups(features.columns)  # eGeMAPS groups, embedding blocks
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


def finding_anger(attr: dict, random_state: int = 0) -> dict:
    """Finding (iii): anger is driven mostly by loudness and spectral flux
    (:func:`emolens.report.findings.finding_anger` on the angry DeepLIFT rows)."""
    anger = attr.get("anger")
    if anger is None and attr.get("deeplift") is not None:
        anger = attr["deeplift"][attr["deeplift"]["emotion"] == "angry"]
    return FD.finding_anger(anger, random_state=random_state)


# -- report --------------------------------------------------------------------------------
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
        lat["squeezed"] = F.squeezed_corpora(pic, x=xl, y=yl)
        axes = opts.latent_axes
        if axes == "auto":
            axes = "own" if lat["squeezed"] else "shared"
        lat["axes"] = axes
        lat["png"] = {
            "latent": F.to_png(F.latent_grid(pic, x=xl, y=yl, axes=axes)),
            "separations": F.to_png(F.separation_boxplot(lat["separations"])),
            "correlations": F.to_png(F.correlation_heatmap(lat["group_rho"], order=order)),
        }
        lat["png"].update(_corpus_figures(lat, preds))
        lat["seconds"] = time.perf_counter() - t
        return lat


def training_corpora(preds: pd.DataFrame, manifest: pd.DataFrame) -> list[str]:
    """Corpora of the utterances some fit trained on (role ``train``)."""
    files = preds.loc[preds["role"] == "train", "file"].unique()
    corpus = manifest.drop_duplicates("file").set_index("file")["corpus"].astype(str)
    return list(pd.unique(corpus.reindex(files).dropna()))


def activation_by_corpus(rho_by_corpus: pd.DataFrame) -> pd.DataFrame:
    """Finding (ii) per corpus: mean over fits of the strongest |ρ| with activation and with
    valence and their difference (``interpret/activation_by_corpus.csv`` holds every fit)."""
    cols = ["max_abs_rho_activation", "max_abs_rho_valence"]
    if rho_by_corpus.empty or any(c not in rho_by_corpus for c in cols):
        return pd.DataFrame()
    g = rho_by_corpus.groupby("corpus", sort=False)[cols].agg(["mean", "std"])
    out = pd.DataFrame({"corpus": g.index,
                        "abs_rho_activation": g[(cols[0], "mean")].to_numpy(),
                        "abs_rho_valence": g[(cols[1], "mean")].to_numpy()})
    out["difference"] = out["abs_rho_activation"] - out["abs_rho_valence"]
    out["n_fits"] = rho_by_corpus.groupby("corpus", sort=False).size().to_numpy()
    return out


def _corpus_figures(lat: dict, preds: pd.DataFrame) -> dict[str, bytes]:
    """Shift arrows, angle heatmaps and the per-corpus view of finding (ii) (PNG bytes)."""
    from emolens.report import per_corpus as PC

    png = {}
    zc = lat["zcols"]
    train = lat.get("train_corpora", [])
    label = {c: f"{c} (train)" for c in train}
    pos = PC.mean_positions(lat["means"], zc)
    if len(zc) >= 2 and not pos.empty:
        xl, yl = zc[0], zc[1]
        if len(zc) > 2:  # a plane through the emotion means (PCA), for drawing only
            from sklearn.decomposition import PCA

            p2 = PCA(2).fit_transform(pos[zc].to_numpy(float))
            pos = pos.assign(pc1=p2[:, 0], pc2=p2[:, 1])
            xl, yl = "pc1", "pc2"
        png["shift_arrows"] = F.to_png(F.shift_arrows(pos, x=xl, y=yl, highlight=train))
    if not lat["angles"].empty:
        corpora = list(pd.unique(pos["corpus"]))
        mats = {e: PC.angle_matrix(lat["angles"], e, corpora)
                for e in pd.unique(lat["angles"]["emotion"])}
        png["angle_heatmaps"] = F.to_png(F.angle_heatmaps(mats))
    act = activation_by_corpus(lat["rho_by_corpus"])
    if not act.empty:
        wide = act.set_index("corpus")[["abs_rho_activation", "abs_rho_valence",
                                        "difference"]]
        wide.index = [label.get(c, c) for c in wide.index]
        wide.columns = ["max |ρ| activation", "max |ρ| valence", "difference"]
        png["activation_by_corpus"] = F.to_png(F.corpus_heatmap(
            wide, "Finding (ii) per corpus (mean over fits)", "ρ / difference", -1, 1))
    return png


def anger_figure(by_corpus: pd.DataFrame, n_groups: int = 7) -> bytes | None:
    """Finding (iii) per corpus: rank (text) and share (colour) of the top groups and of the
    loudness and spectral-flux groups for correctly classified angry utterances."""
    if by_corpus.empty:
        return None
    overall = by_corpus.groupby("group")["share"].mean().sort_values(ascending=False)
    cols = list(overall.index[:n_groups])
    cols += [g for g in (*LOUDNESS_GROUPS, *FLUX_GROUPS) if g in overall.index
             and g not in cols]
    share = by_corpus.pivot_table(index="corpus", columns="group", values="share",
                                  sort=False)[cols]
    rank = by_corpus.pivot_table(index="corpus", columns="group", values="rank",
                                 sort=False)[cols]
    n = by_corpus.groupby("corpus", sort=False)["n_samples"].first()
    share.index = [f"{c} (n = {n[c]})" for c in share.index]
    text = rank.map(lambda r: f"#{r:.0f}" if np.isfinite(r) else "")
    return F.to_png(F.corpus_heatmap(
        share, "Finding (iii) per corpus: rank of each feature group for angry utterances",
        "share of |DeepLIFT|", 0, float(np.nanmax(share.to_numpy())), cmap="Blues",
        text=text))


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
                xlabel="decision score drop when the group is set to neutral mean",
                legend=("mean drop (the group supports the decision)",
                        "mean rise (it works against it)", "± 1 sd over utterances")))
        if "anger" in attr:
            attr["anger_by_corpus"] = FD.anger_by_corpus(attr["anger"])
            fig = anger_figure(attr["anger_by_corpus"])
            if fig is not None:
                png["anger_by_corpus"] = fig
        if "permutation" in attr:
            spread = (attr["permutation"].groupby(["test", "group", "seed", "fold"],
                                                  as_index=False)["importance"].mean())
            attr["permutation_spread"] = spread
            many = spread["test"].nunique() > 6  # many test sets: fewer bars per panel
            png["permutation"] = F.to_png(F.importance_bars(
                spread, panel="test", top=8 if many else 15, legend=("mean UA drop (the group matters)",
                                              "mean UA gain (permuting helps)",
                                              "± 1 sd over fits")))
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


#: Steps announced to ``progress`` (in this order, each once) by :func:`build_report`.
REPORT_STEPS = ("reading the results", "accuracy and finding (i)", "latent statistics",
                "attributions", "group ablation", "findings and per-corpus notes",
                "writing report.html")
#: Table rows a section shows outside ``<details>`` (longer tables are collapsed).
MAX_ROWS = 40


def build_report(results_dir, options: ReportOptions | None = None, progress=None,
                 **kwargs) -> Path:
    """Write ``report.html`` and ``interpret/`` (CSV/JSON/PNG) into a results directory.

    Args:
        results_dir: output folder of ``emolens run``.
        options: caps and switches (:class:`ReportOptions`); keyword arguments override its
            fields, e.g. ``build_report(dir, ablation=True)``.
        progress: optional callable, called with the description of each of
            :data:`REPORT_STEPS` as it starts (``emolens report`` draws a progress bar).

    Returns:
        Path of ``report.html``.

    Raises:
        ReportError: the folder is not a results directory.
    """
    with _one_thread():
        return _build(results_dir, options, progress, **kwargs)


def one_class_fits(preds: pd.DataFrame, model: str) -> pd.DataFrame:
    """Fits of ``model`` that predict a single class on a held-out test set.

    Returns:
        ``seed, fold, test, predicted, n`` (one row per such fit x test set).
    """
    held = preds[(preds["model"] == model) & (preds["role"] != "train")]
    g = held.groupby(["seed", "fold", "test"], sort=False)["y_pred"].agg(["nunique", "first",
                                                                          "size"])
    g = g[g["nunique"] == 1].reset_index()
    return g.rename(columns={"first": "predicted", "size": "n"})[
        ["seed", "fold", "test", "predicted", "n"]]


def _fit_label(preds: pd.DataFrame, model: str, seed, fold) -> str:
    """"seed 0 fold 1" (+ ", trained on X" when the run has several training sets)."""
    text = f"seed {seed} fold {fold}"
    if "train" in preds.columns and preds["train"].nunique() > 1:
        tr = preds.loc[(preds["model"] == model) & (preds["seed"] == seed)
                       & (preds["fold"] == fold), "train"].dropna().unique()
        if len(tr):
            text += f", trained on {'/'.join(map(str, tr))}"
    return text


def _long_table(frame: pd.DataFrame, title: str, fmt: str = "{:.3f}",
                limit: int = MAX_ROWS) -> str:
    """The table itself when it is short, else collapsed in ``<details>``."""
    if len(frame) <= limit:
        return H.table(frame, fmt)
    return H.details(f"{title} ({len(frame)} rows)", H.table(frame, fmt))


def _build(results_dir, options: ReportOptions | None = None, progress=None,
           **kwargs) -> Path:
    from emolens.report import per_corpus as PC

    t0 = time.perf_counter()
    step = progress or (lambda text: None)
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReportError(f"results directory {results_dir} does not exist")
    opts = options or ReportOptions()
    for k, v in kwargs.items():
        if not hasattr(opts, k):
            raise TypeError(f"unknown report option {k!r}")
        setattr(opts, k, v)
    if opts.latent_axes not in ("auto", "shared", "own"):
        raise ValueError(f"latent_axes must be 'auto', 'shared' or 'own', got "
                         f"{opts.latent_axes!r}")
    step(REPORT_STEPS[0])
    run = _read(results_dir)
    results, preds, manifest, features = run.results, run.predictions, run.manifest, run.features
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

    # Accuracy and finding (i)
    step(REPORT_STEPS[1])
    ua_wide, ua_long = accuracy_table(results, "ua")
    _write(out, "accuracy_ua", ua_long.drop(columns="cell"))
    f1 = finding_transfer(results, kinds, random_state=opts.random_state)
    findings.append(f1)
    by_test = pd.DataFrame()
    if "best_latent" in f1:
        by_test = FD.transfer_by_corpus(FD.paired_differences(results, f1["best_latent"],
                                                              f1["best_raw"]))
        _write(out, "transfer_by_corpus", by_test)
    cms = confusion_matrices(run)
    acc_body = (H.para("Unweighted accuracy (UA, mean of per-class recall; chance 25 %), mean "
                       "± sd over seeds × folds, in %.")
                + _long_table(ua_wide, "UA per model and test set"))
    if "wa" in results:
        wa_wide, wa_long = accuracy_table(results, "wa")
        _write(out, "accuracy_wa", wa_long.drop(columns="cell"))
        acc_body += H.details(f"Weighted accuracy (WA, share of utterances right), % "
                              f"({len(wa_wide)} rows)", H.table(wa_wide))
    if cms:
        acc_body += _confusion_block(cms, [f1.get("best_latent"), f1.get("best_raw")],
                                     budget=MAX_ROWS - min(len(ua_wide), MAX_ROWS) - 1)
    warn = [note["text"] for note in run.shift_notes]

    # Latent
    zmodels = [m for m in models if _zcols(preds[preds["model"] == m].dropna(axis=1, how="all"))]
    from emolens.models.autoencoder import AE_KINDS

    ae = [m for m in zmodels if kinds.get(m) in AE_KINDS]
    rep = (ae or zmodels or [None])[0]
    lat_body = phys_body = attr_body = per_body = ""
    attr: dict = {}
    lat: dict = {}
    if rep is None:
        for k in (2, 3, 4):
            step(REPORT_STEPS[k] + ": no latent")
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
        if opts.jobs > 1 and len(calls) > 1:
            step(REPORT_STEPS[2] + f" and {REPORT_STEPS[3]}, side by side")
            done = _run_tasks(calls, opts.jobs)
            step(REPORT_STEPS[3] + ": done")
        else:
            done = []
            for k, (f, args) in enumerate(calls):
                step(REPORT_STEPS[2 + k])
                done.append(f(*args))
            if len(calls) == 1:
                step(REPORT_STEPS[3] + ": no features")
        lat = done[0]
        attr = done[1] if len(done) > 1 else {}
        opts.timings["latent"] = lat["seconds"]
        step(REPORT_STEPS[4] + (" (27 refits)" if opts.ablation else ": off"))
        if features is not None and opts.ablation and "missing" not in attr:
            t = time.perf_counter()
            ab = ablation_analysis(results_dir, mine, manifest, features, rep, lat["fits"],
                                   opts)
            if ab is not None:
                attr["ablation"] = ab
            opts.timings["ablation"] = time.perf_counter() - t
        seed0, fold0 = lat["fits"][0]
        fit0 = _fit_label(mine, rep, seed0, fold0)
        lat_body = _latent_section(lat, rep, kinds, fit0, out, fig)
        phys_body = _physical_section(lat, fit0, fig)
        findings.append(finding_activation(lat, opts.random_state))
        _write(out, "activation_by_corpus", lat["rho_by_corpus"])
        if features is None:
            attr_body = H.para("features.parquet is missing: attributions skipped.")
        else:
            from emolens.features.groups import EMBEDDING_BLOCKS, has_embeddings

            if has_embeddings(features.columns):
                attr_body += H.para(
                    "These features include a pretrained encoder's embedding: its dimensions "
                    f"are attributed in {EMBEDDING_BLOCKS} blocks of consecutive dimensions "
                    "('embedding dims a-b', mean and std together), which have no physical "
                    "meaning. The physical interpretation of the 27 feature groups (pitch, "
                    "loudness, spectral flux...) applies to the eGeMAPS columns only.", "note")
            opts.timings["attribution"] = attr["seconds"]
            attr_body += _attribution_section(attr, mine, rep, fit0, (seed0, fold0), opts, out,
                                              fig)
    findings.append(finding_anger(attr, opts.random_state))
    step(REPORT_STEPS[5])
    _write(out, "findings", findings)
    _write(out, "findings", FD.findings_table(findings))

    # Findings, with their per-corpus view
    fb = "".join(H.verdict(f.get("status", "n/a"), f"({r}) {f['finding']}", f.get("text", ""),
                           f.get("interval", ""))
                 for r, f in zip(("i", "ii", "iii"), findings))
    fb += H.para(
        "Verdict rules (docs/interpretation.md): the mean decides the direction — within the "
        f"tie margin ({TIE_MARGIN * 100:.0f} UA point for (i), {FD.RHO_MARGIN} in |ρ| for (ii)) "
        "the badge says “no clear difference”, against the claim “does not hold”. In the "
        f"claimed direction a finding “holds” only when its {FD.LEVEL * 100:.0f} % bootstrap "
        "interval (over test corpora and, inside each, fits or utterances) excludes no effect "
        "and no corpus goes against it; otherwise it “partly holds”. (iii) holds when a "
        f"loudness and a spectral-flux group lead the DeepLIFT ranking for anger and stay in "
        f"the top {FD.TOP} across the resamples and on every corpus.", "note")
    per_figs = ""
    if "activation_by_corpus" in lat.get("png", {}):
        per_figs += H.figure(fig("activation_by_corpus", lat["png"]["activation_by_corpus"]),
                             "Finding (ii) per corpus: strongest |Spearman ρ| of a latent "
                             "dimension with activation and with valence inside each corpus, "
                             "and their difference (positive: activation ahead); mean over "
                             "fits (interpret/activation_by_corpus.csv has every fit).")
    if "anger_by_corpus" in attr.get("png", {}):
        _write(out, "anger_by_corpus", attr["anger_by_corpus"])
        per_figs += H.figure(fig("anger_by_corpus", attr["png"]["anger_by_corpus"]),
                             "Finding (iii) per corpus: rank (#) of each feature group by mean "
                             "|DeepLIFT| on correctly classified angry utterances of that "
                             "corpus (n: utterances × fits), colour = its share of the total "
                             "(interpret/anger_by_corpus.csv).")
    if not by_test.empty:
        t = by_test.assign(**{c: by_test[c] * 100 for c in ("ua_latent", "ua_raw", "diff",
                                                              "diff_sd")})
        t = t.rename(columns={"ua_latent": f"UA {f1['best_latent']} %",
                              "ua_raw": f"UA {f1['best_raw']} %", "diff": "difference",
                              "diff_sd": "sd over fits", "n_fits": "fits"})
        per_figs += H.details(f"Finding (i) per unseen corpus ({len(t)} rows; "
                              "interpret/transfer_by_corpus.csv)", H.table(t, "{:.1f}"))
    if per_figs:
        fb += "<h3>Per corpus</h3>" + per_figs
    page.section("Findings of the paper: hold or not?", fb)

    # What the run says per zero-shot corpus
    notes = PC.corpus_paragraphs(results, preds, f1, lat.get("angles"), warn)
    if not notes.empty:
        _write(out, "corpus_notes", notes)
        per_body = H.para("Generated from the numbers of this page (interpret/corpus_notes.csv):"
                          " each zero-shot corpus's UA against the mean, its dominant "
                          "confusions, whether its emotion layout rotates against the "
                          "training corpus (shift angle > 90° in the latent of "
                          f"{rep or 'the representative model'}), and the run's warnings.",
                          "note")
        per_body += '<div class="corpus">' + "".join(
            f"<p><strong>{H.esc(r.corpus)}.</strong> {H.esc(r.text)}</p>"
            for r in notes.itertuples()) + "</div>"
    if warn:
        items = "<ul>" + "".join(f"<li>{H.esc(w)}</li>" for w in warn) + "</ul>"
        per_body += ("<h3>Warnings of the run</h3>" + items if len(warn) <= 3 else
                     H.details(f"Warnings of the run ({len(warn)}, from summary.md)", items))
    if per_body:
        page.section("What this run says, per zero-shot corpus", per_body)
    page.section("Accuracy", acc_body)
    page.section("Latent space: emotion or corpus?", lat_body or H.para("n/a"))
    page.section("Physical interpretation", phys_body or H.para("n/a"))
    page.section("Input features", attr_body or H.para("n/a"))
    step(REPORT_STEPS[6])
    files = sorted(p.relative_to(results_dir).as_posix() for p in out.glob("*.*"))
    page.section("Files", H.para("Every number of this page is also in:")
                 + "<ul>" + "".join(f"<li><code>{H.esc(f)}</code></li>" for f in files)
                 + "</ul>")
    opts.timings["total"] = time.perf_counter() - t0
    path = results_dir / "report.html"
    path.write_text(page.render(), encoding="utf-8")
    return path


def _confusion_block(cms: dict, lead, budget: int) -> str:
    """Confusion matrices: those of the compared models shown when they fit in ``budget``
    table rows, every model's collapsed per model."""
    caption = ("share of each true class (row) predicted as each class, and the count, "
               "summed over seeds × folds (confusion/*.csv).")
    by_model: dict[str, dict] = {}
    for title, cm in cms.items():
        by_model.setdefault(title.split(" → ")[0], {})[title] = cm
    rows = lambda d: sum(len(cm) + 1 for cm in d.values())  # noqa: E731
    lead = [m for m in lead if m in by_model]
    shown = {t: cm for m in lead for t, cm in by_model[m].items()}
    body = ""
    if shown and rows(shown) <= budget:
        body += H.confusion_tables(shown, "Confusion matrices of "
                                   + " and ".join(lead) + " → held-out test set: " + caption)
    else:
        shown = {}
    rest = [m for m in by_model if not set(by_model[m]) <= set(shown)]
    if rest and len(cms) <= 4 and not shown and rows(cms) <= budget:
        return H.confusion_tables(cms, "Confusion matrices per model → held-out test set: "
                                  + caption)
    for m in rest:
        body += H.details(f"Confusion matrices of {m} ({len(by_model[m])} test sets)",
                          H.confusion_tables(by_model[m], "Confusion matrices: " + caption))
    return body


def _latent_section(lat: dict, rep: str, kinds: dict, fit0: str, out: Path, fig) -> str:
    for name in ("summary", "shifts", "angles", "separations", "max_rho", "spearman",
                 "group_rho", "verdicts", "means"):
        _write(out, f"latent_{name}" if name in ("summary", "shifts", "angles", "means")
               else name, lat[name])
    axes = lat.get("axes", "shared")
    body = H.para(f"Representative model: {rep} ({kinds.get(rep, '?')}), {len(lat['fits'])} "
                  f"fits (seeds × folds). The picture shows fit {fit0}, {lat['how']}, every "
                  "utterance of every corpus (training-corpus utterances included), "
                  + ("on shared axes." if axes == "shared" else
                     "each corpus on its own axes"
                     + (f" (on shared axes {', '.join(lat['squeezed'])} would be squeezed "
                        "by points of other corpora; `--latent-axes shared` draws them so)."
                        if lat.get("squeezed") else ".")))
    body += H.figure(fig("latent", lat["png"]["latent"]),
                     "Latent space per corpus, coloured by emotion, with per-emotion "
                     "densities on both axes; "
                     + ("shared axes show shifts and rotations between corpora."
                        if axes == "shared" else "own axes per corpus: compare shapes, not "
                        "positions (the arrows below compare positions)."))
    summ = (lat["summary"].groupby("factor", sort=False)
            .agg(levels=("n_levels", "first"), silhouette=("silhouette", "mean"),
                 silhouette_sd=("silhouette", "std"), kmeans_ami=("kmeans_ami", "mean"),
                 knn_balanced_accuracy=("knn_balanced_accuracy", "mean"),
                 knn_chance=("knn_chance", "first"), eta2=("eta2_pooled", "mean"))
            .reset_index())
    body += ("<h3>Does the latent cluster by emotion or by corpus?</h3>"
             + H.para("Mean over fits. Silhouette and k-means AMI: how well the latent "
                      "groups by the factor; k-NN: cross-validated balanced accuracy "
                      "of predicting the factor from the latent (speaker-grouped folds), "
                      "next to chance; eta²: share of latent variance explained by the "
                      "factor.") + H.table(summ))
    from emolens.report.per_corpus import canonical_angles

    ang = canonical_angles(lat["angles"]) if not lat["angles"].empty else lat["angles"]
    sh = (lat["shifts"].groupby(["corpus", "emotion"], sort=False)
          .agg(length=("length", "mean"), direction_deg=("direction_deg", "mean"))
          .reset_index())
    body += ("<h3>Emotion shifts per corpus</h3>"
             + H.para("Shift of each emotion's latent mean from neutral (after aligning every "
                      "fit to the first by orthogonal Procrustes, mean over fits), and the "
                      "angle between the same shift in two corpora: large angles mean a "
                      "corpus rotates the emotion layout."))
    if "shift_arrows" in lat["png"]:
        body += H.figure(fig("shift_arrows", lat["png"]["shift_arrows"]),
                         "Each arrow runs from a corpus's neutral mean (dot) to its angry / "
                         "sad / happy mean, in the aligned latent plane"
                         + (" (a PCA plane through the means: the latent has more than two "
                            "dimensions)" if len(lat["zcols"]) > 2 else "")
                         + "; training corpora drawn thick, their names in bold.")
    if "angle_heatmaps" in lat["png"]:
        body += H.figure(fig("angle_heatmaps", lat["png"]["angle_heatmaps"]),
                         "Angle (°) between the same emotion shift in every two corpora, "
                         "mean over fits: 0 = same direction, above 90 = the shift points "
                         "the other way.")
    body += H.details(f"Shift table ({len(sh)} rows; interpret/latent_shifts.csv)",
                      H.table(sh, "{:.2f}"))
    if not ang.empty:
        body += H.details(f"Angle table ({len(ang)} rows; interpret/latent_angles.csv)",
                          H.table(ang, "{:.1f}"))
    return body


def _physical_section(lat: dict, fit0: str, fig) -> str:
    body = H.figure(fig("separations", lat["png"]["separations"]),
                    "Bhattacharyya separation (1 − BC, Gaussian class model) of each emotion "
                    "pair along each latent dimension (aligned fits) and along ground-truth "
                    "activation and valence; boxes over seeds × folds.")
    body += "<h3>Verdict per dimension</h3><ul>" + "".join(
        f"<li>{H.esc(v)}</li>" for v in lat["verdicts"]["verdict"]) + "</ul>"
    body += H.para(f"Fit {fit0}, all utterances; Spearman ρ, Benjamini-Hochberg corrected "
                   "over all dimensions × targets; a feature group is summarised by its most "
                   "correlated column.", "note")
    body += H.figure(fig("correlations", lat["png"]["correlations"]),
                     "Spearman ρ of each latent dimension with activation, valence and each "
                     "eGeMAPS feature group (* FDR p < 0.05).")
    return body


def _attribution_section(attr: dict, preds: pd.DataFrame, rep: str, fit0: str, fit0_ids,
                         opts: ReportOptions, out: Path, fig) -> str:
    body = ""
    if "missing" in attr:
        return H.para(f"Attributions skipped: {attr['missing']}.")
    for name in ("deeplift", "occlusion", "permutation", "ablation", "anger"):
        if name in attr:
            _write(out, "deeplift_anger" if name == "anger" else name, attr[name])
    single = one_class_fits(preds, rep)
    if "deeplift" in attr:
        d = attr["deeplift"]
        absent = attr.get("deeplift_absent", [])
        body += H.figure(
            fig("deeplift", attr["png"]["deeplift"]),
            f"DeepLIFT attributions of the {d['sample'].nunique()} correctly classified "
            f"held-out samples (fit {fit0}) to the latent dimensions, summed per feature "
            "group; reference: the neutral-class mean of the scaled training features; per "
            "true emotion, groups sorted by mean |attribution|."
            + (f" No panel for {', '.join(absent)}: this fit classified no held-out "
               f"{' or '.join(absent)} utterance correctly." if absent else ""))
    if "occlusion" in attr:
        body += H.figure(
            fig("occlusion", attr["png"]["occlusion"]),
            "Attribution of the whole pipeline's decision: drop of the predicted class's "
            "decision score when a feature group is replaced by its neutral training mean "
            "(captum FeatureAblation), per predicted emotion; bars: mean ± sd over samples.")
    if "permutation" in attr:
        spread = attr["permutation_spread"]
        body += H.figure(
            fig("permutation", attr["png"]["permutation"]),
            f"Held-out permutation importance of the whole pipeline per test set and feature "
            f"group ({opts.n_repeats} joint shuffles of the group's columns; mean ± sd over "
            f"{spread[['seed', 'fold']].drop_duplicates().shape[0]} fits).")
        used = spread[["seed", "fold", "test"]].drop_duplicates()
        hit = single.merge(used, on=["seed", "fold", "test"])
        if not hit.empty:
            body += H.para(
                "Caveat: " + "; ".join(f"fit seed {r.seed} fold {r.fold} predicts only "
                                      f"“{r.predicted}” on {r.test}" for r in
                                      hit.itertuples())
                + ". A fit that predicts one class everywhere scores chance UA whatever its "
                "inputs, so its permutation importances are 0 and say nothing about the "
                "features; they pull the means above towards 0.", "note")
    if "ablation" in attr:
        ab = attr["ablation"].sort_values("delta")
        seed0, fold0 = fit0_ids
        body += ("<h3>Group ablation</h3>"
                 + H.para(f"Retrained without each feature group (fit {fit0}); delta = UA "
                          "without − UA with, on the zero-shot test sets.")
                 + H.para("One refit per group, each a new (narrower) network: differences "
                          "of a few points are retraining noise; look at the large drops. "
                          "Correlated groups (e.g. loudness and equivalent sound level) can "
                          "stand in for each other, so removing one may cost little.", "note"))
        p0 = preds[(preds["seed"] == seed0) & (preds["fold"] == fold0)
                   & (preds["role"] == "test")]
        first = single[(single["seed"] == seed0) & (single["fold"] == fold0)
                       & single["test"].isin(p0["test"].unique())]
        if not p0.empty and p0["y_pred"].nunique() == 1:
            body += H.para(f"Caveat: the full fit predicts “{p0['y_pred'].iloc[0]}” for every "
                           "zero-shot utterance (UA at chance): the deltas below measure "
                           "nothing about the features.", "note")
        elif not first.empty:
            body += H.para("Caveat: the full fit predicts only one class on "
                           + ", ".join(f"{r.test} (“{r.predicted}”)" for r in
                                       first.itertuples())
                           + "; its UA there is chance whatever the inputs, so those "
                           "utterances add nothing but noise to the deltas.", "note")
        body += H.table(ab)
    else:
        body += H.para("Group ablation (retraining without each feature group) was not run: "
                       "`emolens report DIR --ablation`, or `[report] ablation = true` in the "
                       "experiment file.", "note")
    return body
