"""Accuracy and run-speed benchmark of `emolens run` on the shared corpora (EmoDB, RAVDESS).

    python benchmarks/accuracy.py                 # accuracy tables + run speed
    python benchmarks/accuracy.py --no-speed      # accuracy only
    python benchmarks/accuracy.py --speed-only    # cold/warm timing of experiments/paper.toml

Every number comes from ``emolens.evaluation.runner.run_experiment`` (the code behind
``emolens run``), 4 classes, UA = balanced accuracy. Model choices are made on the
**validation folds of the training corpus only** (the ``:valid`` rows); the zero-shot corpus is
never used for selection. Output: markdown on stdout and in ``<out>/accuracy.md``; paste it
into docs/benchmarks.md. Needs ../shared/corpora (relative to the project root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()

#: label -> (make_model name, params). The first four are the paper's step 1.
MODELS = {
    "svc": ("svc", {}),
    "pca_svc": ("pca_svc", {}),
    "uae_svc": ("uae_svc", {"epochs": 50}),
    "dae_svc": ("dae_svc", {"epochs": 50}),
    "linsvc_C0.01": ("linsvc", {"C": 0.01}),
    "svc_C0.3": ("svc", {"C": 0.3}),
    "dae_rbf": ("dae_svc", {"epochs": 50, "clf": "rbf"}),
    "uae_rbf": ("uae_svc", {"epochs": 50, "clf": "rbf"}),
    "vae_svc": ("vae_svc", {"epochs": 50}),
}


def _toml_models(models: dict) -> str:
    from emolens.evaluation.runner import _toml_value

    lines = []
    for label, (name, params) in models.items():
        lines += [f'[models."{label}"]', f'model = "{name}"']
        lines += [f"{k} = {_toml_value(v)}" for k, v in params.items()]
    return "\n".join(lines)


def experiment(path: Path, *, protocol, train, test=(), folds=5, seeds=(0, 1, 2),
               normalisation="global", models=MODELS, cache_dir=None, jobs=2,
               save_models=False) -> Path:
    """Write an experiment TOML (see docs/config.md)."""
    body = [
        f'name = "{path.stem}"',
        f'protocol = "{protocol}"',
        f"folds = {folds}" if isinstance(folds, int) else f'folds = "{folds}"',
        f"seeds = {list(seeds)}",
        f'normalisation = "{normalisation}"',
        f"jobs = {jobs}",
        "bootstrap = 200",
        f"save_models = {'true' if save_models else 'false'}",
    ]
    if cache_dir is not None:
        body.append(f'cache_dir = "{cache_dir}"')
    body += [
        "",
        "[corpora]",
        "train = [" + ", ".join(f'"{CORPORA / c}"' for c in train) + "]",
        "test = [" + ", ".join(f'"{CORPORA / c}"' for c in test) + "]",
        "",
        _toml_models(models),
    ]
    path.write_text("\n".join(body) + "\n")
    return path


def run(path: Path, out: Path) -> pd.DataFrame:
    from emolens.config import load_config
    from emolens.evaluation.runner import run_experiment

    import emolens.report as report

    config = load_config(path)
    # The benchmark needs results.csv only; the HTML report is timed in the speed part.
    saved = getattr(report, "build_report", None)
    if saved is not None:
        del report.build_report
    try:
        run_experiment(config, out=out, progress=False)
    finally:
        if saved is not None:
            report.build_report = saved
    return pd.read_csv(out / "results.csv")


def transfer_table(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows normalisation × model; columns valid/zero-shot UA per direction (mean ± std)."""
    rows = []
    for norm, res in results.items():
        for model in dict.fromkeys(res["model"]):
            r = res[res["model"] == model]
            row = {"normalisation": norm, "model": model}
            for train, other in (("ravdess", "emodb"), ("emodb", "ravdess")):
                for test, col in ((f"{train}:valid", f"{train} valid"),
                                  (other, f"{train}→{other}")):
                    v = r[(r["train"] == train) & (r["test"] == test)]["ua"] * 100
                    row[col] = v.mean()
                    row[col + " sd"] = v.std(ddof=1)
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt(table: pd.DataFrame) -> str:
    cols = [c for c in table.columns if not c.endswith(" sd")]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                sd = row.get(c + " sd")
                cells.append(f"{v:.1f}" + (f" ± {sd:.1f}" if sd == sd and sd is not None else ""))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy(work: Path, seeds, cache_dir) -> str:
    out = []
    results = {}
    for norm in ("global", "corpus", "speaker"):
        t = time.perf_counter()
        cfg = experiment(work / f"pairwise-{norm}.toml", protocol="pairwise",
                         train=["ravdess", "emodb"], seeds=seeds, normalisation=norm,
                         cache_dir=cache_dir)
        results[norm] = run(cfg, work / f"pairwise-{norm}")
        print(f"pairwise {norm}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
    table = transfer_table(results)
    table["mean valid"] = (table["ravdess valid"] + table["emodb valid"]) / 2
    out += [
        "### Transfer (pairwise: train on one corpus, 5 speaker-disjoint folds, zero-shot "
        f"on the other), UA %, mean ± std over {len(seeds)} seeds × 5 folds",
        "",
        _fmt(table.round(2)),
        "",
    ]
    best = table.sort_values("mean valid", ascending=False).iloc[0]
    out += [
        f"Selected on validation folds only (highest mean of `ravdess valid` and `emodb "
        f"valid`): **{best['model']}, normalisation {best['normalisation']}** → "
        f"RAVDESS→EmoDB {best['ravdess→emodb']:.1f} %, EmoDB→RAVDESS "
        f"{best['emodb→ravdess']:.1f} %.",
        "",
    ]
    latent = table[table["model"].isin(["uae_svc", "dae_svc", "dae_rbf", "uae_rbf", "vae_svc"])]
    best_latent = latent.sort_values("mean valid", ascending=False).iloc[0]
    out += [
        f"Best 2-D latent model by the same rule: **{best_latent['model']}, normalisation "
        f"{best_latent['normalisation']}** → RAVDESS→EmoDB {best_latent['ravdess→emodb']:.1f} %, "
        f"EmoDB→RAVDESS {best_latent['emodb→ravdess']:.1f} %.",
        "",
    ]

    rows = []
    within_models = {k: MODELS[k] for k in ("svc", "dae_svc", "dae_rbf")}
    for norm in ("global", "speaker"):
        cfg = experiment(work / f"within-{norm}.toml", protocol="within",
                         train=["emodb", "ravdess"], folds="loso", seeds=[0],
                         normalisation=norm, models=within_models, cache_dir=cache_dir)
        t = time.perf_counter()
        res = run(cfg, work / f"within-{norm}")
        print(f"within {norm}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
        held = res[res["role"] == "test"]
        for model in within_models:
            row = {"normalisation": norm, "model": model}
            for corpus in ("emodb", "ravdess"):
                sel = held[(held["model"] == model) & (held["test"] == f"{corpus}:loso")]
                row[f"{corpus} LOSO (mean over speakers)"] = sel["ua"].mean() * 100
            rows.append(row)
    out += [
        "### Within corpus, leave one speaker out (UA %, mean over held-out speakers, seed 0)",
        "",
        _fmt(pd.DataFrame(rows).round(2)),
        "",
    ]
    return "\n".join(out)


def _run_cli(config: Path, out: Path, env: dict) -> float:
    code = (
        "import typer; from emolens.evaluation.commands import run; "
        "app = typer.Typer(); app.command()(run); app()"
    )
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(config), "--out", str(out), "-q"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def speed(work: Path) -> str:
    """Wall time of `emolens run experiments/paper.toml`, cold (empty cache) and warm."""
    cache = work / "speed-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "EMOLENS_CACHE": str(cache)}
    config = ROOT / "experiments" / "paper.toml"
    cold = _run_cli(config, work / "speed-cold", env)
    warm = _run_cli(config, work / "speed-warm", env)
    summary = (work / "speed-warm" / "summary.md").read_text()
    params = [line for line in summary.splitlines() if line.startswith("| dae_svc |")]
    return "\n".join([
        "### Run speed: `emolens run experiments/paper.toml` (wall clock, whole process)",
        "",
        "| cache | seconds |",
        "|---|---|",
        f"| cold (empty feature cache) | {cold:.1f} |",
        f"| warm | {warm:.1f} |",
        "",
        f"Parameters of the paper model (dae_svc row of summary.md): {params[0] if params else '?'}",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-accuracy")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="feature cache (default: $EMOLENS_CACHE or the user cache)")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    args = parser.parse_args(argv)
    if not CORPORA.is_dir():
        sys.exit(f"the shared corpora are not at {CORPORA}; nothing to benchmark")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [f"<!-- python benchmarks/accuracy.py, {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores -->"]
    if not args.speed_only:
        parts.append(accuracy(args.out, args.seeds, args.cache_dir))
    if not args.no_speed:
        with tempfile.TemporaryDirectory() as tmp:
            parts.append(speed(Path(tmp)))
    text = "\n\n".join(parts)
    (args.out / "accuracy.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
