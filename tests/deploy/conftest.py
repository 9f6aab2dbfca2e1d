"""A small synthetic corpus and a quickly trained bundle, made once per session."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> dict:
    """Two small synthetic corpora (4 speakers x 4 emotions x 4 utterances) with features."""
    from emolens.corpora.synthetic import SMALL, generate
    from emolens.features import extract, model_input

    root = tmp_path_factory.mktemp("deploy_synth")
    manifest = generate(root / "corpora", **{**SMALL, "corpora": 2})
    cache = root / "cache"
    ex = extract(manifest["file"].tolist(), cache_dir=cache, progress=False)
    X = model_input(ex.features, manifest)
    names = list(dict.fromkeys(manifest["corpus"]))
    return {"root": root / "corpora", "cache": cache, "manifest": manifest, "X": X,
            "features": ex.features, "names": names}


@pytest.fixture(scope="session")
def bundle(synth):
    """dae_svc bundle (per-speaker scaling, linear SVC) trained on the first corpus."""
    from emolens.deploy.train import build_bundle

    X, m = synth["X"], synth["manifest"]
    first = X.index.get_level_values("corpus") == synth["names"][0]
    y = m.set_index("file").loc[X.index.get_level_values("file"), "label4"].to_numpy()
    return build_bundle(X[first], y[first], "dae_svc",
                        params={"by": "speaker", "epochs": 30}, n_splits=4,
                        corpora=[synth["names"][0]])


@pytest.fixture(scope="session")
def bundle_dir(bundle, tmp_path_factory):
    from emolens.deploy.bundle import save_bundle

    return save_bundle(bundle, tmp_path_factory.mktemp("bundle") / "model")


def harmonic(seconds: float, sr: int = 16_000, f0: float = 150.0, seed: int = 0) -> np.ndarray:
    """Voiced-like test signal: harmonics with a slow pitch and loudness wobble + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = f0 * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    env = 0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 1.5 * t))
    return (0.1 * env * x + 0.003 * rng.normal(size=t.size)).astype(np.float32)


@pytest.fixture(scope="session")
def make_signal():
    return harmonic


@pytest.fixture
def write_wav(tmp_path):
    def write(name: str, seconds: float = 2.0, **kw):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, harmonic(seconds, **kw), 16_000)
        return path

    return write
