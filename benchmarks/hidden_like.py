#!/usr/bin/env python
"""A held-out corpus made to look like the unseen evaluation corpora, for two feature sets.

    python benchmarks/hidden_like.py [--held ravdess] [--per-speaker 20] [--seeds 7 8 9]
                                     [--experiments transfer_egemaps transfer]
                                     [--out runs/hidden_like]

The leave-one-corpus-out benchmark tests whole acted corpora as they are shared. The unseen
corpora differ: some have about 20 utterances per speaker, many other emotions, 48 kHz
recordings, other label spellings, and sometimes no speaker ids. This script draws
``--per-speaker`` random utterances of every speaker of the ``--held`` corpus (all emotions,
so most are not one of the four classes), writes them as 48 kHz 24-bit WAV with the labels
spelt ``anger/happiness/sadness``, and lists them twice: with speaker ids and without (a copy,
as a corpus of its own). It then runs ``experiments/transfer_egemaps.toml`` (eGeMAPS)
and ``experiments/transfer.toml`` (ComParE_2016, eGeMAPS or their fusion, as its selection
over the three corpora chooses) trained on the other three shared corpora (``--experiments``:
which of them, or ``transfer_2d``, the 2-D-latent configuration),
with both as ``--test`` corpora, and prints each run's UA per test set, before and after
adaptation, per draw (``--seeds``: which utterances are drawn) and averaged over the draws.
Every number comes from the runs' results.csv (seeds 0-2 x 5 folds of the final model), the
last column from their test_labels.csv (one label per file: the majority of those 15 fits).
When ``--held`` is not among the built-in default model's training corpora (TESS), the default
model is scored too, as ``emolens predict MANIFEST`` applies it (adapted, and with
``--no-adapt``), on the same test sets.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()
SPELLING = {"angry": "anger", "happy": "happiness", "sad": "sadness"}
#: the experiment files run, by the name the tables give them
EXPERIMENTS = {"transfer_egemaps": "transfer_egemaps.toml", "transfer": "transfer.toml",
               "transfer_2d": "transfer_2d.toml"}


def write_test_set(held: str, per_speaker: int, seed: int, out: Path) -> list[Path]:
    """48 kHz 24-bit copies of ``per_speaker`` random utterances per speaker; two manifests."""
    import soundfile as sf
    from scipy.signal import resample_poly

    from emolens.corpora import load_corpus

    m = load_corpus(CORPORA / held)
    rng = np.random.default_rng(seed)
    picks = [g.iloc[rng.permutation(len(g))[:per_speaker]] for _, g in m.groupby("speaker")]
    rows = []
    for copy in ("with_speaker", "no_speaker"):
        folder = out / copy
        folder.mkdir(parents=True, exist_ok=True)
        for r in pd.concat(picks).itertuples():
            x, sr = sf.read(r.file)
            target = folder / (Path(r.file).stem + ".wav")
            if not target.exists():
                sf.write(target, resample_poly(x, 48_000 // sr, 1), 48_000, subtype="PCM_24")
            rows.append({"copy": copy, "file": str(target), "speaker": r.speaker.split(":")[-1],
                         "emotion": SPELLING.get(r.emotion, r.emotion)})
    table = pd.DataFrame(rows)
    manifests = []
    for copy, part in table.groupby("copy", sort=False):
        part = part.drop(columns="copy")
        if copy == "no_speaker":
            part = part.drop(columns="speaker")
        manifests.append(out / f"{copy}.csv")
        part.to_csv(manifests[-1], index=False)
    shares = table[table["copy"] == "with_speaker"]["emotion"].value_counts(normalize=True)
    four = sum(shares.get(e, 0) for e in ("neutral", *SPELLING.values()))
    print(f"{held}: {len(table) // 2} utterances, {100 * (1 - four):.0f} % other emotions",
          file=sys.stderr)
    return manifests


def config(held: str, experiment: str, out: Path):
    """An experiment of :data:`EXPERIMENTS` trained on the shared corpora but ``held``."""
    from emolens.evaluation.config import parse_config

    path = ROOT / "experiments" / EXPERIMENTS[experiment]
    data = tomllib.loads(path.read_text())
    data["corpora"]["train"] = [str(CORPORA / n) for n in ("emodb", "ravdess", "nemo", "tess")
                                if n != held]
    data["output"] = str(out)
    return parse_config(data, path.parent, path)


def default_model_rows(held: str, manifests: list[Path], seed: int) -> list[dict]:
    """The built-in default model on each test manifest, as ``emolens predict MANIFEST`` applies
    it (adapted; ``--no-adapt`` for the unadapted column), scored on its 4-class files; none when
    ``held`` is one of the model's training corpora."""
    from sklearn.metrics import balanced_accuracy_score

    from emolens.corpora.schema import to_label4
    from emolens.deploy import Predictor

    adapted = Predictor()
    if held in adapted.bundle.info["training"]["corpora"]:
        return []
    unadapted = Predictor(adapt=False)
    rows = []
    for manifest in manifests:
        truth = pd.read_csv(manifest)[["file", "emotion"]]
        truth = truth.assign(file=[str((manifest.parent / f).resolve()) for f in truth["file"]],
                             y=truth["emotion"].map(to_label4)).dropna(subset=["y"])
        ua = {}
        for name, predictor in (("UA % unadapted", unadapted), ("UA % adapted", adapted)):
            table = predictor.predict_files([manifest], jobs=2).table
            table = table.assign(file=[str(Path(f).resolve()) for f in table["file"]])
            merged = truth.merge(table[["file", "label"]], on="file")
            ua[name] = 100 * balanced_accuracy_score(merged["y"], merged["label"].astype(str))
        rows.append({"experiment": "default model", "model": "bundled", "test": manifest.stem,
                     "draw": seed, **ua, "UA % one label per file": ua["UA % adapted"]})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--held", default="ravdess")
    p.add_argument("--per-speaker", type=int, default=20)
    p.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9], help="draws")
    p.add_argument("--experiments", nargs="+", choices=list(EXPERIMENTS),
                   default=["transfer_egemaps", "transfer"])
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "hidden_like")
    args = p.parse_args(argv)
    args.out = args.out.resolve()  # the manifests name their files relative to their own folder
    if not CORPORA.is_dir():
        sys.exit(f"needs the shared corpora at {CORPORA}")
    from sklearn.metrics import balanced_accuracy_score

    from emolens.evaluation.config import with_test
    from emolens.evaluation.runner import run_experiment

    rows = []
    for seed in args.seeds:
        manifests = write_test_set(args.held, args.per_speaker, seed,
                                   args.out / f"draw{seed}" / "audio")
        for experiment in args.experiments:
            run = args.out / f"draw{seed}" / experiment
            cfg = with_test(config(args.held, experiment, run), [str(m) for m in manifests])
            folder = run_experiment(cfg, out=run, progress=False, overwrite=True)
            res = pd.read_csv(folder / "results.csv")
            labels = pd.read_csv(folder / "test_labels.csv")
            test = res[res["role"] == "test"]
            for (model, name), g in test.groupby(["model", "test"], sort=False):
                before = g["ua_unadapted"] if g["ua_unadapted"].notna().any() else g["ua"]
                one = labels[(labels["model"] == model) & (labels["test"] == name)]
                rows.append({"experiment": experiment, "model": model, "test": name, "draw": seed,
                             "UA % unadapted": 100 * before.mean(),
                             "UA % adapted": 100 * g["ua"].mean(),
                             "UA % one label per file": 100 * balanced_accuracy_score(
                                 one["y_true"].astype(str), one["label"].astype(str))})
        rows += default_model_rows(args.held, manifests, seed)
    table = pd.DataFrame(rows)
    print(table.round(1).to_string(index=False))
    mean = table.groupby(["experiment", "model", "test"], sort=False)[
        ["UA % unadapted", "UA % adapted", "UA % one label per file"]].agg(["mean", "std"]).round(1)
    print(f"\nmean and std over {len(args.seeds)} draws:\n{mean.to_string()}")


if __name__ == "__main__":
    main()
