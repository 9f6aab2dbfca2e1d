import json

import numpy as np
import pytest

from emolens.deploy.bundle import BundleError
from emolens.deploy.onnx_export import export_onnx
from emolens.deploy.predict import Predictor

ort = pytest.importorskip("onnxruntime")


def _run(path, X):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip(["probabilities", "latent", "scores"], sess.run(None, {"features": X})))


def test_parity_with_python_pipeline(bundle, synth, tmp_path):
    path = export_onnx(bundle, tmp_path / "m.onnx")
    feats = synth["features"]
    # One file per group: the Python pipeline uses the training statistics, like the graph,
    # and no adaptation to the batch (the graph predicts each file alone).
    table, note = Predictor(bundle, adapt=False).predict_features(feats)
    assert "training statistics" in note
    out = _run(path, feats.to_numpy(dtype=np.float64))
    p_py = table[[f"p_{c}" for c in bundle.labels]].to_numpy()
    assert np.abs(out["probabilities"] - p_py).max() < 1e-5
    assert np.abs(out["latent"] - table[["z1", "z2"]].to_numpy()).max() < 1e-4
    np.testing.assert_allclose(out["probabilities"].sum(1), 1.0, atol=1e-9)
    meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
    prep = json.loads(meta.custom_metadata_map["preprocessing"])  # the audio: trim included
    assert prep == bundle.preprocessing and prep["trim"]["below_peak_db"] == 40.0


def test_without_scaler_takes_normalised_features(bundle, synth, tmp_path):
    path = export_onnx(bundle, tmp_path / "m.onnx", include_scaler=False)
    X = synth["X"]
    pred = Predictor(bundle)
    Z, latent, _ = pred.latent(X)  # per-speaker normalised by the pipeline's scaler
    p_py = bundle.head.predict_proba(pred.head_inputs(latent))
    out = _run(path, np.asarray(Z, dtype=np.float64))
    assert np.abs(out["probabilities"] - p_py).max() < 1e-5


def test_nonlinear_classifier_refused(bundle, tmp_path):
    import dataclasses

    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    steps = bundle.pipeline.named_steps
    rbf = SVC(kernel="rbf").fit(np.random.default_rng(0).normal(size=(20, 2)), [0, 1] * 10)
    pipe = Pipeline([("scale", steps["scale"]), ("reduce", steps["reduce"]), ("clf", rbf)])
    with pytest.raises(BundleError, match="needs a linear classifier"):
        export_onnx(dataclasses.replace(bundle, pipeline=pipe), tmp_path / "m.onnx")
