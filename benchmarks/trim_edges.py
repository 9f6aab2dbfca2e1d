#!/usr/bin/env python
"""How much of each shared corpus the silence trim keeps, and whether trimming a trimmed file
keeps it (``emolens.features.audio.trim_silence``, as shipped).

    python benchmarks/trim_edges.py [--files 200] [--rule shipped|percentile] [--copies]

For ``--files`` files per corpus (a fixed draw): the share of the 16 kHz signal the trim
keeps, and the share of that a second trim keeps (mean, least, and how many files lose more
than 5 % the second time). A file with little silence left has speech at its 10th-percentile
frame; ``--rule percentile`` measures the floor taken from that percentile alone (the rule
before the floor learnt the file's edges), ``shipped`` the rule in ``TRIM``. With ``--copies``
the second trim is the one a channel copy gets (``augment = "channel"``: made from the trimmed
signal, its speaker's channel applied, trimmed again at extraction; written to a temporary
folder), and "kept by the trim" is the first trim of the recording. No features are
extracted: a few seconds on 2 cores. Markdown on stdout.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from unittest import mock

import numpy as np

from emolens.corpora import load_corpus
from emolens.features import audio
from emolens.features.channels import channel_copies
from transfer import CORPORA, NAMES


def kept(files: list[str], copies: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per file, the share the trim keeps and the share a second trim keeps of that (of
    ``copies``, row for row with ``files``, where given: their own trim)."""
    once, twice = [], []
    for i, f in enumerate(files):
        x = audio.prepare_signal(*audio.read_audio(f), trim=False)
        t = audio.trim_silence(x)
        once.append(len(t) / len(x))
        second = (audio.prepare_signal(*audio.read_audio(copies[i]), trim=False)
                  if copies is not None else t)
        twice.append(len(audio.trim_silence(second)) / len(second))
    return np.array(once), np.array(twice)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--rule", choices=["shipped", "percentile"], default="shipped")
    ap.add_argument("--copies", action="store_true", help="the second trim: a channel copy's")
    args = ap.parse_args(argv)
    trim = dict(audio.TRIM, **({"floor_from_edges": False} if args.rule == "percentile" else {}))
    second = "a channel copy's trim" if args.copies else "a second trim"
    print(f"| corpus ({args.rule} floor) | kept by the trim | kept by {second}: mean "
          f"| least | files losing > 5 % |\n|---|---|---|---|---|")
    with mock.patch.dict(audio.TRIM, trim), tempfile.TemporaryDirectory() as tmp:
        for name in NAMES:
            manifest = load_corpus(CORPORA / name).sort_values("file")
            rows = random.Random(0).sample(range(len(manifest)), min(args.files, len(manifest)))
            manifest = manifest.iloc[rows]
            copies = (channel_copies(manifest, tmp)["file"].tolist() if args.copies else None)
            once, twice = kept(manifest["file"].tolist(), copies)
            print(f"| {name} | {100 * once.mean():.1f} % | {100 * twice.mean():.1f} % "
                  f"| {100 * twice.min():.1f} % | {(twice < 0.95).sum()} of {len(manifest)} |")


if __name__ == "__main__":
    main()
