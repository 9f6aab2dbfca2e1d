"""Pretrained encoders as feature sets, on tiny random encoders built here (no download)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emolens.cli import app
from emolens.features import extract, get_config
from emolens.features.encoders import EncoderError, frame_levels, parse_encoder
from emolens.features.groups import EMBEDDING_BLOCKS, FEATURE_GROUPS, column_groups
from emolens.features.sets import HybridConfig


def _flat(text: str) -> str:
    """CLI output without rich's box drawing and line breaks."""
    return " ".join(text.replace("│", " ").split())


# ----------------------------------------------------------------- names (no transformers)
def test_names_parse_to_canonical_configs(tmp_path):
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    assert get_config(f"hf:{model}").name == f"hf:{model}@mean"
    assert get_config(f"{model}@3").name == f"hf:{model}@3"
    assert get_config(f"{model}@3").layer == 3
    assert get_config("hf:microsoft/wavlm-base-plus@last").source == "microsoft/wavlm-base-plus"
    assert get_config("whisper:base").source == "openai/whisper-base"
    hybrid = get_config(f"egemaps+hf:{model}@2")
    assert isinstance(hybrid, HybridConfig)
    assert hybrid.name == f"egemaps+hf:{model}@2"
    assert [p.name for p in hybrid.parts] == ["egemaps", f"hf:{model}@2"]


@pytest.mark.parametrize("name, message", [
    ("whisper:huge", "unknown Whisper size"),
    ("hf:", "names no model"),
    ("hf:/no/such/folder", "does not exist"),
    ("hf:org/model@first", "neither a model folder nor a model id"),
    ("egemaps+gemaps", "combine only as"),
    ("egemaps+egemaps-lld", "combine only as"),
    ("wavlm", "unknown feature set"),
])
def test_bad_names_are_explained(name, message):
    with pytest.raises(ValueError, match=message):
        get_config(name)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no config.json"):
        parse_encoder(f"hf:{tmp_path}")


def test_missing_extra_names_the_install_command(tmp_path, monkeypatch, wavs):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    monkeypatch.setitem(__import__("sys").modules, "transformers", None)
    with pytest.raises(ImportError, match=r"pip install 'emolens\[encoders\]'"):
        extract(wavs, f"hf:{tmp_path / 'm'}", cache_dir=tmp_path / "c", progress=False)
    result = CliRunner().invoke(app, ["extract", *wavs, "--features", f"hf:{tmp_path / 'm'}",
                                      "-o", str(tmp_path / "f.parquet")])
    assert result.exit_code == 2
    assert "emolens[encoders]" in _flat(result.output)


def test_frame_levels_follow_the_encoder_frames():
    x = np.zeros(16_000, dtype=np.float32)
    x[:8000] = 0.1 * np.sin(np.arange(8000) / 5)
    levels = frame_levels(x)
    assert len(levels) == 1 + (16_000 - 400) // 320  # wav2vec 2.0's frame count
    assert levels[:20].min() > levels[-20:].max() + 100  # the silent half is far below


def test_embedding_groups_cover_every_column_once():
    cols = list(FEATURE_GROUPS["pitch"]) + [f"emb_mean_{i:04d}" for i in range(40)] + [
        f"emb_std_{i:04d}" for i in range(40)]
    groups = column_groups(cols)
    assert groups["pitch"] == FEATURE_GROUPS["pitch"]
    blocks = [g for g in groups if g.startswith("embedding dims")]
    assert len(blocks) == EMBEDDING_BLOCKS - 2  # 40 dims in blocks of 3: 14 blocks
    assert blocks[0] == "embedding dims 0-2"
    flat = [c for g in groups.values() for c in g]
    assert sorted(flat) == sorted(cols)
    assert "emb_std_0001" in groups["embedding dims 0-2"]


# ----------------------------------------------------------------- extraction
def test_extract_embeds_caches_and_resumes(tiny_encoder, wavs, cache_dir):
    name = f"hf:{tiny_encoder}"
    first = extract(wavs, name, cache_dir=cache_dir, progress=False)
    assert first.features.shape == (4, 64)
    assert list(first.features.columns[:2]) == ["emb_mean_0000", "emb_mean_0001"]
    assert first.features.columns[-1] == "emb_std_0031"
    assert np.isfinite(first.features.to_numpy()).all()
    assert (first.features.iloc[:, 32:] >= 0).all().all()  # standard deviations
    assert first.feature_set == f"hf:{tiny_encoder}@mean"
    # distinct files give distinct embeddings
    assert np.abs(np.diff(first.features.to_numpy(), axis=0)).max() > 1e-6
    config = get_config(name)
    meta = json.loads((cache_dir / f"{config.key}.json").read_text())
    assert meta["weights_sha256"] == config.weights_sha256
    assert meta["layer"] == "mean" and meta["columns"][0] == "emb_mean_0000"
    again = extract(wavs, name, cache_dir=cache_dir, progress=False)
    assert (again.n_cached, again.n_computed) == (4, 0)
    pd.testing.assert_frame_equal(again.features, first.features)


def test_layers_and_weights_change_the_key_and_the_numbers(tiny_encoder, make_encoder, wavs,
                                                           tmp_path):
    keys, values = {}, {}
    for layer in ("0", "1", "last", "mean"):
        config = get_config(f"hf:{tiny_encoder}@{layer}")
        keys[layer] = config.key
        values[layer] = extract(wavs[:2], config.name, cache_dir=tmp_path / "c",
                                progress=False).features.to_numpy()
    assert len(set(keys.values())) == 4
    np.testing.assert_allclose(values["last"], values["2"] if "2" in values else
                               extract(wavs[:2], f"hf:{tiny_encoder}@2", cache_dir=tmp_path / "c",
                                       progress=False).features.to_numpy())
    assert not np.allclose(values["0"], values["1"])
    assert not np.allclose(values["1"], values["mean"])
    other = make_encoder(tmp_path / "other", seed=1)
    assert get_config(f"hf:{other}").weights_sha256 != get_config(f"hf:{tiny_encoder}").weights_sha256
    assert get_config(f"hf:{other}").key != get_config(f"hf:{tiny_encoder}").key
    with pytest.raises(EncoderError, match="layer 3 does not exist"):
        extract(wavs, f"hf:{tiny_encoder}@3", cache_dir=tmp_path / "c", progress=False)


def test_replaced_weights_are_noticed(make_encoder, tmp_path):
    folder = make_encoder(tmp_path / "m", seed=0)
    config = get_config(f"hf:{folder}")
    before = (config.weights_sha256, config.key)
    shutil.copy(make_encoder(tmp_path / "n", seed=2) / "model.safetensors",
                folder / "model.safetensors")
    assert (config.weights_sha256, config.key) != before


def test_long_files_are_chunked_and_batches_do_not_change_results(tiny_encoder, make_tone,
                                                                   monkeypatch):
    from emolens.features import encoders

    config = get_config(f"hf:{tiny_encoder}@last")
    encoder = config.load("cpu")
    x = make_tone(seconds=5.0)
    whole = encoder.embed(x)
    calls = []
    forward = encoder._forward
    monkeypatch.setattr(encoder, "_forward", lambda p: calls.append(len(p)) or forward(p))
    monkeypatch.setattr(encoder, "chunk", 16_000)  # 1-s pieces: five equal pieces
    batched = encoder.embed(x)
    assert calls == [5]
    monkeypatch.setattr(encoders, "BATCH_SIZE", 2)
    calls.clear()
    one_by_two = encoder.embed(x)
    assert calls == [2, 2, 1]
    np.testing.assert_allclose(one_by_two, batched, rtol=1e-4, atol=1e-5)
    assert not np.allclose(whole, batched, atol=1e-3)  # pieces see less context


def test_pool_workers_give_the_same_embeddings(tiny_encoder, wavs, tmp_path):
    one = extract(wavs, f"hf:{tiny_encoder}", cache_dir=tmp_path / "a", progress=False)
    two = extract(wavs, f"hf:{tiny_encoder}", jobs=2, cache_dir=tmp_path / "b", progress=False)
    np.testing.assert_allclose(two.features.to_numpy(), one.features.to_numpy(), rtol=1e-5,
                               atol=1e-6)


def test_whisper_encoder(make_encoder, wavs, tmp_path):
    folder = make_encoder(tmp_path / "whisper", kind="whisper")
    result = extract(wavs[:2], f"whisper:{folder}@last", cache_dir=tmp_path / "c",
                     progress=False)
    assert result.features.shape == (2, 64)
    assert result.feature_set == f"whisper:{folder}@last"
    assert np.isfinite(result.features.to_numpy()).all()


def test_hybrid_is_both_side_by_side(tiny_encoder, wavs, cache_dir, tmp_path, make_wav):
    silent = make_wav(tmp_path / "silent.wav", np.zeros(16_000, dtype=np.float32))
    hybrid = extract(wavs + [silent], f"egemaps+hf:{tiny_encoder}", cache_dir=cache_dir,
                     progress=False)
    ege = extract(wavs, "egemaps", cache_dir=cache_dir, progress=False).features
    emb = extract(wavs, f"hf:{tiny_encoder}", cache_dir=cache_dir, progress=False).features
    assert hybrid.features.shape == (4, 88 + 64)
    pd.testing.assert_frame_equal(hybrid.features, pd.concat([ege, emb], axis=1))
    assert hybrid.skipped["reason"].str.contains("silent").all()
    assert len(hybrid.skipped) == 1


def test_hub_ids_come_from_the_local_cache_only(tiny_encoder, wavs, tmp_path, monkeypatch):
    """``hf:org/name`` resolves through huggingface_hub's cache layout, never the network."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    snapshot = cache / "models--tiny--wavlm" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_encoder, snapshot)
    (cache / "models--tiny--wavlm" / "refs").mkdir()
    (cache / "models--tiny--wavlm" / "refs" / "main").write_text("0" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = get_config("hf:tiny/wavlm@last")
    assert config.model_dir == snapshot
    by_id = extract(wavs[:2], config.name, cache_dir=tmp_path / "c", progress=False).features
    by_folder = extract(wavs[:2], f"hf:{tiny_encoder}@last", cache_dir=tmp_path / "c",
                        progress=False).features
    np.testing.assert_allclose(by_id.to_numpy(), by_folder.to_numpy(), rtol=1e-6)
    assert config.weights_sha256 == get_config(f"hf:{tiny_encoder}").weights_sha256
    with pytest.raises(EncoderError, match="not in the local Hugging Face cache"):
        get_config("hf:tiny/absent").check()


def test_cli_extract_with_an_encoder(tiny_encoder, wavs, tmp_path):
    out = tmp_path / "f.parquet"
    args = ["extract", *wavs, "--features", f"{tiny_encoder}@1", "-o", str(out),
            "--cache-dir", str(tmp_path / "c"), "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out).shape == (4, 64)
    args[args.index("--features") + 1] = f"{tiny_encoder}@9"
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "layer 9 does not exist" in _flat(result.output)
