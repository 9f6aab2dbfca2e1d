"""Fit several pipelines of one configuration together (e.g. the folds x seeds of a run).

Pipelines are fitted step by step: an autoencoder step of all of them trains in lockstep
(:func:`~emolens.models.autoencoder.fit_autoencoders`); any other step is fitted one pipeline
at a time, as ``Pipeline.fit`` would.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from .autoencoder import AutoencoderTransformer, fit_autoencoders
from .fitted import is_grouped, scaled_input


def fit_pipelines(pipes: list[Pipeline], Xs: list, ys: list, unlabelled=None) -> list[Pipeline]:
    """Fit ``pipes[i]`` on ``(Xs[i], ys[i])`` for every i, sharing autoencoder training.

    Args:
        pipes: Pipelines with the same step names (fitted in place).
        Xs: one training input per pipeline.
        ys: one label vector per pipeline.
        unlabelled: unlabelled model input whose rows of the training speakers join a group
            scaler's statistics (as in :func:`~emolens.models.fitted.fit_model`).

    Returns:
        The pipelines, fitted.
    """
    if not len(pipes) == len(Xs) == len(ys):
        raise ValueError("pipes, Xs and ys must have the same length.")
    names = [[name for name, _ in p.steps] for p in pipes]
    if any(n != names[0] for n in names):
        raise ValueError("pipelines must have the same steps to be fitted together.")
    inputs, first = list(Xs), 0
    if all(is_grouped(p) for p in pipes):  # the group scaler also sees unlabelled rows
        inputs = [scaled_input(p, X, unlabelled, fit=True)[0] for p, X in zip(pipes, inputs)]
        first = 1
    last = len(names[0]) - 1
    for i in range(first, last + 1):
        steps = [p.steps[i][1] for p in pipes]
        if i == last:
            for step, X, y in zip(steps, inputs, ys):
                if step not in (None, "passthrough"):
                    step.fit(X, y)
        elif all(isinstance(s, AutoencoderTransformer) for s in steps):
            fit_autoencoders(steps, inputs, ys)
            inputs = [s.transform(X) for s, X in zip(steps, inputs)]
        else:
            inputs = [X if s in (None, "passthrough") else s.fit_transform(X, y)
                      for s, X, y in zip(steps, inputs, ys)]
    return pipes
