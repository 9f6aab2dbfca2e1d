"""Bundles on a pretrained-encoder feature set: trained, saved, loaded, predicted; other
weights refused. The encoder is a tiny random WavLM made at test time (no download)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emolens.cli import app
from emolens.deploy.bundle import BundleError, load_bundle, save_bundle
from emolens.deploy.predict import Predictor


@pytest.fixture(scope="module")
def encoder_bundle(synth, make_encoder, tmp_path_factory):
    """A dae_svc bundle on the hybrid egemaps + tiny-WavLM features of the first corpus."""
    from emolens.deploy.train import build_bundle
    from emolens.features import extract, get_config, model_input

    root = tmp_path_factory.mktemp("encoder_bundle")
    folder = make_encoder(root / "wavlm", seed=3)
    name = get_config(f"egemaps+hf:{folder}@last").name
    m = synth["manifest"]
    m = m[m["corpus"] == synth["names"][0]]
    ex = extract(m["file"].tolist(), name, cache_dir=synth["cache"], progress=False)
    X = model_input(ex.features, m)
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    bundle = build_bundle(X, y, "dae_svc", params={"by": "speaker", "epochs": 10}, n_splits=3,
                          feature_set=name, corpora=[synth["names"][0]])
    path = save_bundle(bundle, root / "model")
    return {"bundle": bundle, "path": path, "encoder": folder, "name": name, "root": root}


def test_bundle_records_the_encoder(encoder_bundle):
    from emolens.features import get_config

    meta = json.loads((encoder_bundle["path"] / "bundle.json").read_text())
    encoder = get_config(encoder_bundle["name"]).encoder
    assert meta["feature_set"] == encoder_bundle["name"]
    assert meta["encoder"]["weights_sha256"] == encoder.weights_sha256
    assert meta["encoder"]["source"] == str(encoder_bundle["encoder"])
    assert meta["encoder"]["layer"] == "last"
    assert len(meta["feature_names"]) == 88 + 64
    assert meta["feature_names"][-1] == "emb_std_0031"
    assert load_bundle(encoder_bundle["path"]).encoder == meta["encoder"]


def test_predict_files_and_cli(encoder_bundle, synth, tmp_path):
    m = synth["manifest"]
    files = m[m["corpus"] == synth["names"][1]]["file"].tolist()[:6]
    folder = tmp_path / "in"
    folder.mkdir()
    for f in files:
        shutil.copy(f, folder)
    result = Predictor(encoder_bundle["path"]).predict_files([str(folder)],
                                                            cache_dir=tmp_path / "c")
    assert len(result.table) == 6
    np.testing.assert_allclose(result.table.filter(like="p_").sum(axis=1), 1.0, atol=1e-9)
    out = tmp_path / "pred.csv"
    cli = CliRunner().invoke(app, ["predict", str(folder), "--model", str(encoder_bundle["path"]),
                                   "-o", str(out), "--cache-dir", str(tmp_path / "c")])
    assert cli.exit_code == 0, cli.output
    pd.testing.assert_frame_equal(pd.read_csv(out)[["label"]],
                                  result.table[["label"]].reset_index(drop=True))


def test_other_weights_are_refused(encoder_bundle, make_encoder, synth, tmp_path):
    bundle = load_bundle(encoder_bundle["path"])
    target = encoder_bundle["encoder"]
    backup = tmp_path / "backup.safetensors"
    shutil.copy(target / "model.safetensors", backup)
    try:
        other = make_encoder(tmp_path / "other", seed=4)
        shutil.copy(other / "model.safetensors", target / "model.safetensors")
        with pytest.raises(BundleError, match="encoder weights differ"):
            Predictor(bundle).predict_files(synth["manifest"]["file"].tolist()[:2],
                                            cache_dir=tmp_path / "c")
        signal = np.random.default_rng(0).normal(0, 0.1, 32_000).astype(np.float32)
        with pytest.raises(BundleError, match="encoder weights differ"):
            Predictor(bundle).signal_features(signal, 16_000)
    finally:
        shutil.copy(backup, target / "model.safetensors")
    features = Predictor(bundle).signal_features(
        np.random.default_rng(0).normal(0, 0.1, 32_000).astype(np.float32), 16_000)
    assert list(features.columns) == bundle.feature_names


def test_encoder_feature_set_without_record_is_refused(encoder_bundle):
    bundle = load_bundle(encoder_bundle["path"])
    bundle.encoder = None
    with pytest.raises(BundleError, match="does not record its weights"):
        Predictor(bundle).feature_config()
