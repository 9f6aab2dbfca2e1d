"""A served test bundle and uploads made of synthetic speech-like signals."""

from __future__ import annotations

import io

import pytest
import soundfile as sf

pytest.importorskip("fastapi", reason="emolens serve needs the serve extra: pip install 'emolens[serve]'")


@pytest.fixture(scope="session")
def wav_bytes(make_signal):
    """``wav_bytes(seconds, f0=..., seed=...)`` -> the bytes of a 16-bit WAV file."""

    def make(seconds: float = 2.0, sr: int = 16_000, **kw) -> bytes:
        buf = io.BytesIO()
        sf.write(buf, make_signal(seconds, sr=sr, **kw), sr, format="WAV", subtype="PCM_16")
        return buf.getvalue()

    return make


@pytest.fixture(scope="session")
def app_factory(bundle):
    from emolens.deploy.predict import Predictor
    from emolens.deploy.serve.app import Settings, create_app

    predictor = Predictor(bundle)

    def make(**settings):
        return create_app(predictor, Settings(**settings))

    return make


@pytest.fixture(scope="session")
def client(app_factory):
    from fastapi.testclient import TestClient

    with TestClient(app_factory()) as c:
        yield c

