"""Variants of the selected ``vote`` classifier on the LOCO benchmark (issue 10).

    python benchmarks/vote_variants.py            # about 25 min on 2 cores

Each row: per-speaker statistics shrunk towards the corpus (k = 10), corpus-balanced weights,
the three test conditions of ``benchmarks/transfer.py`` (all, few, skewed; seeds 0-2). The
reference is ``vote`` itself (calibrated RBF SVC C = 0.5 + logistic regression C = 0.1, mean
probability); the variants add a third member or widen the input. docs/benchmarks.md#transfer
quotes the result: none beats the reference by more than 0.3 points.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transfer as T  # noqa: E402


class Variant(T.Idea):
    """``vote`` plus extra members (``"hgb"``, ``"rf"``, ``"sae"``) and/or corpus-z-scored
    features appended with weight ``corpus_view``."""

    def __init__(self, label, extra=(), corpus_view=0.0):
        super().__init__(label, "shrink", k=10, weights=True)
        self.extra, self.corpus_view = tuple(extra), corpus_view

    def normalise(self, V, corpus, speaker):
        Z = T.normalise(V, corpus, speaker, "shrink", self.k)
        if not self.corpus_view:
            return Z
        return np.hstack([Z, self.corpus_view * T.normalise(V, corpus, speaker, "corpus")])

    def fit_predict(self, Ztr, ytr, ctr, Zte, seed):
        from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
        from sklearn.linear_model import LogisticRegression

        from emolens.models import AutoencoderTransformer, balanced_weights, fit_autoencoders

        w = balanced_weights(ytr, ctr)
        members = [(T.classifier("vote", 1.0, True), Ztr, Zte)]
        for name in self.extra:
            A, B = Ztr, Zte
            if name == "hgb":
                m = HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
                                                   l2_regularization=1.0, random_state=seed)
            elif name == "rf":
                m = RandomForestClassifier(300, min_samples_leaf=5, n_jobs=2, random_state=seed)
            elif name == "sae":  # the supervised 2-D latent + logistic regression
                n = Ztr.shape[1] if not self.corpus_view else Ztr.shape[1] // 2
                ae = AutoencoderTransformer(kind="sae", latent_dim=2, epochs=50, gamma=3.0, seed=seed)
                fit_autoencoders([ae], [Ztr[:, :n].astype(np.float32)], [ytr], [w])
                A = ae.transform(Ztr[:, :n].astype(np.float32))
                B = ae.transform(Zte[:, :n].astype(np.float32))
                m = LogisticRegression(C=0.1, max_iter=2000)
            else:
                raise ValueError(name)
            members.append((m, A, B))
        proba = []
        for m, A, B in members:
            m.fit(A, ytr, sample_weight=w)
            # the vote averages its two members; an extra member counts as one of three
            proba.append(m.predict_proba(B) * (2 if m is members[0][0] else 1))
        classes = members[0][0].classes_
        return classes[np.sum(proba, axis=0).argmax(axis=1)]


VARIANTS = [
    Variant("vote (reference)"),
    Variant("vote + gradient-boosted trees", ["hgb"]),
    Variant("vote + random forest", ["rf"]),
    Variant("vote + supervised 2-D latent, logreg", ["sae"]),
    Variant("vote on speaker z-scores + 0.5 x corpus z-scores", corpus_view=0.5),
]


def main():
    warnings.filterwarnings("ignore")
    X, manifest = T.load()
    results = [T.evaluate(v, X, manifest, seeds=(0, 1, 2)) for v in VARIANTS]
    T.print_tables(results)


if __name__ == "__main__":
    main()
