"""A test file with the bytes of a training file (a corpus copied to another folder) is left
out with its reason: the path and speaker checks cannot see it."""

from __future__ import annotations

import shutil

import pandas as pd
from typer.testing import CliRunner

from emolens.cli import app
from emolens.evaluation.guard import same_audio
from quick_run import QUICK_RUN

CONFIG = """
name = "twins"
""" + QUICK_RUN + """
[corpora]
train = ["{A}"]
test = ["{B}", "{COPY}"]

[models.logreg]
clf = "logreg"
"""


def test_same_audio_names_the_training_twin():
    digests = pd.Series({"a/1.wav": "h1", "a/2.wav": "h2", "t/1.wav": "h1", "t/3.wav": "h3"})
    twins = same_audio(["a/1.wav", "a/2.wav"], ["t/3.wav", "t/1.wav", "t/9.wav"], digests)
    assert list(twins["file"]) == ["t/1.wav"]
    assert "the same audio as the training file a/1.wav" in twins["reason"].iloc[0]
    assert same_audio(["a/1.wav"], ["a/1.wav"], digests).empty  # one path: check_disjoint's
    assert same_audio([], ["t/1.wav"], digests).empty


def _copy_corpus(synth_corpora, tmp_path) -> tuple:
    """A test corpus 'copy': the first training corpus's files copied (every other one) next
    to the third corpus's files, under other speaker names."""
    root = synth_corpora["root"]
    a, _, c = synth_corpora["names"]
    frames = []
    for name, every in ((a, 2), (c, 1)):
        frame = pd.read_csv(root / name / "manifest.csv").iloc[::every]
        frame["file"] = [str(root / name / f) for f in frame["file"]]
        frames.append(frame)
    folder = tmp_path / "copied"
    folder.mkdir()
    copied = []
    for i, f in enumerate(frames[0]["file"]):
        copied.append(str(shutil.copy(f, folder / f"take{i}.wav")))
    frames[0] = frames[0].assign(file=copied, speaker="guest" + frames[0]["speaker"].astype(str))
    frame = pd.concat(frames, ignore_index=True).assign(corpus="copy")
    path = tmp_path / "copy.csv"
    frame.to_csv(path, index=False)
    return path, copied


def test_a_copied_training_file_is_left_out_of_the_test(write_config, synth_corpora, tmp_path):
    path, copied = _copy_corpus(synth_corpora, tmp_path)
    out = tmp_path / "out"
    config = write_config(CONFIG.replace("{COPY}", str(path)))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert f"{len(copied)} test file(s) left out" in " ".join(result.output.split())
    skipped = pd.read_csv(out / "skipped.csv")
    twins = skipped[skipped["reason"].str.contains("the same audio as the training file")]
    assert sorted(twins["file"]) == sorted(copied)
    results = pd.read_csv(out / "results.csv")
    assert "copy" in set(results["test"])  # the rest of the corpus is still scored
    manifest = pd.read_csv(out / "manifest.csv")  # the utterances the run used
    assert not set(copied) & set(manifest["file"])
    assert len(manifest[manifest["corpus"] == "copy"]) > 0


def test_a_test_corpus_that_is_a_copy_is_left_out_and_the_run_goes_on(
        write_config, synth_corpora, tmp_path):
    root, a = synth_corpora["root"], synth_corpora["names"][0]
    frame = pd.read_csv(root / a / "manifest.csv")
    (tmp_path / "c").mkdir()
    frame["file"] = [str(shutil.copy(root / a / f, tmp_path / "c" / f"x{i}.wav"))
                     for i, f in enumerate(frame["file"])]
    frame.assign(corpus="copy", speaker="g" + frame["speaker"].astype(str)).to_csv(
        tmp_path / "copy.csv", index=False)
    out = tmp_path / "out"
    config = write_config(CONFIG.replace("{COPY}", str(tmp_path / "copy.csv")))
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "test corpus 'copy': no usable 4-class utterance left" in " ".join(result.output.split())
    tests = set(pd.read_csv(out / "results.csv")["test"])
    assert "copy" not in tests and synth_corpora["names"][1] in tests
