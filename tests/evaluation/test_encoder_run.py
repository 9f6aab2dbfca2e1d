"""`emolens run` and the report on a pretrained-encoder feature set (a tiny random WavLM
made at test time): the autoencoder takes its input width from the data, the report
attributes blocks of embedding dimensions and says the 27 groups are eGeMAPS-only."""

from __future__ import annotations

import pandas as pd
import pytest

from emolens.evaluation.config import ConfigError, load_config
from emolens.evaluation.runner import run_experiment

CONFIG = """
name = "encoder"
protocol = "transfer"
folds = 2
seeds = [0]
cache_dir = "{CACHE}"
bootstrap = 0
features = "hf:{ENCODER}@last"

[corpora]
train = ["{A}"]
test = ["{B}"]

[models.svc]
[models.dae_svc]
epochs = 4
"""


def _config(synth_corpora, tmp_path, encoder) -> str:
    a, b = synth_corpora["names"][:2]
    root = synth_corpora["root"]
    return (CONFIG.replace("{A}", str(root / a / "manifest.csv"))
            .replace("{B}", str(root / b / "manifest.csv"))
            .replace("{CACHE}", str(synth_corpora["cache"]))
            .replace("{ENCODER}", str(encoder)))


def test_run_and_report_on_an_encoder(synth_corpora, tiny_encoder, tmp_path):
    from emolens.report import build_report

    path = tmp_path / "exp.toml"
    path.write_text(_config(synth_corpora, tmp_path, tiny_encoder))
    config = load_config(path)
    assert config.features == f"hf:{tiny_encoder}@last"
    out = run_experiment(config, out=tmp_path / "run", progress=False)
    features = pd.read_parquet(out / "features.parquet")
    assert features.shape[1] == 64 and features.columns[0] == "emb_mean_0000"
    results = pd.read_csv(out / "results.csv")
    assert set(results["model"]) == {"svc", "dae_svc"}
    assert results["ua"].between(0, 1).all()
    import torch

    from emolens.models import load_pipeline

    encoder = load_pipeline(out / "models" / "dae_svc" / "seed0_fold0").named_steps["reduce"].encoder_
    first = next(m for m in encoder.modules() if isinstance(m, torch.nn.Linear))
    assert first.in_features == 64  # the autoencoder's input width came from the data
    report = build_report(out, max_samples=40, n_repeats=1, max_fits=1)
    text = report.read_text(encoding="utf-8")
    assert "applies to the eGeMAPS and ComParE columns only" in text
    occlusion = pd.read_csv(out / "interpret" / "occlusion.csv")
    assert set(occlusion["group"]) == {f"embedding dims {2 * i}-{2 * i + 1}" for i in range(16)}


def test_unknown_encoder_is_a_config_error(synth_corpora, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(_config(synth_corpora, tmp_path, tmp_path / "missing"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(path)
    path.write_text(_config(synth_corpora, tmp_path, "nobody/no-such-model"))
    pytest.importorskip("transformers", reason="the 'encoders' extra is not installed")
    config = load_config(path)
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        run_experiment(config, out=tmp_path / "run", progress=False)
