"""Train a deployable bundle: pipeline + held-out calibration + out-of-domain threshold.

Calibration and the out-of-domain threshold both need data the model did not train on.
``build_bundle`` runs speaker-independent cross-validation: each fold model scores its
held-out speakers, the pooled held-out classifier scores fit the probability head, and the
pooled held-out out-of-domain scores (each standardised against its own fold model's
training data) give the threshold. The final pipeline is then fitted on all data.

Group (per-speaker/per-corpus) statistics come from *all* of a speaker's utterances, as in
``emolens predict`` on a folder: utterances without one of the 4 labels (``X_unlabelled``)
join the scaler's statistics but are never fitted, scored or calibrated on — the same
mechanism as the evaluation runner (:func:`emolens.models.fit_model`, :func:`emolens.models.apply`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

import emolens
from emolens.deploy.bundle import Bundle, _now, package_versions
from emolens.deploy.calibration import ProbabilityHead
from emolens.deploy.ood import OODScorer, raw_columns
from emolens.deploy.regions import (
    REFERENCE_KEY,
    REGIONS_KEY,
    attribution_reference,
    latent_regions,
)
from emolens.models.fitted import is_grouped, linear_scores
from emolens.models.scaling import AUTO

__all__ = ["build_bundle", "heldout_outputs"]


def _fit(pipe, X, y, X_unlabelled, balance: str = "class"):
    """Fit ``pipe`` in place on the labelled rows; group statistics over all rows;
    ``balance="corpus"`` weights every corpus x class cell equally."""
    from emolens.models import balanced_weights, fit_model, fit_pipelines

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if balance != "corpus":
            return fit_model(pipe, X, y, X_unlabelled)
        weights = [balanced_weights(y, X.index.get_level_values("corpus"))]
        return fit_pipelines([pipe], [X], [y], unlabelled=X_unlabelled, sample_weights=weights)[0]


def _outputs(pipe, X, X_unlabelled=None):
    """What a fitted pipeline gives for ``X`` (:class:`emolens.models.ModelOutput`)."""
    from emolens.models import apply

    out = apply(pipe, X, X_unlabelled)
    if out.latent is None:
        raise ValueError("deployable bundles need a latent: use an autoencoder or PCA model")
    return out


def _raw(X: pd.DataFrame) -> pd.DataFrame | None:
    """The unnormalised columns of the out-of-domain raw signal (None: feature set has none)."""
    cols = raw_columns(X.columns)
    return X[cols] if cols else None


def heldout_outputs(pipe, X: pd.DataFrame, y: np.ndarray, n_splits: int = 5, seed: int = 0,
                    ood_params: dict | None = None, X_unlabelled: pd.DataFrame | None = None,
                    balance: str = "class", held_out: str = "speakers"):
    """Cross-validation: held-out classifier scores and out-of-domain scores.

    Args:
        pipe: unfitted pipeline (cloned per fold).
        X: model input with ``corpus`` and ``speaker`` index levels.
        y: labels.
        n_splits: folds (grouped by speaker, stratified by label); ignored for corpora.
        seed: fold shuffling seed.
        ood_params: OODScorer parameters.
        X_unlabelled: utterances of the same speakers without a label; they join the group
            statistics of their speaker's fold (training or held-out) only.
        balance: ``"class"`` or ``"corpus"`` (see :func:`emolens.models.balanced_weights`).
        held_out: ``"speakers"`` (speaker-independent folds) or ``"corpora"`` (leave one
            corpus out: each corpus scored by a model trained on the others).

    Returns:
        dict with ``scores`` (n, m), ``ood`` (n,), ``fold`` (n,) in X's row order.
    """
    from sklearn.base import clone

    scores, ood, fold = None, np.full(len(y), np.nan), np.full(len(y), -1)
    for f, (tr, te) in enumerate(_folds(X, y, held_out, n_splits, seed)):
        model = _fit(clone(pipe), X.iloc[tr], y[tr], X_unlabelled, balance)
        out_tr = _outputs(model, X.iloc[tr], X_unlabelled)
        out_te = _outputs(model, X.iloc[te], X_unlabelled)
        lat_tr, rec_tr = out_tr.latent, out_tr.reconstruction_error
        lat_te, rec_te, s_te = out_te.latent, out_te.reconstruction_error, out_te.scores
        if scores is None:
            scores = np.full((len(y), s_te.shape[1]), np.nan)
        scores[te] = s_te
        scorer = OODScorer(**(ood_params or {})).fit(lat_tr, rec_tr, _raw(X.iloc[tr]))
        ood[te] = scorer.score(lat_te, rec_te, _raw(X.iloc[te]))
        fold[te] = f
    return {"scores": scores, "ood": ood, "fold": fold}


def _folds(X: pd.DataFrame, y: np.ndarray, held_out: str, n_splits: int, seed: int):
    """(train, test) row indices: speaker-independent folds or leave one corpus out."""
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedGroupKFold

    if held_out not in ("speakers", "corpora"):
        raise ValueError(f"held_out must be 'speakers' or 'corpora', got {held_out!r}")
    level = "speaker" if held_out == "speakers" else "corpus"
    groups = np.asarray(X.index.get_level_values(level))
    n_groups = len(np.unique(groups))
    need = n_splits if held_out == "speakers" else 2
    if n_groups < need:
        what = (f"{n_splits}-fold speaker-independent CV" if held_out == "speakers"
                else "leave-one-corpus-out")
        raise ValueError(f"{what} needs >= {need} {level}s, got {n_groups}")
    if held_out == "corpora":
        return list(LeaveOneGroupOut().split(np.zeros(len(y)), y, groups))
    cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(y)), y, groups))


def build_bundle(
    X: pd.DataFrame,
    y: Sequence[str],
    model: str = "dae_svc",
    params: dict | None = None,
    n_splits: int = 5,
    seed: int = 0,
    corpora: Sequence[str] = (),
    info: dict | None = None,
    ood_params: dict | None = None,
    feature_set: str = "egemaps",
    labels: Sequence[str] = emolens.LABELS,
    X_unlabelled: pd.DataFrame | None = None,
    balance: str = "class",
    ood_reference: str = "speakers",
) -> Bundle:
    """Fit a pipeline and wrap it as a calibrated bundle with an out-of-domain scorer.

    Args:
        X: model input (emolens.features.model_input) with ``(file, corpus, speaker)`` index.
        y: class labels (values of ``labels``), one per row.
        model: emolens.models model name.
        params: make_model parameters.
        n_splits: speaker-independent folds for calibration and the OOD threshold.
        seed: model and fold seed.
        corpora: names of the training corpora (metadata).
        info: extra metadata (licenses, metrics...) stored in ``bundle.json``.
        ood_params: OODScorer parameters.
        feature_set: emolens feature-set name.
        labels: class order.
        X_unlabelled: utterances of the training speakers without one of ``labels`` (other
            emotions), indexed like ``X``: they join their speaker's statistics only (as
            in ``emolens predict``). Ignored by ``by=None`` models.
        balance: ``"class"`` (each class the same total weight) or ``"corpus"`` (each
            corpus x class cell the same: several training corpora of different sizes).
        ood_reference: the out-of-domain threshold is a quantile of the scores of held-out
            ``"speakers"``, or of held-out ``"corpora"`` (leave one corpus out, each corpus
            weighing the same): then about 5 % of a *new corpus* of speech is flagged.

    Returns:
        Bundle with CV metrics of the calibrated head in ``info["heldout"]``.
    """
    from sklearn.base import clone

    from emolens.models import make_model

    _check_ood_reference(X, ood_reference)
    y = _check_labels(X, y, labels)
    X_unlabelled = _check_unlabelled(X, X_unlabelled)
    params = dict(params or {})
    pipe = make_model(model, seed=seed, **params)
    if not is_grouped(pipe):
        X_unlabelled = None
    held = heldout_outputs(pipe, X, y, n_splits=n_splits, seed=seed, ood_params=ood_params,
                           X_unlabelled=X_unlabelled, balance=balance)
    head = ProbabilityHead().fit(held["scores"], y, labels)
    final = _fit(clone(pipe), X, y, X_unlabelled, balance)
    out = _outputs(final, X, X_unlabelled)
    ood = OODScorer(**(ood_params or {})).fit(out.latent, out.reconstruction_error, _raw(X))
    _set_ood_threshold(ood, held, ood_reference, pipe, X, y, n_splits, seed, ood_params,
                       X_unlabelled, balance)
    scale = final.named_steps["scale"]
    scores_kind = (linear_scores(final.named_steps["clf"]) or (0, 0, "decision_function"))[2]
    meta = {
        "model": {"name": model, "params": _jsonable(params), "seed": seed, "balance": balance,
                  "classifier_scores": scores_kind},
        "training": _training_info(X, y, labels, corpora, X_unlabelled),
        "heldout": _heldout_info(y, head.predict_proba(held["scores"]), labels, n_splits),
        **_explanation_info(out, y, labels),
        **(info or {}),
    }
    return Bundle(
        pipeline=final, head=head, ood=ood, feature_set=feature_set,
        encoder=_encoder_identity(feature_set),
        feature_names=[str(c) for c in X.columns], labels=list(labels),
        normalisation={"by": scale.by, "clip": scale.clip, "min_group_size": int(scale.min_group_size),
                       "shrink": scale.shrink if scale.shrink == AUTO else float(scale.shrink),
                       "guard": bool(scale.guard)},
        info=meta, versions=package_versions(), created=_now(),
    )


def _explanation_info(out, y, labels) -> dict:
    """A few numbers for explanations (emolens serve), no training features."""
    ref = attribution_reference(out.scaled, y)
    return {REGIONS_KEY: latent_regions(out.latent, y, labels),
            **({REFERENCE_KEY: ref} if ref is not None else {})}


def _check_ood_reference(X: pd.DataFrame, reference: str) -> None:
    if reference not in ("speakers", "corpora"):
        raise ValueError(f"ood_reference must be 'speakers' or 'corpora', got {reference!r}")
    if reference == "corpora" and X.index.get_level_values("corpus").nunique() < 2:
        raise ValueError("ood_reference='corpora' (leave-one-corpus-out) needs >= 2 corpora")


def _set_ood_threshold(ood, held, reference, pipe, X, y, n_splits, seed, ood_params,
                       X_unlabelled, balance):
    """The threshold from held-out speakers (``held``) or from leave-one-corpus-out."""
    if reference == "speakers":
        ood.set_threshold(held["ood"],
                          f"held-out speakers of the training corpora ({n_splits}-fold CV)")
        return
    by_corpus = heldout_outputs(pipe, X, y, seed=seed, ood_params=ood_params,
                                X_unlabelled=X_unlabelled, balance=balance, held_out="corpora")
    corpora = np.asarray(X.index.get_level_values("corpus"))
    names, sizes = np.unique(corpora, return_counts=True)
    weights = 1.0 / pd.Series(sizes, index=names).loc[corpora].to_numpy()
    ood.set_threshold(by_corpus["ood"], "held-out corpora (leave one corpus out: "
                      f"{', '.join(map(str, names))}; every corpus weighing the same)", weights)


def _check_labels(X: pd.DataFrame, y, labels) -> np.ndarray:
    """``y`` as an object array: one label of ``labels`` per row of ``X``."""
    y = np.asarray(y, dtype=object)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    bad = sorted(set(y.tolist()) - set(labels))
    if bad:
        raise ValueError(f"labels {bad} are not among {list(labels)}; drop those rows first")
    return y


def _training_info(X: pd.DataFrame, y: np.ndarray, labels, corpora, X_unlabelled) -> dict:
    """What the bundle was trained on (``bundle.json`` ``info.training``)."""
    return {
        "corpora": list(corpora),
        "n_utterances": int(len(y)),
        "n_speakers": int(X.index.get_level_values("speaker").nunique()),
        "per_label": {c: int((y == c).sum()) for c in labels},
        "n_unlabelled_for_normalisation": 0 if X_unlabelled is None else int(len(X_unlabelled)),
    }


def _heldout_info(y: np.ndarray, proba: np.ndarray, labels, n_splits: int) -> dict:
    """Accuracy and calibration of the head on the held-out scores (``info.heldout``)."""
    from sklearn.metrics import balanced_accuracy_score, log_loss

    from emolens.evaluation.metrics import bootstrap_ua

    pred = np.asarray(labels, dtype=object)[proba.argmax(1)]
    lo, hi = bootstrap_ua(y, pred)
    return {
        "protocol": f"{n_splits}-fold speaker-independent CV on the training corpora",
        "ua": float(balanced_accuracy_score(y, pred)),
        "ua_ci95": [lo, hi],
        "log_loss_calibrated": float(log_loss(
            y, proba[:, np.argsort(labels)], labels=sorted(labels))),
        "note": "the probability head was fitted on these same held-out scores",
    }


def _encoder_identity(feature_set: str) -> dict | None:
    """What a bundle records of an encoder feature set (None for openSMILE sets)."""
    from emolens.features.sets import get_config

    config = get_config(feature_set)
    encoder = config if getattr(config, "is_encoder", False) else getattr(config, "encoder", None)
    return None if encoder is None else dict(encoder.identity)


def _check_unlabelled(X: pd.DataFrame, extra: pd.DataFrame | None) -> pd.DataFrame | None:
    """Validate ``X_unlabelled`` and keep the rows of speakers that are in ``X``."""
    if extra is None or not len(extra):
        return None
    if not isinstance(extra, pd.DataFrame) or "speaker" not in (extra.index.names or []):
        raise ValueError("X_unlabelled must be model input (emolens.features.model_input) "
                         "indexed by (file, corpus, speaker)")
    if list(extra.columns) != list(X.columns):
        raise ValueError("X_unlabelled must have the same feature columns as X, in the same order")
    both = set(extra.index.get_level_values("file")) & set(X.index.get_level_values("file"))
    if both:
        raise ValueError(f"{len(both)} file(s) are both in X and X_unlabelled, e.g. {sorted(both)[0]}")
    keep = extra.index.get_level_values("speaker").isin(set(X.index.get_level_values("speaker")))
    return extra[keep] if keep.any() else None


def _jsonable(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, (np.integer,)):
            v = int(v)
        elif isinstance(v, (np.floating,)):
            v = float(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out
