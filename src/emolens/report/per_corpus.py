"""Per-corpus tables of the report: shift arrows, angle matrices, and the plain-language
"what this run says" paragraph of every zero-shot corpus.

Pure functions on tables (results, predictions, the latent statistics of
:mod:`emolens.report.analyses`); they return DataFrames / strings and write nothing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from emolens import LABELS
from emolens.report.findings import unseen_mask
from emolens.results import infer_test_sets

#: A true class is "confused" when its recall is below this ...
RECALL_BELOW = 0.5
#: ... and the wrong predictions named are those taking at least this share of the class.
CONFUSION_SHARE = 0.2
#: A model "calls most utterances X" when one class takes this share of its predictions.
COLLAPSE = 0.6
#: A shift angle is called uncertain when one shift is shorter than this share of the other.
SHORT_SHIFT = 0.25
#: UA within this many points of the mean is "about the mean".
NEAR_MEAN = 0.02


def mean_positions(means: pd.DataFrame, zcols) -> pd.DataFrame:
    """Mean over fits of every corpus x emotion latent mean (aligned fits).

    Args:
        means: rows of :func:`emolens.interpret.emotion_means` for several fits.
        zcols: latent columns.

    Returns:
        ``corpus, emotion, n, <zcols>`` (``n``: utterances in one fit).
    """
    g = means.groupby(["corpus", "emotion"], sort=False)
    out = g[list(zcols)].mean()
    out.insert(0, "n", g["n"].max())
    return out.reset_index()


def canonical_angles(angles: pd.DataFrame) -> pd.DataFrame:
    """Mean over fits of each emotion x corpus-pair angle, every pair in one order.

    Fits list a pair in the order their corpora appear (``a, b`` in one, ``b, a`` in
    another); the pair is sorted before averaging.

    Returns:
        ``emotion, corpus_a, corpus_b, angle_deg, angle_sd, length_ratio, n_fits``
        (``length_ratio`` = length_b / length_a after sorting).
    """
    a = angles.copy()
    if "length_ratio" not in a:
        a["length_ratio"] = np.nan
    swap = a["corpus_a"].astype(str) > a["corpus_b"].astype(str)
    a.loc[swap, ["corpus_a", "corpus_b"]] = a.loc[swap, ["corpus_b", "corpus_a"]].to_numpy()
    a.loc[swap, "length_ratio"] = 1.0 / a.loc[swap, "length_ratio"]
    return (a.groupby(["emotion", "corpus_a", "corpus_b"], sort=False)
            .agg(angle_deg=("angle_deg", "mean"), angle_sd=("angle_deg", "std"),
                 length_ratio=("length_ratio", "mean"), n_fits=("angle_deg", "size"))
            .reset_index())


def angle_matrix(angles: pd.DataFrame, emotion: str, corpora=None) -> pd.DataFrame:
    """Corpus x corpus matrix of the mean angle (degrees) between one emotion's shifts.

    Args:
        angles: rows of :func:`emolens.interpret.shift_angles` (several fits allowed).
        emotion: which emotion's shift.
        corpora: row/column order (default: as found).

    Returns:
        Symmetric DataFrame, 0 on the diagonal, NaN where a corpus lacks the emotion.
    """
    a = canonical_angles(angles[angles["emotion"] == emotion])
    m = a.set_index(["corpus_a", "corpus_b"])["angle_deg"]
    if corpora is None:
        corpora = list(pd.unique(pd.concat([a["corpus_a"], a["corpus_b"]])))
    out = pd.DataFrame(np.nan, index=list(corpora), columns=list(corpora))
    for (x, y), v in m.items():
        if x in out.index and y in out.index:
            out.loc[x, y] = out.loc[y, x] = v
    for c in out.index:
        if out.loc[c].notna().any():
            out.loc[c, c] = 0.0
    return out


def confusion_shares(preds: pd.DataFrame, model: str, test: str) -> pd.DataFrame:
    """Row-normalised confusion (true x predicted) of ``model`` on the unseen rows of ``test``,
    summed over fits."""
    p = preds[(preds["model"] == model) & (preds["test"].astype(str) == test)]
    p = p[unseen_mask(p).to_numpy()] if {"test", "role"} <= set(p.columns) else p
    labels = [lab for lab in LABELS if lab in set(p["y_true"]) | set(p["y_pred"])]
    cm = pd.crosstab(p["y_true"], p["y_pred"]).reindex(index=labels, columns=labels,
                                                        fill_value=0)
    return cm.div(cm.sum(axis=1).replace(0, np.nan), axis=0)


def _av(label: str) -> tuple[float, float]:
    from emolens.corpora.schema import category_av

    return category_av(label)


def describe_confusions(shares: pd.DataFrame, most: int = 2) -> tuple[str, list[dict]]:
    """Plain words for the dominant confusions of a row-normalised confusion matrix.

    Args:
        shares: row-normalised confusion matrix (true x predicted).
        most: classes described (lowest recall first); the others are counted.

    Returns:
        ``(text, rows)``: e.g. "angry utterances were called neutral 50 % and sad 49 % of
        the time: anger is expressed with lower activation here than the model learned", and
        one dict per confused class (``true, recall, called``).
    """
    rows = []
    recall = pd.Series({t: shares.loc[t].get(t, 0.0) for t in shares.index}).fillna(1.0)
    for true in recall.sort_values(kind="stable").index:
        row = shares.loc[true].dropna()
        if row.empty or row.get(true, 0.0) >= RECALL_BELOW:
            continue
        wrong = row.drop(true, errors="ignore")
        wrong = wrong[wrong >= CONFUSION_SHARE].sort_values(ascending=False)
        if wrong.empty:
            continue
        called = " and ".join(f"{p} {v * 100:.0f} %" for p, v in wrong.items())
        text = f"{true} utterances were called {called} of the time"
        # the hint follows the largest confusion
        a_t, v_t = _av(true)
        a_p, v_p = _av(wrong.index[0])
        noun = {"angry": "anger", "sad": "sadness", "happy": "happiness"}.get(true, true)
        if abs(a_p - a_t) >= 0.3:
            text += (f": {noun} is expressed with {'lower' if a_p < a_t else 'higher'} "
                     "activation here than the model learned")
        elif abs(v_p - v_t) >= 0.3:
            text += ": the activation is recognised, the valence is not"
        rows.append({"true": true, "recall": float(row.get(true, 0.0)),
                     "called": dict(wrong.round(3)), "text": text})
    text = "; ".join(r["text"] for r in rows[:most])
    if len(rows) > most:
        rest = [r["true"] for r in rows[most:]]
        text += f" (also below {RECALL_BELOW * 100:.0f} % recall: {', '.join(rest)})"
    return text, rows


def _predicted_shares(preds: pd.DataFrame, model: str, test: str) -> pd.Series:
    """Share of each predicted class on the unseen rows of ``test``, largest first."""
    p = preds[(preds["model"] == model) & (preds["test"].astype(str) == test)]
    p = p[unseen_mask(p).to_numpy()] if {"test", "role"} <= set(p.columns) else p
    return p["y_pred"].astype(str).value_counts(normalize=True)


def _warnings_for(corpus: str, warnings) -> list[str]:
    pat = re.compile(rf"(?<![\w-]){re.escape(corpus)}(?![\w-])")
    return [w for w in warnings if pat.search(w)]


def corpus_paragraphs(results: pd.DataFrame, preds: pd.DataFrame, finding: dict,
                      angles: pd.DataFrame | None = None, warnings=(),
                      models=None, test_sets: pd.DataFrame | None = None) -> pd.DataFrame:
    """The "what this run says" paragraph of every zero-shot corpus, from the numbers.

    Args:
        results: ``results.csv``.
        preds: ``predictions.parquet``.
        finding: finding (i) (gives the latent and raw model compared; else ``models``).
        angles: :func:`emolens.interpret.shift_angles` rows of the representative model
            (several fits allowed), or None.
        warnings: warning lines of the run (shifts.json).
        models: models to quote when the finding names none (default: the first two).
        test_sets: the run's test sets (:attr:`emolens.results.RunResults.test_sets`); their
            ``train_corpora`` are the corpora an angle is measured against (default: from
            ``results`` by :func:`emolens.results.infer_test_sets`).

    Returns:
        One row per zero-shot corpus: ``corpus, model, ua, ua_mean, other_model, other_ua,
        other_ua_mean, confusions, max_angle, rotated, warnings, text``.
    """
    sel = results[unseen_mask(results)]
    tests = list(pd.unique(sel["test"].astype(str)))
    if not tests:
        return pd.DataFrame()
    names = ([finding["best_latent"], finding["best_raw"]] if "best_latent" in finding
             else list(models or pd.unique(results["model"]))[:2])
    per = sel.groupby(["model", "test"])["ua"].mean()
    mean = per.groupby("model").mean()
    if test_sets is None:
        test_sets = infer_test_sets(results)
    train = sorted({str(c) for corpora in test_sets["train_corpora"] for c in corpora})
    canon = (canonical_angles(angles).set_index(["emotion", "corpus_a", "corpus_b"])
             if angles is not None and not angles.empty else None)
    rows = []
    for t in tests:
        model = names[0]
        text, accuracy = _accuracy_sentence(t, names, per, mean, len(tests))
        said, conf = _confusion_sentences(preds, model, t)
        layout, max_angle, rotated = _layout_sentence(t, canon, train)
        warned = _warnings_for(t, warnings)
        rows.append({"corpus": t, "model": model, **accuracy, "confusions": conf, "max_angle": max_angle,
                     "rotated": ", ".join(f[0] for f in rotated),
                     "warnings": len(warned),
                     "text": text + said + layout + _warning_sentence(warned)})
    return pd.DataFrame(rows)


def _accuracy_sentence(test: str, names, per: pd.Series, mean: pd.Series, n_tests: int
                       ) -> tuple[str, dict]:
    """UA of the first model on ``test`` against its mean (and the second model's); returns
    the sentence and the columns ``ua, ua_mean`` (+ ``other_model, other_ua,
    other_ua_mean``)."""
    model = names[0]
    ua = float(per.get((model, test), np.nan))
    m = float(mean.get(model, np.nan))
    where = ("about its mean" if abs(ua - m) <= NEAR_MEAN
             else "above its mean" if ua > m else "below its mean")
    text = (f"{model} reached {ua * 100:.1f} % UA here, {where} of {m * 100:.1f} % over "
            f"the {n_tests} unseen corpora")
    columns = {"ua": ua, "ua_mean": m}
    if len(names) > 1 and (names[1], test) in per.index:
        o = names[1]
        columns.update(other_model=o, other_ua=float(per[(o, test)]),
                       other_ua_mean=float(mean[o]))
        text += f" ({o}: {per[(o, test)] * 100:.1f} %, its mean {mean[o] * 100:.1f} %)"
    return text + ".", columns


def _confusion_sentences(preds: pd.DataFrame, model: str, test: str) -> tuple[str, str]:
    """A collapse onto one class and the dominant confusions; returns the sentences and the
    confusions' words."""
    text = ""
    called = _predicted_shares(preds, model, test)
    if len(called) and called.iloc[0] >= COLLAPSE:
        text += (f" {model} calls {called.iloc[0] * 100:.0f} % of its utterances "
                 f"{called.index[0]}.")
    conf, _ = describe_confusions(confusion_shares(preds, model, test))
    if conf:
        text += f" With {model}, {conf}."
    else:
        text += f" With {model}, every emotion is recognised at least half the time."
    return text, conf


def _layout_sentence(test: str, canon: pd.DataFrame | None, train) -> tuple[str, float, list]:
    """Whether the emotion shifts of ``test`` rotate against the training corpora.

    Args:
        canon: :func:`canonical_angles` indexed by ``emotion, corpus_a, corpus_b``, or None.

    Returns:
        ``(sentence, largest angle, rotated)``; ``rotated``: ``(emotion, training corpus,
        angle, short)`` of the angles above 90°.
    """
    if canon is None:
        return "", np.nan, []
    found = []
    for (emo, a, b), v in canon["angle_deg"].items():
        if (a == test and b in train) or (b == test and a in train):
            r = canon["length_ratio"][(emo, a, b)]
            short = bool(np.isfinite(r)) and not SHORT_SHIFT <= r <= 1 / SHORT_SHIFT
            found.append((emo, a if b == test else b, v, short))
    if not found:
        return "", np.nan, []
    rotated = [f for f in found if f[2] > 90]
    if rotated:
        text = (" Its emotion layout rotates against the training corpus: the "
                + ", ".join(f"{e} shift points {v:.0f}° away from {c}'s"
                            + (" (one of the two shifts is under a quarter of the other's "
                               "length, so its direction says little)" if short else "")
                            for e, c, v, short in rotated) + ".")
    else:
        e, c, v, _ = max(found, key=lambda f: f[2])
        text = (" Its emotion layout lines up with the training corpus (every "
                f"shift within 90°; largest: {e}, {v:.0f}° from {c}).")
    return text, max(f[2] for f in found), rotated


def _warning_sentence(warned: list[str]) -> str:
    if not warned:
        return ""
    return (f" The run flagged it ({len(warned)} warning"
            f"{'' if len(warned) == 1 else 's'} at the end of this section): its "
            "inputs lie outside the training distribution, so part of this is a "
            "shift of the features, not of the emotions.")
