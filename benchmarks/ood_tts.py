#!/usr/bin/env python
"""Out-of-domain flag of the default model on formant-synthesised speech (espeak-ng).

    python benchmarks/ood_tts.py [--sentences 12] [--out runs/ood_tts]

Needs the espeak-ng program (Debian/Ubuntu: ``apt-get install espeak-ng``). Renders each of
``--sentences`` English and German sentences with several espeak-ng voices (male/female
variants, three speaking rates) into one folder per voice (= one "speaker" for per-speaker
normalisation, as ``emolens predict FOLDER`` groups files), then predicts them with the
default model twice: the whole set (folders as speaker groups, the model's normalisation)
and each file alone (training statistics). Prints the flag rates and the score quantiles
next to the model's threshold.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

SENTENCES = {
    "en": ["The weather is nice today and we will go outside.",
           "I cannot believe you did that again.",
           "Please put the book back on the table.",
           "We are leaving for the station in ten minutes.",
           "Nobody told me that the meeting was cancelled.",
           "This is the best news I have heard all year.",
           "Why would anyone leave the door open at night?",
           "The children were playing in the garden until dark.",
           "I have already told you everything I know.",
           "Turn off the lights when you leave the room.",
           "She said the train would be late again.",
           "It is far too cold to swim in the lake."],
    "de": ["Der Lappen liegt auf dem Eisschrank.",
           "Das will sie am Mittwoch abgeben.",
           "Heute abend könnte ich es ihm sagen.",
           "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
           "In sieben Stunden wird es soweit sein.",
           "Mit dem Zug fahren wir morgen früh nach Berlin.",
           "Ich habe das doch schon dreimal erklärt.",
           "Die Tür war die ganze Nacht offen.",
           "Wir treffen uns nach der Arbeit im Park.",
           "Das ist wirklich eine wunderbare Nachricht.",
           "Er hat den Schlüssel wieder verloren.",
           "Am Wochenende regnet es bestimmt."],
}
VARIANTS = ["m3", "f2", "f4"]  # espeak-ng voice variants (male / female formant sets)
RATES = [140, 175, 210]  # words per minute


def render(out: Path, n: int) -> list[Path]:
    files = []
    for lang, sentences in SENTENCES.items():
        for variant in VARIANTS:
            folder = out / f"{lang}+{variant}"
            folder.mkdir(parents=True, exist_ok=True)
            for i, text in enumerate(sentences[:n]):
                rate = RATES[i % len(RATES)]
                path = folder / f"{i:02d}_{rate}.wav"
                subprocess.run(["espeak-ng", "-v", f"{lang}+{variant}", "-s", str(rate),
                                "-w", str(path), text], check=True)
                files.append(path)
    return files


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path("runs/ood_tts"))
    args = parser.parse_args(argv)
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    from emolens.deploy.predict import Predictor

    files = render(args.out, args.sentences)
    warnings.simplefilter("ignore")
    pred = Predictor()
    thr = pred.bundle.ood.threshold_
    grouped = pred.predict_files([args.out], jobs=1).table
    alone = pd_concat([pred.predict_files([f], jobs=1).table for f in files])
    print(f"{len(files)} espeak-ng files ({len(SENTENCES)} languages x {len(VARIANTS)} voices x "
          f"{args.sentences} sentences); default model, OOD threshold {thr:.2f}")
    for name, table in (("folders as speakers (model's normalisation)", grouped),
                        ("each file alone (training statistics)", alone)):
        s = table["ood_score"].to_numpy()
        q = np.quantile(s, [0.1, 0.5, 0.9])
        print(f"- {name}: {int(table['ood'].sum())} of {len(table)} flagged "
              f"({100 * table['ood'].mean():.0f} %); ood_score 10/50/90 % quantiles "
              f"{q[0]:.2f} / {q[1]:.2f} / {q[2]:.2f}; labels "
              f"{table['label'].value_counts().to_dict()}")
        by_lang = table.assign(lang=table["file"].map(lambda f: Path(f).parent.name[:2]))
        print("  per language:", by_lang.groupby("lang")["ood"].mean().round(2).to_dict())


def pd_concat(frames):
    import pandas as pd

    return pd.concat(frames, ignore_index=True)


if __name__ == "__main__":
    main()
