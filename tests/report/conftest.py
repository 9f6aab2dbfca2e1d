"""A small, fully constructed results directory (as `emolens run` writes it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens import LABELS

ACT = {"neutral": 0.0, "happy": 0.5, "sad": -0.6, "angry": 0.8}
VAL = {"neutral": 0.0, "happy": 0.7, "sad": -0.6, "angry": -0.6}


def make_results_dir(root, with_models: bool = True, latent_dim: int = 2,
                     corpora=("a", "b", "c"), epochs: int = 80, seeds=(0, 1)):
    """Corpora (default three) x 4 emotions x 2 speakers x 6 utterances; loudness carries
    the emotion; trained on the first corpus, the others are zero-shot test sets."""
    from emolens.features.groups import FEATURE_GROUPS

    rng = np.random.default_rng(0)
    cols = [c for g in FEATURE_GROUPS.values() for c in g]
    loud = FEATURE_GROUPS["loudness"]
    rows, feats = [], []
    for ci, corpus in enumerate(corpora):
        for spk in range(2):
            for e in LABELS:
                for u in range(6):
                    f = f"/data/{corpus}/s{spk}/{e}_{u}.wav"
                    rows.append({"file": f, "corpus": corpus, "language": f"l{ci}",
                                 "speaker": f"{corpus}:{spk}", "gender": "female",
                                 "emotion": e, "label4": e, "activation": ACT[e],
                                 "valence": VAL[e]})
                    x = rng.normal(0, 1, len(cols))
                    x[[cols.index(c) for c in loud]] += 4 * ACT[e] + 0.3 * (ci % 3)
                    feats.append(x)
    manifest = pd.DataFrame(rows)
    features = pd.DataFrame(np.array(feats), columns=cols,
                            index=pd.Index(manifest["file"], name="file"))
    manifest.to_csv(root / "manifest.csv", index=False)
    features.to_parquet(root / "features.parquet")
    from emolens import results as R

    # written as the runner writes them (emolens.results): nothing reads summary.md back
    (root / R.SUMMARY).write_text("# t\n\n## Distribution shift\n\n- svc on b: collapse\n")
    R.write_json(root / R.SHIFTS, [{"test": "b", "models": [{"model": "svc", "flagged": 1,
                                                            "runs": 1}],
                                    "message": "collapse", "text": "svc on b: collapse"}])

    from emolens.features import model_input
    from emolens.models import make_model, save_pipeline

    X = model_input(features, manifest)
    y = manifest["label4"].to_numpy()
    first = corpora[0]
    train = (manifest["corpus"] == first).to_numpy()
    results, preds = [], []
    for name, params in (("svc", {}), ("uae_svc", {"epochs": epochs, "latent_dim": latent_dim})):
        for seed in seeds:
            pipe = make_model(name, seed=seed, **params).fit(X[train], y[train])
            if with_models:
                save_pipeline(pipe, root / "models" / name / f"seed{seed}_fold0",
                              metadata={"make_model": name})
            sets = [(f"{first}:train", train, "train")] + [
                (c, manifest["corpus"] == c, "test") for c in corpora[1:]]
            for test, mask, role in sets:
                mask = np.asarray(mask)
                y_hat = pipe.predict(X[mask])
                ua = float(np.mean([np.mean(y_hat[y[mask] == lab] == lab) for lab in LABELS]))
                results.append({"model": name, "train": first, "test": test, "role": role,
                                "seed": seed, "fold": 0, "n": int(mask.sum()), "ua": ua,
                                "wa": float(np.mean(y_hat == y[mask]))})
                p = pd.DataFrame({"file": manifest["file"][mask].to_numpy(), "model": name,
                                  "seed": seed, "fold": 0, "train": first, "test": test,
                                  "role": role, "y_true": y[mask], "y_pred": y_hat})
                if name != "svc":
                    z = pipe[:-1].transform(X[mask])
                    for k in range(z.shape[1]):
                        p[f"z{k + 1}"] = z[:, k]
                preds.append(p)
    pd.DataFrame(results).to_csv(root / "results.csv", index=False)
    preds = pd.concat(preds, ignore_index=True)
    preds.to_parquet(root / "predictions.parquet", index=False)
    from emolens.evaluation.confusions import write_confusions

    write_confusions(preds, root)
    return root


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory):
    return make_results_dir(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="session")
def make_run():
    """The results-directory factory itself (other corpora, epochs, seeds)."""
    return make_results_dir
