"""emolens.evaluation: experiment config, protocols, leakage guard, metrics and the runner.

>>> from emolens.evaluation.config import load_config  # doctest: +SKIP
>>> from emolens.evaluation import run_experiment  # doctest: +SKIP
>>> run_experiment(load_config("experiments/demo.toml"), out="runs/demo")  # doctest: +SKIP

Every name loads on first use (the runner with torch/opensmile, the metrics with sklearn), so
importing the package, and ``emolens --help``, stays light.
"""

from typing import TYPE_CHECKING

from emolens._lazy import lazy_exports

if TYPE_CHECKING:  # static tools see the real imports
    from emolens.evaluation.config import ConfigError, ExperimentConfig, load_config
    from emolens.evaluation.guard import LeakageError, check_disjoint
    from emolens.evaluation.metrics import bootstrap_ua, confusion, scores
    from emolens.evaluation.protocols import Split, TestSet, fold_indices, make_splits
    from emolens.evaluation.runner import run_experiment

# Loaded on first use: `emolens --help` must not import pandas/sklearn/torch.
_EXPORTS = {
    "ConfigError": "config",
    "ExperimentConfig": "config",
    "load_config": "config",
    "LeakageError": "guard",
    "check_disjoint": "guard",
    "bootstrap_ua": "metrics",
    "confusion": "metrics",
    "scores": "metrics",
    "Split": "protocols",
    "TestSet": "protocols",
    "fold_indices": "protocols",
    "make_splits": "protocols",
    "run_experiment": "runner",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
