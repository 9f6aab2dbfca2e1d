import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emolens.cli import app

COLUMNS = ["file", "label", "p_neutral", "p_happy", "p_sad", "p_angry", "z1", "z2", "ood_score", "ood"]
runner = CliRunner()


def _invoke(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def test_folder_csv_with_bad_file(bundle_dir, write_wav, tmp_path):
    for i in range(3):
        write_wav(f"spk/a{i}.wav", seconds=1.5 + 0.3 * i, f0=120 + 20 * i, seed=i)
    (tmp_path / "spk" / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    out = tmp_path / "pred.csv"
    res = _invoke(["predict", str(tmp_path / "spk"), "--model", str(bundle_dir), "-o", str(out)])
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS
    assert len(table) == 3
    np.testing.assert_allclose(table[COLUMNS[2:6]].sum(axis=1), 1.0, atol=1e-9)
    assert set(table["label"]) <= {"neutral", "happy", "sad", "angry"}
    skipped = pd.read_csv(tmp_path / "pred.skipped.csv")
    assert skipped["file"].str.endswith("broken.wav").all()
    assert "not a readable audio file" in skipped["reason"].iloc[0]
    assert "per-speaker z-scoring" in res.output and "the whole folder" in res.output


def test_manifest_json_uses_speaker_column(bundle_dir, write_wav, tmp_path):
    files = [write_wav(f"m/{i}.wav", seconds=1.2, f0=100 + 30 * i, seed=i) for i in range(4)]
    pd.DataFrame({"file": [f.name for f in files], "speaker": ["x", "x", "y", "y"]}).to_csv(
        tmp_path / "m" / "manifest.csv", index=False)
    out = tmp_path / "pred.json"
    res = _invoke(["predict", str(tmp_path / "m" / "manifest.csv"), "--model", str(bundle_dir),
                   "-o", str(out)])
    rows = json.loads(out.read_text())
    assert len(rows) == 4 and list(rows[0]) == COLUMNS
    assert "'speaker' column" in res.output and "2 group(s)" in res.output
    assert "training statistics" not in res.output


def test_single_file_falls_back_and_prints_to_stdout(bundle_dir, write_wav):
    f = write_wav("one.wav")
    res = _invoke(["predict", str(f), "--model", str(bundle_dir), "--format", "json"])
    assert "used the training statistics" in res.stderr
    rows = json.loads(res.stdout)
    assert len(rows) == 1 and rows[0]["file"] == str(f.resolve())


def test_all_bad_exits_nonzero_and_bad_model(bundle_dir, tmp_path):
    (tmp_path / "x.wav").write_bytes(b"")
    res = runner.invoke(app, ["predict", str(tmp_path / "x.wav"), "--model", str(bundle_dir)])
    assert res.exit_code == 1 and "empty file" in res.output
    res = runner.invoke(app, ["predict", str(tmp_path / "x.wav"), "--model", str(tmp_path)])
    assert res.exit_code != 0 and "bundle.json is missing" in res.output


def test_stream_cli_and_export(bundle_dir, tmp_path, make_signal):
    import soundfile as sf

    sf.write(tmp_path / "s.wav", make_signal(6.0), 16_000)
    out = tmp_path / "tl.csv"
    res = _invoke(["predict", "--stream", str(tmp_path / "s.wav"), "--model", str(bundle_dir),
                   "-o", str(out)])
    tl = pd.read_csv(out)
    assert len(tl) == 4 and "latency" in res.output
    assert (tmp_path / "tl.png").exists()
    res = _invoke(["export", str(bundle_dir), "-o", str(tmp_path / "m.onnx")])
    assert (tmp_path / "m.onnx").stat().st_size > 1000


def test_modes_are_exclusive(bundle_dir, tmp_path):
    res = runner.invoke(app, ["predict", "--model", str(bundle_dir)])
    assert res.exit_code != 0 and "one of them" in res.output


def test_long_recording_points_to_stream(bundle_dir, write_wav):
    # issue 11: a long recording in batch mode gets one label; say that --stream exists
    long = write_wav("long.wav", seconds=32.0)
    short = write_wav("short.wav", seconds=2.0)
    res = _invoke(["predict", str(long), str(short), "--model", str(bundle_dir)])
    assert "long.wav (32 s) is longer than 30 s" in res.stderr and "--stream" in res.stderr
    assert "short.wav" not in res.stderr.split("note:")[1]
    res = _invoke(["predict", str(short), "--model", str(bundle_dir)])
    assert "--stream" not in res.stderr


@pytest.mark.parametrize("kind,reason", [("missing", "missing.wav does not exist"),
                                         ("empty", "empty file (0 bytes)"),
                                         ("junk", "not a readable audio file")])
def test_stream_errors_match_batch_mode(bundle_dir, tmp_path, kind, reason):
    path = tmp_path / f"{kind}.wav"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "junk":
        path.write_bytes(b"RIFF0000WAVEjunk")
    def plain(output):  # undo the error panel's wrapping (long paths break anywhere)
        return "".join(output.replace("│", "").split())

    batch = runner.invoke(app, ["predict", str(path), "--model", str(bundle_dir)])
    assert plain(reason) in plain(batch.output)
    res = runner.invoke(app, ["predict", "--stream", str(path), "--model", str(bundle_dir)])
    text = plain(res.output)
    assert res.exit_code == 2 and plain(reason) in text, res.output
    if kind != "junk":  # the vague libsndfile words of issue 11
        assert "Systemerror" not in text and "Formatnotrecognised" not in text
