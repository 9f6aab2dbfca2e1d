"""Every experiment file the repository ships (experiments/, benchmarks/) is a valid
experiment: each key, model and parameter checked by parse_config, with its corpora swapped
for the synthetic ones (the shared corpora are not part of a clone)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from emolens.evaluation.config import parse_config

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("experiments/*.toml"), *ROOT.glob("benchmarks/*.toml")])


def test_the_contract_files_are_there():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"experiments/paper.toml", "experiments/transfer.toml"} <= names


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_shipped_experiment_parses(path, synth_corpora, tmp_path):
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    corpora = [str(synth_corpora["root"] / c / "manifest.csv") for c in synth_corpora["names"]]
    data["corpora"] = {"train": corpora[:2],
                       "test": corpora[2:] if data["corpora"].get("test") else []}
    data["output"] = str(tmp_path / "out")
    config = parse_config(data, path.parent, path)
    assert config.models
    assert all(spec.features for spec in config.models)
