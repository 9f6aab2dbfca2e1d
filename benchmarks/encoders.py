"""eGeMAPS vs a pretrained speech encoder vs both (hybrid), on the shared corpora.

    .venv/bin/python benchmarks/encoders.py MODEL              # accuracy table (long)
    .venv/bin/python benchmarks/encoders.py MODEL --speed 100  # extraction speed only
    .venv/bin/python benchmarks/encoders.py MODEL --quick      # 1 seed, 2 folds, svc only
    .venv/bin/python benchmarks/encoders.py --make-tiny DIR     # the tests' random encoder

MODEL is any encoder feature set emolens accepts: a local checkpoint folder
(``/models/wavlm-base-plus``), ``hf:microsoft/wavlm-base-plus`` (already in the local Hugging
Face cache), ``whisper:base``, each optionally with ``@<layer>``. Nothing is downloaded.

Protocols (every number from ``emolens.evaluation.runner.run_experiment``, the code behind
``emolens run``; 4 classes, UA = balanced accuracy, per-speaker normalisation):

1. transfer RAVDESS <-> EmoDB (protocol ``pairwise``: train on one corpus, 5
   speaker-disjoint folds, zero-shot on the other);
2. leave one corpus out over EmoDB, RAVDESS, NEMO and TESS (protocol ``loco``).

For each of ``egemaps``, ``MODEL`` and ``egemaps+MODEL``, with an SVC on the features and
the paper's denoising autoencoder (2-D latent) + SVC. Prints a markdown table (mean ± std
over seeds x folds) and writes it to ``<out>/encoders.md``.

``--speed N`` measures cold extraction of the first N EmoDB files with MODEL: jobs 1 (with
torch's default threads, and with one thread) and jobs 2 (files/s, real-time factor) and the
peak memory of each extraction process (the main process for jobs 1, the largest worker for
jobs 2).

Needs ../shared/corpora (relative to the project root) and the ``encoders`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()
sys.path.insert(0, str(ROOT / "benchmarks"))

import accuracy as _accuracy  # noqa: E402  (same experiment files and runner)
from accuracy import _fmt, experiment, run  # noqa: E402

#: label -> (make_model name, params): features + SVC, and the paper's 2-D latent + SVC.
MODELS = {
    "svc": ("svc", {}),
    "dae_svc": ("dae_svc", {"epochs": 50}),
}
FOUR = ("emodb", "ravdess", "nemo", "tess")


def accuracy(model: str, work: Path, seeds, cache_dir, jobs: int, quick: bool,
             corpora=FOUR) -> str:
    """The table: pairwise between ``corpora[1]`` and ``corpora[0]``, LOCO over all.

    ``corpora`` are folders (or CSV manifests) under ``--root``; a corpus is named after its
    folder (a manifest: the folder holding it), as emolens names the shared corpora.
    """
    names = [Path(c).parent.name if c.endswith(".csv") else Path(c).name for c in corpora]
    from emolens.features import get_config

    encoder = get_config(model)
    feature_sets = {"eGeMAPS": "egemaps", "encoder": encoder.name,
                    "hybrid": get_config(f"egemaps+{encoder.name}").name}
    models = {"svc": MODELS["svc"]} if quick else MODELS
    folds = 2 if quick else 5
    rows = []
    for label, features in feature_sets.items():
        t = time.perf_counter()
        pair = run(experiment(work / f"pairwise-{label}.toml", protocol="pairwise",
                              train=[corpora[1], corpora[0]], seeds=seeds, folds=folds,
                              normalisation="speaker", models=models, cache_dir=cache_dir,
                              jobs=jobs, features=features),
                   work / f"pairwise-{label}")
        loco = run(experiment(work / f"loco-{label}.toml", protocol="loco", train=list(corpora),
                              seeds=seeds, folds=folds, normalisation="speaker", models=models,
                              cache_dir=cache_dir, jobs=jobs, features=features),
                   work / f"loco-{label}")
        print(f"{label}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
        for name in models:
            row = {"features": label, "model": name}
            p = pair[pair["model"] == name]
            for train, other in ((names[1], names[0]), (names[0], names[1])):
                v = p[(p["train"] == train) & (p["test"] == other)]["ua"] * 100
                row[f"{train}→{other}"], row[f"{train}→{other} sd"] = v.mean(), v.std(ddof=1)
            lo = loco[(loco["model"] == name) & (loco["role"] == "test")]
            means = []
            for corpus in names:
                v = lo[lo["test"] == corpus]["ua"] * 100
                row[f"LOCO {corpus}"], row[f"LOCO {corpus} sd"] = v.mean(), v.std(ddof=1)
                means.append(v.mean())
            row["LOCO mean"], row["LOCO mean sd"] = sum(means) / len(means), float("nan")
            rows.append(row)
    return "\n".join([
        f"### eGeMAPS vs `{encoder.name}` vs hybrid (UA %, per-speaker normalisation, mean ± "
        f"std over {len(seeds)} seed(s) × {folds} folds)",
        "",
        _fmt(pd.DataFrame(rows)),
        "",
        f"Encoder weights SHA-256 {encoder.weights_sha256[:16]}...; layer {encoder.layer}; "
        "zero-shot columns: the corpus after the arrow (pairwise) or left out (LOCO) was never "
        "seen in training or model selection.",
        "",
    ])


_SPEED = """
import json, resource, sys, time
from emolens.features import extract
files = json.loads(sys.argv[1])
t = time.perf_counter()
r = extract(files, sys.argv[2], jobs=int(sys.argv[3]), cache_dir=sys.argv[4], progress=False)
wall = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"wall": wall, "n": r.n_computed, "own_mb": own, "worker_mb": workers}))
"""


def speed(model: str, n: int, folder: Path) -> str:
    import soundfile as sf

    files = sorted(str(p) for p in folder.rglob("*") if p.suffix in (".wav", ".flac"))
    files = files[:n]
    seconds = sum(sf.info(f).duration for f in files)
    lines = [f"### Extraction speed of `{model}` ({len(files)} files of {folder.name}, {seconds:.0f} s of "
             f"audio, cold cache, {os.cpu_count()} cores)", "",
             "| jobs | files/s | × real time | peak memory per extraction process | load before |",
             "|---|---|---|---|---|"]
    for jobs, label, env in ((1, "1, torch's default threads", {}),
                             (1, "1, `OMP_NUM_THREADS=1`", {"OMP_NUM_THREADS": "1"}),
                             (2, "2, one torch thread per worker", {})):
        load = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as cache:
            out = subprocess.run([sys.executable, "-c", _SPEED, json.dumps(files), model,
                                  str(jobs), cache], capture_output=True, text=True, check=True,
                                 env={**os.environ, **env})
        r = json.loads(out.stdout.strip().splitlines()[-1])
        memory = r["own_mb"] if jobs == 1 else r["worker_mb"]
        lines.append(f"| {label} | {r['n'] / r['wall']:.1f} | {seconds / r['wall']:.0f} | "
                     f"{memory:.0f} MB | {load:.1f} |")
    lines += ["", "Wall time of `emolens.features.extract` in a fresh process (loading the "
              "model included; jobs 2: each worker loads its own copy); load: the 1-min load "
              "average of the machine before the run."]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?",
                        help="encoder feature set: a folder, hf:ID, whisper:SIZE (@layer)")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-encoders")
    parser.add_argument("--speed", type=int, default=0, metavar="N",
                        help="only measure extraction speed on N files of the first corpus")
    parser.add_argument("--quick", action="store_true",
                        help="one seed, 2 folds, SVC only (a smoke test of the protocols)")
    parser.add_argument("--root", type=Path, default=CORPORA,
                        help="folder holding the corpora (default ../shared/corpora)")
    parser.add_argument("--corpora", default=",".join(FOUR),
                        help="corpus folders under --root: pairwise between the first two, "
                             "LOCO over all (default emodb,ravdess,nemo,tess)")
    parser.add_argument("--make-tiny", type=Path, default=None, metavar="DIR",
                        help="save the tests' tiny random WavLM (2 layers, hidden 32) to DIR")
    args = parser.parse_args(argv)
    from emolens.features.sets import check_feature_set

    if args.make_tiny is not None:
        sys.path.insert(0, str(ROOT / "tests"))
        from conftest import save_tiny_encoder

        print(save_tiny_encoder(args.make_tiny))
        return
    if args.model is None:
        parser.error("give MODEL (or --make-tiny DIR)")

    check_feature_set(args.model)
    if not args.root.is_dir():
        sys.exit(f"error: the corpora are not at {args.root}")
    _accuracy.CORPORA = args.root.resolve()  # experiment() writes paths under it
    corpora = tuple(args.corpora.split(","))
    if args.speed:
        print(speed(args.model, args.speed, args.root / corpora[0]))
        return
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    text = accuracy(args.model, args.out, seeds, args.cache_dir, args.jobs, args.quick, corpora)
    (args.out / "encoders.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
