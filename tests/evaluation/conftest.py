"""A small synthetic corpus pair, generated and feature-extracted once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synth_corpora(tmp_path_factory) -> dict:
    """Three small synthetic corpora (4 speakers × 4 emotions × 4 utterances each) with
    their eGeMAPS features in a session cache.

    Returns:
        dict with ``root`` (corpora folder), ``cache`` (feature cache folder), ``manifest``
        (both corpora) and ``names`` (corpus names).
    """
    from emolens.corpora.synthetic import SMALL, generate
    from emolens.features import extract

    root = tmp_path_factory.mktemp("synth")
    manifest = generate(root / "corpora", **{**SMALL, "corpora": 3})
    cache = root / "cache"
    extract(manifest["file"].tolist(), cache_dir=cache, progress=False)
    return {
        "root": root / "corpora",
        "cache": cache,
        "manifest": manifest,
        "names": list(dict.fromkeys(manifest["corpus"])),
    }


@pytest.fixture
def write_config(synth_corpora, tmp_path):
    """Write an experiment TOML over the synthetic corpora; returns its path."""

    def write(body: str, name: str = "exp.toml") -> Path:
        a, b = synth_corpora["names"][:2]
        root = synth_corpora["root"]
        text = (
            body.replace("{A}", str(root / a / "manifest.csv"))
            .replace("{B}", str(root / b / "manifest.csv"))
            .replace("{CACHE}", str(synth_corpora["cache"]))
        )
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
