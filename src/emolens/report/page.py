"""Page assembly of ``report.html``: HTML sections from the report's analyses.

Every function here turns a :class:`emolens.report.analyses.ReportData` (tables, findings,
PNG bytes) into HTML; none computes a statistic, reads or writes a file.
"""

from __future__ import annotations

import pandas as pd

from emolens.report import findings as FD
from emolens.report import html as H
from emolens.report.analyses import (ReportData, ReportOptions, clustering_table, fit_label,
                                     first_fit_collapse, shift_table)

#: Table rows a section shows outside ``<details>`` (longer tables are collapsed).
MAX_ROWS = 40

_HOW_TO_READ = (
    "<strong>How to read this report.</strong> Every model was trained on the training "
    "corpus (or corpora) and tested on held-out speakers of it (test sets named "
    "<code>corpus:valid</code>) and, zero-shot, on corpora it never saw (plain corpus "
    "names). Start with the three "
    "findings of the paper (Das et al. 2021): each box says whether it holds in this run and "
    "on which numbers. <em>Accuracy</em> gives the unweighted accuracy (UA, mean recall of the "
    "four emotions; chance 25 %) per model and test set. The remaining sections look inside "
    "one representative model with a 2-D latent (the first autoencoder model, else the first "
    "with a latent, such as a map of the fusion's decision): whether its latent space groups "
    "utterances by emotion or by corpus, what each latent dimension measures (activation, "
    "valence, feature groups), and which feature groups drive the latent and the decision. "
    "Numbers are "
    "mean ± sd over seeds × folds unless said otherwise; every number is also in "
    "<code>interpret/*.csv</code>, and the methods are in docs/interpretation.md.")


def report_page(data: ReportData, opts: ReportOptions, files: list[str]) -> H.Page:
    """The whole page.

    Args:
        data: the analyses (:func:`emolens.report.build.build_report` computes them).
        opts: the options they ran with.
        files: the files written beside the page (relative to the results directory).

    Returns:
        the :class:`emolens.report.html.Page`; ``render()`` gives the HTML.
    """
    run, models = data.run, data.run.models
    page = H.Page(title=f"emolens report: {run.directory.name}",
                  meta=H.esc(f"{len(run.results)} result rows · models: {', '.join(models)} · "
                             f"{run.manifest['corpus'].nunique()} corpora, "
                             f"{len(run.manifest)} utterances"),
                  intro=_HOW_TO_READ)
    page.section("Findings of the paper: hold or not?", findings_section(data))
    per_body = corpus_section(data)
    if per_body:
        page.section("What this run says, per zero-shot corpus", per_body)
    page.section("Accuracy", accuracy_section(data))
    page.section("Latent space: emotion or corpus?", latent_section(data) or H.para("n/a"))
    page.section("Physical interpretation", physical_section(data) or H.para("n/a"))
    page.section("Input features", attribution_section(data, opts) or H.para("n/a"))
    page.section("Files", H.para("Every number of this page is also in:")
                 + "<ul>" + "".join(f"<li><code>{H.esc(f)}</code></li>" for f in files)
                 + "</ul>")
    return page


def _long_table(frame: pd.DataFrame, title: str, fmt: str = "{:.3f}",
                limit: int = MAX_ROWS) -> str:
    """The table itself when it is short, else collapsed in ``<details>``."""
    if len(frame) <= limit:
        return H.table(frame, fmt)
    return H.details(f"{title} ({len(frame)} rows)", H.table(frame, fmt))


def _first_fit(data: ReportData) -> str:
    return fit_label(data.predictions, data.explained, *data.fits[0])


# -- findings ------------------------------------------------------------------------------
def findings_section(data: ReportData) -> str:
    """The three verdicts, their rules and their per-corpus figures and table."""
    lat, attr, f1 = data.latent, data.attribution, data.transfer
    body = "".join(H.verdict(f.get("status", "n/a"), f"({r}) {f['finding']}",
                             f.get("text", ""), f.get("interval", ""))
                   for r, f in zip(("i", "ii", "iii"), data.findings))
    body += H.para(
        "Verdict rules (docs/interpretation.md): the mean decides the direction — within the "
        f"tie margin ({FD.TIE_MARGIN * 100:.0f} UA point for (i), {FD.RHO_MARGIN} in |ρ| for "
        "(ii)) the badge says “no clear difference”, against the claim “does not hold”. In the "
        f"claimed direction a finding “holds” only when its {FD.LEVEL * 100:.0f} % bootstrap "
        "interval (over test corpora and, inside each, fits or utterances) excludes no effect "
        "and no corpus goes against it; otherwise it “partly holds”. (iii) holds when a "
        f"loudness and a spectral-flux group lead the DeepLIFT ranking for anger and stay in "
        f"the top {FD.TOP} across the resamples and on every corpus.", "note")
    per_corpus = (
        (lat, "activation_by_corpus",
         "Finding (ii) per corpus: strongest |Spearman ρ| of a latent dimension with activation "
         "and with valence inside each corpus, and their difference (positive: activation "
         "ahead); mean over fits (interpret/activation_by_corpus.csv has every fit)."),
        (attr, "anger_by_corpus",
         "Finding (iii) per corpus: rank (#) of each feature group by mean |DeepLIFT| on "
         "correctly classified angry utterances of that corpus (n: utterances × fits), colour "
         "= its share of the total (interpret/anger_by_corpus.csv)."))
    per_figs = "".join(H.figure(part["png"][name], caption)
                       for part, name, caption in per_corpus if name in part.get("png", {}))
    by_test = data.transfer_by_corpus
    if not by_test.empty:
        t = by_test.assign(**{c: by_test[c] * 100 for c in ("ua_latent", "ua_raw", "diff",
                                                              "diff_sd")})
        t = t.rename(columns={"ua_latent": f"UA {f1['best_latent']} %",
                              "ua_raw": f"UA {f1['best_raw']} %", "diff": "difference",
                              "diff_sd": "sd over fits", "n_fits": "fits"})
        per_figs += H.details(f"Finding (i) per unseen corpus ({len(t)} rows; "
                              "interpret/transfer_by_corpus.csv)", H.table(t, "{:.1f}"))
    if per_figs:
        body += "<h3>Per corpus</h3>" + per_figs
    return body


def corpus_section(data: ReportData) -> str:
    """One paragraph per zero-shot corpus, and the run's warnings ("" when neither)."""
    notes, warn = data.corpus_notes, data.warnings
    body = ""
    if not notes.empty:
        body = H.para("Generated from the numbers of this page (interpret/corpus_notes.csv):"
                      " each zero-shot corpus's UA against the mean, its dominant "
                      "confusions, whether its emotion layout rotates against the "
                      "training corpus (shift angle > 90° in the latent of "
                      f"{data.model or 'the representative model'}), and the run's warnings.",
                      "note")
        body += '<div class="corpus">' + "".join(
            f"<p><strong>{H.esc(r.corpus)}.</strong> {H.esc(r.text)}</p>"
            for r in notes.itertuples()) + "</div>"
    if warn:
        items = "<ul>" + "".join(f"<li>{H.esc(w)}</li>" for w in warn) + "</ul>"
        body += ("<h3>Warnings of the run</h3>" + items if len(warn) <= 3 else
                 H.details(f"Warnings of the run ({len(warn)}, from summary.md)", items))
    return body


# -- accuracy ------------------------------------------------------------------------------
def accuracy_section(data: ReportData) -> str:
    """UA (and WA) per model and test set, and the confusion matrices."""
    ua_wide, _ = data.accuracy["ua"]
    body = _selection_block(data.run.selection)
    body += (H.para("Unweighted accuracy (UA, mean of per-class recall; chance 25 %), mean "
                    "± sd over seeds × folds, in %.")
             + _long_table(ua_wide, "UA per model and test set"))
    body += _adaptation_block(data.adaptation)
    if "wa" in data.accuracy:
        wa_wide, _ = data.accuracy["wa"]
        body += H.details(f"Weighted accuracy (WA, share of utterances right), % "
                          f"({len(wa_wide)} rows)", H.table(wa_wide))
    if data.confusions:
        lead = [data.transfer.get("best_latent"), data.transfer.get("best_raw")]
        body += _confusion_block(data.confusions, lead,
                                 budget=MAX_ROWS - min(len(ua_wide), MAX_ROWS) - 1)
    return body


def _adaptation_block(table: pd.DataFrame | None) -> str:
    """Which zero-shot test sets were predicted after adapting to them ("" when none)."""
    if table is None or table.empty:
        return ""
    return (H.para("Adapted to the test corpus (adapt = \"pseudo-labels\"): these "
                   "models predicted each zero-shot test set after a second classifier, trained "
                   "on its own most confident predictions (no label read), was averaged in. "
                   "A fit counts as adapted when the test set gave at least 5 confident "
                   "utterances of every class (results.csv, column adapted). The last two "
                   "columns are the same fits scored before and after adapting (mean over "
                   "fits; results.csv, ua_unadapted and ua).",
                   "note")
            + H.table(table, "{:.1f}"))


def _selection_block(selection: pd.DataFrame | None) -> str:
    """The leave-one-corpus-out table of a run with ``[select]`` ("" without one)."""
    if selection is None or selection.empty:
        return ""
    table = selection.set_index("model")
    winner = table.index[table["selected"].astype(bool)]
    table = table.drop(columns="selected")
    table.index = [f"{m} (selected)" if m in set(winner) else m for m in table.index]
    table.index.name = "model"
    return ("<h3>Selection: leave one corpus out</h3>"
            + H.para("Each candidate model trained on all training corpora but one and tested "
                     "zero-shot on the held-out one, for every rotation (UA %, mean over the "
                     "selection seeds; selection.csv). The highest mean was selected; the test "
                     "corpora played no part. The rows below are the selected model's.", "note")
            + H.table(table.reset_index(), "{:.1f}"))


def _confusion_block(confusions, lead, budget: int) -> str:
    """Confusion matrices: those of the compared models shown when they fit in ``budget``
    table rows, every model's collapsed per model."""
    caption = ("share of each true class (row) predicted as each class, and the count, "
               "summed over seeds × folds (confusion/*.csv).")
    cms = {title: cm for _, title, cm in confusions}
    by_model: dict[str, dict] = {}
    for model, title, cm in confusions:
        by_model.setdefault(model, {})[title] = cm
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


# -- latent --------------------------------------------------------------------------------
def latent_section(data: ReportData) -> str:
    """The latent picture, clustering by emotion vs corpus, and the emotion shifts."""
    if data.model is None:
        return H.para("No model of this run has a latent (z1..zk in predictions.parquet); "
                      "latent analyses skipped.")
    lat, rep = data.latent, data.model
    axes = lat.get("axes", "shared")
    body = H.para(f"Representative model: {rep} ({data.kinds.get(rep, '?')}), "
                  f"{len(lat['fits'])} fits (seeds × folds). The picture shows fit "
                  f"{_first_fit(data)}, {lat['how']}, every utterance of every corpus "
                  "(training-corpus utterances included), "
                  + ("on shared axes." if axes == "shared" else
                     "each corpus on its own axes"
                     + (f" (on shared axes {', '.join(lat['squeezed'])} would be squeezed "
                        "by points of other corpora; `--latent-axes shared` draws them so)."
                        if lat.get("squeezed") else ".")))
    body += H.figure(lat["png"]["latent"],
                     "Latent space per corpus, coloured by emotion, with per-emotion "
                     "densities on both axes; "
                     + ("shared axes show shifts and rotations between corpora."
                        if axes == "shared" else "own axes per corpus: compare shapes, not "
                        "positions (the arrows below compare positions)."))
    body += ("<h3>Does the latent cluster by emotion or by corpus?</h3>"
             + H.para("Mean over fits. Silhouette and k-means AMI: how well the latent "
                      "groups by the factor; k-NN: cross-validated balanced accuracy "
                      "of predicting the factor from the latent (speaker-grouped folds), "
                      "next to chance; eta²: share of latent variance explained by the "
                      "factor.") + H.table(clustering_table(lat["summary"])))
    return body + _shift_block(lat)


def _shift_block(lat: dict) -> str:
    from emolens.report.per_corpus import canonical_angles

    ang = canonical_angles(lat["angles"]) if not lat["angles"].empty else lat["angles"]
    sh = shift_table(lat["shifts"])
    body = ("<h3>Emotion shifts per corpus</h3>"
            + H.para("Shift of each emotion's latent mean from neutral (after aligning every "
                     "fit to the first by orthogonal Procrustes, mean over fits), and the "
                     "angle between the same shift in two corpora: large angles mean a "
                     "corpus rotates the emotion layout."))
    if "shift_arrows" in lat["png"]:
        body += H.figure(lat["png"]["shift_arrows"],
                         "Each arrow runs from a corpus's neutral mean (dot) to its angry / "
                         "sad / happy mean, in the aligned latent plane"
                         + (" (a PCA plane through the means: the latent has more than two "
                            "dimensions)" if len(lat["zcols"]) > 2 else "")
                         + "; training corpora drawn thick, their names in bold.")
    if "angle_heatmaps" in lat["png"]:
        body += H.figure(lat["png"]["angle_heatmaps"],
                         "Angle (°) between the same emotion shift in every two corpora, "
                         "mean over fits: 0 = same direction, above 90 = the shift points "
                         "the other way.")
    body += H.details(f"Shift table ({len(sh)} rows; interpret/latent_shifts.csv)",
                      H.table(sh, "{:.2f}"))
    if not ang.empty:
        body += H.details(f"Angle table ({len(ang)} rows; interpret/latent_angles.csv)",
                          H.table(ang, "{:.1f}"))
    return body


def physical_section(data: ReportData) -> str:
    """Pair separations, verdict per dimension and correlations ("" without a latent)."""
    if data.model is None:
        return ""
    lat = data.latent
    body = H.figure(lat["png"]["separations"],
                    "Bhattacharyya separation (1 − BC, Gaussian class model) of each emotion "
                    "pair along each latent dimension (aligned fits) and along ground-truth "
                    "activation and valence; boxes over seeds × folds.")
    body += "<h3>Verdict per dimension</h3><ul>" + "".join(
        f"<li>{H.esc(v)}</li>" for v in lat["verdicts"]["verdict"]) + "</ul>"
    body += H.para(f"Fit {_first_fit(data)}, all utterances; Spearman ρ, Benjamini-Hochberg "
                   "corrected over all dimensions × targets; a feature group is summarised by "
                   "its most correlated column.", "note")
    body += H.figure(lat["png"]["correlations"],
                     "Spearman ρ of each latent dimension with activation, valence and each "
                     "eGeMAPS feature group (* FDR p < 0.05).")
    return body


# -- attribution ---------------------------------------------------------------------------
def attribution_section(data: ReportData, opts: ReportOptions) -> str:
    """DeepLIFT, occlusion, permutation importance and ablation of the explained model."""
    if data.explained is None:
        return ""
    if data.run.features is None:
        return H.para("features.parquet is missing: attributions skipped.")
    from emolens.features.groups import EMBEDDING_BLOCKS, has_embeddings

    body = ""
    if has_embeddings(data.run.features.columns):
        body += H.para(
            "These features include a pretrained encoder's embedding: its dimensions "
            f"are attributed in {EMBEDDING_BLOCKS} blocks of consecutive dimensions "
            "('embedding dims a-b', mean and std together), which have no physical "
            "meaning. The physical interpretation of the feature groups (pitch, "
            "loudness, spectral flux...) applies to the eGeMAPS and ComParE columns only.",
            "note")
    attr = data.attribution
    if "missing" in attr:
        return body + H.para(f"Attributions skipped: {attr['missing']}.")
    body += _attribution_figures(data, opts)
    if attr.get("permutation_skipped"):
        body += H.para("No permutation importance: this model has no latent and "
                       f"{data.run.features.shape[1]} feature columns, where shuffling each "
                       "group on every test set would take minutes per corpus; the occlusion "
                       "above explains its decisions.", "note")
    if "ablation" in attr:
        body += _ablation_block(data)
    else:
        body += H.para("Group ablation (retraining without each feature group) was not run: "
                       "`emolens report DIR --ablation`, or `[report] ablation = true` in the "
                       "experiment file.", "note")
    return body


def _attribution_figures(data: ReportData, opts: ReportOptions) -> str:
    attr, fit0 = data.attribution, _first_fit(data)
    body = ""
    if "deeplift" in attr:
        d = attr["deeplift"]
        absent = attr.get("deeplift_absent", [])
        body += H.figure(
            attr["png"]["deeplift"],
            f"DeepLIFT attributions of the {d['sample'].nunique()} correctly classified "
            f"held-out samples (fit {fit0}) to the latent dimensions, summed per feature "
            "group; reference: the neutral-class mean of the scaled training features; per "
            "true emotion, groups sorted by mean |attribution|."
            + (f" No panel for {', '.join(absent)}: this fit classified no held-out "
               f"{' or '.join(absent)} utterance correctly." if absent else ""))
    if "occlusion" in attr:
        body += H.figure(
            attr["png"]["occlusion"],
            "Attribution of the whole pipeline's decision: drop of the predicted class's "
            "decision score when a feature group is replaced by its neutral training mean "
            "(captum FeatureAblation), per predicted emotion; bars: mean ± sd over samples.")
    if "permutation" in attr:
        spread = attr["permutation_spread"]
        body += H.figure(
            attr["png"]["permutation"],
            f"Held-out permutation importance of the whole pipeline per test set and feature "
            f"group ({opts.n_repeats} joint shuffles of the group's columns; mean ± sd over "
            f"{spread[['seed', 'fold']].drop_duplicates().shape[0]} fits).")
        used = spread[["seed", "fold", "test"]].drop_duplicates()
        hit = data.one_class.merge(used, on=["seed", "fold", "test"])
        if not hit.empty:
            body += H.para(
                "Caveat: " + "; ".join(f"fit seed {r.seed} fold {r.fold} predicts only "
                                      f"“{r.predicted}” on {r.test}" for r in
                                      hit.itertuples())
                + ". A fit that predicts one class everywhere scores chance UA whatever its "
                "inputs, so its permutation importances are 0 and say nothing about the "
                "features; they pull the means above towards 0.", "note")
    return body


def _ablation_block(data: ReportData) -> str:
    ab = data.attribution["ablation"].sort_values("delta")
    body = ("<h3>Group ablation</h3>"
            + H.para(f"Retrained without each feature group (fit {_first_fit(data)}); delta = "
                     "UA without − UA with, on the zero-shot test sets.")
            + H.para("One refit per group, each a new (narrower) network: differences "
                     "of a few points are retraining noise; look at the large drops. "
                     "Correlated groups (e.g. loudness and equivalent sound level) can "
                     "stand in for each other, so removing one may cost little.", "note"))
    everywhere, first = first_fit_collapse(data.predictions, data.one_class, *data.fits[0])
    if everywhere is not None:
        body += H.para(f"Caveat: the full fit predicts “{everywhere}” for every "
                       "zero-shot utterance (UA at chance): the deltas below measure "
                       "nothing about the features.", "note")
    elif not first.empty:
        body += H.para("Caveat: the full fit predicts only one class on "
                       + ", ".join(f"{r.test} (“{r.predicted}”)" for r in
                                   first.itertuples())
                       + "; its UA there is chance whatever the inputs, so those "
                       "utterances add nothing but noise to the deltas.", "note")
    return body + H.table(ab)
