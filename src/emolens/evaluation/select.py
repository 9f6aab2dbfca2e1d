"""Choose one configuration by leave-one-corpus-out (LOCO) over the training corpora.

A configuration is one ``[models.<label>]`` table: model, normalisation (``by``, ``shrink``),
weighting (``balance``) and hyper-parameters. Each candidate is trained on all training
corpora but one and scored zero-shot on the held-out one, for every rotation and selection
seed. The candidate with the highest mean held-out unweighted accuracy wins (ties: the higher
worst corpus, then the earlier table). The test corpora of the experiment are never loaded
into this step: selection cannot see them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from emolens.evaluation.config import ExperimentConfig
from emolens.evaluation.protocols import make_splits

#: File of the selection table in a results directory.
SELECTION_FILE = "selection.csv"


def loco_table(config: ExperimentConfig, data) -> pd.DataFrame:
    """Held-out UA (%) of every candidate model per held-out training corpus.

    Args:
        config: the experiment (its models are the candidates; ``config.select["seeds"]``).
        data: the run's :class:`~emolens.evaluation.runner.RunData`.

    Returns:
        One row per candidate (``model``), one column per held-out corpus, then ``mean``,
        ``worst`` and ``selected`` (True for the winner), best first.
    """
    from emolens.evaluation.runner import _fit_all

    quick = dataclasses.replace(config, bootstrap=0)
    splits = {seed: make_splits(data.manifest, "loco", data.train, [], config.folds,
                                config.split, seed) for seed in config.select["seeds"]}
    tasks = [(spec, seed, split) for spec in config.models
             for seed, seed_splits in splits.items() for split in seed_splits]
    rows = []
    for _, (_, result_rows, _, _) in _fit_all(tasks, data, quick):
        rows += [r for r in result_rows if r["role"] == "test"]
    scores = pd.DataFrame(rows).groupby(["model", "test"], sort=False)["ua"].mean() * 100
    table = scores.unstack("test")[list(data.train)]
    table["mean"] = table.mean(axis=1)
    table["worst"] = table[list(data.train)].min(axis=1)
    order = {spec.label: i for i, spec in enumerate(config.models)}
    table = table.assign(_order=[order[m] for m in table.index])
    table = table.sort_values(["mean", "worst", "_order"], ascending=[False, False, True])
    table = table.drop(columns="_order")
    table["selected"] = [i == 0 for i in range(len(table))]
    return table.reset_index()


def select(config: ExperimentConfig, data) -> tuple[ExperimentConfig, pd.DataFrame]:
    """The experiment restricted to the LOCO winner, and the selection table."""
    table = loco_table(config, data)
    winner = table.loc[table["selected"], "model"].iloc[0]
    chosen = [spec for spec in config.models if spec.label == winner]
    return dataclasses.replace(config, models=chosen), table


def selection_markdown(table: pd.DataFrame) -> str:
    """The selection table as a markdown section of summary.md."""
    corpora = [c for c in table.columns if c not in ("model", "mean", "worst", "selected")]
    head = "| model | " + " | ".join(corpora) + " | mean | worst |"
    lines = [
        "## Selection (leave-one-corpus-out over the training corpora)",
        "",
        "Each candidate was trained on all training corpora but one and tested zero-shot on "
        "the held-out one (UA %, mean over the selection seeds). The highest mean wins; the "
        "test corpora were not used. Only the selected model was then trained for the rows "
        "above.",
        "",
        head,
        "|" + "---|" * (len(corpora) + 3),
    ]
    for _, r in table.iterrows():
        name = f"**{r['model']}** (selected)" if r["selected"] else r["model"]
        cells = " | ".join(f"{r[c]:.1f}" for c in corpora + ["mean", "worst"])
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"
