"""A bundle trained on two corpora with shrunk speaker statistics and corpus-balanced weights
(the default model's configuration since issue 10)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def shrunk(synth, tmp_path_factory):
    from emolens.deploy.bundle import load_bundle, save_bundle
    from emolens.deploy.train import build_bundle

    X, m = synth["X"], synth["manifest"]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    b = build_bundle(X, y, "dae_svc", params={"by": "speaker", "shrink": 10.0, "epochs": 10,
                                              "clf": "logreg"},
                     n_splits=4, corpora=synth["names"], balance="corpus")
    return load_bundle(save_bundle(b, tmp_path_factory.mktemp("shrunk") / "model"))


def test_bundle_records_shrink_and_balance(shrunk):
    assert shrunk.normalisation["shrink"] == 10.0
    assert shrunk.info["model"]["balance"] == "corpus"
    assert shrunk.pipeline.named_steps["scale"].shrink == 10.0
    # the weights replaced the classifier's own class balancing
    assert shrunk.pipeline.named_steps["clf"].class_weight is None


def test_predict_shrinks_towards_the_batch(shrunk, synth):
    from emolens.deploy.predict import Predictor

    feats = synth["features"]
    speakers = synth["manifest"].set_index("file").loc[feats.index, "speaker"].to_numpy()
    p = Predictor(shrunk)
    table, note = p.predict_features(feats, speakers)
    assert "shrunk towards the statistics of all" in note
    assert f"{len(feats)} file(s)" in note
    # the batch matters: the same speaker's files predicted with another batch move
    one = speakers == speakers[0]
    alone, _ = p.predict_features(feats[one], speakers[one])
    with_all = table.set_index("file").loc[alone["file"], ["z1", "z2"]].to_numpy()
    assert not np.allclose(alone[["z1", "z2"]].to_numpy(), with_all)
    assert np.isfinite(table[["z1", "z2"]].to_numpy()).all()


def test_corpora_predicted_together_are_treated_one_by_one(shrunk, synth, tmp_path):
    """A manifest's corpus column: each corpus is shrunk towards and adapted to itself."""
    import pandas as pd

    from emolens.deploy.predict import Predictor

    m = synth["manifest"].set_index("file").loc[synth["features"].index]
    feats, speakers, corpora = synth["features"], m["speaker"].to_numpy(), m["corpus"]
    p = Predictor(shrunk)
    together = p.apply(feats, speakers, sets=corpora.to_numpy())
    assert "towards the statistics of his/her corpus (2 corpora" in together.normalisation
    assert "of the 2 corpora predicted together, each on its own" in together.normalisation
    parts = []
    for name in synth["names"]:
        rows = (corpora == name).to_numpy()
        parts.append(p.apply(feats[rows], speakers[rows]).table)
    one_by_one = pd.concat(parts).set_index("file").loc[together.table["file"]]
    pd.testing.assert_frame_equal(together.table.set_index("file"), one_by_one)
    # without the sets the corpora are one batch, and the results differ
    mixed = p.apply(feats, speakers).table.set_index("file")
    assert not np.allclose(mixed[["p_angry", "z1"]].to_numpy(),
                           one_by_one[["p_angry", "z1"]].to_numpy())
    # the CLI reads the sets from a manifest's corpus column
    manifest = tmp_path / "both.csv"
    pd.DataFrame({"file": feats.index, "speaker": speakers,
                  "corpus": corpora.to_numpy()}).to_csv(manifest, index=False)
    found = Predictor(shrunk).predict_files(manifest, cache_dir=synth["cache"])
    pd.testing.assert_frame_equal(found.table.set_index("file").loc[one_by_one.index],
                                  one_by_one, check_exact=False, atol=1e-9)


def test_bundle_with_empirical_bayes_shrinkage(synth, tmp_path):
    """shrink = "auto" is recorded in bundle.json, read back, and named in predict's note."""
    from emolens.deploy.bundle import load_bundle, save_bundle
    from emolens.deploy.predict import Predictor
    from emolens.deploy.train import build_bundle

    X, m = synth["X"], synth["manifest"]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    b = build_bundle(X, y, "dae_svc", params={"by": "speaker", "shrink": "auto", "epochs": 5,
                                              "clf": "logreg"},
                     n_splits=3, corpora=synth["names"], balance="corpus")
    b = load_bundle(save_bundle(b, tmp_path / "model"))
    assert b.normalisation["shrink"] == "auto"
    assert b.pipeline.named_steps["scale"].speaker_ratio_.shape == (X.shape[1],)
    feats = synth["features"]
    speakers = m.set_index("file").loc[feats.index, "speaker"].to_numpy()
    table, note = Predictor(b).predict_features(feats, speakers)
    assert "empirical Bayes" in note
    assert np.isfinite(table[["z1", "z2"]].to_numpy()).all()
