"""Issue 11: a run config is checked completely before any audio is read, and a results
folder never mixes two runs."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import emolens.features
from emolens.cli import app
from emolens.evaluation.config import ConfigError, load_config
from emolens.evaluation.runner import run_experiment

CONFIG = """
name = "tiny"
protocol = "transfer"
folds = 2
seeds = [0]
cache_dir = "{CACHE}"
bootstrap = 0
save_models = false

[corpora]
train = ["{A}"]
test = ["{B}"]

[models.svc]
[models.uae_svc]
epochs = 2

[report]
enabled = false
"""


@pytest.fixture
def no_audio(monkeypatch):
    """Fails the test if features are extracted (= audio is read)."""

    def boom(*args, **kwargs):
        raise AssertionError("features were extracted before the config was fully checked")

    monkeypatch.setattr(emolens.features, "extract", boom)


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("epochs = 2", "epoch = 2", r"\[models.uae_svc\]: unknown parameter 'epoch'.*Did you mean 'epochs'"),
        ("epochs = 2", "epochs = -3", r"\[models.uae_svc\]: reduce: epochs must be an int >= 0, got -3"),
        ("epochs = 2", "latent_dim = 0", r"\[models.uae_svc\]: reduce: latent_dim must be an int >= 1"),
        ("[models.svc]", "[models.svc]\nC = -1", r"\[models.svc\]: clf: The 'C' parameter of SVC must be .*Got -1"),
        ("epochs = 2", 'clf = "forest"', r"\[models.uae_svc\]: clf must be one of .*got 'forest'"),
        ("epochs = 2", 'clf = "lgoreg"', r"Did you mean 'logreg'"),
        ("epochs = 2", "reduce__epoch = 2", r"unknown parameter 'reduce__epoch'.*Did you mean 'reduce__epochs'"),
        ("epochs = 2", 'epochs = "fifty"', r"epochs must be an int"),
        ('name = "tiny"', 'name = "tiny"\nfeatures = "egemap"', r"'features' must be one of .*Did you mean 'egemaps'"),
    ],
)
def test_every_value_is_checked_before_any_audio(write_config, tmp_path, no_audio, old, new, message):
    body = CONFIG.replace(old, new)
    assert body != CONFIG
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(body))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(write_config(body)), "--out", str(out), "-q"])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize("folds,split", [(50, "speaker"), (50, "stratified"), ('"loso"', "speaker")])
def test_folds_are_checked_against_the_speakers_before_extraction(
        write_config, tmp_path, no_audio, folds, split):
    body = CONFIG.replace("folds = 2", f"folds = {folds}\nsplit = \"{split}\"")
    out = tmp_path / "out"
    if folds == '"loso"':  # feasible: reaches extraction, which the fixture refuses
        with pytest.raises(AssertionError, match="features were extracted"):
            run_experiment(load_config(write_config(body)), out=out, progress=False)
        return
    with pytest.raises(ConfigError, match=r"'folds' = 50 .*need"):
        run_experiment(load_config(write_config(body)), out=out, progress=False)
    assert not out.exists()
    result = CliRunner().invoke(app, ["run", str(write_config(body)), "--out", str(out), "-q"])
    assert result.exit_code == 2 and "error:" in result.output, result.output
    assert not out.exists()


# -- results folders ----------------------------------------------------------------------
def _run(write_config, out, body=CONFIG, *extra):
    return CliRunner().invoke(app, ["run", str(write_config(body)), "--out", str(out), "-q", *extra])


def test_a_folder_of_another_run_is_refused_unless_overwrite(write_config, tmp_path):
    out = tmp_path / "out"
    big = CONFIG.replace("[models.uae_svc]", "[models.pca_svc]\n[models.uae_svc]").replace(
        "save_models = false", "save_models = true")
    result = _run(write_config, out, big)
    assert result.exit_code == 0, result.output
    assert (out / "models" / "pca_svc").is_dir()
    (out / "report.html").write_text("<p>old report</p>")  # as a run with a report leaves it
    (out / "notes.txt").write_text("mine")  # the user's own file
    before = (out / "results.csv").read_bytes()

    small = CONFIG.replace("[models.uae_svc]\nepochs = 2", "")
    result = _run(write_config, out, small)
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "holds another run" in text and "--overwrite" in text
    assert "first difference: 'save_models = true' there, not now" in text
    assert (out / "results.csv").read_bytes() == before  # untouched

    result = _run(write_config, out, small, "--overwrite")
    assert result.exit_code == 0, result.output
    assert set(pd.read_csv(out / "results.csv")["model"]) == {"svc"}
    assert not (out / "models").exists() and not (out / "report.html").exists()
    assert sorted(p.name for p in (out / "confusion").glob("svc*")) == sorted(
        p.name for p in (out / "confusion").glob("*.csv") if p.name != "index.csv")
    assert (out / "notes.txt").read_text() == "mine"  # not the run's: kept


def test_the_same_config_resumes_in_its_folder(write_config, tmp_path):
    out = tmp_path / "out"
    assert _run(write_config, out).exit_code == 0
    first = (out / "results.csv").read_bytes()
    result = _run(write_config, out, CONFIG, "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output
    assert (out / "results.csv").read_bytes() == first


def test_a_foreign_non_empty_folder_and_a_file_are_refused(write_config, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.jpg").write_bytes(b"x")
    result = _run(write_config, folder)
    assert result.exit_code == 2 and "not empty and holds no emolens run" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["cat.jpg"]
    afile = tmp_path / "results.txt"
    afile.write_text("x")
    result = _run(write_config, afile)
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output and "Traceback" not in result.output


# -- corpora without the four classes -------------------------------------------------------
def _unlabelled_copy(synth_corpora, tmp_path, name="codes"):
    """The third synthetic corpus, its emotions spelt as codes no table knows."""
    b = synth_corpora["names"][2]
    frame = pd.read_csv(synth_corpora["root"] / b / "manifest.csv")
    codes = {"angry": "rab", "happy": "gio", "sad": "tri", "neutral": "neu0"}
    frame = frame.assign(corpus=name, emotion=frame["emotion"].map(codes).fillna("xx"),
                         file=[str(synth_corpora["root"] / b / f) for f in frame["file"]])
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_a_test_corpus_without_the_four_classes_is_skipped_not_fatal(
        write_config, synth_corpora, tmp_path):
    bad = _unlabelled_copy(synth_corpora, tmp_path)
    body = CONFIG.replace('test = ["{B}"]', f'test = ["{{B}}", "{bad}"]').replace(
        "[models.uae_svc]\nepochs = 2", "")
    out = tmp_path / "out"
    result = _run(write_config, out, body)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "skipped" in text and "corpus 'codes' has no utterance" in text
    assert "'rab'" in text  # what the corpus does hold, so the user can map it
    results = pd.read_csv(out / "results.csv")
    assert "codes" not in set(results["test"])
    assert synth_corpora["names"][1] in set(results["test"])
    skipped = pd.read_csv(out / "skipped.csv")
    assert len(skipped) == len(pd.read_csv(bad))
    assert skipped["reason"].str.contains("corpus codes: no utterance of the 4 classes").all()


def test_a_training_corpus_without_the_four_classes_is_an_error(
        write_config, synth_corpora, tmp_path, no_audio):
    bad = _unlabelled_copy(synth_corpora, tmp_path)
    body = CONFIG.replace('train = ["{A}"]', f'train = ["{{A}}", "{bad}"]')
    with pytest.raises(ConfigError, match=r"corpus 'codes' has no utterance.*'rab'"):
        run_experiment(load_config(write_config(body)), out=tmp_path / "out", progress=False)
