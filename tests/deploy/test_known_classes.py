"""Predictor(classes=...) / ``emolens predict --classes``: a corpus known to lack a class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emolens.cli import app
from emolens.corpora.schema import known_classes
from emolens.deploy.predict import Predictor
from emolens.models.adapt import restrict

LABELS = ("neutral", "happy", "sad", "angry")


def test_restrict_zeroes_the_missing_classes_and_keeps_the_order_of_the_rest():
    proba = np.array([[0.1, 0.2, 0.6, 0.1], [0.4, 0.3, 0.2, 0.1], [0.0, 0.0, 1.0, 0.0]])
    out = restrict(proba, LABELS, ("neutral", "happy", "angry"))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert (out[:, 2] == 0).all()
    np.testing.assert_allclose(out[0], [0.25, 0.5, 0.0, 0.25])
    np.testing.assert_allclose(out[1], [0.5, 0.375, 0.0, 0.125])
    # all of a row's probability on the missing class: no evidence left, uniform over the rest
    np.testing.assert_allclose(out[2], [1 / 3, 1 / 3, 0.0, 1 / 3])


def test_known_classes_reads_spellings_and_rejects_what_the_model_cannot_say():
    assert known_classes("anger, joy,Neutral", LABELS) == ("neutral", "happy", "angry")
    assert known_classes(["sad", "sadness", "happy"], LABELS) == ("happy", "sad")
    with pytest.raises(ValueError, match="'fear' is not one of the model's labels"):
        known_classes(["neutral", "fear"], LABELS)
    with pytest.raises(ValueError, match="at least two classes"):
        known_classes(["anger", "angry"], LABELS)


def test_a_predictor_told_the_classes_never_names_another(bundle, synth):
    X = synth["X"]
    feats = synth["features"].loc[X.index.get_level_values("file")]
    speakers = X.index.get_level_values("speaker")
    plain = Predictor(bundle).apply(feats, speakers)
    three = Predictor(bundle, classes=["neutral", "happy", "angry"]).apply(feats, speakers)
    assert (plain.table["label"] == "sad").any()  # else the test could not fail
    assert not (three.table["label"] == "sad").any()
    assert (three.table["p_sad"] == 0).all()
    assert "labels restricted to neutral, happy, angry" in three.normalisation
    # files the full model did not call sad keep their label; the latent is untouched
    kept = plain.table["label"] != "sad"
    pd.testing.assert_series_equal(three.table["label"][kept], plain.table["label"][kept])
    cols = ["file", "z1", "z2", "ood_score", "ood"]
    pd.testing.assert_frame_equal(three.table[cols], plain.table[cols])


def test_predict_cli_takes_classes_and_explains_a_wrong_one(bundle_dir, write_wav, tmp_path):
    for i in range(3):
        write_wav(f"spk/a{i}.wav", seconds=1.2, f0=110 + 25 * i, seed=i)
    runner = CliRunner()
    out = tmp_path / "pred.csv"
    res = runner.invoke(app, ["predict", str(tmp_path / "spk"), "--model", str(bundle_dir),
                              "--classes", "neutral,sad", "-o", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert set(table["label"]) <= {"neutral", "sad"}
    assert (table[["p_happy", "p_angry"]] == 0).all().all()
    bad = runner.invoke(app, ["predict", str(tmp_path / "spk"), "--model", str(bundle_dir),
                              "--classes", "neutral,fear"])
    assert bad.exit_code == 2
    assert "'fear' is not one of the model's labels" in bad.output


def test_a_timeline_keeps_to_the_classes_too(bundle_dir, tmp_path, make_signal):
    import soundfile as sf

    sf.write(tmp_path / "s.wav", make_signal(6.0), 16_000)
    out = tmp_path / "tl.csv"
    res = CliRunner().invoke(app, ["predict", "--stream", str(tmp_path / "s.wav"), "--model",
                                   str(bundle_dir), "--classes", "happy,angry", "-o", str(out)])
    assert res.exit_code == 0, res.output
    timeline = pd.read_csv(out)
    assert len(timeline) and set(timeline["label"]) <= {"happy", "angry"}
    assert (timeline[["p_neutral", "p_sad"]] == 0).all().all()
