#!/usr/bin/env python
"""The default model on short clips: a corpus's utterances cut to their loudest 0.2-0.5 s.

    python benchmarks/short_clips.py [--corpus tess] [--lengths 0.5 0.3 0.2] [--mix 0.15]
                                     [--out runs/short_clips]

Natural speech has short replies ("no!", "really?") that acted corpora lack: no utterance of
the four shared corpora is shorter than 0.87 s. This script cuts every 4-class utterance of
``--corpus`` (TESS by default: no part of the default model's training) to the window of
each ``--lengths`` seconds with the most energy, and predicts each set with the default model
as ``emolens predict MANIFEST`` does (the corpus's speaker ids; adapted). It also predicts the
whole corpus with a share ``--mix`` of its files replaced by their 0.3 s cuts, as a corpus
with a few short replies among longer utterances would be. Prints UA % and the share flagged
out-of-domain per set.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()


def loudest(x: np.ndarray, sr: int, seconds: float) -> np.ndarray:
    """The ``seconds`` window of ``x`` with the most energy (searched in 10 ms steps)."""
    n = int(round(seconds * sr))
    if n >= len(x):
        return x
    energy = np.convolve(x ** 2, np.ones(n), "valid")[:: sr // 100]
    start = int(np.argmax(energy)) * (sr // 100)
    return x[start:start + n]


def write_cuts(manifest: pd.DataFrame, seconds: float | None, out: Path) -> pd.DataFrame:
    """A manifest of the utterances cut to ``seconds`` (None: as they are), written under ``out``."""
    import soundfile as sf

    if seconds is None:
        return manifest[["file", "speaker", "emotion"]]
    folder = out / f"{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for path in manifest["file"]:
        target = folder / (Path(path).stem + ".wav")
        if not target.exists():
            x, sr = sf.read(path)
            sf.write(target, loudest(x, sr, seconds), sr)
        files.append(str(target))
    return manifest[["speaker", "emotion"]].assign(file=files)[["file", "speaker", "emotion"]]


def score(predictor, manifest: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Predictions of the files of ``manifest`` (written to ``path``), with their emotions."""
    manifest.to_csv(path, index=False)
    table = predictor.predict_files([path], jobs=2).table
    return table.merge(manifest[["file", "emotion"]], on="file", how="left")


def four_classes(name: str) -> pd.DataFrame:
    """The 4-class utterances of the shared corpus ``name`` (its manifest)."""
    from emolens.corpora import load_corpus

    corpus = load_corpus(CORPORA / name)
    return corpus[corpus["label4"].notna()].reset_index(drop=True)


def row(name: str, table: pd.DataFrame, mask=None) -> dict:
    """UA % and the share flagged out-of-domain of the predictions ``table`` (rows ``mask``)."""
    from sklearn.metrics import balanced_accuracy_score

    t = table if mask is None else table[mask]
    return {"set": name, "files": len(t),
            "UA %": round(100 * balanced_accuracy_score(t["emotion"], t["label"]), 1),
            "flagged out-of-domain %": round(100 * t["ood"].mean(), 1)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="tess")
    parser.add_argument("--lengths", type=float, nargs="*", default=[0.5, 0.3, 0.2])
    parser.add_argument("--mix", type=float, default=0.15,
                        help="share of files replaced by their 0.3 s cuts in the mixed set")
    parser.add_argument("--out", type=Path, default=Path("runs/short_clips"))
    args = parser.parse_args(argv)
    sets = [("as recorded" if seconds is None else f"cut to {seconds:g} s",
             lambda corpus, out, seconds=seconds: write_cuts(corpus, seconds, out))
            for seconds in [None, *args.lengths]]
    measure(args, sets, lambda corpus, out: write_cuts(corpus, 0.3, out), "cuts of 0.3 s")


def measure(args, sets, mixed, what: str) -> None:
    """Predict the 4-class utterances of ``args.corpus`` with the default model as each of
    ``sets`` writes them (``(name, write)``, ``write(corpus, out)`` -> a manifest), then as
    recorded with a share ``args.mix`` of them replaced by ``mixed``'s (``what`` they are);
    print UA and the share flagged out-of-domain per set, as markdown."""
    from emolens.deploy.predict import Predictor

    warnings.simplefilter("ignore")
    args.out = args.out.resolve()  # a manifest's relative paths are read from its own folder
    args.out.mkdir(parents=True, exist_ok=True)
    corpus = four_classes(args.corpus)
    predictor = Predictor()
    rows = []
    for i, (name, write) in enumerate(sets):
        rows.append(row(name, score(predictor, write(corpus, args.out), args.out / f"set{i}.csv")))
    some = np.random.default_rng(0).random(len(corpus)) < args.mix
    replaced = mixed(corpus, args.out).loc[some, "file"]
    both = write_cuts(corpus, None, args.out).copy()
    both.loc[some, "file"] = replaced
    table = score(predictor, both, args.out / "mixed.csv")
    is_replaced = table["file"].isin(replaced)
    rows.append(row(f"mixed: its {some.sum()} {what}", table, is_replaced))
    rows.append(row(f"mixed: its {(~some).sum()} others", table, ~is_replaced))
    print(f"default model on {args.corpus} ({len(corpus)} utterances of the four classes)")
    from transfer import markdown  # benchmarks/ is on sys.path when run as a script

    print(markdown(pd.DataFrame(rows).set_index("set")))

if __name__ == "__main__":
    main()
