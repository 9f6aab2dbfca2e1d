"""``emolens corpus`` through the real CLI app."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from emolens.cli import app
from emolens.corpora import COLUMNS

runner = CliRunner()


def test_corpus_command_prints_counts_and_writes_manifest(tmp_path, tree):
    root = tree(tmp_path / "emodb", ["wav/03a01Fa.wav", "wav/03a01Wa.wav", "wav/08a01Wa.wav"])
    out = tmp_path / "out" / "manifest.csv"
    result = runner.invoke(app, ["corpus", str(root), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "per emotion" in result.output and "per speaker" in result.output
    assert "emodb:08" in result.output
    written = pd.read_csv(out)
    assert list(written.columns) == COLUMNS
    assert written["emotion"].value_counts()["angry"] == 2


def test_corpus_command_takes_a_name(tmp_path, tree):
    root = tree(tmp_path / "x", ["Actor_01/03-01-05-01-02-01-01.wav"])
    result = runner.invoke(app, ["corpus", str(root), "--name", "ravdess"])
    assert result.exit_code == 0, result.output
    assert "ravdess" in result.output


def test_corpus_command_error_is_one_line(tmp_path):
    result = runner.invoke(app, ["corpus", str(tmp_path / "missing")])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "corpus folder not found" in lines[0]
