#!/usr/bin/env python
"""How much of each shared corpus the silence trim keeps, and whether trimming a trimmed file
keeps it (``emolens.features.audio.trim_silence``, as shipped).

    python benchmarks/trim_edges.py [--files 200] [--rule shipped|percentile]

For ``--files`` files per corpus (a fixed draw): the share of the 16 kHz signal the trim
keeps, and the share of that a second trim keeps (mean, least, and how many files lose more
than 5 % the second time). A file with little silence left has speech at its 10th-percentile
frame; ``--rule percentile`` measures the floor taken from that percentile alone (the rule
before the floor learnt the file's edges), ``shipped`` the rule in ``TRIM``. No features are
extracted: a few seconds on 2 cores. Markdown on stdout.
"""

from __future__ import annotations

import argparse
import random
from unittest import mock

import numpy as np

from emolens.corpora import load_corpus
from emolens.features import audio
from transfer import CORPORA, NAMES


def kept(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per file, the share the trim keeps and the share a second trim keeps of that."""
    once, twice = [], []
    for f in files:
        signal, sr = audio.read_audio(f)
        x = audio.resample(signal.mean(axis=1), sr) if sr != audio.TARGET_SR else signal.mean(axis=1)
        t = audio.trim_silence(x)
        once.append(len(t) / len(x))
        twice.append(len(audio.trim_silence(t)) / len(t))
    return np.array(once), np.array(twice)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rule", choices=["shipped", "percentile"], default="shipped")
    args = ap.parse_args(argv)
    trim = dict(audio.TRIM, **({"floor_from_edges": False} if args.rule == "percentile" else {}))
    print(f"| corpus ({args.rule} floor) | kept by the trim | kept by a second trim: mean "
          f"| least | files losing > 5 % |\n|---|---|---|---|---|")
    with mock.patch.dict(audio.TRIM, trim):
        for name in NAMES:
            files = sorted(load_corpus(CORPORA / name)["file"])
            files = random.Random(0).sample(files, min(args.files, len(files)))
            once, twice = kept(files)
            print(f"| {name} | {100 * once.mean():.1f} % | {100 * twice.mean():.1f} % "
                  f"| {100 * twice.min():.1f} % | {(twice < 0.95).sum()} of {len(files)} |")


if __name__ == "__main__":
    main()
