"""emolens.features: openSMILE features with a content-addressed cache.

>>> from emolens.features import extract  # doctest: +SKIP
>>> result = extract(["a.wav", "b.flac"], feature_set="egemaps", jobs=2)  # doctest: +SKIP
>>> result.features.shape, result.skipped  # doctest: +SKIP

opensmile itself is imported only when a file is actually computed, so importing this
package (and ``emolens --help``) stays fast.
"""

from emolens.features.audio import AudioError, load_audio
from emolens.features.cache import FeatureCache, default_cache_dir
from emolens.features.extraction import Extraction, NoFeaturesError, compute_features, extract
from emolens.features.groups import FEATURE_GROUPS, feature_group
from emolens.features.matrix import model_input
from emolens.features.sets import FEATURE_SETS, FeatureConfig, get_config

__all__ = [
    "AudioError",
    "Extraction",
    "FEATURE_GROUPS",
    "FEATURE_SETS",
    "FeatureCache",
    "FeatureConfig",
    "NoFeaturesError",
    "compute_features",
    "default_cache_dir",
    "extract",
    "feature_group",
    "get_config",
    "load_audio",
    "model_input",
]
