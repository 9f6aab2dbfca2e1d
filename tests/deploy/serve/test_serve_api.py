"""The JSON API, as a script (or the page) uses it: good files, bad files, limits, concurrency."""

from __future__ import annotations

import io
import re
import threading
from importlib import resources

import numpy as np
import pandas as pd
import pytest

COLUMNS = ["file", "label", "p_neutral", "p_happy", "p_sad", "p_angry", "z1", "z2", "ood_score", "ood"]


def files_of(items):
    """Multipart ``files`` for TestClient from (name, bytes) pairs."""
    return [("files", (name, data, "application/octet-stream")) for name, data in items]


def _batch(wav_bytes, n=4, offset=0):
    return [(f"clip{i + offset}.wav", wav_bytes(1.2 + 0.2 * i, f0=100 + 35 * (i + offset), seed=i + offset))
            for i in range(n)]


def test_model_endpoint(client, bundle):
    m = client.get("/api/model").json()
    assert m["labels"] == bundle.labels and m["columns"] == COLUMNS
    assert m["regions"]["available"] is True
    assert set(m["regions"]["classes"]) == set(bundle.labels)
    e = m["regions"]["classes"]["sad"]["ellipses"]
    assert [x["mass"] for x in e] == [0.5, 0.9] and e[1]["rx"] > e[0]["rx"]
    assert m["reference"]["label"] == "neutral" and len(m["reference"]["latent"]) == 2
    assert m["attribution"]["available"] and "DeepLIFT" in m["attribution"]["method"]
    assert m["normalisation"]["by"] == "speaker" and "several recordings" in m["normalisation"]["why"]
    assert m["keeps_audio"] is False


def test_predict_matches_emolens_predict_on_a_folder(client, wav_bytes, bundle_dir, tmp_path):
    """One upload = one speaker, exactly as one folder = one speaker in `emolens predict`."""
    from typer.testing import CliRunner

    from emolens.cli import app

    batch = _batch(wav_bytes)
    (tmp_path / "spk").mkdir()
    for name, data in batch:
        (tmp_path / "spk" / name).write_bytes(data)
    out = tmp_path / "pred.csv"
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "spk"), "--model", str(bundle_dir),
                                   "-o", str(out), "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    cli = pd.read_csv(out)
    cli["file"] = cli["file"].map(lambda f: f.rsplit("/", 1)[-1])

    r = client.post("/api/predict", files=files_of(batch))
    assert r.status_code == 200, r.text
    body = r.json()
    api = pd.DataFrame(body["predictions"])
    assert list(api.columns) == COLUMNS == body["columns"]
    assert "per-speaker z-scoring" in body["normalisation"] and "1 group(s)" in body["normalisation"]
    merged = cli.merge(api, on="file", suffixes=("_cli", "_api"))
    assert len(merged) == len(batch)
    for c in COLUMNS[2:9]:
        np.testing.assert_allclose(merged[c + "_api"], merged[c + "_cli"], rtol=1e-6, atol=1e-7)
    assert (merged["label_api"] == merged["label_cli"]).all()
    assert body["skipped"] == [] and body["details"] == {}


def test_explain_details(client, wav_bytes):
    batch = _batch(wav_bytes, 2) + [("long.flac.wav", wav_bytes(7.0, f0=130, seed=9))]
    body = client.post("/api/predict?explain=true", files=files_of(batch)).json()
    assert body["files"] == [n for n, _ in batch]
    d = body["details"]["clip0.wav"]
    assert d["format"] == "WAV" and d["sample_rate"] == 16_000 and d["speaker"] == "upload"
    assert len(d["attribution"]["groups"]) == 27 and d["attribution"]["distance"] >= 0
    assert d["timeline"] is None and len(d["waveform"]["min"]) > 10
    assert "training data" in d["ood_reason"]
    long = body["details"]["long.flac.wav"]
    assert len(long["timeline"]["rows"]) == 5 and long["duration"] == pytest.approx(7.0)


def test_a_bad_file_is_reported_and_the_rest_answered(client, wav_bytes):
    batch = _batch(wav_bytes, 3) + [
        ("report.wav", b"%PDF-1.4 not audio"),
        ("empty.wav", b""),
        ("short.wav", wav_bytes(0.1)),
        ("silent.wav", _silence()),
        ("broken.wav", b"RIFF\x10\x00\x00\x00WAVEfmt junk"),
    ]
    body = client.post("/api/predict?explain=true", files=files_of(batch)).json()
    assert [p["file"] for p in body["predictions"]] == ["clip0.wav", "clip1.wav", "clip2.wav"]
    reasons = {s["file"]: s["reason"] for s in body["skipped"]}
    assert "PDF" in reasons["report.wav"]
    assert "empty" in reasons["empty.wav"]
    assert "too short" in reasons["short.wav"]
    assert "silent" in reasons["silent.wav"]
    assert "cannot be decoded" in reasons["broken.wav"]


def test_content_not_extension_decides(client, wav_bytes):
    body = client.post("/api/predict", files=files_of([("voice.mp3", wav_bytes(1.5)),
                                                       ("notes.txt", wav_bytes(1.5, seed=3))])).json()
    assert len(body["predictions"]) == 2 and body["skipped"] == []


def test_nothing_predictable_is_422_with_the_reasons(client):
    r = client.post("/api/predict", files=files_of([("a.wav", b"hello"), ("b.wav", b"%PDF")]))
    assert r.status_code == 422
    assert r.json()["detail"] == "no file could be predicted" and len(r.json()["skipped"]) == 2


def test_speakers_are_normalised_separately(client, wav_bytes):
    batch = _batch(wav_bytes, 4)
    data = {"speaker": ["ann", "ann", "bob", "bob"]}
    body = client.post("/api/predict", files=files_of(batch), data=data).json()
    assert "over 2 group(s)" in body["normalisation"] and "speaker names" in body["normalisation"]
    assert body["speakers"] == data["speaker"]
    # a speaker alone falls back to the training statistics, and the note says so
    body = client.post("/api/predict", files=files_of(batch[:2]),
                       data={"speaker": ["ann", "bob"]}).json()
    assert "used the training statistics" in body["normalisation"]
    r = client.post("/api/predict", files=files_of(batch), data={"speaker": ["a", "b"]})
    assert r.status_code == 400 and "one speaker per file" in r.json()["detail"]


def test_csv_has_the_columns_of_predict(client, wav_bytes):
    r = client.post("/api/predict?format=csv", files=files_of(_batch(wav_bytes, 2) + [("x.wav", b"zz")]))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text))
    assert list(table.columns) == COLUMNS and len(table) == 2
    assert r.headers["x-emolens-skipped"] == "1"
    assert client.post("/api/predict?format=xml", files=files_of(_batch(wav_bytes, 1))).status_code == 422


def test_limits(app_factory, wav_bytes):
    from fastapi.testclient import TestClient

    c = TestClient(app_factory(max_upload_mb=0.2, max_files=3, max_duration=2.0))
    big = [("big.wav", wav_bytes(8.0))]  # 256 kB
    r = c.post("/api/predict", files=files_of(big))
    assert r.status_code == 413 and "upload too large" in r.json()["detail"]
    assert "--max-upload-mb" in r.json()["detail"]
    r = c.post("/api/predict", files=files_of(_batch(wav_bytes, 4)))
    assert r.status_code == 413 and "too many files: 4" in r.json()["detail"]
    r = c.post("/api/predict", files=files_of([("long.wav", wav_bytes(3.0)), ("ok.wav", wav_bytes(1.5))]))
    assert r.status_code == 200
    assert "too long" in r.json()["skipped"][0]["reason"] and len(r.json()["predictions"]) == 1


def test_chunked_upload_over_the_limit(app_factory, wav_bytes):
    """Without a Content-Length the body is counted as it arrives."""
    from fastapi.testclient import TestClient

    c = TestClient(app_factory(max_upload_mb=0.05))
    data = wav_bytes(4.0)

    def chunks():
        for i in range(0, len(data), 8192):
            yield data[i:i + 8192]

    r = c.post("/api/predict", content=chunks(),
               headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert r.status_code == 413


def test_concurrent_requests_keep_their_own_speaker_statistics(client, wav_bytes):
    """Two users at once: each answer equals the answer it gets alone."""
    a, b = _batch(wav_bytes, 3, offset=0), _batch(wav_bytes, 3, offset=10)
    alone = {k: client.post("/api/predict", files=files_of(x)).json()["predictions"]
             for k, x in (("a", a), ("b", b))}
    got: dict = {"a": [], "b": []}

    def worker(key, batch):
        for _ in range(3):
            got[key].append(client.post("/api/predict", files=files_of(batch)).json()["predictions"])

    threads = [threading.Thread(target=worker, args=(k, x)) for k, x in (("a", a), ("b", b))] * 1
    threads += [threading.Thread(target=worker, args=("a", a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for key in ("a", "b"):
        assert len(got[key]) >= 3
        for preds in got[key]:
            for p, q in zip(preds, alone[key]):
                assert p["file"] == q["file"]
                np.testing.assert_allclose([p[c] for c in COLUMNS[2:9]], [q[c] for c in COLUMNS[2:9]],
                                           rtol=1e-9, atol=1e-9)


def test_keep_folder(app_factory, wav_bytes, tmp_path):
    from fastapi.testclient import TestClient

    c = TestClient(app_factory(keep=tmp_path / "kept"))
    body = c.post("/api/predict", files=files_of(_batch(wav_bytes, 2) + [("../evil.wav", b"x")])).json()
    kept = sorted(p.name for p in (tmp_path / "kept").iterdir())
    assert len(kept) == 3 == len(body["kept"])
    assert all(p.parent == tmp_path / "kept" for p in map(__import__("pathlib").Path, body["kept"]))
    assert kept[0].endswith("clip0.wav") and not any(".part" in k for k in kept)
    assert c.get("/api/model").json()["keeps_audio"] is True


def test_old_bundle_still_serves(bundle, wav_bytes):
    import dataclasses

    from fastapi.testclient import TestClient

    from emolens.deploy.predict import Predictor
    from emolens.deploy.serve.app import create_app

    old = dataclasses.replace(bundle, info={k: v for k, v in bundle.info.items()
                                            if k not in ("latent_regions", "attribution_reference")})
    c = TestClient(create_app(Predictor(old)))
    m = c.get("/api/model").json()
    assert m["regions"]["available"] is False and "no latent regions" in m["regions"]["reason"]
    assert "average training utterance" in m["attribution"]["method"]
    body = c.post("/api/predict?explain=true", files=files_of(_batch(wav_bytes, 2))).json()
    assert len(body["predictions"]) == 2 and body["details"]["clip0.wav"]["attribution"]


def test_page_and_static_files_fetch_nothing_from_elsewhere(client):
    r = client.get("/")
    assert r.status_code == 200 and "<title>emolens" in r.text
    csp = r.headers["content-security-policy"]  # the browser itself refuses other hosts
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "http" not in csp
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/app.py").status_code == 404
    assert client.get("/static/..%2Fapp.py").status_code == 404
    static = resources.files("emolens.deploy.serve") / "static"
    for f in static.iterdir():
        text = f.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, f"{f.name} refers to {urls}"
        assert "@import" not in text and "@font-face" not in text


def test_runs_tab(app_factory, tmp_path):
    from fastapi.testclient import TestClient

    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "report.html").write_text("<h1>demo report</h1>")
    (tmp_path / "runs" / "demo" / "summary.md").write_text("# summary")
    (tmp_path / "secret.html").write_text("no")
    c = TestClient(app_factory(runs=tmp_path / "runs"))
    runs = c.get("/api/runs").json()
    assert [r["name"] for r in runs["runs"]] == ["demo"] and runs["runs"][0]["summary"] == "# summary"
    assert "demo report" in c.get("/runs/demo/report.html").text
    assert c.get("/runs/..%2F/report.html").status_code == 404
    assert c.get("/runs/nothing/report.html").status_code == 404
    assert TestClient(app_factory()).get("/api/runs").json()["available"] is False


def _silence() -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.zeros(16_000, dtype=np.float32), 16_000, format="WAV")
    return buf.getvalue()
