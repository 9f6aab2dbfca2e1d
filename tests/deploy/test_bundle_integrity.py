"""Issue 11: bundle files are checked against SHA-256 hashes, weights must be finite."""

from __future__ import annotations

import filecmp
import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from emolens.cli import app
from emolens.deploy.bundle import BundleError, default_bundle_path, load_bundle, save_bundle
from emolens.deploy.predict import Predictor

runner = CliRunner()


@pytest.fixture
def copy(bundle_dir, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(bundle_dir, dst)
    return dst


def _tamper(path, how):
    """Rewrite the network weights of a bundle (as a bit flip or an edit would)."""
    file = path / "pipeline" / "network.safetensors"
    tensors = load_file(str(file))
    name = next(k for k, t in tensors.items() if t.ndim == 2 and "encoder" in k)
    t = tensors[name].clone()
    if how == "sign":
        t.view(-1)[:400] *= -1  # the sign bits of 400 weights
    else:
        t.view(-1)[0] = float("nan")
    tensors[name] = t
    save_file(tensors, str(file))


def _features(synth):
    X = synth["X"]
    rows = X.index.get_level_values("corpus") == synth["names"][1]
    return X[rows].droplevel(["corpus", "speaker"]), X[rows].index.get_level_values("speaker")


def test_saved_bundle_lists_the_hash_of_every_file(bundle_dir):
    meta = json.loads((bundle_dir / "bundle.json").read_text())
    files = {p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()}
    assert set(meta["files"]) == files - {"bundle.json"}
    assert all(len(h) == 64 for h in meta["files"].values())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_bundle(bundle_dir)


def test_changed_weights_are_refused_unless_no_verify(copy, bundle, synth, tmp_path, write_wav):
    _tamper(copy, "sign")
    with pytest.raises(BundleError, match=r"pipeline/network.safetensors does not match its "
                                          r"SHA-256 in bundle.json.*--no-verify"):
        load_bundle(copy)
    edited = load_bundle(copy, verify=False)  # the escape hatch: loads, predicts differently
    feats, spk = _features(synth)
    a, _ = Predictor(bundle).predict_features(feats, spk)
    b, _ = Predictor(edited).predict_features(feats, spk)
    assert not np.allclose(a["p_angry"], b["p_angry"])

    wav = write_wav("x.wav")
    res = runner.invoke(app, ["predict", str(wav), "--model", str(copy)])
    assert res.exit_code == 2 and "does not match its SHA-256" in res.output
    res = runner.invoke(app, ["predict", str(wav), "--model", str(copy), "--no-verify"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["export", str(copy), "-o", str(tmp_path / "m.onnx")])
    assert res.exit_code == 2 and "does not match its SHA-256" in res.output
    res = runner.invoke(app, ["export", str(copy), "-o", str(tmp_path / "m.onnx"), "--no-verify"])
    assert res.exit_code == 0, res.output


def test_zip_bundles_are_verified_too(bundle, tmp_path):
    import zipfile

    path = save_bundle(bundle, tmp_path / "m.zip")
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        data = {n: zf.read(n) for n in names}
    data["pipeline/pipeline.json"] = data["pipeline/pipeline.json"].replace(b'"C": 1.0', b'"C": 2.0')
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as zf:
        for n in names:
            zf.writestr(n, data[n])
    with pytest.raises(BundleError, match="pipeline/pipeline.json does not match"):
        load_bundle(tmp_path / "bad.zip")
    load_bundle(tmp_path / "bad.zip", verify=False)


def test_missing_and_unlisted_files(copy):
    (copy / "pipeline" / "arrays.safetensors").rename(copy / "arrays.safetensors")
    with pytest.raises(BundleError, match="pipeline/arrays.safetensors is listed .* but missing"):
        load_bundle(copy)
    (copy / "arrays.safetensors").rename(copy / "pipeline" / "arrays.safetensors")
    (copy / "pipeline" / "extra.json").write_text("{}")
    with pytest.raises(BundleError, match="pipeline/extra.json not listed"):
        load_bundle(copy)


def test_an_edited_model_card_only_warns(copy):
    (copy / "MODEL_CARD.md").write_text("# card\n")
    meta = json.loads((copy / "bundle.json").read_text())
    meta["files"]["MODEL_CARD.md"] = "0" * 64
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="MODEL_CARD.md was changed .* model is unaffected"):
        load_bundle(copy)


def test_bundle_without_hashes_loads_with_a_warning(copy):
    meta = json.loads((copy / "bundle.json").read_text())
    del meta["files"]
    meta["format_version"] = "1.0"
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="no file hashes"):
        load_bundle(copy)


def test_nan_weights_are_named_on_load(copy, tmp_path):
    _tamper(copy, "nan")
    with pytest.raises(BundleError, match="does not match"):
        load_bundle(copy)
    with pytest.raises(BundleError, match=r"not finite numbers .*reduce.module_"):
        load_bundle(copy, verify=False)
    res = runner.invoke(app, ["export", str(copy), "-o", str(tmp_path / "m.onnx"), "--no-verify"])
    assert res.exit_code == 2 and "not finite" in res.output
    assert "plain stack" not in res.output


def test_nan_in_the_head_is_refused(copy):
    meta = json.loads((copy / "bundle.json").read_text())
    text = json.dumps(meta)
    meta["head"]["coef"][0][0] = float("nan")
    (copy / "bundle.json").write_text(json.dumps(meta))  # json writes NaN, json.loads reads it
    assert "NaN" in (copy / "bundle.json").read_text() and text
    with pytest.raises(BundleError, match=r"not finite numbers .*head"):
        load_bundle(copy)


def test_shipped_default_bundle_carries_hashes_and_resaves_identically(tmp_path):
    path = default_bundle_path()
    meta = json.loads((path / "bundle.json").read_text())
    assert set(meta["files"]) >= {"pipeline/pipeline.json", "pipeline/network.safetensors",
                                  "pipeline/arrays.safetensors"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified, no "no file hashes" warning
        shipped = load_bundle()
    (tmp_path / "b").mkdir()
    shutil.copy(path / "MODEL_CARD.md", tmp_path / "b" / "MODEL_CARD.md")
    again = save_bundle(shipped, tmp_path / "b")
    for name in [*meta["files"], "bundle.json"]:
        assert filecmp.cmp(path / name, again / name, shallow=False), name
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.normal(size=(20, len(shipped.feature_names))),
                         columns=shipped.feature_names, index=[f"f{i}" for i in range(20)])
    feats = feats * 0.1 + np.abs(feats.mean()) + 1
    a, _ = Predictor(shipped).predict_features(feats)
    b, _ = Predictor(load_bundle(again)).predict_features(feats)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_serve_verifies_too(copy, monkeypatch):
    pytest.importorskip("fastapi")
    import uvicorn

    import emolens.deploy.serve.app as app_mod

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.setattr(app_mod, "create_app", lambda predictor, settings, warm_up: "app")
    _tamper(copy, "sign")
    res = runner.invoke(app, ["serve", "--model", str(copy)])
    assert res.exit_code == 2 and "does not match its SHA-256" in res.output
    res = runner.invoke(app, ["serve", "--model", str(copy), "--no-verify"])
    assert res.exit_code == 0, res.output
