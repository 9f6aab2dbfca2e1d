"""save_pipeline / load_pipeline: JSON + safetensors round trips, untrusted bundles."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from emolens.models import MODEL_NAMES, PipelineFileError, load_pipeline, make_model, save_pipeline


def _fit(name, X, y, **params):
    fast = {"reduce__epochs": 5} if name.split("_")[0].endswith("ae") else {}
    return make_model(name, **fast, **params).fit(X, y)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_gives_identical_predictions(xy, tmp_path, name):
    X, y = xy
    pipe = _fit(name, X, y)
    save_pipeline(pipe, tmp_path, metadata={"model": name})
    assert not [p for p in tmp_path.iterdir() if p.suffix not in (".json", ".safetensors")]
    loaded = load_pipeline(tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    for method in ("decision_function", "predict_proba"):
        if hasattr(pipe, method):
            np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(pipe, method)(X))
    np.testing.assert_array_equal(loaded[:-1].transform(X), pipe[:-1].transform(X))
    assert loaded.get_params(deep=True).keys() == pipe.get_params(deep=True).keys()
    assert loaded.emolens_metadata_ == {"model": name}
    reduce = loaded.named_steps["reduce"]
    if hasattr(reduce, "reconstruction_error"):
        np.testing.assert_array_equal(
            reduce.reconstruction_error(pipe[:1].transform(X)),
            pipe.named_steps["reduce"].reconstruction_error(pipe[:1].transform(X)),
        )
        assert reduce.loss_curve_ == pipe.named_steps["reduce"].loss_curve_


def test_round_trip_int_labels_logreg_and_speaker_scaling(frame, tmp_path):
    X, y = frame
    codes = np.unique(y, return_inverse=True)[1]
    pipe = _fit("ssvae_svc", X, codes, clf="logreg", scale__by="speaker")
    save_pipeline(pipe, tmp_path)
    loaded = load_pipeline(tmp_path)
    np.testing.assert_array_equal(loaded.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    assert loaded.classes_.dtype.kind == "i"


def test_unfitted_and_foreign_steps_are_refused(xy, tmp_path):
    X, y = xy
    with pytest.raises(ValueError, match="not fitted"):
        save_pipeline(make_model("linsvc"), tmp_path)
    foreign = Pipeline([("scale", StandardScaler()), ("clf", make_model("linsvc")[-1])]).fit(X, y)
    with pytest.raises(TypeError, match="cannot be saved"):
        save_pipeline(foreign, tmp_path)


def _nested(doc):
    """The vote classifier's first member (a calibrated SVC) in a pipeline.json."""
    return doc["steps"][2]["params"]["estimators"][0]["__tuple__"][1]


@pytest.mark.parametrize("edit, match", [
    (lambda d: _nested(d).update({"__estimator__": "Pipeline"}), "nested class 'Pipeline' is not allowed"),
    (lambda d: _nested(d)["params"].update({"evil": 1}), "unknown CalibratedClassifierCV parameters"),
    (lambda d: d["steps"][2]["attributes"]["estimators_"][0]["attributes"].update(
        {"predict": 1}), "shadow"),
])
def test_nested_estimators_come_from_the_whitelist(xy, tmp_path, edit, match):
    X, y = xy
    save_pipeline(_fit("vote", X, y), tmp_path)
    load_pipeline(tmp_path)  # untouched: loads
    _tamper(tmp_path, edit)
    with pytest.raises(PipelineFileError, match=match):
        load_pipeline(tmp_path)


@pytest.fixture()
def bundle(xy, tmp_path):
    X, y = xy
    save_pipeline(_fit("uae_svc", X, y), tmp_path)
    return tmp_path


def _tamper(directory, edit):
    path = directory / "pipeline.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["steps"][2].update({"class": "subprocess.Popen"}), "not allowed"),
        (lambda d: d["steps"][2]["params"].update({"evil": 1}), "unknown SVC parameters"),
        (lambda d: d["steps"][0]["attributes"].update({"__class__": "x"}), "invalid attribute"),
        (lambda d: d["steps"][2]["attributes"].update({"predict": "x"}), "shadow"),
        (lambda d: d["steps"][2]["attributes"].update({"classes_": {"__array__": "nope"}}), "missing"),
        (lambda d: d["steps"][2]["attributes"].update({"x_": {"__pickle__": "gASV"}}), "unknown value tag"),
        (lambda d: d["steps"][1]["params"].update({"hidden": [40, 20]}), "do not match"),
        (lambda d: d.update({"format": "pickle"}), "not an emolens-pipeline"),
    ],
)
def test_tampered_bundles_are_rejected(bundle, edit, match):
    _tamper(bundle, edit)
    with pytest.raises(PipelineFileError, match=match):
        load_pipeline(bundle)


def test_missing_bundle(tmp_path):
    with pytest.raises(PipelineFileError, match="no pipeline.json"):
        load_pipeline(tmp_path)
