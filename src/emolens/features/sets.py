"""The feature sets emolens can extract, and their cache identity.

Three kinds, all named by one string (the ``--features`` option, ``features =`` in a run
config, ``feature_set`` in a bundle):

* openSMILE sets: ``egemaps`` (default), ``gemaps``, ``compare``, ``egemaps-lld``
  (:class:`FeatureConfig`);
* pretrained speech encoders: ``hf:<hub id or folder>``, ``whisper:<size or folder>`` or a
  plain folder path, each with an optional ``@<layer>`` (:class:`EncoderConfig`, computed by
  :mod:`emolens.features.encoders`);
* hybrids: ``egemaps+hf:...`` or ``compare+egemaps``, the columns of the parts side by side
  (:class:`HybridConfig`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

from emolens.features.audio import PREPROCESSING

#: Bump when the preprocessing or the cache file layout changes, to invalidate old entries.
CACHE_SCHEMA = 1


def identity_key(identity: dict) -> str:
    """Short content hash of a feature set's identity (its cache key)."""
    blob = json.dumps(identity, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class FeatureConfig:
    """One openSMILE configuration.

    Attributes:
        name: emolens name (``"egemaps"``...).
        feature_set: member name of :class:`opensmile.FeatureSet`.
        feature_level: member name of :class:`opensmile.FeatureLevel`.
        description: one line for help texts.
    """

    name: str
    feature_set: str
    feature_level: str
    description: str

    is_encoder = False

    @property
    def is_lld(self) -> bool:
        """Whether the set gives one row per frame (index ``file, start, end``)."""
        return self.feature_level != "Functionals"

    @cached_property
    def key(self) -> str:
        """Short hash of everything that changes the numbers: the openSMILE set and version
        and the preprocessing (16 kHz mono by channel averaging, polyphase resampling, the
        silence trim: :data:`~emolens.features.audio.PREPROCESSING`)."""
        return identity_key({
            "feature_set": self.feature_set,
            "feature_level": self.feature_level,
            "opensmile": _opensmile_version(),
            **PREPROCESSING,
            "schema": CACHE_SCHEMA,
        })

    @property
    def cache_meta(self) -> dict:
        """What the cache records beside the column names."""
        return {"feature_set": self.feature_set, "feature_level": self.feature_level}

    def smile(self):
        """A new :class:`opensmile.Smile` for this configuration (imports opensmile)."""
        import opensmile

        return opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, self.feature_set),
            feature_level=getattr(opensmile.FeatureLevel, self.feature_level),
        )


#: Feature sets by emolens name.
FEATURE_SETS: dict[str, FeatureConfig] = {
    c.name: c
    for c in (
        FeatureConfig(
            "egemaps", "eGeMAPSv02", "Functionals", "eGeMAPSv02 functionals (88, default)"
        ),
        FeatureConfig("gemaps", "GeMAPSv01b", "Functionals", "GeMAPSv01b functionals (62)"),
        FeatureConfig(
            "compare", "ComParE_2016", "Functionals", "ComParE_2016 functionals (6373)"
        ),
        FeatureConfig(
            "egemaps-lld",
            "eGeMAPSv02",
            "LowLevelDescriptors",
            "eGeMAPSv02 low-level descriptors (25 per 10 ms frame)",
        ),
    )
}


def get_config(name: str):
    """Look up a feature set by name, with a clear error listing the valid names.

    Args:
        name: an openSMILE set (``egemaps``...), an encoder (``hf:ID``, ``whisper:SIZE``,
            a model folder, each optionally ``@LAYER``) or a hybrid (``egemaps+hf:ID``,
            ``compare+egemaps``).

    Returns:
        :class:`FeatureConfig`, :class:`~emolens.features.encoders.EncoderConfig` or
        :class:`HybridConfig`. Parsing imports nothing heavy and touches no model file.

    Raises:
        ValueError: unknown name or malformed encoder specification.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"a feature set name must be a non-empty string, got {name!r}")
    if name in FEATURE_SETS:
        return FEATURE_SETS[name]
    head, plus, tail = name.partition("+")
    if plus and head in FEATURE_SETS:
        if tail in FEATURE_SETS:
            if {head, tail} not in ({"compare", "egemaps"}, {"compare", "gemaps"}):
                raise ValueError(
                    f"{name!r}: two openSMILE sets combine only as 'compare+egemaps' or "
                    "'compare+gemaps' (other pairs share columns, or give one row per frame)"
                )
            return HybridConfig((FEATURE_SETS[head], FEATURE_SETS[tail]))
        tail_config = get_config(tail)
        if not getattr(tail_config, "is_encoder", False):
            raise ValueError(
                f"a hybrid feature set is an openSMILE set plus one encoder "
                f"('egemaps+hf:<model>') or ComParE plus eGeMAPS ('compare+egemaps'); "
                f"{tail!r} is neither"
            )
        return HybridConfig((FEATURE_SETS[head], tail_config))
    from emolens.features.encoders import parse_encoder

    encoder = parse_encoder(name)
    if encoder is None:
        valid = ", ".join(FEATURE_SETS)
        raise ValueError(
            f"unknown feature set {name!r}; choose one of: {valid}, an encoder "
            "'hf:<model id or folder>[@layer]', 'whisper:<size or folder>[@layer]', a model "
            "folder, or a hybrid such as 'egemaps+hf:<model>' or 'compare+egemaps'"
        )
    return encoder


@dataclass(frozen=True)
class HybridConfig:
    """Several feature sets side by side, e.g. ``egemaps+hf:microsoft/wavlm-base-plus`` or
    ``compare+egemaps``.

    Each part is extracted and cached on its own; a file skipped by any part is skipped.

    Attributes:
        parts: the functional-level configurations, in column order.
    """

    parts: tuple

    is_lld = False
    is_encoder = False

    def __post_init__(self):
        for part in self.parts:
            if part.is_lld:
                raise ValueError(
                    f"a hybrid feature set combines functionals only; {part.name!r} gives "
                    "one row per frame"
                )

    @property
    def name(self) -> str:
        return "+".join(p.name for p in self.parts)

    @property
    def description(self) -> str:
        return " + ".join(p.description for p in self.parts)

    @property
    def encoder(self):
        """The encoder part (``None`` without one)."""
        return next((p for p in self.parts if getattr(p, "is_encoder", False)), None)


def _opensmile_version() -> str:
    try:
        return version("opensmile")
    except PackageNotFoundError:  # pragma: no cover - opensmile is a core dependency
        return "unknown"


def check_feature_set(name: str):
    """The configuration of ``name``, after checking that it can run here (an encoder: the
    ``encoders`` extra is installed, the model is found locally, the layer exists).

    Raises:
        ValueError: unknown name, model not found, bad layer.
        ImportError: the ``encoders`` extra is missing.
    """
    config = get_config(name)
    encoder = config.encoder if isinstance(config, HybridConfig) else config
    if getattr(encoder, "is_encoder", False):
        encoder.check()
    return config
