#!/usr/bin/env python
"""Train emolens' built-in default model from EmoDB + RAVDESS + nEMO.

    python scripts/train_default.py [--corpora ../shared/corpora] [--out src/emolens/data/default_model]

Writes a bundle (JSON + safetensors, no features or audio) and MODEL_CARD.md with accuracy,
each with a 95 % bootstrap CI over test utterances:

* leave-one-corpus-out (LOCO): trained on two of the three corpora, tested zero-shot on the
  third, exactly as the shipped model is trained and as `emolens predict` applies it (each
  held-out corpus predicted as one batch, grouped by speaker, adapted to it);
* the same over all four shared corpora (trained on three, TESS included; evaluation models
  only, never shipped), the protocol of `experiments/transfer.toml`;
* TESS (zero-shot): the shipped configuration trained on all three corpora. TESS is
  CC BY-NC-ND 4.0 (no derivatives): it is used to evaluate, never to train what is shipped;
* the shipped model: 5-fold speaker-independent CV over the three corpora (its calibration).

The configuration is the one selected by leave-one-corpus-out over the four shared corpora
(docs/benchmarks.md#transfer): per-speaker z-scoring shrunk towards the corpus statistics
(by empirical Bayes, ``--shrink auto``; 10 pseudo-utterances before 2026-12-03 evening),
guarded, every corpus x class cell given the same weight, the paper's DAE
88-40-20-10-2 with its 2-D latent also trained to separate the four classes (a supervised DAE:
3 x cross-entropy of a softmax head on the latent, dropped after training) and a logistic
regression on that latent.

Per-speaker statistics come from all of a speaker's utterances, the other emotions
(boredom, fear, calm...) included as unlabelled rows, as `emolens predict` does on a folder;
only the 4-class utterances are fitted and scored.

Features are cached outside the repository (``--cache``, default ``$EMOLENS_CACHE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
#: corpora of the shipped model, with their licenses
LICENSES = {
    "emodb": "CC0 1.0 (Berlin Database of Emotional Speech, Burkhardt et al. 2005)",
    "ravdess": "CC BY-NC-SA 4.0 (RAVDESS, Livingstone & Russo 2018)",
    "nemo": "CC BY-NC-SA 4.0 (nEMO, Christop 2024)",
}
#: evaluated on, never trained on for the shipped model
EVAL_ONLY = {"tess": "CC BY-NC-ND 4.0 (TESS, Dupuis & Pichora-Fuller 2010): no derivatives"}
DESCRIPTION = {
    "emodb": "EmoDB (German, 10 speakers)",
    "ravdess": "RAVDESS speech (English, 24 speakers)",
    "nemo": "nEMO (Polish, 9 speakers; the shared subset)",
}


def _shrink(text: str):
    """``--shrink``: "auto" or a number of pseudo-utterances."""
    return text if text == "auto" else float(text)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", type=Path, default=ROOT / ".." / "shared" / "corpora")
    p.add_argument("--out", type=Path, default=ROOT / "src" / "emolens" / "data" / "default_model")
    p.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    p.add_argument("--model", default="sae_svc")
    p.add_argument("--clf", default="logreg",
                   help="classifier on the latent; logreg stores no training points "
                        "(an SVC keeps support vectors = training latent codes)")
    p.add_argument("--by", default="speaker", choices=["none", "corpus", "speaker"])
    p.add_argument("--shrink", type=_shrink, default="auto",
                   help="'auto' (each speaker's weight against his/her corpus set by how much "
                        "the corpus's speakers differ) or a number of pseudo-utterances of "
                        "corpus statistics in each speaker's; 0: none (by=speaker)")
    p.add_argument("--guard", action=argparse.BooleanOptionalAction, default=True,
                   help="guard each corpus against speakers who show one emotion throughout "
                        "(by=speaker; FeatureScaler(guard=True))")
    p.add_argument("--balance", default="corpus", choices=["class", "corpus"])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--gamma", type=float, default=3.0,
                   help="weight of the supervised DAE's cross-entropy on its 2-D latent (sae_svc)")
    p.add_argument("--weight-decay", type=float, default=0.0,
                   help="L2 weight decay of the autoencoder's Adam optimiser")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--ood-reference", default="corpora", choices=["corpora", "speakers"],
                   help="the out-of-domain threshold: a quantile of held-out corpora "
                        "(leave one corpus out) or of held-out speakers")
    p.add_argument("--no-adapt", dest="adapt", action="store_false",
                   help="score without adapting to each held-out corpus (emolens predict "
                        "--no-adapt), for comparison: give another --out, the card's text "
                        "describes adapted scoring")
    return p.parse_args(argv)


def load(args, names):
    """Labelled model input, labels and unlabelled model input of the named corpora."""
    from emolens.corpora import load_corpus
    from emolens.features import extract, model_input

    frames = []
    for name in names:
        folder = args.corpora / name
        if not folder.is_dir():
            sys.exit(f"corpus folder not found: {folder}")
        frames.append(load_corpus(folder, name))
    full = pd.concat(frames, ignore_index=True)
    # All utterances are extracted: the other emotions define speaker statistics only.
    ex = extract(full, "egemaps", jobs=args.jobs, cache_dir=args.cache, progress=False)
    if len(ex.skipped):
        print(f"skipped {len(ex.skipped)} files:\n{ex.skipped.head()}")
    full = full[full["file"].isin(ex.features.index)]
    manifest = full[full["label4"].notna()].reset_index(drop=True)
    X = model_input(ex.features, manifest)
    unl = full[full["label4"].isna()].reset_index(drop=True)
    X_unl = model_input(ex.features, unl) if len(unl) else X.iloc[:0]
    lab = manifest.set_index("file")["label4"]
    y = lab.loc[X.index.get_level_values("file")].astype(str).to_numpy()
    return X, y, X_unl


def _guard(norm: dict) -> str:
    """The card's words for the scaler's guard (docs/config.md#speakers-with-one-emotion-guard)."""
    if not norm.get("guard"):
        return ""
    return ("; guarded: a set of files whose speakers differ as the emotions do (each showing "
            "mostly one) takes its own statistics instead of its speakers', in part or "
            "wholly, without labels")


def _network(args) -> str:
    """The model card's words for the autoencoder of ``--model``."""
    if args.model.startswith("sae"):
        return (f"supervised denoising autoencoder (its 2-D latent also trained to separate the "
                f"four classes: {args.gamma:g} x cross-entropy of a softmax head on it, dropped "
                f"after training)")
    return "denoising autoencoder"


def _flag_rate(args) -> str:
    """The model card's words for how often the out-of-domain flag fires by construction."""
    if args.ood_reference == "corpora":
        return ("Its threshold\n  is the 95th percentile of the scores of held-out *corpora* "
                "(leave one corpus out over\n  its training corpora, each weighing the same), "
                "so a new corpus of ordinary speech is\n  rarely flagged as a whole (the "
                "columns above), while noise, tones and music are.")
    return "It fires on about\n  5 % of in-domain held-out utterances by construction."


def ua_ci(y, pred):
    from sklearn.metrics import balanced_accuracy_score

    from emolens.evaluation.metrics import bootstrap_ua

    lo, hi = bootstrap_ua(y, pred)
    return {"ua": float(balanced_accuracy_score(y, pred)), "ci95": [lo, hi], "n": int(len(y))}


def zero_shot(bundle, X, y, X_unl, adapt=True):
    """UA [CI] and OOD rate of a bundle on a corpus, as `emolens predict` on a manifest of it:
    every utterance (the other emotions too) grouped by speaker, the corpus as one batch;
    only the 4-class utterances are scored."""
    from emolens.deploy.predict import Predictor

    Xt = pd.concat([X, X_unl])
    feats = Xt.droplevel(["corpus", "speaker"])
    table, _ = Predictor(bundle, adapt=adapt).predict_features(feats, Xt.index.get_level_values("speaker"))
    table = table.set_index("file").loc[X.index.get_level_values("file")]
    res = ua_ci(y, table["label"].to_numpy())
    res["ood_rate"] = float(table["ood"].mean())
    return res


def main(argv=None):
    from emolens.deploy.bundle import load_bundle, save_bundle
    from emolens.deploy.train import build_bundle

    args = parse_args(argv)
    t0 = time.time()
    names = list(LICENSES)
    X, y, X_unl = load(args, names + list(EVAL_ONLY))
    corpus = X.index.get_level_values("corpus").to_numpy()
    corpus_unl = X_unl.index.get_level_values("corpus").to_numpy()
    by = None if args.by == "none" else args.by
    params = {"clf": args.clf, "by": by, "epochs": args.epochs}
    if args.model.startswith(("sae", "ssvae")):
        params["reduce__gamma"] = args.gamma
    if args.weight_decay:
        params["weight_decay"] = args.weight_decay
    if by == "speaker" and args.shrink:
        params["shrink"] = args.shrink
    if by == "speaker" and args.guard:
        params["guard"] = True
    common = dict(model=args.model, params=params, n_splits=args.folds, seed=args.seed,
                  balance=args.balance, ood_reference=args.ood_reference)
    print(f"{len(y)} utterances; {dict(zip(*np.unique(corpus, return_counts=True)))}; "
          f"{len(X_unl)} unlabelled for the speaker statistics")

    def part(names_):
        m, mu = np.isin(corpus, names_), np.isin(corpus_unl, names_)
        return X[m], y[m], X_unl[mu]

    def loco(corpora, key):
        """Leave one of ``corpora`` out in turn: per held-out corpus, its mean and worst."""
        metrics[key] = {}
        for held in corpora:
            rest = [n for n in corpora if n != held]
            b = build_bundle(*part(rest)[:2], corpora=rest, X_unlabelled=part(rest)[2], **common)
            metrics[key][held] = zero_shot(b, *part([held]), adapt=args.adapt)
            print(f"{'+'.join(rest)} -> {held}", metrics[key][held], flush=True)
        ua = [r["ua"] for r in metrics[key].values()]
        metrics[f"{key}_mean"], metrics[f"{key}_worst"] = float(np.mean(ua)), float(np.min(ua))

    metrics = {"zero_shot": {}}
    loco(names, "loco")
    # The configuration over all four shared corpora (the LOCO): evaluation models only,
    # TESS among their training corpora when another corpus is held out; none is shipped.
    loco(names + list(EVAL_ONLY), "loco4")

    Xs, ys, Xs_unl = part(names)
    bundle = build_bundle(
        Xs, ys, corpora=names, X_unlabelled=Xs_unl,
        info={"licenses": LICENSES, "protocol_metrics": metrics,
              "trained_by": "scripts/train_default.py"},
        **common,
    )
    for held in EVAL_ONLY:
        metrics["zero_shot"][held] = zero_shot(bundle, *part([held]), adapt=args.adapt)
        print(f"shipped -> {held}", metrics["zero_shot"][held], flush=True)
    metrics["shipped"] = {"ua": bundle.info["heldout"]["ua"], "ci95": bundle.info["heldout"]["ua_ci95"],
                          "n": len(ys), "log_loss": bundle.info["heldout"]["log_loss_calibrated"]}
    args.out.mkdir(parents=True, exist_ok=True)
    save_bundle(bundle, args.out)  # sets the creation date the card quotes
    bundle = load_bundle(args.out)  # validates what was written
    write_card(args, bundle, metrics, Xs, ys)
    save_bundle(bundle, args.out)  # again, so that bundle.json lists the card's SHA-256 too
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(json.dumps(metrics, indent=1))
    print(f"bundle written to {args.out} ({size / 1024:.0f} KiB) in {time.time() - t0:.0f} s")
    if size >= 1 << 20:
        sys.exit("bundle is larger than 1 MiB")


def _fmt(r):
    return f"{100 * r['ua']:.1f} % [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}]"


def write_card(args, bundle, metrics, X, y):
    from emolens.models.scaling import shrink_words

    info = bundle.info
    tr = info["training"]
    corpus = X.index.get_level_values("corpus").to_numpy()
    rows_t = "\n".join(f"| {DESCRIPTION[c]} | {int((corpus == c).sum())} | {LICENSES[c]} |"
                        for c in LICENSES)
    rows_l = "\n".join(
        f"| {' + '.join(o for o in LICENSES if o != c)} → **{c}** | {r['n']} | {_fmt(r)} | "
        f"{100 * r['ood_rate']:.0f} % |" for c, r in metrics["loco"].items())
    rows_4 = "\n".join(
        f"| {' + '.join(o for o in metrics['loco4'] if o != c)} → **{c}** | {r['n']} | {_fmt(r)} | "
        f"{100 * r['ood_rate']:.0f} % |" for c, r in metrics["loco4"].items())
    rows_z = "\n".join(
        f"| shipped model → **{c}** ({EVAL_ONLY[c].split(':')[0]}) | {r['n']} | {_fmt(r)} | "
        f"{100 * r['ood_rate']:.0f} % |" for c, r in metrics["zero_shot"].items())
    norm = bundle.normalisation
    card = f"""# emolens default model

Built-in model of `emolens predict` (used when no `--model` is given). Trained by
`scripts/train_default.py` on {bundle.created}; every number
below was computed by that script.

## Model
- Input: the 88 eGeMAPS v02 functionals (openSMILE {bundle.versions.get('opensmile', '?')}) of a
  16 kHz mono utterance, its leading and trailing silence trimmed (`preprocessing` in
  bundle.json; docs/features.md#silence-around-the-utterance-is-trimmed).
- `{info['model']['name']}` with `{json.dumps(info['model']['params'])}`, training weights
  balanced per {info['model']['balance']} x class: per-{norm['by']} z-scoring (clipped at
  ±{norm['clip']}) with each speaker's statistics shrunk towards those of everything predicted
  together ({shrink_words(norm.get('shrink', 0))}: a speaker with few utterances, or one
  emotion throughout, keeps part of what sets him/her apart){_guard(norm)}, {_network(args)}
  88-40-20-10-2, then a {args.clf} classifier on the 2-D latent; probabilities from a
  multinomial logistic head fitted on held-out ({args.folds}-fold, speaker-independent)
  classifier scores.
- Adaptation to the files predicted together (`emolens predict`, on by default;
  `--no-adapt` switches it off): the model's confident predictions on the batch (the most
  confident half of each predicted class) train a second logistic regression on the batch's
  latent, and its probabilities are averaged with the model's. No label is read; a batch with
  fewer than 5 confident files of some class (a single file, a handful) is not adapted. The
  accuracy below is measured with it, as `emolens predict` applies it; z1/z2 and the
  out-of-domain score do not change.
- Configuration chosen by leave-one-corpus-out over the four shared corpora, never by a test
  corpus (`python benchmarks/transfer.py`, docs/benchmarks.md#transfer).
- Out-of-domain score: mean of the standardised log reconstruction error and negative log
  latent density (Gaussian mixture on the training latents), or, where higher, the
  standardised log Mahalanobis distance of the file's unnormalised features from the
  training utterances ({len(getattr(bundle.ood, 'raw_columns_', []))} eGeMAPS functionals without the loudness levels: it catches audio
  that per-speaker normalisation would make look ordinary, such as a folder of noise or
  music); threshold = {bundle.ood.threshold_source_}.
- Size: only model parameters (scaler statistics, network weights, classifier and head
  coefficients, mixture and distance parameters). No audio, features or per-utterance values.

## Training data
| corpus | utterances used | license |
|---|---|---|
{rows_t}

Four classes: {', '.join(bundle.labels)} ({', '.join(f'{k} {v}' for k, v in tr['per_label'].items())}).
The {tr['n_unlabelled_for_normalisation']} utterances of the other emotions (boredom, disgust, fear, calm,
surprise) are never classified, but they join their speaker's normalisation statistics, so
that these come from all of a speaker's utterances, as they do for a folder in `emolens
predict` (no label decides which utterances define them). Because RAVDESS and nEMO are
CC BY-NC-SA 4.0, **this model is for non-commercial use** and derived models must be shared
alike. TESS (CC BY-NC-ND 4.0, no derivatives) is used only to evaluate.

## Accuracy
Unweighted accuracy (UA, mean per-class recall; chance 25 %), 95 % percentile bootstrap CI
over test utterances (the 4-class ones). Each test corpus is predicted as `emolens predict`
would a manifest of it: all of its utterances in one batch, grouped by speaker, adapted to
that batch (only the 4-class ones are scored).

| leave one corpus out: trained on → tested on | n test | UA [95 % CI] | flagged out-of-domain |
|---|---|---|---|
{rows_l}
| **LOCO mean (worst)** | | {100 * metrics['loco_mean']:.1f} % ({100 * metrics['loco_worst']:.1f} %) | |
{rows_z}

The same configuration by leave-one-corpus-out over all four shared corpora (the protocol of
`experiments/transfer.toml`; these evaluation models train on TESS when another corpus is
held out, and none of them is shipped):

| leave one corpus out of four: trained on → tested on | n test | UA [95 % CI] | flagged out-of-domain |
|---|---|---|---|
{rows_4}
| **LOCO mean (worst)** | | {100 * metrics['loco4_mean']:.1f} % ({100 * metrics['loco4_worst']:.1f} %) | |

| the shipped configuration | n | UA [95 % CI] |
|---|---|---|
| {' + '.join(LICENSES)}, 5-fold CV with speakers held out | {metrics['shipped']['n']} | {_fmt(metrics['shipped'])} |

The shipped number uses the calibrated label (argmax probability); the calibration head of
the shipped model was fitted on the same held-out scores, so its own log-loss
({metrics['shipped']['log_loss']:.3f}) is slightly optimistic.

## Intended use
Research, teaching and prototyping of speech emotion recognition on acted or read adult
speech; exploring the 2-D latent (activation-like axis) of new recordings. Predictions for a
group of utterances from the same speaker (a folder or a manifest with `speaker`) use
per-speaker normalisation as in training and are more reliable than single files.

## Limitations
- Trained on *acted* emotions of 43 adult actors in three languages; spontaneous speech,
  children, other languages and recording channels are out of its domain. The
  leave-one-corpus-out rows above show how much is lost on an unseen corpus; corpora unlike
  all three (natural speech, other language families) can lose more.
- Single files lean on the statistics of the other files predicted with them (or, alone, on
  the training statistics): expect lower accuracy than the table.
- The out-of-domain flag means "unlike the training data", not "wrong". {_flag_rate(args)}
- Not for clinical, hiring, surveillance or any decision about a person.
"""
    (args.out / "MODEL_CARD.md").write_text(card)


if __name__ == "__main__":
    main()
