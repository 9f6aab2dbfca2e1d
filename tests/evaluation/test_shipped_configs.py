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


#: docs/interfaces: a script may rewrite these top-level keys of a shipped experiment.
REWRITES = [("normalisation", v) for v in ("none", "corpus", "speaker")] + [
    ("protocol", v) for v in ("transfer", "pairwise", "within", "loco")] + [
    ("features", v) for v in ("egemaps", "gemaps", "compare")]


@pytest.mark.parametrize("key,value", REWRITES, ids=lambda v: str(v))
def test_shipped_experiments_take_the_rewrites_scripts_make(key, value, synth_corpora,
                                                            tmp_path, recwarn):
    corpora = [str(synth_corpora["root"] / c / "manifest.csv") for c in synth_corpora["names"]]
    for path in FILES:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        data["corpora"] = {"train": corpora[:2], "test": []}
        data["output"] = str(tmp_path / "out")
        data[key] = value
        config = parse_config(data, path.parent, path)
        assert getattr(config, key) == value
        if key == "normalisation":  # models without their own `by` follow it
            tables = data["models"]
            tables = tables.values() if isinstance(tables, dict) else [{} for _ in tables]
            for spec, table in zip(config.models, tables):
                if "by" not in table and "scale__by" not in table:
                    assert spec.normalisation == value
                    if value != "speaker":  # shrink needs speaker statistics: dropped
                        assert "shrink" not in spec.params
