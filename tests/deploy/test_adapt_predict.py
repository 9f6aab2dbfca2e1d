"""Predictor(adapt=...): a batch predicted together adapts the classifier to itself."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from emolens.deploy.predict import Predictor


def _second_corpus(synth):
    X = synth["X"]
    other = X.index.get_level_values("corpus") == synth["names"][1]
    feats = synth["features"].loc[X.index.get_level_values("file")[other]]
    return feats, X.index.get_level_values("speaker")[other]


def test_a_corpus_predicted_together_is_adapted(bundle, synth):
    feats, speakers = _second_corpus(synth)
    plain = Predictor(bundle, adapt=False).apply(feats, speakers)
    adapted = Predictor(bundle).apply(feats, speakers)
    assert "adapted to the 64 file(s) predicted together" in adapted.normalisation
    assert "adapted" not in plain.normalisation
    p = [f"p_{c}" for c in bundle.labels]
    a, b = adapted.table[p].to_numpy(), plain.table[p].to_numpy()
    assert not np.allclose(a, b)
    np.testing.assert_allclose(a.sum(axis=1), 1.0)
    # the label is the argmax of the adapted probabilities; latent and out-of-domain unchanged
    assert (adapted.table["label"] == np.asarray(bundle.labels)[a.argmax(axis=1)]).all()
    cols = ["file", "z1", "z2", "ood_score", "ood"]
    pd.testing.assert_frame_equal(adapted.table[cols], plain.table[cols])


def test_a_few_files_are_not_adapted(bundle, synth):
    feats, speakers = _second_corpus(synth)
    few = Predictor(bundle).apply(feats.iloc[:8], speakers[:8])
    plain = Predictor(bundle, adapt=False).apply(feats.iloc[:8], speakers[:8])
    assert "not adapted to this batch (too few confident utterances" in few.normalisation
    pd.testing.assert_frame_equal(few.table, plain.table)


def test_cli_no_adapt(bundle_dir, synth, tmp_path):
    from emolens.cli import app

    c = synth["names"][1]
    manifest = synth["root"] / c / "manifest.csv"
    outs = {}
    for flag in ("--adapt", "--no-adapt"):
        out = tmp_path / f"{flag}.csv"
        res = CliRunner().invoke(app, ["predict", str(manifest), "-m", str(bundle_dir), "-o",
                                       str(out), "--cache-dir", str(synth["cache"]), flag])
        assert res.exit_code == 0, res.output
        outs[flag] = pd.read_csv(out)
        said = " ".join(res.output.split())
        assert ("adapted to the 64 file(s)" in said) == (flag == "--adapt")
    assert not outs["--adapt"]["p_angry"].equals(outs["--no-adapt"]["p_angry"])
