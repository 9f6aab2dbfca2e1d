"""emolens.deploy: model bundles, prediction, streaming, ONNX export, out-of-domain score.

>>> from emolens.deploy import Predictor  # doctest: +SKIP
>>> Predictor().predict_files(["a.wav", "speaker_folder/"]).table  # doctest: +SKIP
"""

from typing import TYPE_CHECKING

from emolens._lazy import lazy_exports

if TYPE_CHECKING:  # static tools see the real imports
    from emolens.deploy.bundle import (
        FORMAT_VERSION,
        Bundle,
        BundleError,
        check_feature_names,
        default_bundle_path,
        load_bundle,
        save_bundle,
    )
    from emolens.deploy.calibration import ProbabilityHead
    from emolens.deploy.ood import OODScorer
    from emolens.deploy.predict import Prediction, Predictor

# Loaded on first use (`emolens --help` must not import pandas/sklearn/torch): the
# names are the TYPE_CHECKING imports above.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
