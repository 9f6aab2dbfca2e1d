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


# -- ideas that are not (yet) emolens models: same splits, per-speaker normalisation ------
def ideas(cache_dir, seed: int = 0) -> str:
    """Literature ideas tried on top of the selected configuration (svc, by="speaker").

    Implemented here with the emolens building blocks (FeatureScaler, make_model, the
    pairwise splits of the runner), seed 0, 5 speaker-disjoint folds. Transductive ideas
    (self-training, prior balancing) use the unlabelled zero-shot corpus, never its labels.
    """
    import logging
    import warnings

    import numpy as np
    import torch
    from threadpoolctl import threadpool_limits

    from emolens.config import load_config
    from emolens.evaluation.metrics import scores
    from emolens.evaluation.protocols import make_splits
    from emolens.evaluation.runner import load_data
    from emolens.models import make_model

    warnings.simplefilter("ignore")
    logging.getLogger("emolens.models.shift").disabled = True
    torch.set_num_threads(1)
    threadpool_limits(1)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(experiment(Path(tmp) / "ideas.toml", protocol="pairwise",
                                     train=["ravdess", "emodb"], cache_dir=cache_dir,
                                     models={"svc": ("svc", {})}))
    data = load_data(cfg, progress=False)
    X, y = data.X, data.y
    splits = make_splits(data.manifest, "pairwise", data.train, [], 5, "speaker", seed)

    def plain(name, **kw):
        def fit(tr):
            p = make_model(name, by="speaker", **kw).fit(X.iloc[tr], y[tr])
            return lambda idx: p.predict(X.iloc[idx])
        return fit

    def noise_augmented(std):
        def fit(tr):
            p = make_model("svc", by="speaker")
            scale = p.named_steps["scale"].fit(X.iloc[tr])
            Z = scale.transform(X.iloc[tr])
            rng = np.random.default_rng(seed)
            Za = np.vstack([Z] + [Z + rng.normal(0, std, Z.shape) for _ in range(4)])
            rest = p[1:].fit(Za, np.tile(y[tr], 5))
            return lambda idx: rest.predict(scale.transform(X.iloc[idx]))
        return fit

    def ensemble(specs):
        def fit(tr):
            ps = [make_model(n, by="speaker", **kw).fit(X.iloc[tr], y[tr]) for n, kw in specs]

            def predict(idx):
                votes = 0
                for p in ps:
                    d = p.decision_function(X.iloc[idx])
                    votes = votes + (d - d.mean(1, keepdims=True)) / (d.std() + 1e-9)
                return ps[0].classes_[np.argmax(votes, 1)]
            return predict
        return fit

    def self_training(C=1.0, rounds=2, share=0.5):
        def fit(tr):
            def predict(idx):
                p = make_model("svc", by="speaker", C=C).fit(X.iloc[tr], y[tr])
                for _ in range(rounds):
                    d = p.decision_function(X.iloc[idx])
                    pred = p.classes_[d.argmax(1)]
                    top = np.sort(d, 1)
                    margin = top[:, -1] - top[:, -2]
                    keep = np.zeros(len(idx), bool)
                    for c in p.classes_:
                        members = np.flatnonzero(pred == c)
                        best = members[np.argsort(-margin[members])][: max(1, int(share * len(members)))]
                        keep[best] = True
                    Xa = pd.concat([X.iloc[tr], X.iloc[idx][keep]])
                    p = make_model("svc", by="speaker", C=C).fit(Xa, np.concatenate([y[tr], pred[keep]]))
                return p.predict(X.iloc[idx])
            return predict
        return fit

    def balanced(name, **kw):
        def fit(tr):
            p = make_model(name, by="speaker", **kw).fit(X.iloc[tr], y[tr])

            def predict(idx):
                d = p.decision_function(X.iloc[idx])
                b = np.zeros(d.shape[1])
                for _ in range(200):  # shift offsets until each class gets ~1/4 of the test set
                    share = np.bincount((d + b).argmax(1), minlength=d.shape[1]) / len(idx)
                    b -= 0.05 * (share - 1 / d.shape[1])
                return p.classes_[(d + b).argmax(1)]
            return predict
        return fit

    no_mfcc = [c for c in X.columns if "mfcc" not in c.lower()]

    def subset(columns):
        def fit(tr):
            p = make_model("svc", by="speaker").fit(X.iloc[tr][columns], y[tr])
            return lambda idx: p.predict(X.iloc[idx][columns])
        return fit

    variants = {
        "svc, by=speaker (selected)": plain("svc"),
        "+ Gaussian feature noise, 4 copies, sd 0.3": noise_augmented(0.3),
        "+ Gaussian feature noise, 4 copies, sd 0.6": noise_augmented(0.6),
        "without the 16 MFCC functionals": subset(no_mfcc),
        "ensemble svc + linsvc(C=0.01) + logreg(C=0.1)": ensemble(
            [("svc", {}), ("linsvc", {"C": 0.01}), ("svc", {"clf": "logreg", "C": 0.1})]),
        "ensemble svc + dae_rbf": ensemble([("svc", {}), ("dae_svc", {"epochs": 50, "clf": "rbf"})]),
        "self-training on the unlabelled target (2 rounds, top 50 % per class)": self_training(),
        "prior balancing on the target (uniform predicted classes)": balanced("svc"),
    }
    rows = []
    for label, fit in variants.items():
        got: dict = {}
        for split in splits:
            predict = fit(split.train)
            for t in split.tests:
                if t.role == "train":
                    continue
                key = f"{split.train_name} valid" if t.role == "valid" else f"{split.train_name}→{t.name}"
                got.setdefault(key, []).append(scores(y[t.index], predict(t.index))["ua"] * 100)
        row = {"variant": label}
        for key in ("ravdess valid", "ravdess→emodb", "emodb valid", "emodb→ravdess"):
            row[key] = float(np.mean(got[key]))
        rows.append(row)
        print(f"idea {label}: done", file=sys.stderr)
    return "\n".join([
        f"### Ideas on top of the selected configuration (UA %, seed {seed}, 5 speaker folds)",
        "",
        _fmt(pd.DataFrame(rows).round(1)),
        "",
    ])


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
    parser.add_argument("--ideas-only", action="store_true",
                        help="only the table of ideas tried on top of the selected model")
    args = parser.parse_args(argv)
    if not CORPORA.is_dir():
        sys.exit(f"the shared corpora are not at {CORPORA}; nothing to benchmark")
    args.out.mkdir(parents=True, exist_ok=True)
    parts = [f"<!-- python benchmarks/accuracy.py, {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores -->"]
    if args.ideas_only:
        parts.append(ideas(args.cache_dir))
    elif not args.speed_only:
        parts.append(accuracy(args.out, args.seeds, args.cache_dir))
        parts.append(ideas(args.cache_dir))
    if not (args.no_speed or args.ideas_only):
        with tempfile.TemporaryDirectory() as tmp:
            parts.append(speed(Path(tmp)))
    text = "\n\n".join(parts)
    (args.out / "accuracy.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
