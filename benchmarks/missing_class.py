#!/usr/bin/env python
"""The default model on a corpus that lacks one of the four classes, with and without
``emolens predict --classes``.

    python benchmarks/missing_class.py [--corpus tess]

A model trained on four classes still calls some utterances by a class the corpus does not
hold. For each class in turn, this script drops it from the 4-class utterances of
``--corpus`` (TESS by default: no part of the default model's training), predicts the rest
with the default model as ``emolens predict MANIFEST`` does (the corpus's speaker ids;
adapted), and scores UA over the three classes left (chance 33 %) of the plain label and of
the label restricted to those three (``--classes``). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from short_clips import CORPORA, score

CLASSES = ("angry", "happy", "neutral", "sad")


def main(argv=None) -> None:
    from sklearn.metrics import balanced_accuracy_score

    from emolens.corpora import load_corpus
    from emolens.deploy import Predictor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="tess", help="a folder of ../shared/corpora, or a path")
    args = ap.parse_args(argv)
    folder = Path(args.corpus) if Path(args.corpus).exists() else CORPORA / args.corpus
    manifest = load_corpus(folder)
    manifest = manifest[manifest["label4"].notna()]
    manifest = manifest.assign(emotion=manifest["label4"].astype(str))[["file", "speaker", "emotion"]]
    plain = Predictor()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for gone in CLASSES:
            told = Predictor(plain.bundle, classes=[c for c in CLASSES if c != gone])
            kept = manifest[manifest["emotion"] != gone]
            ua = {}
            for name, predictor in (("label", plain), ("--classes", told)):
                table = score(predictor, kept, Path(tmp) / "three.csv")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the plain label names the missing class
                    ua[name] = 100 * balanced_accuracy_score(table["emotion"],
                                                             table["label"].astype(str))
            rows.append({"missing": gone, "files": len(kept), **ua})
    frame = pd.DataFrame(rows).astype({"files": object})
    frame.loc[len(frame)] = {"missing": "mean", "files": "", **frame[["label", "--classes"]].mean()}
    print(f"Default model on {folder.name}, one class missing (UA % over the three left)\n")
    print("| missing | files | label | --classes |\n|---|---|---|---|")
    for r in frame.itertuples(index=False):
        print(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} |")

if __name__ == "__main__":
    main()
