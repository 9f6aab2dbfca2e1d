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

# Loaded on first use (`emolens --help` must not import pandas/sklearn/torch): the
# names are the TYPE_CHECKING imports above.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
