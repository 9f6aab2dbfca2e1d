"""Pretrained speech encoders as feature sets: one utterance embedding per file.

Names (see :func:`parse_encoder`)::

    hf:microsoft/wavlm-base-plus      a checkpoint in the local Hugging Face cache
    hf:/models/hubert-base@6          a checkpoint folder, layer 6
    whisper:base@last                 Whisper's encoder (openai/whisper-base), last layer
    /models/wav2vec2-base             a plain folder path (config.json decides the model type)

Everything is loaded with Hugging Face ``transformers`` (``AutoModel`` and
``AutoFeatureExtractor``; ``WhisperModel``'s encoder and ``WhisperFeatureExtractor`` for
Whisper) with ``local_files_only=True``: emolens never downloads a model. ``transformers``
is an optional extra (``pip install 'emolens[encoders]'``).

One embedding per file:

1. the 16 kHz mono signal (as for openSMILE) is cut into equal pieces of at most
   :data:`CHUNK_SECONDS` (30 s for Whisper, whose encoder takes exactly 30 s);
2. pieces of equal length go through the encoder together (:data:`BATCH_SIZE` at a time);
   pieces of *different* files are never batched together, because padding changes the
   output of encoders without an attention mask (wav2vec 2.0 base) and a file's features must
   not depend on its neighbours (the cache is keyed by content);
3. the chosen layer (``@6``; ``@last``; ``@mean``, the default: the average of all
   transformer layers) gives one vector per 20 ms frame;
4. active frames are kept: a frame (its 25 ms window) whose RMS level is more than
   :data:`VAD_RANGE_DB` dB below the loudest frame of the file is a pause and left out;
5. mean and standard deviation over the kept frames: ``2 x hidden size`` columns,
   ``emb_mean_0000... emb_std_0000...``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from emolens.features.audio import PREPROCESSING, TARGET_SR
from emolens.features.sets import identity_key

#: Install command shown when transformers is missing.
INSTALL_HINT = "pip install 'emolens[encoders]'"
#: Environment variable choosing the device: ``auto`` (default: a GPU when torch sees one),
#: ``cpu``, ``cuda``, ``cuda:1``...
DEVICE_ENV = "EMOLENS_DEVICE"
#: Longest piece of signal given to the encoder at once (seconds). Self-attention cost grows
#: with the square of the length; 20 s (1000 frames) keeps memory modest on CPU.
CHUNK_SECONDS = 20.0
#: Whisper's encoder takes exactly 30 s (shorter pieces are padded by its feature extractor).
WHISPER_CHUNK_SECONDS = 30.0
#: Pieces per forward pass.
BATCH_SIZE = 8
#: Encoder frame hop and the window used to measure a frame's level (samples at 16 kHz):
#: wav2vec 2.0-style encoders and Whisper's encoder both give one frame per 20 ms.
FRAME_HOP = 320
FRAME_WINDOW = 400
#: Frames more than this many dB below the file's loudest frame count as pauses.
VAD_RANGE_DB = 35.0
#: Layer choices besides an integer.
LAYER_WORDS = ("mean", "last")
#: Whisper sizes accepted by ``whisper:<size>`` (mapped to ``openai/whisper-<size>``).
WHISPER_SIZES = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large", "large-v1", "large-v2", "large-v3", "large-v3-turbo", "turbo",
)
#: Weight files hashed for the cache key and the bundle check.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
#: Configuration files hashed with the weights (they change the computation too).
CONFIG_FILES = ("config.json", "preprocessor_config.json")
#: Bump when the pooling, chunking or VAD changes, to invalidate old cache entries.
ENCODER_SCHEMA = 1
POOLING = "mean+std over active frames"


class EncoderError(ValueError):
    """An encoder cannot be used (not found locally, no weights, bad layer...)."""


def require_transformers():
    """Import transformers, or raise ImportError with the install command."""
    try:
        import transformers
    except ImportError as err:
        raise ImportError(
            "pretrained encoders (hf:..., whisper:..., model folders) need Hugging Face "
            f"transformers, an optional dependency of emolens: {INSTALL_HINT}"
        ) from err
    return transformers


# --------------------------------------------------------------------------- names

_LAYER = re.compile(r"^(?P<body>.+)@(?P<layer>\d+|mean|last)$")


@functools.lru_cache(maxsize=64)
def parse_encoder(name: str) -> EncoderConfig | None:
    """The encoder configuration a feature-set name describes, or None if it names none.

    Args:
        name: ``hf:<hub id or folder>``, ``whisper:<size, hub id or folder>`` or a model
            folder, optionally followed by ``@<layer>`` (an integer: 0 = the input of the
            first transformer layer, 1... = after that layer; ``last``; ``mean``: the
            average of the transformer layers, the default).

    Returns:
        The configuration (cached per name for the life of the process: its weight hash
        is computed once), or None when ``name`` is neither prefixed nor a folder.

    Raises:
        ValueError: a prefixed name that is malformed (empty model, unknown Whisper size,
            a folder without config.json).
    """
    match = _LAYER.match(name)
    body, layer = (match["body"], match["layer"]) if match else (name, "mean")
    layer = int(layer) if layer.isdigit() else layer
    if body.startswith("hf:"):
        prefix, source = "hf", body[3:]
    elif body.startswith("whisper:"):
        prefix, source = "whisper", body[8:]
    elif os.path.isdir(os.path.expanduser(body)):
        prefix, source = "hf", body
    else:
        return None
    if not source:
        raise ValueError(f"feature set {name!r} names no model after '{prefix}:'")
    folder = os.path.expanduser(source)
    if os.path.isdir(folder):
        folder = os.path.abspath(folder)
        if not os.path.isfile(os.path.join(folder, "config.json")):
            raise ValueError(
                f"{folder} is not a model folder for transformers (it has no config.json)"
            )
        source = folder
    elif prefix == "whisper" and "/" not in source:
        if source not in WHISPER_SIZES:
            raise ValueError(
                f"unknown Whisper size {source!r}; use one of {', '.join(WHISPER_SIZES)}, "
                "a hub id or a model folder"
            )
        source = f"openai/whisper-{source}"
    elif source.startswith(("/", ".", "~")) or os.sep in source.strip("/").replace("/", "", 1):
        raise ValueError(f"model folder {folder} (feature set {name!r}) does not exist")
    elif "@" in source or not re.fullmatch(r"[\w.\-]+(/[\w.\-]+)?", source):
        raise ValueError(
            f"{source!r} in feature set {name!r} is neither a model folder nor a model id "
            "('org/name'); a layer is given as '@6', '@last' or '@mean'"
        )
    return EncoderConfig(name=f"{prefix}:{source}@{layer}", source=source, layer=layer)


@dataclass(frozen=True)
class EncoderConfig:
    """One pretrained encoder, layer and pooling: a feature set.

    Attributes:
        name: canonical name, ``<hf|whisper>:<source>@<layer>``.
        source: hub id (looked up in the local Hugging Face cache) or absolute folder.
        layer: integer layer, ``"last"`` or ``"mean"``.
    """

    name: str
    source: str
    layer: int | str

    is_lld = False
    is_encoder = True
    feature_level = "Functionals"

    @property
    def description(self) -> str:
        return f"{self.source} encoder, layer {self.layer}, {POOLING}"

    # ------------------------------------------------------------------ files
    @cached_property
    def model_dir(self) -> Path:
        """The local folder holding the checkpoint (never downloads).

        Raises:
            ImportError: transformers (and huggingface_hub) missing.
            EncoderError: a hub id that is not in the local cache.
        """
        if os.path.isabs(self.source):
            return Path(self.source)
        require_transformers()
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(self.source, local_files_only=True))
        except Exception as err:  # noqa: BLE001 - LocalEntryNotFoundError and friends
            raise EncoderError(
                f"model {self.source!r} is not in the local Hugging Face cache "
                f"({type(err).__name__}); emolens never downloads models: fetch it once with "
                "the Hugging Face tools (or copy its folder here) and name the folder instead"
            ) from None

    @property
    def model_config(self) -> dict:
        """The checkpoint's config.json (re-read when the file changes)."""
        path = self.model_dir / "config.json"
        try:
            return json.loads(_cached_read(path, _stamp([path]), "text"))
        except (OSError, ValueError) as err:
            raise EncoderError(f"cannot read {path}: {err}") from None

    @property
    def is_whisper(self) -> bool:
        return self.model_config.get("model_type") == "whisper"

    def _config_int(self, key: str, whisper_key: str, what: str) -> int:
        """An integer of config.json, under ``key`` (``whisper_key`` in a Whisper config)."""
        value = self.model_config.get(whisper_key if self.is_whisper else key)
        if not isinstance(value, int):
            raise EncoderError(f"{self.model_dir}/config.json gives no {what}")
        return value

    @property
    def hidden_size(self) -> int:
        return self._config_int("hidden_size", "d_model", "hidden size")

    @property
    def n_layers(self) -> int:
        return self._config_int("num_hidden_layers", "encoder_layers", "number of layers")

    @property
    def weights_sha256(self) -> str:
        """SHA-256 over the weight files (names and bytes) of the checkpoint.

        Computed once per state of the files (names, sizes, modification times), so a
        long-lived process notices replaced weights.
        """
        files = sorted(
            p for p in self.model_dir.iterdir()
            if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)
            and not p.name.startswith(("optimizer", "training_args", "scheduler"))
        )
        if not files:
            raise EncoderError(f"{self.model_dir} holds no weight file ({', '.join(WEIGHT_SUFFIXES)})")
        return _cached_read(tuple(files), _stamp(files), "sha256")

    @property
    def config_sha256(self) -> str:
        """SHA-256 over config.json and preprocessor_config.json."""
        files = tuple(self.model_dir / f for f in CONFIG_FILES if (self.model_dir / f).is_file())
        return _cached_read(files, _stamp(files), "sha256")

    def check(self) -> None:
        """Fail early, with a clear message, when this encoder cannot run here.

        Raises:
            ImportError: the ``encoders`` extra is not installed.
            EncoderError: model not found locally, no weights, or a layer out of range.
        """
        require_transformers()
        _ = self.weights_sha256
        if isinstance(self.layer, int) and self.layer > self.n_layers:
            raise EncoderError(
                f"{self.source} has {self.n_layers} layers; layer {self.layer} does not exist "
                f"(0..{self.n_layers}, 'last' or 'mean')"
            )

    # ------------------------------------------------------------------ identity
    @property
    def identity(self) -> dict:
        """What a bundle records: encoder id, weight hash, layer, pooling."""
        return {
            "feature_set": self.name,
            "source": self.source,
            "model_type": self.model_config.get("model_type"),
            "weights_sha256": self.weights_sha256,
            "config_sha256": self.config_sha256,
            "layer": self.layer,
            "pooling": POOLING,
        }

    @property
    def cache_meta(self) -> dict:
        return {k: v for k, v in self.identity.items() if k != "feature_set"}

    @property
    def key(self) -> str:
        """Short hash of everything that changes the numbers: weights and configuration,
        layer, pooling, chunking and VAD, transformers' major version, preprocessing."""
        identity = {
            "encoder": self.source if not os.path.isabs(self.source) else None,
            "weights": self.weights_sha256,
            "config": self.config_sha256,
            "layer": self.layer,
            "pooling": POOLING,
            "chunk": WHISPER_CHUNK_SECONDS if self.is_whisper else CHUNK_SECONDS,
            "vad_db": VAD_RANGE_DB,
            "transformers": _major_version("transformers"),
            **PREPROCESSING,
            "schema": ENCODER_SCHEMA,
        }
        return identity_key(identity)

    def feature_names(self) -> list[str]:
        """Column names: ``emb_mean_0000``... then ``emb_std_0000``..."""
        n = self.hidden_size
        return [f"emb_mean_{i:04d}" for i in range(n)] + [f"emb_std_{i:04d}" for i in range(n)]

    def load(self, device: str | None = None) -> Encoder:
        """The loaded encoder (imports torch and transformers)."""
        return Encoder(self, device)


def _stamp(files) -> tuple:
    """What identifies the state of files cheaply: names, sizes, modification times."""
    out = []
    for path in files:
        st = os.stat(path)
        out.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _cached_read(files, stamp: tuple, what: str) -> str:
    """``text`` of one file or ``sha256`` over files (names and bytes), cached per stamp."""
    if what == "text":
        return Path(files).read_text()
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).name.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _major_version(package: str) -> str:
    try:
        return version(package).split(".")[0]
    except PackageNotFoundError:
        return "missing"


def resolve_device(device: str | None = None) -> str:
    """``device``, else ``$EMOLENS_DEVICE``, else ``auto``; ``auto`` = cuda when available."""
    import torch

    device = device or os.environ.get(DEVICE_ENV) or "auto"
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


# --------------------------------------------------------------------------- computation


class Encoder:
    """A loaded encoder that turns 16 kHz mono signals into utterance embeddings.

    Args:
        config: the encoder configuration.
        device: torch device; None = :func:`resolve_device`.
    """

    def __init__(self, config: EncoderConfig, device: str | None = None):
        transformers = require_transformers()
        import torch

        config.check()
        transformers.logging.set_verbosity_error()  # no "weights not initialised" chatter
        transformers.utils.logging.disable_progress_bar()
        self.config = config
        self.device = resolve_device(device)
        folder = str(config.model_dir)
        if config.is_whisper:
            self.extractor = transformers.WhisperFeatureExtractor.from_pretrained(
                folder, local_files_only=True)
            model = transformers.WhisperModel.from_pretrained(folder, local_files_only=True)
            self.model = model.get_encoder()
            self.chunk = int(WHISPER_CHUNK_SECONDS * TARGET_SR)
        else:
            try:
                self.extractor = transformers.AutoFeatureExtractor.from_pretrained(
                    folder, local_files_only=True)
            except (OSError, ValueError) as err:
                raise EncoderError(
                    f"{folder} has no usable feature extractor (preprocessor_config.json): {err}"
                ) from None
            self.model = transformers.AutoModel.from_pretrained(folder, local_files_only=True)
            self.chunk = int(CHUNK_SECONDS * TARGET_SR)
        self.model.eval().to(self.device)
        self._torch = torch

    def embed(self, signal: np.ndarray) -> np.ndarray:
        """Mean and std of the chosen layer over the active frames of one signal.

        Args:
            signal: float32 16 kHz mono samples (as :func:`emolens.features.load_audio` gives).

        Returns:
            float64 array of shape ``(1, 2 * hidden size)``.
        """
        signal = np.asarray(signal, dtype=np.float32)
        pieces = np.array_split(signal, max(1, math.ceil(len(signal) / self.chunk)))
        levels = [frame_levels(p) for p in pieces]
        top = max(float(lv.max()) for lv in levels if lv.size)
        kept = []
        by_length: dict[int, list[int]] = {}
        for i, p in enumerate(pieces):
            by_length.setdefault(len(p), []).append(i)
        hidden: dict[int, np.ndarray] = {}
        for length, idx in by_length.items():
            for start in range(0, len(idx), BATCH_SIZE):
                batch = idx[start:start + BATCH_SIZE]
                out = self._forward([pieces[i] for i in batch])
                for j, i in enumerate(batch):
                    hidden[i] = out[j]
        for i, p in enumerate(pieces):
            h = hidden[i]
            # Whisper pads every piece to 30 s: only the frames of real signal are used.
            n = min(len(h), len(levels[i]))
            kept.append(h[:n][levels[i][:n] >= top - VAD_RANGE_DB])
        frames = np.concatenate(kept, axis=0)
        if len(frames) == 0:  # cannot happen (the loudest frame is kept); keep it robust
            frames = np.concatenate([hidden[i] for i in range(len(pieces))], axis=0)
        return np.concatenate([frames.mean(axis=0), frames.std(axis=0)])[None, :].astype(np.float64)

    def _forward(self, pieces: list[np.ndarray]) -> np.ndarray:
        """The chosen layer for equal-length pieces: ``(batch, frames, hidden)``."""
        torch = self._torch
        inputs = self.extractor(pieces, sampling_rate=TARGET_SR, return_tensors="pt")
        key = "input_features" if self.config.is_whisper else "input_values"
        kwargs = {key: inputs[key].to(self.device)}
        if "attention_mask" in inputs and not self.config.is_whisper:
            kwargs["attention_mask"] = inputs["attention_mask"].to(self.device)
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch attention-mask deprecations
            states = self.model(**kwargs, output_hidden_states=True).hidden_states
        layer = self.config.layer
        if layer == "mean":
            chosen = torch.stack(states[1:]).mean(dim=0)
        elif layer == "last":
            chosen = states[-1]
        else:
            chosen = states[layer]
        return chosen.float().cpu().numpy()


def frame_levels(signal: np.ndarray) -> np.ndarray:
    """RMS level (dB) of each encoder frame: window of :data:`FRAME_WINDOW` samples every
    :data:`FRAME_HOP` samples (wav2vec 2.0's convolution gives exactly these frames)."""
    n = 1 + max(0, len(signal) - FRAME_WINDOW) // FRAME_HOP
    padded = np.pad(signal.astype(np.float64), (0, max(0, (n - 1) * FRAME_HOP + FRAME_WINDOW - len(signal))))
    idx = np.arange(FRAME_WINDOW)[None, :] + FRAME_HOP * np.arange(n)[:, None]
    power = np.mean(np.square(padded[idx]), axis=1)
    return 10.0 * np.log10(np.maximum(power, 1e-20))
