"""emolens.evaluation: protocols, leakage guard, metrics and the experiment runner.

>>> from emolens.config import load_config  # doctest: +SKIP
>>> from emolens.evaluation import run_experiment  # doctest: +SKIP
>>> run_experiment(load_config("experiments/demo.toml"), out="runs/demo")  # doctest: +SKIP

The runner (and its torch/opensmile imports) loads lazily, so importing the metrics or the
guard stays light.
"""

from emolens.evaluation.guard import LeakageError, check_disjoint
from emolens.evaluation.metrics import bootstrap_ua, confusion, scores
from emolens.evaluation.protocols import Split, TestSet, fold_indices, make_splits

__all__ = [
    "LeakageError",
    "Split",
    "TestSet",
    "bootstrap_ua",
    "check_disjoint",
    "confusion",
    "fold_indices",
    "make_splits",
    "run_experiment",
    "scores",
]


def __getattr__(name):
    if name == "run_experiment":
        from emolens.evaluation.runner import run_experiment

        return run_experiment
    raise AttributeError(f"module 'emolens.evaluation' has no attribute {name!r}")
