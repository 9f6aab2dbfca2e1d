"""One input-discovery rule for `emolens corpus`, `extract` and `predict`."""

from __future__ import annotations

import pandas as pd
import pytest

from emolens.corpora import InputError, audio_files, discover_inputs


@pytest.fixture()
def tree(tmp_path):
    (tmp_path / "spk1").mkdir()
    (tmp_path / "spk1" / "a.wav").write_bytes(b"x")
    (tmp_path / "spk1" / "B.FLAC").write_bytes(b"x")
    (tmp_path / "spk1" / "._a.wav").write_bytes(b"x")       # macOS resource fork
    (tmp_path / "spk1" / "notes.txt").write_text("x")
    (tmp_path / ".trash").mkdir()
    (tmp_path / ".trash" / "c.wav").write_bytes(b"x")        # inside a hidden folder
    (tmp_path / "empty").mkdir()
    return tmp_path


def test_folder_rule_extensions_and_hidden_files(tree):
    inputs, skipped = discover_inputs(tree)
    names = [p.rsplit("/", 1)[1] for p in inputs["file"]]
    assert names == ["B.FLAC", "a.wav"]
    assert set(inputs["source"]) == {"folder"}
    assert list(inputs["folder"]) == [str(tree / "spk1")] * 2
    assert [str(p) for p in audio_files(tree)] == list(inputs["file"])
    assert skipped.empty  # the empty subfolder is part of a folder that has audio


def test_manifest_relative_paths_groups_and_duplicates(tree):
    manifest = tree / "m.csv"
    pd.DataFrame({"file": ["spk1/a.wav", None, "spk1/a.wav", "/abs/x.wav"],
                  "speaker": ["s1", "s1", "s1", None]}).to_csv(manifest, index=False)
    inputs, _ = discover_inputs([manifest, tree / "spk1" / "a.wav", tree / "empty"])
    assert list(inputs["file"]) == [str(tree / "spk1" / "a.wav"), "/abs/x.wav"]
    assert list(inputs["speaker"])[0] == "s1" and pd.isna(inputs["speaker"].iloc[1])
    assert list(inputs["source"]) == ["manifest", "manifest"]
    _, skipped = discover_inputs(tree / "empty")
    assert list(skipped["reason"]) == ["folder holds no audio files"]


def test_bad_inputs_say_which(tree):
    with pytest.raises(InputError, match="does not exist"):
        discover_inputs(tree / "missing.wav")
    bad = tree / "bad.csv"
    bad.write_text("path\na.wav\n")
    with pytest.raises(InputError, match="no 'file' column"):
        discover_inputs(bad)


def test_extract_and_predict_share_the_rule(tree):
    from emolens.deploy.predict import collect_inputs
    from emolens.features.commands import collect_files

    found = collect_inputs([tree], by="speaker")
    assert found.files == collect_files([tree])
    assert found.groups == [str(tree / "spk1")] * 2 and "speaker or session" in found.source
    assert found.sets is None
