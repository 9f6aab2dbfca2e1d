"""A bundle whose speaker scaler guards each set against speakers with one emotion."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def guarded(synth, tmp_path_factory):
    from emolens.deploy.bundle import load_bundle, save_bundle
    from emolens.deploy.train import build_bundle

    X, m = synth["X"], synth["manifest"]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    b = build_bundle(X, y, "dae_svc", params={"by": "speaker", "shrink": 10.0, "guard": True,
                                              "epochs": 10, "clf": "logreg"},
                     n_splits=4, corpora=synth["names"], balance="corpus")
    return load_bundle(save_bundle(b, tmp_path_factory.mktemp("guarded") / "model"))


def test_the_bundle_records_the_guard(guarded):
    assert guarded.normalisation["guard"] is True
    scale = guarded.pipeline.named_steps["scale"]
    assert scale.guard and scale.directions_.shape[0] == 4


def test_speakers_with_one_emotion_each_are_guarded(guarded, synth):
    from emolens.deploy.predict import Predictor

    m = synth["manifest"].set_index("file").loc[synth["features"].index]
    feats, speakers = synth["features"], m["speaker"].to_numpy()
    p = Predictor(guarded)
    real = p.apply(feats, speakers)
    assert "differ as emotions do" not in real.normalisation  # every speaker, every emotion
    # each (speaker, emotion) as a speaker of its own: a talk show's guests, angry all along
    one_each = (m["speaker"] + "/" + m["label4"].astype(str)).to_numpy()
    guarded_out = p.apply(feats, one_each)
    assert "differ as emotions do" in guarded_out.normalisation
    weights = guarded.pipeline.named_steps["scale"].guard_weights(
        _indexed(feats, one_each, guarded.feature_names))
    assert weights["batch"] > 0
    # the emotion survives: more right than with the speaker statistics alone
    truth = m["label4"].astype(str).to_numpy()
    scale = guarded.pipeline.named_steps["scale"]
    scale.guard = False
    try:
        unguarded = Predictor(guarded).apply(feats, one_each)
    finally:
        scale.guard = True
    hits = lambda out: np.mean(out.table["label"].to_numpy() == truth)  # noqa: E731
    assert hits(guarded_out) > hits(unguarded)


def _indexed(feats, speakers, columns):
    import pandas as pd

    idx = pd.MultiIndex.from_arrays([feats.index, ["batch"] * len(feats), speakers],
                                    names=["file", "corpus", "speaker"])
    return pd.DataFrame(feats[columns].to_numpy(), index=idx, columns=columns)
