"""Per-speaker normalisation statistics come from all of a speaker's utterances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emolens.evaluation.config import load_config
from emolens.evaluation.runner import load_data, run_experiment
from emolens.models import load_pipeline

CONFIG = """
name = "unlabelled-norm"
protocol = "transfer"
folds = 2
seeds = [0]
normalisation = "{NORM}"
cache_dir = "{CACHE}"
bootstrap = 0

[corpora]
train = ["{TRAIN}"]
test = ["{TEST}"]

[models.pca_svc]
{MODEL}
"""
#: (top-level normalisation, the model's own line): speaker statistics either way, because
#: a model's own ``by`` wins over the run's (docs/config.md).
SETTINGS = {"run": ("speaker", ""), "model": ("none", 'by = "speaker"'),
            "model-in-global": ("global", 'by = "speaker"')}


@pytest.fixture(scope="module", params=list(SETTINGS))
def run_with_other_emotions(synth_corpora, tmp_path_factory, request):
    """Synthetic corpora where some utterances carry a fifth emotion ("fear")."""
    folder = tmp_path_factory.mktemp("unlabelled")
    norm, model_line = SETTINGS[request.param]
    paths = []
    for name in synth_corpora["names"][:2]:
        m = synth_corpora["manifest"]
        m = m[m["corpus"] == name].reset_index(drop=True)
        m = m[["file", "emotion", "speaker", "corpus", "language", "gender"]].copy()
        # Half of the "sad" utterances become "fear" (no 4-class label); every class stays.
        m["speaker"] = m["speaker"].astype(str).str.split(":").str[-1]
        relabel = (m["emotion"] == "sad") & (np.arange(len(m)) % 2 == 0)
        m.loc[relabel, "emotion"] = "fear"
        path = folder / f"{name}.csv"
        m.to_csv(path, index=False)
        paths.append(path)
    text = (CONFIG.replace("{TRAIN}", str(paths[0])).replace("{TEST}", str(paths[1]))
            .replace("{CACHE}", str(synth_corpora["cache"])).replace("{NORM}", norm)
            .replace("{MODEL}", model_line))
    config_path = folder / "exp.toml"
    config_path.write_text(text)
    config = load_config(config_path)
    out = run_experiment(config, out=folder / "run", progress=False)
    return config, out


def test_unlabelled_utterances_are_loaded_but_never_scored(run_with_other_emotions):
    config, out = run_with_other_emotions
    data = load_data(config, progress=False)
    assert data.X_unlabelled is not None and len(data.X_unlabelled) > 0
    unlabelled = set(data.X_unlabelled.index.get_level_values("file"))
    assert not unlabelled & set(data.X.index.get_level_values("file"))
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert not unlabelled & set(predictions["file"])
    assert set(pd.read_csv(out / "manifest.csv")["label4"]) <= {"neutral", "happy", "sad", "angry"}


def test_speaker_statistics_include_the_unlabelled_utterances(run_with_other_emotions):
    config, out = run_with_other_emotions
    data = load_data(config, progress=False)
    pipe = load_pipeline(out / "models" / "pca_svc" / "seed0_fold0")
    predictions = pd.read_parquet(out / "predictions.parquet")
    test_name = [t for t in predictions["test"].unique() if ":" not in t][0]
    got = predictions[(predictions["fold"] == 0) & (predictions["test"] == test_name)]
    files = data.X.index.get_level_values("file")
    X_t = data.X[files.isin(got["file"])]
    assert len(X_t) == len(got)
    order = pd.Index(X_t.index.get_level_values("file")).get_indexer(got["file"])
    latent = got[["z1", "z2"]].to_numpy()

    speakers = set(X_t.index.get_level_values("speaker"))
    extra = data.X_unlabelled[data.X_unlabelled.index.get_level_values("speaker").isin(speakers)]
    assert len(extra) > 0
    scale, pca = pipe.named_steps["scale"], pipe.named_steps["reduce"]
    with_all = pca.transform(scale.transform(pd.concat([X_t, extra]))[: len(X_t)])
    labelled_only = pca.transform(scale.transform(X_t))
    np.testing.assert_allclose(latent, with_all[order], rtol=1e-6, atol=1e-8)
    assert not np.allclose(latent, labelled_only[order], atol=1e-3)


def test_metadata_records_the_normalisation_each_model_used(run_with_other_emotions):
    config, out = run_with_other_emotions
    assert [s.normalisation for s in config.models] == ["speaker"]
    pipe = load_pipeline(out / "models" / "pca_svc" / "seed0_fold0")
    assert pipe.emolens_metadata_["normalisation"] == "speaker"
    assert pipe.named_steps["scale"].by == "speaker"
    assert "pca_svc: speaker" in (out / "summary.md").read_text()
