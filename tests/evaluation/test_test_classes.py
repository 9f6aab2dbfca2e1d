"""``[corpora] test = [{path = ..., classes = [...]}]``: a test corpus known to lack a class."""

from __future__ import annotations

import pandas as pd
import pytest
from quick_run import QUICK_RUN

from emolens.evaluation import ConfigError, load_config, run_experiment

CONFIG = """
name = "three"
""" + QUICK_RUN + """[corpora]
train = ["{A}", "{B}"]
test = [TEST]
[models.logreg]
model = "logreg"
C = 0.01
adapt = "pseudo-labels"
[models.svc]
model = "svc"
"""


@pytest.fixture
def without_sad(synth_corpora):
    """The third synthetic corpus without its sad utterances (a CSV beside its manifest)."""
    c = synth_corpora["names"][2]
    folder = synth_corpora["root"] / c
    table = pd.read_csv(folder / "manifest.csv")
    table = table[table["emotion"].astype(str).str.lower() != "sad"]
    table.to_csv(folder / "no_sad.csv", index=False)
    return c, folder / "no_sad.csv"


def _run(write_config, tmp_path, test: str, name: str):
    path = write_config(CONFIG.replace("TEST", test), name=f"{name}.toml")
    out = run_experiment(load_config(path), out=tmp_path / name, progress=False)
    preds = pd.read_parquet(out / "predictions.parquet")
    return out, preds[preds["role"] == "test"]


def test_a_test_corpus_named_three_classes_is_never_called_the_fourth(
        write_config, without_sad, tmp_path):
    corpus, csv = without_sad
    _, plain = _run(write_config, tmp_path, f'"{csv}"', "plain")
    assert (plain["y_pred"] == "sad").any()  # else the test could not fail
    out, told = _run(write_config, tmp_path,
                     f'{{path = "{csv}", classes = ["neutral", "joy", "anger"]}}', "told")
    assert set(told["test"]) == {corpus}
    assert not (told["y_pred"] == "sad").any()
    assert set(told["model"]) == {"logreg", "svc"}
    # rows the plain run did not call sad keep their label (unadapted svc: nothing else moves)
    merged = plain.merge(told, on=["file", "model", "seed", "fold"], suffixes=("", "_told"))
    svc = merged[(merged["model"] == "svc") & (merged["y_pred"] != "sad")]
    assert len(svc) and (svc["y_pred"] == svc["y_pred_told"]).all()
    # the run's own config.toml keeps the classes (a rerun gives the same)
    again = load_config(out / "config.toml")
    assert again.test[0].classes == ("neutral", "happy", "angry")


@pytest.mark.parametrize("entry, message", [
    ('{path = "CSV", classes = ["neutral", "fear"]}', "classes: class 'fear' is not one"),
    ('{path = "CSV", classes = "neutral,sad"}', "classes must be a list of class names"),
    ('{path = "CSV", classes = ["neutral", "sad"]}', "has utterances labelled angry, happy"),
])
def test_wrong_classes_stop_the_run_before_any_audio(write_config, without_sad, tmp_path,
                                                     entry, message):
    _, csv = without_sad
    path = write_config(CONFIG.replace("TEST", entry.replace("CSV", str(csv))))
    with pytest.raises(ConfigError, match=message):
        run_experiment(load_config(path), out=tmp_path / "bad", progress=False)


def test_classes_are_for_test_corpora_only(write_config, tmp_path):
    text = CONFIG.replace('train = ["{A}", "{B}"]',
                          'train = [{path = "{A}", classes = ["neutral", "sad"]}, "{B}"]')
    with pytest.raises(ConfigError, match="'classes' is for test corpora"):
        load_config(write_config(text.replace("test = [TEST]", "test = []")))
