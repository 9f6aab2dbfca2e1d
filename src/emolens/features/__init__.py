"""emolens.features: openSMILE features with a content-addressed cache.

>>> from emolens.features import extract  # doctest: +SKIP
>>> result = extract(["a.wav", "b.flac"], feature_set="egemaps", jobs=2)  # doctest: +SKIP
>>> result.features.shape, result.skipped  # doctest: +SKIP

opensmile itself is imported only when a file is actually computed, so importing this
package (and ``emolens --help``) stays fast.
"""

from typing import TYPE_CHECKING

from emolens._lazy import lazy_exports

if TYPE_CHECKING:  # static tools see the real imports
    from emolens.features.audio import AudioError, load_audio
    from emolens.features.cache import FeatureCache, default_cache_dir
    from emolens.features.extraction import (
        Extraction,
        NoFeaturesError,
        compute_features,
        extract,
        feature_blocks,
    )
    from emolens.features.encoders import EncoderConfig, EncoderError
    from emolens.features.groups import FEATURE_GROUPS, column_groups, feature_group
    from emolens.features.matrix import model_input
    from emolens.features.sets import (
        FEATURE_SETS,
        FeatureConfig,
        HybridConfig,
        check_feature_set,
        get_config,
    )

# Loaded on first use (`emolens --help` must not import pandas/sklearn/torch): the
# names are the TYPE_CHECKING imports above.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
