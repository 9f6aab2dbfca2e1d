"""``emolens serve --classes``: the page's predictions keep to the classes named."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_page_names_only_the_classes_given(bundle, wav_bytes):
    from fastapi.testclient import TestClient

    from emolens.deploy.predict import Predictor
    from emolens.deploy.serve.app import Settings, create_app

    batch = [("files", (f"c{i}.wav", wav_bytes(1.2 + 0.2 * i, f0=100 + 35 * i, seed=i),
                        "application/octet-stream")) for i in range(4)]
    with TestClient(create_app(Predictor(bundle, classes="neutral,sad"), Settings())) as c:
        body = c.post("/api/predict", files=batch).json()
        assert c.get("/api/model").json()["classes"] == ["neutral", "sad"]
    assert {p["label"] for p in body["predictions"]} <= {"neutral", "sad"}
    assert all(p["p_happy"] == 0 and p["p_angry"] == 0 for p in body["predictions"])
    assert "labels restricted to neutral, sad" in body["normalisation"]


@pytest.mark.parametrize("given, why", [("neutral,fear", "'fear' is not one of the model's"),
                                        ("sad", "at least two classes")])
def test_serve_refuses_classes_it_cannot_keep_to(given, why, unused_port):
    from emolens.cli import app

    res = CliRunner().invoke(app, ["serve", "--classes", given, "--port", str(unused_port)])
    assert res.exit_code == 2
    assert "--classes" in res.output and why in " ".join(res.output.split())
