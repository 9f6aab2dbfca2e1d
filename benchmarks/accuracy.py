"""Accuracy and run-speed benchmark of `emolens run` on the shared corpora (EmoDB, RAVDESS).

    python benchmarks/accuracy.py                 # accuracy tables + run speed
    python benchmarks/accuracy.py --no-speed      # accuracy only
    python benchmarks/accuracy.py --speed-only    # cold/warm timing of experiments/paper.toml
    python benchmarks/accuracy.py --ideas-only    # literature ideas on top of the selection
    python benchmarks/accuracy.py --features egemaps   # only the eGeMAPS grid (default: + compare)
    python benchmarks/accuracy.py --ideas-only --augment   # + audio augmentation (~10 min cold)

Every number comes from ``emolens.evaluation.runner.run_experiment`` (the code behind
``emolens run``), 4 classes, UA = balanced accuracy. Model choices are made on the
**validation folds of the training corpus only** (the ``:valid`` rows); the zero-shot corpus is
never used for selection. Per-speaker/per-corpus statistics come from all of a speaker's
utterances (the other emotions included, unlabelled), as in ``emolens run``. Output: markdown on stdout and in ``<out>/accuracy.md``; paste it
into docs/benchmarks.md. Needs ../shared/corpora (relative to the project root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()

#: label -> (make_model name, params). The first four are the paper's step 1.
MODELS = {
    "svc": ("svc", {}),
    "pca_svc": ("pca_svc", {}),
    "uae_svc": ("uae_svc", {"epochs": 50}),
    "dae_svc": ("dae_svc", {"epochs": 50}),
    "linsvc_C0.01": ("linsvc", {"C": 0.01}),
    "svc_C0.3": ("svc", {"C": 0.3}),
    "dae_rbf": ("dae_svc", {"epochs": 50, "clf": "rbf"}),
    "uae_rbf": ("uae_svc", {"epochs": 50, "clf": "rbf"}),
    "vae_svc": ("vae_svc", {"epochs": 50}),
    "logreg_C0.01": ("svc", {"clf": "logreg", "C": 0.01}),
    "logreg_C0.1": ("svc", {"clf": "logreg", "C": 0.1}),
    "dae_logreg": ("dae_svc", {"epochs": 50, "clf": "logreg"}),  # the shipped default's kind
}
#: ComParE_2016 (6373 functionals): strong L2 for the linear models; per-speaker only (with
#: training statistics every model collapses on the other corpus, as with eGeMAPS).
COMPARE_MODELS = {
    "svc": ("svc", {}),
    "logreg_C0.001": ("svc", {"clf": "logreg", "C": 0.001}),
    "logreg_C0.01": ("svc", {"clf": "logreg", "C": 0.01}),
    "logreg_C0.1": ("svc", {"clf": "logreg", "C": 0.1}),
    "linsvc_C0.001": ("linsvc", {"C": 0.001}),
    "dae_rbf": ("dae_svc", {"epochs": 50, "clf": "rbf"}),
    "dae_logreg": ("dae_svc", {"epochs": 50, "clf": "logreg"}),
}
LATENT = ("uae_svc", "dae_svc", "dae_rbf", "uae_rbf", "vae_svc", "dae_logreg")
# names of emolens.models.scaling.NORMALISATIONS, shown in the tables as NORMALISATION_LABELS
NORMALISATIONS = {"egemaps": ("none", "corpus", "speaker"), "compare": ("speaker",)}
#: "none" is no per-group statistics: z-score with the training statistics (the paper)
NORMALISATION_LABELS = {"none": "none (training z-score)"}


def _toml_models(models: dict) -> str:
    from emolens.evaluation.runner import _toml_value

    lines = []
    for label, (name, params) in models.items():
        lines += [f'[models."{label}"]', f'model = "{name}"']
        lines += [f"{k} = {_toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines)


def experiment(path: Path, *, protocol, train, test=(), folds=5, seeds=(0, 1, 2),
               normalisation="none", models=MODELS, cache_dir=None, jobs=2,
               save_models=False, features="egemaps") -> Path:
    """Write an experiment TOML (see docs/config.md)."""
    body = [
        f'name = "{path.stem}"',
        f'protocol = "{protocol}"',
        f'features = "{features}"',
        f"folds = {folds}" if isinstance(folds, int) else f'folds = "{folds}"',
        f"seeds = {list(seeds)}",
        f'normalisation = "{normalisation}"',
        f"jobs = {jobs}",
        "bootstrap = 200",
        f"save_models = {'true' if save_models else 'false'}",
    ]
    if cache_dir is not None:
        body.append(f'cache_dir = "{cache_dir}"')
    body += [
        "",
        "[corpora]",
        "train = [" + ", ".join(f'"{CORPORA / c}"' for c in train) + "]",
        "test = [" + ", ".join(f'"{CORPORA / c}"' for c in test) + "]",
        "",
        _toml_models(models),
    ]
    path.write_text("\n".join(body) + "\n")
    return path


def run(path: Path, out: Path) -> pd.DataFrame:
    from emolens.evaluation.config import load_config
    from emolens.evaluation.runner import run_experiment

    config = load_config(path)
    # results.csv only: the runner writes no report (`emolens run` adds it; the speed part
    # times it). A scratch folder per configuration: replace an earlier version's run.
    run_experiment(config, out=out, progress=False, overwrite=True)
    return pd.read_csv(out / "results.csv")


def transfer_table(results: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """Rows features × normalisation × model; columns valid/zero-shot UA per direction."""
    rows = []
    for (features, norm), res in results.items():
        for model in dict.fromkeys(res["model"]):
            r = res[res["model"] == model]
            label = NORMALISATION_LABELS.get(norm, norm)
            row = {"features": features, "normalisation": label, "model": model}
            for train, other in (("ravdess", "emodb"), ("emodb", "ravdess")):
                for test, col in ((f"{train}:valid", f"{train} valid"),
                                  (other, f"{train}→{other}")):
                    v = r[(r["train"] == train) & (r["test"] == test)]["ua"] * 100
                    row[col] = v.mean()
                    row[col + " sd"] = v.std(ddof=1)
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt(table: pd.DataFrame) -> str:
    cols = [c for c in table.columns if not c.endswith(" sd")]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                sd = row.get(c + " sd")
                cells.append(f"{v:.1f}" + (f" ± {sd:.1f}" if sd == sd and sd is not None else ""))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy(work: Path, seeds, cache_dir, feature_sets=("egemaps", "compare")) -> str:
    out = []
    results = {}
    for features in feature_sets:
        models = MODELS if features == "egemaps" else COMPARE_MODELS
        for norm in NORMALISATIONS[features]:
            t = time.perf_counter()
            cfg = experiment(work / f"pairwise-{features}-{norm}.toml", protocol="pairwise",
                             train=["ravdess", "emodb"], seeds=seeds, normalisation=norm,
                             cache_dir=cache_dir, features=features, models=models)
            results[features, norm] = run(cfg, work / f"pairwise-{features}-{norm}")
            print(f"pairwise {features} {norm}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    table = transfer_table(results)
    table["mean valid"] = (table["ravdess valid"] + table["emodb valid"]) / 2
    table["mean valid sd"] = float("nan")
    out += [
        "### Transfer (pairwise: train on one corpus, 5 speaker-disjoint folds, zero-shot "
        f"on the other), UA %, mean ± std over {len(seeds)} seeds × 5 folds",
        "",
        _fmt(table),
        "",
    ]
    def selected(title, candidates):
        best = candidates.sort_values("mean valid", ascending=False).iloc[0]
        return [f"{title}: **{best['model']}, {best['features']}, normalisation "
                f"{best['normalisation']}** → RAVDESS→EmoDB {best['ravdess→emodb']:.1f} %, "
                f"EmoDB→RAVDESS {best['emodb→ravdess']:.1f} %.", ""]

    out += selected("Selected on validation folds only (highest mean of `ravdess valid` and "
                    "`emodb valid`)", table)
    out += selected("Best 2-D latent model by the same rule", table[table["model"].isin(LATENT)])

    rows = []
    within = {"egemaps": {k: MODELS[k] for k in ("svc", "dae_svc", "dae_rbf", "logreg_C0.01")},
              "compare": {k: COMPARE_MODELS[k] for k in ("svc", "logreg_C0.01", "logreg_C0.1",
                                                         "dae_rbf")}}
    for features in feature_sets:
        for norm in ("none", "speaker") if features == "egemaps" else ("speaker",):
            cfg = experiment(work / f"within-{features}-{norm}.toml", protocol="within",
                             train=["emodb", "ravdess"], folds="loso", seeds=[0],
                             normalisation=norm, models=within[features],
                             cache_dir=cache_dir, features=features)
            t = time.perf_counter()
            res = run(cfg, work / f"within-{features}-{norm}")
            print(f"within {features} {norm}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
            held = res[res["role"] == "test"]
            for model in within[features]:
                label = NORMALISATION_LABELS.get(norm, norm)
                row = {"features": features, "normalisation": label, "model": model}
                for corpus in ("emodb", "ravdess"):
                    sel = held[(held["model"] == model) & (held["test"] == f"{corpus}:loso")]
                    row[f"{corpus} LOSO (mean over speakers)"] = sel["ua"].mean() * 100
                rows.append(row)
    out += [
        "### Within corpus, leave one speaker out (UA %, mean over held-out speakers, seed 0)",
        "",
        _fmt(pd.DataFrame(rows)),
        "",
    ]
    return "\n".join(out)


# -- ideas that are not (yet) emolens models: same splits, per-speaker normalisation ------
def _speaker_normalised(features: str, cache_dir):
    """Labelled data of both corpora, z-scored per speaker over all of his/her utterances.

    Per-speaker statistics do not depend on other speakers, so computing them once for every
    speaker equals what ``emolens run`` does inside each fold.
    """
    from emolens.evaluation.config import load_config
    from emolens.evaluation.runner import load_data
    from emolens.models import FeatureScaler

    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(experiment(Path(tmp) / "ideas.toml", protocol="pairwise",
                                     train=["ravdess", "emodb"], cache_dir=cache_dir,
                                     normalisation="speaker", features=features,
                                     models={"svc": ("svc", {})}))
    data = load_data(cfg, progress=False)
    full = pd.concat([data.X, data.X_unlabelled])
    Z = FeatureScaler(by="speaker").fit_transform(full)[: len(data.X)]
    return data, pd.DataFrame(Z, index=data.X.index, columns=data.X.columns)


def _augmented(data, cache_dir, kinds, seed: int = 0) -> dict[str, pd.DataFrame]:
    """eGeMAPS of augmented copies of every utterance, z-scored per (speaker, kind).

    A copy is a new recording condition of the same speaker, so it is normalised with the
    statistics of that speaker's copies of the same kind (all emotions, unlabelled).
    Returns kind -> DataFrame indexed like ``data.X`` (the copies of its rows).
    """
    from emolens.corpora import load_corpus
    from emolens.features import extract, model_input
    from augment import augment_manifest
    from emolens.models import FeatureScaler

    manifest = pd.concat([load_corpus(CORPORA / c, c) for c in ("emodb", "ravdess")],
                         ignore_index=True)
    from emolens.features import default_cache_dir

    folder = Path(cache_dir or default_cache_dir()).parent / "emolens-augmented-audio"
    copies = augment_manifest(manifest, kinds, folder, seed=seed)
    feats = extract(copies["file"].tolist(), "egemaps", jobs=2, cache_dir=cache_dir,
                    progress=False).features
    out = {}
    for kind, rows in copies.groupby("augmentation"):
        X = model_input(feats, rows)
        Z = FeatureScaler(by="speaker").fit_transform(X)
        source = rows.set_index("file").loc[X.index.get_level_values("file"), "source"]
        Z = pd.DataFrame(Z, index=pd.Index(source.to_numpy(), name="file"), columns=X.columns)
        out[kind] = Z.loc[data.X.index.get_level_values("file")].set_axis(data.X.index)
    return out


def _coral(source, target, eps: float = 1.0):
    """CORAL (Sun et al. 2016): re-colour source rows with the target's feature covariance.

    Whitening with the (eps-regularised) source covariance, then colouring with the target's;
    needs only unlabelled target rows.
    """
    import numpy as np

    def power(C, p):
        w, V = np.linalg.eigh(C)
        return (V * np.clip(w, 1e-12, None) ** p) @ V.T

    eye = eps * np.eye(source.shape[1])
    return source @ power(np.cov(source, rowvar=False) + eye, -0.5) @ power(
        np.cov(target, rowvar=False) + eye, 0.5)


def _dann_latent(Z, domain, seed, lam, epochs=50):
    """2-D DAE (88-40-20-10-2, Gaussian noise 1.0) with a gradient-reversed domain head."""
    import torch
    from torch import nn

    from adversarial import dae_2d, gradient_reversal, minibatches

    reverse = gradient_reversal(lam)
    torch.manual_seed(seed)
    n = Z.shape[1]
    enc, dec = dae_2d(n)
    head = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, int(domain.max()) + 1))
    params = [*enc.parameters(), *dec.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    X = torch.tensor(Z, dtype=torch.float32)
    d = torch.as_tensor(domain, dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for i in minibatches(len(X), gen):
            xb = X[i]
            loss = (dec(enc(xb + torch.randn(xb.shape, generator=gen))) - xb).pow(2).mean()
            loss = loss + nn.functional.cross_entropy(head(reverse(enc(xb))), d[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
    enc.eval()
    return lambda A: enc(torch.tensor(A, dtype=torch.float32)).detach().numpy()


def ideas(cache_dir, seed: int = 0, augment: bool = False) -> str:
    """Literature ideas tried on top of the per-speaker RBF-SVC (eGeMAPS).

    Implemented with the emolens building blocks (FeatureScaler, make_model, the pairwise
    splits of the runner), seed 0, 5 speaker-disjoint folds; per-speaker statistics over all of
    a speaker's utterances. Transductive ideas (self-training, prior balancing, corpus-
    adversarial DAE) use the unlabelled zero-shot corpus, never its labels.
    """
    import logging
    import warnings

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from emolens.evaluation.metrics import scores
    from emolens.evaluation.protocols import make_splits
    from emolens.models import make_model

    warnings.simplefilter("ignore")
    logging.getLogger("emolens.models.shift").disabled = True
    torch.set_num_threads(1)
    threadpool_limits(1)
    data, Z = _speaker_normalised("egemaps", cache_dir)
    _, Zc = _speaker_normalised("compare", cache_dir)
    Zc = Zc.loc[Z.index]
    y = data.y
    corpus = np.asarray(data.X.index.get_level_values("corpus"))
    speaker = np.asarray(data.X.index.get_level_values("speaker"))
    splits = make_splits(data.manifest, "pairwise", data.train, [], 5, "speaker", seed)

    def model(name, **kw):  # the pipeline without its scale step: Z is already normalised
        return make_model(name, seed=seed, **kw)[1:]

    def plain(name, table=None, **kw):
        T = Z if table is None else table

        def fit(tr, target):
            p = model(name, **kw).fit(T.iloc[tr], y[tr])
            return lambda idx: p.predict(T.iloc[idx])
        return fit

    def decision(p, A):
        d = p.decision_function(A)
        return (d - d.mean(1, keepdims=True)) / (d.std() + 1e-9)

    def ensemble(specs):
        def fit(tr, target):
            ps = [(model(n, **kw).fit(T.iloc[tr], y[tr]), T) for n, kw, T in specs]
            return lambda idx: ps[0][0].classes_[
                np.argmax(sum(decision(p, T.iloc[idx]) for p, T in ps), 1)]
        return fit

    def noise_augmented(std):
        def fit(tr, target):
            rng = np.random.default_rng(seed)
            A = Z.iloc[tr].to_numpy()
            Za = np.vstack([A] + [A + rng.normal(0, std, A.shape) for _ in range(4)])
            p = model("svc").fit(Za, np.tile(y[tr], 5))
            return lambda idx: p.predict(Z.iloc[idx].to_numpy())
        return fit

    def audio_augmented(kinds):
        def fit(tr, target):
            A = np.vstack([Z.iloc[tr].to_numpy()] + [AUG[k].iloc[tr].to_numpy() for k in kinds])
            p = model("svc").fit(A, np.tile(y[tr], 1 + len(kinds)))
            return lambda idx: p.predict(Z.iloc[idx].to_numpy())
        return fit

    def confident(p, A, share):
        """Predicted labels on A and the ``share`` of each predicted class with the widest
        margin between its top two decision scores (the pseudo-labels of self-training)."""
        d = p.decision_function(A)
        pred = p.classes_[d.argmax(1)]
        top = np.sort(d, 1)
        margin = top[:, -1] - top[:, -2]
        keep = np.zeros(len(A), bool)
        for c in p.classes_:
            members = np.flatnonzero(pred == c)
            keep[members[np.argsort(-margin[members])][: max(1, int(share * len(members)))]] = True
        return pred, keep

    def self_training(rounds=2, share=0.5):
        def fit(tr, target):
            p = model("svc").fit(Z.iloc[tr], y[tr])
            for _ in range(rounds):
                pred, keep = confident(p, Z.iloc[target].to_numpy(), share)
                A = np.vstack([Z.iloc[tr].to_numpy(), Z.iloc[target].to_numpy()[keep]])
                p = model("svc").fit(A, np.concatenate([y[tr], pred[keep]]))
            return lambda idx: p.predict(Z.iloc[idx].to_numpy())
        return fit

    def balanced(name, **kw):
        def fit(tr, target):
            p = model(name, **kw).fit(Z.iloc[tr], y[tr])

            def predict(idx):
                d = p.decision_function(Z.iloc[idx])
                b = np.zeros(d.shape[1])
                for _ in range(200):  # shift offsets until each class gets ~1/4 of the test set
                    share = np.bincount((d + b).argmax(1), minlength=d.shape[1]) / len(idx)
                    b -= 0.05 * (share - 1 / d.shape[1])
                return p.classes_[(d + b).argmax(1)]
            return predict
        return fit

    def coral(name, self_train=False, **kw):
        def fit(tr, target):
            A = _coral(Z.iloc[tr].to_numpy(), Z.iloc[target].to_numpy())
            labels = y[tr]
            p = model(name, **kw).fit(A, labels)
            if self_train:  # then one round of self-training, as above
                pred, keep = confident(p, Z.iloc[target].to_numpy(), 0.5)
                p = model(name, **kw).fit(np.vstack([A, Z.iloc[target].to_numpy()[keep]]),
                                          np.concatenate([labels, pred[keep]]))
            return lambda idx: p.predict(Z.iloc[idx].to_numpy())
        return fit

    def em_prior(C):
        """ComParE logreg with the target's class priors re-estimated by EM (Saerens 2002)."""
        def fit(tr, target):
            p = model("svc", clf="logreg", C=C).fit(Zc.iloc[tr], y[tr])
            uniform = np.full(len(p.classes_), 1 / len(p.classes_))  # balanced class weights
            P = p.predict_proba(Zc.iloc[target])
            prior = uniform
            for _ in range(100):
                Q = P * (prior / uniform)
                Q /= Q.sum(1, keepdims=True)
                prior = Q.mean(0)
            at = {r: i for i, r in enumerate(target)}

            def predict(idx):
                if idx[0] not in at:  # the training corpus's validation fold: no adaptation
                    return p.predict(Zc.iloc[idx])
                return p.classes_[Q[[at[i] for i in idx]].argmax(1)]
            return predict
        return fit

    def iterative_normalisation(share, rounds=3):
        """Busso et al. (2011): each speaker is centred on his/her *neutral* speech, not on the
        mean of all utterances (which moves with a corpus's mix of emotions). Training
        speakers use their labelled neutral utterances; a test speaker's reference is the mean
        of the ``share`` of his/her utterances (unlabelled ones included) that the model finds
        most neutral, re-estimated ``rounds`` times. The scale stays the speaker's sd."""
        raw = pd.concat([data.X, data.X_unlabelled])
        who = np.asarray(raw.index.get_level_values("speaker"))
        values = raw.to_numpy(float)
        mean = {s: values[who == s].mean(0) for s in np.unique(who)}
        sd = {s: values[who == s].std(0) + 1e-8 for s in np.unique(who)}
        X = data.X.to_numpy(float)

        def scaled(rows, spk, ref):
            out = np.empty_like(rows)
            for s in np.unique(spk):
                m = spk == s
                out[m] = (rows[m] - ref[s]) / sd[s]
            return np.clip(out, -10, 10)

        def fit(tr, target):
            ref = dict(mean)
            for s in np.unique(speaker[tr]):
                neutral = (speaker == s) & (y == "neutral")
                if neutral.any():
                    ref[s] = X[neutral].mean(0)
            p = model("svc").fit(scaled(X[tr], speaker[tr], ref), y[tr])
            k = list(p.classes_).index("neutral")

            def predict(idx):
                test_ref = dict(mean)
                for _ in range(rounds):
                    for s in np.unique(speaker[idx]):
                        rows = values[who == s]
                        score = p.decision_function(
                            scaled(rows, np.full(len(rows), s, dtype=object), test_ref))[:, k]
                        test_ref[s] = rows[np.argsort(-score)[: max(2, int(share * len(rows)))]].mean(0)
                return p.predict(scaled(X[idx], speaker[idx], test_ref))
            return predict
        return fit

    def adversarial(by, lam):
        def fit(tr, target):
            if by == "corpus":  # source vs the unlabelled target corpus (transductive)
                rows = np.concatenate([tr, target])
                domain = np.r_[np.zeros(len(tr)), np.ones(len(target))]
            else:  # the training speakers (no target data)
                rows = tr
                domain = pd.factorize(speaker[tr])[0]
            encode = _dann_latent(Z.iloc[rows].to_numpy(), domain, seed, lam)
            p = make_model("svc", seed=seed)[-1].fit(encode(Z.iloc[tr].to_numpy()), y[tr])
            return lambda idx: p.predict(encode(Z.iloc[idx].to_numpy()))
        return fit

    def stable(k):
        """ComParE features whose per-speaker class means agree across training speakers."""
        def fit(tr, target):
            means = Zc.iloc[tr].groupby([speaker[tr], y[tr]]).mean()
            by_class = means.groupby(level=1)
            score = (by_class.mean().abs() / (by_class.std() + 1e-6)).max(0)
            keep = score.sort_values(ascending=False).index[:k]
            p = model("svc", clf="logreg", C=0.01).fit(Zc.iloc[tr][keep], y[tr])
            return lambda idx: p.predict(Zc.iloc[idx][keep])
        return fit

    no_mfcc = [c for c in Z.columns if "mfcc" not in c.lower()]
    variants = {
        "svc, eGeMAPS (reference)": plain("svc"),
        "+ Gaussian feature noise, 4 copies, sd 0.3": noise_augmented(0.3),
        "+ Gaussian feature noise, 4 copies, sd 0.6": noise_augmented(0.6),
        "without the 16 MFCC functionals": plain("svc", Z[no_mfcc]),
        "ensemble svc + linsvc(C=0.01) + logreg(C=0.1)": ensemble(
            [("svc", {}, Z), ("linsvc", {"C": 0.01}, Z), ("svc", {"clf": "logreg", "C": 0.1}, Z)]),
        "ensemble svc + dae_rbf": ensemble(
            [("svc", {}, Z), ("dae_svc", {"epochs": 50, "clf": "rbf"}, Z)]),
        "ensemble svc (eGeMAPS) + logreg C=0.01 (ComParE)": ensemble(
            [("svc", {}, Z), ("svc", {"clf": "logreg", "C": 0.01}, Zc)]),
        "ComParE logreg C=0.01, 500 most speaker-stable features": stable(500),
        "ComParE logreg C=0.01, 1500 most speaker-stable features": stable(1500),
        "self-training on the unlabelled target (2 rounds, top 50 % per class)": self_training(),
        "prior balancing on the target (uniform predicted classes)": balanced("svc"),
        "CORAL to the unlabelled target (eps 1), svc": coral("svc"),
        "CORAL, then self-training (1 round, top 50 % per class), svc": coral("svc", True),
        "CORAL, 2-D DAE + RBF": coral("dae_svc", epochs=50, clf="rbf"),
        "iterative neutral-reference normalisation (most neutral 15 %, 3 rounds), svc":
            iterative_normalisation(0.15),
        "iterative neutral-reference normalisation (most neutral 30 %, 3 rounds), svc":
            iterative_normalisation(0.3),
        "ComParE logreg C=0.1 (selected)": plain("svc", Zc, clf="logreg", C=0.1),
        "ComParE logreg C=0.1, EM re-estimated target priors": em_prior(0.1),
        "2-D DAE + RBF, corpus-adversarial (DANN, λ=0.3, unlabelled target)": adversarial("corpus", 0.3),
        "2-D DAE + RBF, corpus-adversarial (DANN, λ=1)": adversarial("corpus", 1.0),
        "2-D DAE + RBF, speaker-adversarial (training speakers, λ=0.3)": adversarial("speaker", 0.3),
    }
    if augment:
        from augment import AUGMENTATIONS

        AUG = _augmented(data, cache_dir, AUGMENTATIONS, seed=seed)
        for kind in AUGMENTATIONS:
            variants[f"+ audio augmentation: {kind} (1 copy)"] = audio_augmented([kind])
        variants["+ audio augmentation: all four (4 copies)"] = audio_augmented(list(AUGMENTATIONS))
    rows = []
    for label, fit in variants.items():
        got: dict = {}
        for split in splits:
            target = np.flatnonzero(corpus != split.train_name)
            predict = fit(split.train, target)
            for t in split.tests:
                if t.role == "train":
                    continue
                key = f"{split.train_name} valid" if t.role == "valid" else f"{split.train_name}→{t.name}"
                got.setdefault(key, []).append(scores(y[t.index], predict(t.index))["ua"] * 100)
        row = {"variant": label}
        for key in ("ravdess valid", "ravdess→emodb", "emodb valid", "emodb→ravdess"):
            row[key] = float(np.mean(got[key]))
        row["mean valid"] = (row["ravdess valid"] + row["emodb valid"]) / 2
        rows.append(row)
        print(f"idea {label}: done", file=sys.stderr)
    return "\n".join([
        f"### Ideas on top of the per-speaker RBF-SVC (UA %, seed {seed}, 5 speaker folds)",
        "",
        _fmt(pd.DataFrame(rows).round(1)),
        "",
    ])


def _run_cli(config: Path, out: Path, env: dict) -> float:
    code = (
        "import typer; from emolens.evaluation.commands import run; "
        "app = typer.Typer(); app.command()(run); app()"
    )
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(config), "--out", str(out), "-q"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def speed(work: Path) -> str:
    """Wall time of `emolens run experiments/paper.toml`, cold (empty cache) and warm."""
    cache = work / "speed-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "EMOLENS_CACHE": str(cache)}
    config = ROOT / "experiments" / "paper.toml"
    cold = _run_cli(config, work / "speed-cold", env)
    # the machine's other load moves single runs by seconds: several warm runs, median
    warm = sorted(_run_cli(config, work / "speed-warm", env) for _ in range(5))
    summary = (work / "speed-warm" / "summary.md").read_text()
    params = [line for line in summary.splitlines() if line.startswith("| dae_svc |")]
    return "\n".join([
        "### Run speed: `emolens run experiments/paper.toml` (wall clock, whole process)",
        "",
        "| cache | seconds |",
        "|---|---|",
        f"| cold (empty feature cache) | {cold:.1f} |",
        f"| warm, median of 5 runs (min–max) | {warm[2]:.1f} ({warm[0]:.1f}–{warm[-1]:.1f}) |",
        "",
        f"Parameters of the paper model (dae_svc row of summary.md): {params[0] if params else '?'}",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="feature cache (default: $EMOLENS_CACHE or the user cache)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--ideas-only", action="store_true",
                        help="only the table of ideas tried on top of the selected model")
    parser.add_argument("--no-ideas", action="store_true", help="skip the table of ideas")
    parser.add_argument("--features", nargs="+", default=["egemaps", "compare"],
                        choices=["egemaps", "compare"], help="feature sets of the model grid")
    parser.add_argument("--augment", action="store_true",
                        help="add audio-augmentation ideas (writes augmented copies of both "
                             "corpora next to the feature cache and extracts them)")
    args = parser.parse_args(argv)
    if not CORPORA.is_dir():
        sys.exit(f"the shared corpora are not at {CORPORA}; nothing to benchmark")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [f"<!-- python benchmarks/accuracy.py, {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores -->"]
    if args.ideas_only:
        parts.append(ideas(args.cache_dir, augment=args.augment))
    elif not args.speed_only:
        parts.append(accuracy(args.out, args.seeds, args.cache_dir, args.features))
        if not args.no_ideas:
            parts.append(ideas(args.cache_dir, augment=args.augment))
    if not (args.no_speed or args.ideas_only):
        with tempfile.TemporaryDirectory() as tmp:
            parts.append(speed(Path(tmp)))
    text = "\n\n".join(parts)
    (args.out / "accuracy.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
