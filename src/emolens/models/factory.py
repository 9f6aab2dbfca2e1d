"""Model zoo: ``make_model(name)`` builds a Pipeline(scale, reduce, clf).

Every classifier uses ``class_weight="balanced"`` by default: the paper's metric is the
unweighted accuracy (mean per-class recall), and corpora are unbalanced. No classifier
computes Platt probabilities here (``SVC(probability=True)`` refits five times); the deploy
package calibrates on top. SVCs offer ``decision_function``; ``clf="logreg"`` and
``clf="vote"`` offer ``predict_proba``.
"""

from __future__ import annotations

import difflib

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .autoencoder import AutoencoderTransformer
from .decision_map import DecisionMap
from .fusion import FusedLogisticRegression
from .scaling import FeatureScaler

#: Model names accepted by :func:`make_model`, with what the ``reduce`` step is and the default
#: classifier.
MODELS = {
    "svc": ("passthrough", "rbf"),  # raw features + RBF SVC: the strongest raw baseline
    "linsvc": ("passthrough", "linear"),
    # Raw features + L2 logistic regression: no stored training points (deployable), and with
    # C <= 0.1 the best cross-corpus model on ComParE_2016 (docs/benchmarks.md#accuracy).
    "logreg": ("passthrough", "logreg"),
    "pca_svc": ("pca", "linear"),
    "uae_svc": ("uae", "linear"),
    "dae_svc": ("dae", "linear"),
    "vae_svc": ("vae", "linear"),
    "cvae_svc": ("cvae", "linear"),
    "ssvae_svc": ("ssvae", "linear"),
    # Supervised DAE: the DAE's 2-D latent also trained to separate the classes (a linear
    # softmax head on it); with clf="logreg" the interpretable model of
    # experiments/transfer_egemaps.toml and the default model's kind.
    "sae_svc": ("sae", "linear"),
    # Raw features + the mean of two classifiers' probabilities (an RBF SVC and a logistic
    # regression): the best leave-one-corpus-out model of experiments/transfer_egemaps.toml.
    "vote": ("passthrough", "vote"),
    # Raw features of a hybrid (``features = "compare+egemaps"``) + one logistic regression per
    # feature set, probabilities averaged (late fusion): the leave-one-corpus-out choice of
    # experiments/transfer.toml. On one feature set it is a plain logistic regression.
    "fusion": ("passthrough", "fusion"),
    # The fusion's class evidence drawn in two dimensions by a small non-linear map
    # (:class:`~emolens.models.decision_map.DecisionMap`), a logistic regression on that 2-D
    # latent: the 2-D-latent model of experiments/transfer_2d.toml.
    "fusion_map": ("map", "logreg"),
}
MODEL_NAMES = tuple(MODELS)
CLASSIFIERS = ("linear", "rbf", "logreg", "vote", "fusion")


def make_classifier(kind: str = "linear", seed: int = 0):
    """Classifier on the latent/raw features.

    Args:
        kind: ``"linear"`` SVC with a linear kernel (the paper), ``"rbf"`` SVC, ``"logreg"``,
            or ``"vote"``: soft vote (mean probability) of an RBF SVC (C = 0.5) with sigmoid
            probabilities fitted on 5-fold cross-validated decision values, and a logistic
            regression (C = 0.1); the two C values are the ones leave-one-corpus-out chose
            for each alone (docs/benchmarks.md#transfer). Override them as
            ``clf__svc__estimator__C`` and ``clf__logreg__C``; or ``"fusion"``: one
            logistic regression per feature set of a hybrid, probabilities averaged
            (:class:`~emolens.models.fusion.FusedLogisticRegression`; its ``blocks``, the
            column count of each set, are set by whoever knows the feature set).
        seed: random state (only matters for solvers that use randomness).
    """
    if kind == "linear":
        return SVC(kernel="linear", C=1.0, class_weight="balanced", random_state=seed)
    if kind == "rbf":
        return SVC(kernel="rbf", C=1.0, gamma="scale", class_weight="balanced", random_state=seed)
    if kind == "logreg":
        return LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced", random_state=seed)
    if kind == "vote":
        svc = SVC(kernel="rbf", C=0.5, gamma="scale", class_weight="balanced", random_state=seed)
        logreg = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced",
                                    random_state=seed)
        return VotingClassifier([("svc", CalibratedClassifierCV(svc, ensemble=False)),
                                 ("logreg", logreg)], voting="soft")
    if kind == "fusion":
        return FusedLogisticRegression(C=1.0, max_iter=1000, class_weight="balanced",
                                       random_state=seed)
    close = difflib.get_close_matches(str(kind), CLASSIFIERS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"clf must be one of {', '.join(map(repr, CLASSIFIERS))}, got {kind!r}.{hint}")


def make_model(name: str, *, clf: str | None = None, seed: int = 0, **params) -> Pipeline:
    """Build an unfitted model pipeline.

    Args:
        name: one of :data:`MODEL_NAMES`.
        clf: classifier override, ``"linear"``, ``"rbf"``, ``"logreg"`` or ``"vote"``.
        seed: seed of the autoencoder and the classifier.
        **params: ``step__param`` settings (``reduce__epochs=50``, ``scale__by="speaker"``,
            ``clf__C=10``) or bare parameter names that belong to exactly one step
            (``epochs=50``, ``by="corpus"``).

    Returns:
        Pipeline with steps ``scale`` (FeatureScaler), ``reduce`` (AutoencoderTransformer, PCA
        or ``"passthrough"``) and ``clf``.
    """
    if name not in MODELS:
        close = difflib.get_close_matches(str(name), MODEL_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}.{hint} Choose one of {', '.join(MODEL_NAMES)}.")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int, got {seed!r}.")
    reduce_kind, default_clf = MODELS[name]
    if reduce_kind == "passthrough":
        reduce = "passthrough"
    elif reduce_kind == "pca":
        reduce = PCA(n_components=2, random_state=seed)
    elif reduce_kind == "map":
        reduce = DecisionMap(seed=int(seed))
    else:
        reduce = AutoencoderTransformer(kind=reduce_kind, seed=int(seed))
    pipe = Pipeline(
        [
            ("scale", FeatureScaler()),
            ("reduce", reduce),
            ("clf", make_classifier(clf or default_clf, seed=int(seed))),
        ]
    )
    pipe.set_params(**_route(pipe, params))
    return pipe


def with_feature_blocks(pipe: Pipeline, feature_set: str) -> Pipeline:
    """Give the step that reads the raw features per feature set (a fusion classifier after
    ``reduce = "passthrough"``, or a :class:`DecisionMap`) whose ``blocks`` are unset the
    column count of each part of ``feature_set`` (``"compare+egemaps"``: 6373 and 88); other
    pipelines are left as they are (a fusion on a latent is one logistic regression).

    Returns:
        ``pipe``.
    """
    reduce, clf = pipe.named_steps.get("reduce"), pipe.named_steps.get("clf")
    step = reduce if isinstance(reduce, DecisionMap) else clf
    if (isinstance(step, (FusedLogisticRegression, DecisionMap)) and step.blocks is None
            and (step is reduce or reduce == "passthrough")):
        from emolens.features import feature_blocks, get_config

        step.set_params(blocks=feature_blocks(get_config(feature_set)))
    return pipe


def check_model(pipe: Pipeline) -> Pipeline:
    """Check every parameter of an unfitted :func:`make_model` pipeline (types and ranges)
    without fitting it, so that a wrong value fails before any data is read.

    Returns:
        ``pipe`` unchanged.

    Raises:
        ValueError: ``<step>: <what is wrong>``.
    """
    for name, step in pipe.steps:
        if step == "passthrough":
            continue
        try:
            if hasattr(step, "_check_params"):  # emolens' own estimators
                step._check_params()
            else:  # scikit-learn's declared parameter constraints, as fit() checks them
                step._validate_params()
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name}: {err}") from None
    return pipe


def _route(pipe: Pipeline, params: dict) -> dict:
    routed = {}
    steps = {n: s for n, s in pipe.steps if s != "passthrough"}
    valid = sorted(f"{n}__{p}" for n, s in steps.items() for p in s.get_params(deep=False))
    # nested parameters too (clf__svc__estimator__C of the vote classifier), not listed
    nested = {f"{n}__{p}" for n, s in steps.items() for p in s.get_params(deep=True)}
    bare = sorted({p for s in steps.values() for p in s.get_params(deep=False)})
    for key, value in params.items():
        if "__" in key:
            if key not in nested:
                close = difflib.get_close_matches(key, sorted(nested), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"unknown parameter {key!r} for this model.{hint} Valid: {', '.join(valid)}."
                )
            routed[key] = value
            continue
        owners = [n for n, s in steps.items() if key in s.get_params(deep=False)]
        if len(owners) == 1:
            routed[f"{owners[0]}__{key}"] = value
        elif not owners:
            close = difflib.get_close_matches(key, bare, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"unknown parameter {key!r} for this model.{hint} Parameters: "
                f"{', '.join(bare)} (or step__param: {', '.join(valid)})."
            )
        else:
            raise ValueError(
                f"parameter {key!r} belongs to several steps ({', '.join(owners)}); "
                f"write it as {' or '.join(o + '__' + key for o in owners)}."
            )
    return routed


def parameter_counts(pipeline: Pipeline) -> dict[str, int]:
    """Number of learned values per step, as counted by :func:`n_parameters`.

    Counting rules:
        * ``scale``: mean and std per feature for ``by=None`` (2 × n_features); per-corpus or
          per-speaker scaling stores the same fallback statistics.
        * ``reduce``: all weights and biases of the autoencoder, encoder and decoder (the
          decoder is needed for training and reconstruction error; deployment needs only the
          encoder, see ``encoder`` below); PCA: components + mean; a decision map: its
          fusion's regressions + the map's weights (all of it is its encoder).
        * ``clf``: a linear-kernel SVC collapses to one hyperplane per class pair, so
          ``coef_`` + ``intercept_``; other kernels keep support vectors + dual coefficients +
          intercepts (+1 for gamma); logistic regression ``coef_`` + ``intercept_``; the vote
          classifier and the fusion the sum of their members (+ 2 sigmoid parameters per class).
        * ``encoder``: (informational) weights of the encoder alone.
    """
    counts = {"scale": 0, "reduce": 0, "clf": 0}
    scale = pipeline.named_steps.get("scale")
    if scale is not None and hasattr(scale, "mean_"):
        counts["scale"] = int(scale.mean_.size + scale.scale_.size)
    reduce = pipeline.named_steps.get("reduce")
    if isinstance(reduce, AutoencoderTransformer) and hasattr(reduce, "module_"):
        counts["reduce"] = int(sum(p.numel() for p in reduce.module_.parameters()))
        counts["encoder"] = int(sum(p.numel() for p in reduce.encoder_.parameters()))
    elif isinstance(reduce, PCA) and hasattr(reduce, "components_"):
        counts["reduce"] = int(reduce.components_.size + reduce.mean_.size)
    elif isinstance(reduce, DecisionMap) and hasattr(reduce, "fusion_"):
        counts["reduce"] = counts["encoder"] = int(
            _classifier_count(reduce.fusion_) + sum(np.size(getattr(reduce, a)) for a in (
                "hidden_weight_", "hidden_bias_", "latent_weight_", "latent_bias_")))
    counts["clf"] = _classifier_count(pipeline.named_steps.get("clf"))
    return counts


def _classifier_count(clf) -> int:
    if isinstance(clf, SVC) and hasattr(clf, "support_vectors_"):
        if clf.kernel == "linear":
            return int(clf.coef_.size + clf.intercept_.size)
        return int(clf.support_vectors_.size + clf.dual_coef_.size + clf.intercept_.size + 1)
    if isinstance(clf, (VotingClassifier, FusedLogisticRegression)) and hasattr(clf, "estimators_"):
        return sum(_classifier_count(e) for e in clf.estimators_)
    if isinstance(clf, CalibratedClassifierCV) and hasattr(clf, "calibrated_classifiers_"):
        # the fitted classifier(s) + two sigmoid parameters per class
        return sum(_classifier_count(c.estimator) + 2 * len(c.calibrators)
                   for c in clf.calibrated_classifiers_)
    if hasattr(clf, "coef_"):
        return int(np.size(clf.coef_) + np.size(getattr(clf, "intercept_", 0)))
    return 0


def n_parameters(pipeline: Pipeline, include_scaler: bool = False) -> int:
    """Learned parameters of a fitted pipeline: network + classifier (see parameter_counts).

    Args:
        pipeline: a fitted pipeline from :func:`make_model`.
        include_scaler: also count the scaler's mean/std (statistics, not trained weights;
            excluded by default, as in the paper's "≤ 10k parameters").
    """
    counts = parameter_counts(pipeline)
    return counts["reduce"] + counts["clf"] + (counts["scale"] if include_scaler else 0)
