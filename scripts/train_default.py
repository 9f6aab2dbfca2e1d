#!/usr/bin/env python
"""Train emolens' built-in default model from EmoDB + RAVDESS.

    python scripts/train_default.py [--corpora ../shared/corpora] [--out src/emolens/data/default_model]

Writes a bundle (JSON + safetensors, no features or audio) and MODEL_CARD.md with accuracy
under three protocols, each with a 95 % bootstrap CI over test utterances:

* within-corpus: 5-fold speaker-independent CV on EmoDB and on RAVDESS alone;
* cross-corpus (zero-shot): train on one corpus, test on the other;
* the shipped model: 5-fold speaker-independent CV over both corpora (its calibration data).

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
LICENSES = {
    "emodb": "CC0 1.0 (Berlin Database of Emotional Speech, Burkhardt et al. 2005)",
    "ravdess": "CC BY-NC-SA 4.0 (RAVDESS, Livingstone & Russo 2018)",
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", type=Path, default=ROOT / ".." / "shared" / "corpora")
    p.add_argument("--out", type=Path, default=ROOT / "src" / "emolens" / "data" / "default_model")
    p.add_argument("--cache", type=Path, default=None, help="feature cache folder")
    p.add_argument("--model", default="dae_svc")
    p.add_argument("--clf", default="logreg",
                   help="classifier on the latent; logreg stores no training points "
                        "(an SVC keeps support vectors = training latent codes)")
    p.add_argument("--by", default="speaker", choices=["none", "corpus", "speaker"])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=2)
    return p.parse_args(argv)


def load(args):
    from emolens.corpora import load_corpus
    from emolens.features import extract, model_input

    frames = []
    for name in ("emodb", "ravdess"):
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
    X_unl = model_input(ex.features, full[full["label4"].isna()].reset_index(drop=True))
    lab = manifest.set_index("file")["label4"]
    y = lab.loc[X.index.get_level_values("file")].astype(str).to_numpy()
    return X, y, X_unl


def ua_ci(y, pred):
    from sklearn.metrics import balanced_accuracy_score

    from emolens.evaluation.metrics import bootstrap_ua

    lo, hi = bootstrap_ua(y, pred)
    return {"ua": float(balanced_accuracy_score(y, pred)), "ci95": [lo, hi], "n": int(len(y))}


def main(argv=None):
    from emolens.deploy.bundle import load_bundle, save_bundle
    from emolens.deploy.predict import Predictor
    from emolens.deploy.train import build_bundle

    args = parse_args(argv)
    t0 = time.time()
    X, y, X_unl = load(args)
    corpus = X.index.get_level_values("corpus").to_numpy()
    corpus_unl = X_unl.index.get_level_values("corpus").to_numpy()
    by = None if args.by == "none" else args.by
    params = {"clf": args.clf, "by": by, "epochs": args.epochs}
    common = dict(model=args.model, params=params, n_splits=args.folds, seed=args.seed)
    print(f"{len(y)} utterances; {dict(zip(*np.unique(corpus, return_counts=True)))}; "
          f"{len(X_unl)} unlabelled for the speaker statistics")

    metrics = {"within_corpus": {}, "cross_corpus": {}}
    for train in ("emodb", "ravdess"):
        m = corpus == train
        b = build_bundle(X[m], y[m], corpora=[train], X_unlabelled=X_unl[corpus_unl == train], **common)
        metrics["within_corpus"][train] = {"ua": b.info["heldout"]["ua"],
                                           "ci95": b.info["heldout"]["ua_ci95"], "n": int(m.sum())}
        test = "ravdess" if train == "emodb" else "emodb"
        # As `emolens predict` on the test corpus: every utterance of a speaker in its group,
        # then only the 4-class ones are scored.
        Xt = pd.concat([X[corpus == test], X_unl[corpus_unl == test]])
        feats = Xt.droplevel(["corpus", "speaker"])
        table, _ = Predictor(b).predict_features(feats, Xt.index.get_level_values("speaker"))
        table = table.set_index("file").loc[X[corpus == test].index.get_level_values("file")]
        res = ua_ci(y[corpus == test], table["label"].to_numpy())
        res["ood_rate"] = float(table["ood"].mean())
        metrics["cross_corpus"][f"{train}->{test}"] = res
        print(train, metrics["within_corpus"][train], f"-> {test}", res, flush=True)

    bundle = build_bundle(
        X, y, corpora=["emodb", "ravdess"], X_unlabelled=X_unl,
        info={"licenses": LICENSES, "protocol_metrics": metrics,
              "trained_by": "scripts/train_default.py"},
        **common,
    )
    metrics["shipped"] = {"ua": bundle.info["heldout"]["ua"], "ci95": bundle.info["heldout"]["ua_ci95"],
                          "n": len(y), "log_loss": bundle.info["heldout"]["log_loss_calibrated"]}
    args.out.mkdir(parents=True, exist_ok=True)
    save_bundle(bundle, args.out)  # sets the creation date the card quotes
    bundle = load_bundle(args.out)  # validates what was written
    write_card(args, bundle, metrics)
    save_bundle(bundle, args.out)  # again, so that bundle.json lists the card's SHA-256 too
    size = sum(f.stat().st_size for f in args.out.rglob("*") if f.is_file())
    print(json.dumps(metrics, indent=1))
    print(f"bundle written to {args.out} ({size / 1024:.0f} KiB) in {time.time() - t0:.0f} s")
    if size >= 1 << 20:
        sys.exit("bundle is larger than 1 MiB")


def _fmt(r):
    return f"{100 * r['ua']:.1f} % [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}]"


def write_card(args, bundle, metrics):
    info = bundle.info
    tr = info["training"]
    rows_w = "\n".join(f"| within {c} (5-fold, speakers held out) | {r['n']} | {_fmt(r)} |"
                       for c, r in metrics["within_corpus"].items())
    rows_x = "\n".join(f"| {k} (zero-shot) | {r['n']} | {_fmt(r)} | {100 * r['ood_rate']:.0f} % |"
                       for k, r in metrics["cross_corpus"].items())
    card = f"""# emolens default model

Built-in model of `emolens predict` (used when no `--model` is given). Trained by
`scripts/train_default.py` on {bundle.created}; every number
below was computed by that script.

## Model
- Input: the 88 eGeMAPS v02 functionals (openSMILE {bundle.versions.get('opensmile', '?')}) of a
  16 kHz mono utterance.
- `{info['model']['name']}` with `{json.dumps(info['model']['params'])}`: per-{bundle.normalisation['by']}
  z-scoring (clipped at ±{bundle.normalisation['clip']}), denoising autoencoder 88-40-20-10-2,
  then a {args.clf} classifier on the 2-D latent; probabilities from a multinomial logistic
  head fitted on held-out ({args.folds}-fold, speaker-independent) classifier scores.
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
| EmoDB (German, 10 speakers) | {metrics['within_corpus']['emodb']['n']} | {LICENSES['emodb']} |
| RAVDESS speech (English, 24 speakers) | {metrics['within_corpus']['ravdess']['n']} | {LICENSES['ravdess']} |

Four classes: {', '.join(bundle.labels)} ({', '.join(f'{k} {v}' for k, v in tr['per_label'].items())}).
The {tr['n_unlabelled_for_normalisation']} utterances of the other emotions (boredom, disgust, fear, calm,
surprise) are never classified, but they join their speaker's normalisation statistics, so
that these come from all of a speaker's utterances, as they do for a folder in `emolens
predict` (no label decides which utterances define them). Because RAVDESS is
CC BY-NC-SA 4.0, **this model is for non-commercial use** and derived models must be shared alike.

## Accuracy
Unweighted accuracy (UA, mean per-class recall; chance 25 %), 95 % percentile bootstrap CI
over test utterances (the 4-class ones). Each speaker is z-scored with the statistics of all
of his/her utterances, in training and in test.

| protocol | n test | UA [95 % CI] |
|---|---|---|
{rows_w}
| EmoDB + RAVDESS, the shipped configuration (5-fold, speakers held out) | {metrics['shipped']['n']} | {_fmt(metrics['shipped'])} |

| cross-corpus | n test | UA [95 % CI] | flagged out-of-domain |
|---|---|---|---|
{rows_x}

The within-corpus and shipped numbers use the calibrated label (argmax probability); the
calibration head of the shipped model was fitted on the same held-out scores, so its own
log-loss ({metrics['shipped']['log_loss']:.3f}) is slightly optimistic.

## Intended use
Research, teaching and prototyping of speech emotion recognition on acted or read adult
speech; exploring the 2-D latent (activation-like axis) of new recordings. Predictions for a
group of utterances from the same speaker (a folder or a manifest with `speaker`) use
per-speaker normalisation as in training and are more reliable than single files.

## Limitations
- Trained on *acted* emotions of 34 adult actors in two languages; spontaneous speech,
  children, other languages and recording channels are out of its domain. Cross-corpus
  accuracy above shows how much is lost on an unseen corpus.
- Single files fall back to the training statistics (no speaker normalisation): expect lower
  accuracy than the table.
- The out-of-domain flag means "unlike the training data", not "wrong"; it fires on about
  5 % of in-domain held-out utterances by construction.
- Not for clinical, hiring, surveillance or any decision about a person.
"""
    (args.out / "MODEL_CARD.md").write_text(card)


if __name__ == "__main__":
    main()
