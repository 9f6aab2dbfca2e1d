"""The openSMILE feature sets emolens can extract, and their cache identity."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version

from emolens.features.audio import TARGET_SR

#: Bump when the preprocessing or the cache file layout changes, to invalidate old entries.
CACHE_SCHEMA = 1


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

    @property
    def is_lld(self) -> bool:
        """Whether the set gives one row per frame (index ``file, start, end``)."""
        return self.feature_level != "Functionals"

    @cached_property
    def key(self) -> str:
        """Short hash of everything that changes the numbers: the openSMILE set and version
        and the preprocessing (16 kHz mono by channel averaging, polyphase resampling)."""
        identity = {
            "feature_set": self.feature_set,
            "feature_level": self.feature_level,
            "opensmile": _opensmile_version(),
            "sampling_rate": TARGET_SR,
            "mono": "mean",
            "resampler": "scipy.signal.resample_poly",
            "schema": CACHE_SCHEMA,
        }
        blob = json.dumps(identity, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

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


def get_config(name: str) -> FeatureConfig:
    """Look up a feature set by name, with a clear error listing the valid names."""
    try:
        return FEATURE_SETS[name]
    except KeyError:
        valid = ", ".join(FEATURE_SETS)
        raise ValueError(f"unknown feature set {name!r}; choose one of: {valid}") from None


def _opensmile_version() -> str:
    try:
        return version("opensmile")
    except PackageNotFoundError:  # pragma: no cover - opensmile is a core dependency
        return "unknown"
