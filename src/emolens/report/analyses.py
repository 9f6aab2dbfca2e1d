"""The report's analyses: tables and values from a results directory, no HTML.

The interpretation is run for one representative model (the first autoencoder model of the
run, else the first model with a latent) and all its seeds x folds (spread, box plots);
pictures and attributions use its first fit. Per-dimension statistics pooled over fits are
computed after aligning each fit's latent to the first one (orthogonal Procrustes on the
files every fit shares), because an autoencoder's latent axes are only defined up to
rotation/reflection; rotation-invariant statistics (silhouette, AMI, k-NN, pooled eta²) do
not need it.

The statistics themselves are the pure functions of :mod:`emolens.interpret` and
:mod:`emolens.report.findings`; this module wires them to the tables of
:class:`emolens.results.RunResults` and to the pipelines saved with the run.
:mod:`emolens.report.build` runs them and :mod:`emolens.report.page` shows them.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from emolens import LABELS
from emolens.interpret import attribution as at
from emolens.interpret import latent_stats as ls
from emolens.interpret import physical as ph
from emolens.report import findings as FD
from emolens.results import RunResults, latent_columns


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


@dataclass
class ReportData:
    """Everything the page shows: the run, and what the analyses made of it.

    Attributes:
        run: the results directory, read.
        kinds: model label -> reduce kind (:func:`model_kinds`).
        accuracy: ``"ua"``/``"wa"`` -> ``(wide, long)`` tables (:func:`accuracy_table`).
        transfer: finding (i); ``transfer_by_corpus`` its per-corpus rows.
        confusions: ``(model, page title, counts)`` (:func:`titled_confusions`).
        warnings: the run's distribution-shift warnings (text).
        model: the representative model (None without a latent).
        explained: the model whose decisions the attributions explain: the representative
            model, else the run's first; ``fits`` its ``(seed, fold)`` pairs,
            ``predictions`` its rows.
        latent: :func:`latent_analysis` (+ ``png``, ``how``, ``axes``, ``squeezed``).
        attribution: :func:`attribution_analysis` (+ ``png``, ``ablation``, ...).
        one_class: :func:`one_class_fits` of the representative model.
        findings: the three findings (dicts), in order.
        corpus_notes: :func:`emolens.report.per_corpus.corpus_paragraphs`.
        adaptation: :func:`emolens.evaluation.runner.adaptation_table` (None when no model
            adapts to its test sets).
    """

    run: RunResults
    kinds: dict
    accuracy: dict
    transfer: dict
    transfer_by_corpus: pd.DataFrame
    confusions: dict
    warnings: list
    model: str | None = None
    explained: str | None = None
    fits: list = field(default_factory=list)
    predictions: pd.DataFrame | None = None
    latent: dict = field(default_factory=dict)
    attribution: dict = field(default_factory=dict)
    one_class: pd.DataFrame = field(default_factory=pd.DataFrame)
    findings: list = field(default_factory=list)
    corpus_notes: pd.DataFrame = field(default_factory=pd.DataFrame)
    adaptation: pd.DataFrame | None = None


# -- the run -------------------------------------------------------------------------------
def model_kinds(results_dir: Path, models) -> dict[str, str]:
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


def representative_model(run: RunResults, kinds: dict[str, str]) -> str | None:
    """The model the latent and attribution sections look inside: the first autoencoder model
    with a latent, else the first model with one, else None."""
    from emolens.models.autoencoder import AE_KINDS

    preds = run.predictions
    zmodels = [m for m in run.models
               if latent_columns(preds[preds["model"] == m].dropna(axis=1, how="all"))]
    ae = [m for m in zmodels if kinds.get(m) in AE_KINDS]
    return (ae or zmodels or [None])[0]


def fit_ids(preds: pd.DataFrame, model: str) -> list[tuple[int, int]]:
    """``(seed, fold)`` of every fit of ``model``, in order of appearance."""
    p = preds[preds["model"] == model]
    return [tuple(x) for x in p[["seed", "fold"]].drop_duplicates().itertuples(index=False)]


def fit_rows(preds: pd.DataFrame, model: str, seed, fold) -> pd.DataFrame:
    """The prediction rows of one fit of ``model``."""
    return preds[(preds["model"] == model) & (preds["seed"] == seed) & (preds["fold"] == fold)]


def fit_label(preds: pd.DataFrame, model: str, seed, fold) -> str:
    """"seed 0 fold 1" (+ ", trained on X" when the run has several training sets)."""
    text = f"seed {seed} fold {fold}"
    if "train" in preds.columns and preds["train"].nunique() > 1:
        tr = fit_rows(preds, model, seed, fold)["train"].dropna().unique()
        if len(tr):
            text += f", trained on {'/'.join(map(str, tr))}"
    return text


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


def training_corpora(preds: pd.DataFrame, manifest: pd.DataFrame) -> list[str]:
    """Corpora of the utterances some fit trained on (role ``train``)."""
    files = preds.loc[preds["role"] == "train", "file"].unique()
    corpus = manifest.drop_duplicates("file").set_index("file")["corpus"].astype(str)
    return list(pd.unique(corpus.reindex(files).dropna()))


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


def titled_confusions(run: RunResults) -> list[tuple[str, str, pd.DataFrame]]:
    """``(model, page title, counts)`` of the run's confusion matrices (confusion/*.csv,
    summed over seeds x folds), grouped and ordered as on disk: per model x (training set,
    held-out test set). The title names the training set only where a model has several
    (pairwise, leave-one-corpus-out)."""
    present = set()
    for cm in run.confusions.values():
        present |= {c for c in cm.index if cm.loc[c].sum() > 0}
        present |= {c for c in cm.columns if cm[c].sum() > 0}
    labels = [lab for lab in LABELS if lab in present]
    trains: dict[str, set] = {}
    for model, train, _ in run.confusions:
        trains.setdefault(model, set()).add(train)
    out = []
    for (model, train, test), cm in run.confusions.items():
        title = f"{model} → {test}" + (f" (trained on {train})" if len(trains[model]) > 1 else "")
        out.append((model, title, cm.reindex(index=labels, columns=labels, fill_value=0)))
    return out


def confusion_matrices(run: RunResults) -> dict[str, pd.DataFrame]:
    """Page title -> counts of :func:`titled_confusions`."""
    return {title: cm for _, title, cm in titled_confusions(run)}


# -- latent --------------------------------------------------------------------------------
def fit_latent(preds, manifest, model, seed, fold) -> pd.DataFrame:
    """One fit's latent, one row per file, joined with the manifest."""
    p = fit_rows(preds, model, seed, fold).drop_duplicates("file")
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


def _references(d: pd.DataFrame) -> list[str]:
    """The ground-truth dimensions (activation, valence) ``d`` has values for."""
    return [v for v in ("activation", "valence") if v in d and d[v].notna().any()]


def _clustering(d: pd.DataFrame, Z: np.ndarray, random_state: int) -> pd.DataFrame:
    """Corpus-vs-emotion clustering statistics of one fit (the costly part)."""
    factors = {"emotion": d["emotion"], "corpus": d["corpus"]}
    for extra in ("language", "speaker"):
        if extra in d and d[extra].nunique() > 1:
            factors[extra] = d[extra]
    return ls.corpus_emotion_summary(Z, factors, groups=d.get("speaker"),
                                     random_state=random_state)


def _fit_statistics(d: pd.DataFrame, Za: np.ndarray, zc) -> dict:
    """Shifts, means, angles, pair separations and correlations of one aligned fit."""
    sh = ls.emotion_shifts(Za, d["emotion"], d["corpus"], columns=zc)
    out = {"shifts": sh, "means": ls.emotion_means(Za, d["emotion"], d["corpus"], columns=zc),
           "angles": ls.shift_angles(sh)}
    da = d.copy()
    da[zc] = Za
    refs = _references(d)
    out["separations"] = ph.pair_separations(
        da.dropna(subset=refs), zc + refs, labels=[x for x in LABELS if x in set(d["emotion"])])
    if refs:
        t = ph.spearman_table(d[zc], d[refs])
        out["max_rho"] = {f"max_abs_rho_{v}": float(t.loc[t["target"] == v, "rho"].abs().max())
                          for v in refs}
        out["rho_by_corpus"] = ph.max_abs_rho_by(d[zc], d[refs], d["corpus"].rename("corpus"))
    return out


def _reference_correlations(ref: pd.DataFrame, zc, features) -> dict:
    """Correlations and verdicts of the first fit, with every feature column."""
    targets = ref[_references(ref)].reset_index(drop=True)
    group_of = {}
    if features is not None:
        from emolens.features.groups import column_groups

        groups = column_groups(features.columns)  # eGeMAPS groups, embedding blocks
        f = features.reindex(ref["file"]).reset_index(drop=True)
        targets = pd.concat([targets, f], axis=1)
        group_of = {c: g for g, cols in groups.items() for c in cols}
    table = ph.spearman_table(ref[zc], targets, group_of=group_of)
    return {"spearman": table, "group_rho": ph.group_correlations(table),
            "verdicts": ph.dimension_verdicts(table)}


def latent_analysis(preds, manifest, features, model, opts: ReportOptions) -> dict:
    """Corpus-vs-emotion statistics and physical interpretation over all fits of ``model``."""
    zc = latent_columns(preds[preds["model"] == model].dropna(axis=1, how="all"))
    fits = fit_ids(preds, model)
    ref = fit_latent(preds, manifest, model, *fits[0])
    summaries, parts = [], {k: [] for k in ("shifts", "angles", "separations", "max_rho",
                                            "rho_by_corpus", "means")}
    for seed, fold in fits:
        d = ref if (seed, fold) == fits[0] else fit_latent(preds, manifest, model, seed, fold)
        Z = d[zc].to_numpy(float)
        if len(summaries) < opts.max_fits:  # the costly part: k-means, k-NN CV, silhouette
            summaries.append(_clustering(d, Z, opts.random_state).assign(seed=seed, fold=fold))
        stats = _fit_statistics(d, _align(Z, list(d["file"]), ref, zc), zc)
        for name, value in stats.items():
            parts[name].append({"seed": seed, "fold": fold, **value} if name == "max_rho"
                               else value.assign(seed=seed, fold=fold))
    return {"zcols": zc, "fits": fits, "reference": ref,
            "train_corpora": training_corpora(preds[preds["model"] == model], manifest),
            "summary": pd.concat(summaries, ignore_index=True),
            "shifts": pd.concat(parts["shifts"], ignore_index=True),
            "angles": pd.concat(parts["angles"], ignore_index=True),
            "separations": pd.concat(parts["separations"], ignore_index=True),
            "max_rho": pd.DataFrame(parts["max_rho"]),
            "rho_by_corpus": (pd.concat(parts["rho_by_corpus"], ignore_index=True)
                              if parts["rho_by_corpus"] else pd.DataFrame()),
            "means": pd.concat(parts["means"], ignore_index=True),
            **_reference_correlations(ref, zc, features)}


def clustering_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean over fits of the clustering statistics per factor (emotion, corpus, ...)."""
    return (summary.groupby("factor", sort=False)
            .agg(levels=("n_levels", "first"), silhouette=("silhouette", "mean"),
                 silhouette_sd=("silhouette", "std"), kmeans_ami=("kmeans_ami", "mean"),
                 knn_balanced_accuracy=("knn_balanced_accuracy", "mean"),
                 knn_chance=("knn_chance", "first"), eta2=("eta2_pooled", "mean"))
            .reset_index())


def shift_table(shifts: pd.DataFrame) -> pd.DataFrame:
    """Mean over fits of each corpus x emotion shift from neutral (length, direction)."""
    return (shifts.groupby(["corpus", "emotion"], sort=False)
            .agg(length=("length", "mean"), direction_deg=("direction_deg", "mean"))
            .reset_index())


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
@dataclass
class _Saved:
    """The saved fits of one model, with the inputs they take."""

    results_dir: Path
    preds: pd.DataFrame
    manifest: pd.DataFrame
    features: pd.DataFrame
    model: str

    def pipeline(self, seed, fold):
        """The fit's saved pipeline, or None when the run saved none."""
        folder = Path(self.results_dir) / "models" / self.model / f"seed{seed}_fold{fold}"
        if not (folder / "pipeline.json").is_file():
            return None
        from emolens.models import load_pipeline

        return load_pipeline(folder)

    def rows(self, seed, fold) -> pd.DataFrame:
        return fit_rows(self.preds, self.model, seed, fold)

    def inputs(self, files) -> pd.DataFrame:
        """Model input of ``files`` (features + the manifest's group columns)."""
        from emolens.features import model_input

        m = self.manifest.set_index("file").loc[list(files)].reset_index()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model_input(self.features, m)

    @cached_property
    def groups(self) -> dict:
        from emolens.features.groups import column_groups

        return column_groups(self.features.columns)  # eGeMAPS groups, embedding blocks


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``frame``, or ``n`` of its rows drawn with ``seed`` when it has more."""
    return frame if len(frame) <= n else frame.sample(n=n, random_state=seed)


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


def anger_deeplift(saved: _Saved, first: pd.DataFrame, fits, opts: ReportOptions
                   ) -> pd.DataFrame:
    """DeepLIFT rows of the correctly classified angry utterances of up to ``max_fits`` fits
    (finding iii and its interval), ``first`` being the first fit's DeepLIFT."""
    cols, groups = list(saved.features.columns), saved.groups
    seed, fold = fits[0]
    anger = [first[first["emotion"] == "angry"].assign(seed=seed, fold=fold)]
    for s, f in fits[1: opts.max_fits]:
        pipe = saved.pipeline(s, f)
        q = saved.rows(s, f)
        tr = q[q["role"] == "train"].drop_duplicates("file")
        ok = q[(q["role"] != "train") & (q["y_true"] == q["y_pred"])
               & (q["y_true"] == "angry")].drop_duplicates("file")
        if pipe is None or ok.empty or tr[tr["y_true"] == "neutral"].empty:
            continue
        ok = sample_rows(ok, opts.max_samples, opts.random_state)
        anger.append(_deeplift(pipe, saved.inputs(tr["file"]),
                               (tr["y_true"] == "neutral").to_numpy(), saved.inputs(ok["file"]),
                               ok, cols, groups).assign(seed=s, fold=f))
    anger = pd.concat(anger, ignore_index=True)
    corpus_of = saved.manifest.drop_duplicates("file").set_index("file")["corpus"].astype(str)
    anger["corpus"] = anger["sample"].map(corpus_of)
    return anger


def decision_occlusion(pipe, X: pd.DataFrame, reference: np.ndarray, rows: pd.DataFrame,
                       groups) -> pd.DataFrame:
    """Drop of the predicted class's decision score when a feature group of ``X`` is set to
    ``reference`` (captum FeatureAblation), one row per file x group."""
    cols = list(X.columns)
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

    target = np.array([classes.index(c) for c in rows["y_pred"].astype(str)])
    occ = at.group_occlusion(score, X.to_numpy(float), reference, target, groups, cols)
    occ.insert(0, "emotion", rows["y_pred"].astype(str).to_numpy())
    occ.insert(0, "file", rows["file"].to_numpy())
    return occ.melt(id_vars=["file", "emotion"], var_name="group", value_name="score_drop")


def permutation_importance(saved: _Saved, fits, opts: ReportOptions, first=None
                           ) -> pd.DataFrame | None:
    """Held-out permutation importance per test set and feature group over up to
    ``max_fits`` fits (``first``: the first fit's pipeline, already loaded)."""
    rows = []
    for s, f in fits[: opts.max_fits]:
        pipe = first if first is not None and (s, f) == fits[0] else saved.pipeline(s, f)
        if pipe is None:
            continue
        q = saved.rows(s, f)
        for t, g in q[q["role"] != "train"].groupby("test", sort=False):
            g = sample_rows(g.drop_duplicates("file"), opts.max_samples, opts.random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                imp = at.grouped_permutation_importance(
                    pipe, saved.inputs(g["file"]), g["y_true"].astype(str).to_numpy(),
                    saved.groups, n_repeats=opts.n_repeats, random_state=opts.random_state)
            rows.append(imp.assign(test=t, seed=s, fold=f))
    return pd.concat(rows, ignore_index=True) if rows else None


#: A model without a latent on more feature columns than this gets no permutation importance
#: in the report: one joint shuffle per group, repeat, fit and test set of a ComParE-wide
#: input costs minutes per test corpus; the decision occlusion still explains it.
PERMUTATION_MAX_COLUMNS = 1000


def attribution_analysis(results_dir, preds, manifest, features, model, fits,
                         opts: ReportOptions, permutation: bool = True) -> dict:
    """DeepLIFT, decision occlusion and permutation importance (unless ``permutation`` is
    False: then ``permutation_skipped`` is True) for ``model``.

    Returns:
        ``deeplift`` (first fit, correctly classified held-out utterances),
        ``deeplift_absent``, ``anger`` (:func:`anger_deeplift`), ``occlusion``,
        ``permutation``; or ``{"missing": reason}``.
    """
    saved = _Saved(results_dir, preds, manifest, features, model)
    seed, fold = fits[0]
    pipe = saved.pipeline(seed, fold)
    if pipe is None:
        return {"missing": f"no saved pipeline in models/{model}/seed{seed}_fold{fold}"}
    p = saved.rows(seed, fold)
    train = p[p["role"] == "train"].drop_duplicates("file")
    held = p[p["role"] != "train"].drop_duplicates("file")
    right = sample_rows(held[held["y_true"] == held["y_pred"]], opts.max_samples, opts.random_state)
    X_train, X = saved.inputs(train["file"]), saved.inputs(right["file"])
    neutral = train["y_true"].to_numpy() == "neutral"
    if not neutral.any():
        return {"missing": "no neutral training sample for the DeepLIFT reference"}
    out: dict = {}
    # DeepLIFT on the encoder, reference = neutral mean of the scaled training features
    if getattr(pipe.named_steps.get("reduce"), "encoder_", None) is not None:
        out["deeplift"] = _deeplift(pipe, X_train, neutral, X, right, list(features.columns),
                                    saved.groups)
        out["deeplift_absent"] = [e for e in LABELS if e in set(held["y_true"].astype(str))
                                  and e not in set(right["y_true"].astype(str))]
        out["anger"] = anger_deeplift(saved, out["deeplift"], fits, opts)
    # decision occlusion by group, reference = neutral mean of the raw training features
    out["occlusion"] = decision_occlusion(pipe, X, X_train.to_numpy(float)[neutral].mean(0),
                                          right, saved.groups)
    if not permutation:
        out["permutation_skipped"] = True
        return out
    perm = permutation_importance(saved, fits, opts, first=pipe)
    if perm is not None:
        out["permutation"] = perm
    return out


def permutation_spread(permutation: pd.DataFrame) -> pd.DataFrame:
    """Mean importance per test set x group x fit (the spread the page shows)."""
    return (permutation.groupby(["test", "group", "seed", "fold"], as_index=False)
            ["importance"].mean())


def ablation_analysis(results_dir, preds, manifest, features, model, fits,
                      opts: ReportOptions) -> pd.DataFrame | None:
    """Retrain the first fit's pipeline without each feature group (``opts.jobs`` processes)
    and score it on that fit's zero-shot test sets (its held-out fold if it has none)."""
    from sklearn.base import clone

    saved = _Saved(results_dir, preds, manifest, features, model)
    seed, fold = fits[0]
    pipe = saved.pipeline(seed, fold)
    if pipe is None:
        return None
    p = saved.rows(seed, fold)
    train = p[p["role"] == "train"].drop_duplicates("file")
    held = p[p["role"] != "train"].drop_duplicates("file")
    tests = held[held["role"] == "test"]
    if tests.empty:
        tests = held
    X_train, Xte = saved.inputs(train["file"]), saved.inputs(tests["file"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return at.group_ablation(
            clone(pipe), X_train, train["y_true"].astype(str).to_numpy(), Xte,
            tests["y_true"].astype(str).to_numpy(), saved.groups, n_jobs=opts.jobs)


def first_fit_collapse(preds: pd.DataFrame, one_class: pd.DataFrame, seed, fold
                       ) -> tuple[str | None, pd.DataFrame]:
    """Whether the fit ``(seed, fold)`` predicts one class on its zero-shot rows.

    Returns:
        ``(label, tests)``: the one label it predicts for every zero-shot utterance (else
        None), and the rows of ``one_class`` for its zero-shot test sets.
    """
    p0 = preds[(preds["seed"] == seed) & (preds["fold"] == fold) & (preds["role"] == "test")]
    first = one_class[(one_class["seed"] == seed) & (one_class["fold"] == fold)
                      & one_class["test"].isin(p0["test"].unique())]
    everywhere = p0["y_pred"].iloc[0] if not p0.empty and p0["y_pred"].nunique() == 1 else None
    return everywhere, first


def finding_anger(attr: dict, random_state: int = 0) -> dict:
    """Finding (iii): anger is driven mostly by loudness and spectral flux
    (:func:`emolens.report.findings.finding_anger` on the angry DeepLIFT rows)."""
    anger = attr.get("anger")
    if anger is None and attr.get("deeplift") is not None:
        anger = attr["deeplift"][attr["deeplift"]["emotion"] == "angry"]
    return FD.finding_anger(anger, random_state=random_state)
