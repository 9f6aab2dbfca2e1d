"""Build ``report.html`` and ``interpret/*.csv|json|png`` from a results directory.

:func:`build_report` reads the folder (:mod:`emolens.results`), runs the analyses of
:mod:`emolens.report.analyses` (the latent and the attribution parts side by side in worker
processes, each with its figures), writes their tables into ``interpret/`` and assembles the
page (:mod:`emolens.report.page`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emolens.evaluation.runner import adaptation_table
from emolens.report import analyses as A
from emolens.report import figures as F
from emolens.report import findings as FD
from emolens.report.analyses import ReportData, ReportOptions
from emolens.report.page import report_page
from emolens.results import INTERPRET_DIR, REPORT, ResultsError, RunResults
from emolens.results import load as load_results

__all__ = ["REPORT_STEPS", "ReportError", "ReportOptions", "build_report", "interpret_tables"]


class ReportError(ValueError):
    """The results directory cannot be reported on (missing or malformed files)."""


#: Steps announced to ``progress`` (in this order, each once) by :func:`build_report`.
REPORT_STEPS = ("reading the results", "accuracy and finding (i)", "latent statistics",
                "attributions", "group ablation", "findings and per-corpus notes",
                "writing report.html")


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
        t0 = time.perf_counter()
        step = progress or (lambda text: None)
        results_dir = Path(results_dir)
        if not results_dir.is_dir():
            raise ReportError(f"results directory {results_dir} does not exist")
        opts = _options(options, kwargs)
        step(REPORT_STEPS[0])
        data = analyse(_read(results_dir), opts, step)
        out = results_dir / INTERPRET_DIR
        for name, obj in interpret_tables(data).items():
            _write(out, name, obj)
        for name, png in {**data.latent.get("png", {}),
                          **data.attribution.get("png", {})}.items():
            (out / "figures").mkdir(parents=True, exist_ok=True)
            (out / "figures" / f"{name}.png").write_bytes(png)
        step(REPORT_STEPS[6])
        files = sorted(p.relative_to(results_dir).as_posix() for p in out.glob("*.*"))
        page = report_page(data, opts, files)
        opts.timings["total"] = time.perf_counter() - t0
        path = results_dir / REPORT
        path.write_text(page.render(), encoding="utf-8")
        return path


def _options(options: ReportOptions | None, overrides: dict) -> ReportOptions:
    """``options`` (default: :class:`ReportOptions`) with ``overrides`` set, checked."""
    opts = options or ReportOptions()
    for k, v in overrides.items():
        if not hasattr(opts, k):
            raise TypeError(f"unknown report option {k!r}")
        setattr(opts, k, v)
    if opts.latent_axes not in ("auto", "shared", "own"):
        raise ValueError(f"latent_axes must be 'auto', 'shared' or 'own', got "
                         f"{opts.latent_axes!r}")
    return opts


def _read(results_dir: Path) -> RunResults:
    """The results directory through :func:`emolens.results.load` (the one reader)."""
    try:
        return load_results(results_dir)
    except ResultsError as err:
        raise ReportError(str(err)) from None


# -- analyses ------------------------------------------------------------------------------
def analyse(run: RunResults, opts: ReportOptions, step=lambda text: None) -> ReportData:
    """Every analysis of the report (steps 1-5 of :data:`REPORT_STEPS`), with the figures.

    Args:
        run: the results directory, read.
        opts: caps and switches; ``opts.timings`` gets the seconds of the costly parts.
        step: called with each step's description as it starts.

    Returns:
        :class:`emolens.report.analyses.ReportData`.
    """
    from emolens.report import per_corpus as PC

    results = run.results
    kinds = A.model_kinds(run.directory, run.models)
    step(REPORT_STEPS[1])
    accuracy = {"ua": A.accuracy_table(results, "ua")}
    f1 = FD.finding_transfer(results, kinds, random_state=opts.random_state)
    by_test = pd.DataFrame()
    if "best_latent" in f1:
        by_test = FD.transfer_by_corpus(FD.paired_differences(results, f1["best_latent"],
                                                              f1["best_raw"]))
    if "wa" in results:
        accuracy["wa"] = A.accuracy_table(results, "wa")
    data = ReportData(run, kinds, accuracy, f1, by_test, A.titled_confusions(run),
                      [note["text"] for note in run.shift_notes],
                      model=A.representative_model(run, kinds),
                      adaptation=adaptation_table(results))
    data.explained = data.model or (run.models[0] if run.models else None)
    if data.explained is None:
        for k in (2, 3, 4):
            step(REPORT_STEPS[k] + ": no model")
    else:
        _analyse_model(data, opts, step)
    if data.model is None:
        activation = {"finding": "the latent models activation more than valence",
                      "status": "n/a", "text": "no latent in this run"}
    else:
        activation = A.finding_activation(data.latent, opts.random_state)
    data.findings = [f1, activation, A.finding_anger(data.attribution, opts.random_state)]
    step(REPORT_STEPS[5])
    data.corpus_notes = PC.corpus_paragraphs(results, run.predictions, f1,
                                             data.latent.get("angles"), data.warnings,
                                             test_sets=run.test_sets)
    return data


def _analyse_model(data: ReportData, opts: ReportOptions, step) -> None:
    """Latent (of the representative model, when there is one), attributions and ablation
    of the explained model, into ``data``."""
    run, rep = data.run, data.explained
    mine = run.predictions[run.predictions["model"] == rep]
    data.predictions, data.fits = mine, A.fit_ids(mine, rep)
    # The two costly parts (with their figures) run side by side in ``jobs`` processes.
    calls = {}
    if data.model is not None:
        calls["latent"] = (_latent_task, (mine, run.manifest, run.features, rep, opts))
    else:
        step(REPORT_STEPS[2] + ": no latent")
    if run.features is not None:
        permute = (data.model is not None
                   or run.features.shape[1] <= A.PERMUTATION_MAX_COLUMNS)
        calls["attribution"] = (_attribution_task, (run.directory, mine, run.manifest,
                                                    run.features, rep, data.fits, opts,
                                                    permute))
    if opts.jobs > 1 and len(calls) > 1:
        step(REPORT_STEPS[2] + f" and {REPORT_STEPS[3]}, side by side")
        done = dict(zip(calls, _run_tasks(list(calls.values()), opts.jobs)))
        step(REPORT_STEPS[3] + ": done")
    else:
        done = {}
        for name, (f, args) in calls.items():
            step(REPORT_STEPS[2 if name == "latent" else 3])
            done[name] = f(*args)
        if "attribution" not in calls:
            step(REPORT_STEPS[3] + ": no features")
    data.latent = done.get("latent", {})
    data.attribution = done.get("attribution", {})
    if data.latent:
        opts.timings["latent"] = data.latent["seconds"]
    step(REPORT_STEPS[4] + (" (27 refits)" if opts.ablation else ": off"))
    if run.features is not None and opts.ablation and "missing" not in data.attribution:
        t = time.perf_counter()
        ab = A.ablation_analysis(run.directory, mine, run.manifest, run.features, rep,
                                 data.fits, opts)
        if ab is not None:
            data.attribution["ablation"] = ab
        opts.timings["ablation"] = time.perf_counter() - t
    if run.features is not None:
        opts.timings["attribution"] = data.attribution["seconds"]
    data.one_class = A.one_class_fits(mine, rep)


def interpret_tables(data: ReportData) -> dict[str, object]:
    """The files of ``interpret/`` (name with extension -> DataFrame or JSON value)."""
    out: dict[str, object] = {"accuracy_ua.csv": data.accuracy["ua"][1].drop(columns="cell")}
    if "best_latent" in data.transfer:
        out["transfer_by_corpus.csv"] = data.transfer_by_corpus
    if "wa" in data.accuracy:
        out["accuracy_wa.csv"] = data.accuracy["wa"][1].drop(columns="cell")
    lat, attr = data.latent, data.attribution
    if data.model is not None:
        for name in ("summary", "shifts", "angles", "separations", "max_rho", "spearman",
                     "group_rho", "verdicts", "means"):
            latent = name in ("summary", "shifts", "angles", "means")
            out[f"latent_{name}.csv" if latent else f"{name}.csv"] = lat[name]
        out["activation_by_corpus.csv"] = lat["rho_by_corpus"]
    for name in ("deeplift", "occlusion", "permutation", "ablation", "anger"):
        if name in attr:
            out["deeplift_anger.csv" if name == "anger" else f"{name}.csv"] = attr[name]
    out["findings.json"] = data.findings
    out["findings.csv"] = FD.findings_table(data.findings)
    if "anger_by_corpus" in attr.get("png", {}):
        out["anger_by_corpus.csv"] = attr["anger_by_corpus"]
    if not data.corpus_notes.empty:
        out["corpus_notes.csv"] = data.corpus_notes
    return out


def _write(out: Path, name: str, obj) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(obj, pd.DataFrame):
        obj.to_csv(out / name, index=False)
    else:
        (out / name).write_text(json.dumps(obj, indent=1, default=_json), encoding="utf-8")


def _json(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    return str(o)


# -- the two costly parts, with their figures (in worker processes when jobs > 1) ---------
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
        lat = A.latent_analysis(preds, manifest, features, model, opts)
        zc, ref = lat["zcols"], lat["reference"]
        if len(zc) == 2:
            pic, xl, yl, how = ref, zc[0], zc[1], "the 2-D latent itself"
        else:
            pic = A.sample_rows(ref, opts.tsne_samples, opts.random_state).copy()
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
    act = A.activation_by_corpus(lat["rho_by_corpus"])
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
    cols += [g for g in (*FD.LOUDNESS_GROUPS, *FD.FLUX_GROUPS) if g in overall.index
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
                      opts: ReportOptions, permutation: bool = True) -> dict:
    """Attributions of ``model`` and their figures (PNG bytes)."""
    with _one_thread():
        t = time.perf_counter()
        attr = A.attribution_analysis(results_dir, preds, manifest, features, model, fits, opts,
                                      permutation)
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
            spread = A.permutation_spread(attr["permutation"])
            attr["permutation_spread"] = spread
            many = spread["test"].nunique() > 6  # many test sets: fewer bars per panel
            png["permutation"] = F.to_png(F.importance_bars(
                spread, panel="test", top=8 if many else 15,
                legend=("mean UA drop (the group matters)", "mean UA gain (permuting helps)",
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
