"""emolens.models: scaling, autoencoders, classifiers and their persistence.

Every model is a scikit-learn ``Pipeline(scale, reduce, clf)`` built by :func:`make_model`:

* ``scale``: :class:`FeatureScaler`, z-score with training statistics (paper) or per-corpus /
  per-speaker statistics (needs corpus/speaker ids at test time), clipped at ±10 sd;
* ``reduce``: :class:`AutoencoderTransformer` (UAE, DAE, VAE, cVAE, ssVAE; PyTorch inside),
  ``PCA(2)`` or ``"passthrough"``;
* ``clf``: linear SVC (paper), RBF SVC or logistic regression, ``class_weight="balanced"``;
  or one logistic regression per feature set of a hybrid (:class:`FusedLogisticRegression`).

:func:`apply` returns everything a fitted pipeline gives for some rows as one
:class:`ModelOutput` (scaled rows, latent, reconstruction error, scores, fallback groups) and
:func:`fit_model` fits one (group statistics over unlabelled utterances too);
:func:`save_pipeline` / :func:`load_pipeline` store JSON + safetensors (no pickle);
:func:`fit_pipelines` fits the folds x seeds of one configuration together (autoencoders in
lockstep); :func:`n_parameters` counts learned parameters; :func:`distribution_shift` diagnoses a test
corpus far outside the training distribution.
"""

from .adapt import ADAPTS, Adapted, PseudoLabels, adaptation
from .autoencoder import (
    AE_KINDS,
    AutoencoderTransformer,
    cluster_loss,
    cyclical_beta,
    fit_autoencoders,
)
from .factory import (
    CLASSIFIERS,
    MODEL_NAMES,
    MODELS,
    check_model,
    make_classifier,
    make_model,
    n_parameters,
    parameter_counts,
    with_feature_blocks,
)
from .fitted import ModelOutput, apply, fit_model, is_grouped
from .fusion import FusedLogisticRegression
from .multifit import BALANCES, balanced_weights, fit_pipelines
from .persistence import PipelineFileError, load_pipeline, save_pipeline
from .scaling import FeatureScaler, SmallGroupWarning
from .shift import ShiftReport, distribution_shift

__all__ = [
    "AE_KINDS",
    "AutoencoderTransformer",
    "CLASSIFIERS",
    "FeatureScaler",
    "FusedLogisticRegression",
    "MODELS",
    "MODEL_NAMES",
    "ModelOutput",
    "PipelineFileError",
    "ShiftReport",
    "SmallGroupWarning",
    "check_model",
    "apply",
    "cluster_loss",
    "cyclical_beta",
    "distribution_shift",
    "fit_autoencoders",
    "fit_model",
    "fit_pipelines",
    "is_grouped",
    "balanced_weights",
    "ADAPTS",
    "Adapted",
    "BALANCES",
    "PseudoLabels",
    "adaptation",
    "load_pipeline",
    "make_classifier",
    "make_model",
    "n_parameters",
    "parameter_counts",
    "with_feature_blocks",
    "save_pipeline",
]
