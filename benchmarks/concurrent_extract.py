#!/usr/bin/env python
"""Two ``emolens extract`` on one cold cache at once: how much work each does, and the time.

    python benchmarks/concurrent_extract.py [--corpus ../shared/corpora/emodb] [--files 80]

Runs ``emolens extract`` on the first ``--files`` files of the corpus with a fresh cache:
once alone, then twice at the same time into another fresh cache, and prints each run's
summary line (from cache / computed meanwhile by another process / computed) and wall time.
Before the cache claims, both concurrent runs computed every file; now the first to claim an
entry computes it and the other waits for it (the second run does not take a share of the
work: claims are taken for all missing entries at once).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpora" / "emodb")
    parser.add_argument("--files", type=int, default=80)
    args = parser.parse_args(argv)
    emolens = str(Path(sys.executable).with_name("emolens"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        manifest = tmp / "m.csv"
        subprocess.run([emolens, "corpus", str(args.corpus), "-o", str(manifest)], check=True,
                       capture_output=True)
        lines = manifest.read_text().splitlines()
        manifest.write_text("\n".join(lines[: args.files + 1]) + "\n")

        def start(cache, out):
            return subprocess.Popen([emolens, "extract", str(manifest), "--cache-dir", str(cache),
                                     "-o", str(out)], stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    env={**os.environ, "COLUMNS": "250"})

        def summary(text):
            return next((l.strip() for l in text.splitlines() if " files -> " in l), text[-300:])

        t0 = time.perf_counter()
        alone = start(tmp / "c1", tmp / "a.parquet")
        text = alone.communicate()[0]
        print(f"alone: {time.perf_counter() - t0:.1f} s: {summary(text)}")
        t0 = time.perf_counter()
        pair = [start(tmp / "c2", tmp / f"p{i}.parquet") for i in range(2)]
        texts = [p.communicate()[0] for p in pair]
        wall = time.perf_counter() - t0
        for i, text in enumerate(texts):
            print(f"concurrent run {i + 1}: {summary(text)}")
        print(f"both concurrent runs done after {wall:.1f} s")


if __name__ == "__main__":
    main()
