"""emolens.deploy: model bundles, prediction, streaming, ONNX export, out-of-domain score.

>>> from emolens.deploy import Predictor  # doctest: +SKIP
>>> Predictor().predict_files(["a.wav", "speaker_folder/"]).table  # doctest: +SKIP
"""

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

__all__ = [
    "FORMAT_VERSION",
    "Bundle",
    "BundleError",
    "OODScorer",
    "Prediction",
    "Predictor",
    "ProbabilityHead",
    "check_feature_names",
    "default_bundle_path",
    "load_bundle",
    "save_bundle",
]
