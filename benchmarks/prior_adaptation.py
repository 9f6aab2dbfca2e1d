"""Test-time class-prior adaptation on leave-one-corpus-out (issue 10, "per-corpus class-prior
correction"): does re-weighting the class probabilities of a held-out corpus help?

    python benchmarks/prior_adaptation.py        # about 1 min on 2 cores, warm feature cache

The model is the shrink-10, corpus-balanced logistic regression (C = 0.1) of
``benchmarks/transfer.py``. On each held-out corpus its probabilities are used as they are
(``none``), re-weighted by the class priors that EM estimates on the unlabelled test corpus
(``em``, Saerens et al. 2002), or balanced so that every class gets the same mean
probability over the corpus (``uniform``, Sinkhorn iterations), or adapted by its own
pseudo-labels (``pseudo-labels``: ``emolens.models.PseudoLabels``, as ``adapt =
"pseudo-labels"`` and ``emolens predict``). Conditions: those of
``transfer.py`` (all, few, skewed) plus ``neutral-heavy``: every neutral utterance of the
corpus and 30 % of the others, as in natural corpora where most speech is neutral. No label of
the held-out corpus is used. Output: markdown on stdout.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from transfer import CORPORA, NAMES, arrays, condition, load, markdown, normalise

CONDITIONS = ("all", "few", "skewed", "neutral-heavy")


def em_priors(P: np.ndarray, iters: int = 100) -> np.ndarray:
    """Posteriors re-weighted by the test priors EM estimates (training priors uniform)."""
    prior = np.full(P.shape[1], 1.0 / P.shape[1])
    q = P
    for _ in range(iters):
        q = P * prior
        q /= q.sum(1, keepdims=True)
        prior = q.mean(0)
    return q


def uniform(P: np.ndarray, iters: int = 100) -> np.ndarray:
    """Posteriors scaled so that every class has the same mean over the corpus."""
    q = P.copy()
    for _ in range(iters):
        q = q / q.mean(0, keepdims=True)
        q /= q.sum(1, keepdims=True)
    return q


def test_rows(manifest: pd.DataFrame, test: str, kind: str, seed: int) -> np.ndarray:
    if kind != "neutral-heavy":
        return condition(manifest, test, kind, seed=seed)
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero((manifest["corpus"] == test).to_numpy())
    lab = manifest["label4"].iloc[rows]
    keep = lab.isna().to_numpy() | (lab == "neutral").fillna(False).to_numpy()
    return rows[keep | (rng.random(len(rows)) < 0.3)]


def main() -> None:
    if not CORPORA.is_dir():
        sys.exit(f"needs the shared corpora at {CORPORA}")
    from emolens.models import PseudoLabels, balanced_weights

    X, manifest = load()
    V, corpus, speaker, label, labelled = arrays(X, manifest)
    rows = []
    for test in NAMES:
        tr = np.flatnonzero(corpus != test)
        Z = normalise(V[tr], corpus[tr], speaker[tr], "shrink", 10.0)
        m = labelled[tr]
        ytr, ctr = label[tr][m].astype(str), corpus[tr][m]
        clf = LogisticRegression(C=0.1, max_iter=2000)
        clf.fit(Z[m], ytr, sample_weight=balanced_weights(ytr, ctr))
        for kind in CONDITIONS:
            for seed in (0, 1, 2):
                te = test_rows(manifest, test, kind, seed)
                Zte = normalise(V[te], corpus[te], speaker[te], "shrink", 10.0)
                mt = labelled[te]
                P, y = clf.predict_proba(Zte[mt]), label[te][mt].astype(str)
                # the product's adaptation (emolens.models.PseudoLabels): every test utterance
                # in the pool, the other emotions too, as `emolens predict` would have them
                pseudo = PseudoLabels().adapt(clf, Zte).proba[mt]
                for how, Q in (("none", P), ("em", em_priors(P)), ("uniform", uniform(P)),
                               ("pseudo-labels", pseudo)):
                    ua = balanced_accuracy_score(y, clf.classes_[Q.argmax(1)])
                    rows.append(dict(condition=kind, adaptation=how, test=test, ua=100 * ua))
    res = pd.DataFrame(rows)
    table = res.pivot_table(index=["condition", "adaptation"], columns="test", values="ua",
                            sort=False)
    table["mean"] = table[list(NAMES)].mean(axis=1)
    table["worst"] = table[list(NAMES)].min(axis=1)
    print(markdown(table.round(1)))


if __name__ == "__main__":
    main()
