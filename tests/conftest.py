"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPORA = (ROOT / ".." / "shared" / "corpora").resolve()


def pytest_configure(config):
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


@pytest.fixture(scope="session")
def shared_corpora() -> Path:
    """Path of ../shared/corpora; skips the test when the folder is absent."""
    if not SHARED_CORPORA.is_dir():
        pytest.skip(f"real corpora not available at {SHARED_CORPORA}")
    return SHARED_CORPORA


#: Why encoder tests skip: the only acceptable reason is the missing optional extra.
NO_ENCODERS = "the 'encoders' extra is not installed (pip install 'emolens[encoders]')"


def save_tiny_encoder(folder: Path, kind: str = "wavlm", seed: int = 0) -> Path:
    """A randomly initialised 2-layer encoder (hidden size 32) saved with ``save_pretrained``.

    Args:
        folder: where to save it (created).
        kind: ``"wavlm"``, ``"hubert"`` or ``"whisper"``.
        seed: torch seed of the random weights.

    Returns:
        ``folder``.
    """
    transformers = pytest.importorskip("transformers", reason=NO_ENCODERS)
    import torch

    torch.manual_seed(seed)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=64, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
                 num_conv_pos_embedding_groups=2)
    if kind == "wavlm":
        model = transformers.WavLMModel(transformers.WavLMConfig(
            **small, num_buckets=32, max_bucket_distance=80))
        extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    elif kind == "hubert":
        model = transformers.HubertModel(transformers.HubertConfig(**small))
        extractor = transformers.Wav2Vec2FeatureExtractor(do_normalize=False)
    elif kind == "whisper":
        model = transformers.WhisperModel(transformers.WhisperConfig(
            d_model=32, encoder_layers=2, decoder_layers=1, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64,
            num_mel_bins=80, vocab_size=100, max_target_positions=32, pad_token_id=0,
            bos_token_id=1, eos_token_id=2, decoder_start_token_id=1))
        extractor = transformers.WhisperFeatureExtractor(feature_size=80)
    else:  # pragma: no cover
        raise ValueError(kind)
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """Folder of a tiny random WavLM (2 layers, hidden size 32), made once per session."""
    return save_tiny_encoder(tmp_path_factory.mktemp("encoders") / "wavlm")


@pytest.fixture(scope="session")
def make_encoder():
    """``make_encoder(folder, kind="wavlm", seed=0) -> folder`` (see :func:`save_tiny_encoder`)."""
    return save_tiny_encoder


#: Sampling rate of the synthetic test signals below.
SR = 16_000


@pytest.fixture
def tone():
    """``tone(seconds=1.0, f0=200.0)``: a float32 sine at :data:`SR`, amplitude 0.3."""
    import numpy as np

    def make(seconds=1.0, f0=200.0):
        t = np.arange(int(seconds * SR)) / SR
        return (0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)

    return make


@pytest.fixture
def band_power():
    """``band_power(x, lo, hi)``: the power of ``x`` (at :data:`SR`) between lo and hi Hz."""
    import numpy as np

    def power(x, lo, hi):
        spec = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x), 1 / SR)
        return spec[(f >= lo) & (f < hi)].sum()

    return power
