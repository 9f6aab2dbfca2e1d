"""Choose one configuration by leave-one-corpus-out (LOCO) over the training corpora.

A configuration is one ``[models.<label>]`` table: model, feature set (``features``),
normalisation (``by``, ``shrink``), weighting (``balance``) and hyper-parameters. Each
candidate is trained on all training corpora but one and scored zero-shot on the held-out
one, for every rotation and selection seed. The candidate with the highest mean held-out unweighted accuracy wins (ties: the higher
worst corpus, then the earlier table). The test corpora of the experiment are never loaded
into this step: selection cannot see them.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from emolens.evaluation.config import ExperimentConfig
from emolens.evaluation.protocols import make_splits



def loco_table(config: ExperimentConfig, data: dict) -> pd.DataFrame:
    """Held-out UA (%) of every candidate model per held-out training corpus.

    Args:
        config: the experiment (its models are the candidates; ``config.select["seeds"]``).
        data: the run's :class:`~emolens.evaluation.runner.RunData` per feature set of the
            candidates (``spec.features``).

    Returns:
        One row per candidate (``model``), its ``features``, one column per held-out corpus,
        then ``mean``, ``worst`` and ``selected`` (True for the winner), best first.
    """
    from emolens.evaluation.runner import _fit_all

    quick = dataclasses.replace(config, bootstrap=0)
    rows = []
    for name, part in data.items():
        splits = {seed: make_splits(part.manifest, "loco", part.train, [], config.folds,
                                    config.split, seed) for seed in config.select["seeds"]}
        tasks = [(spec, seed, split) for spec in config.models if spec.features == name
                 for seed, seed_splits in splits.items() for split in seed_splits]
        for _, (_, result_rows, _, _) in _fit_all(tasks, part, quick):
            rows += result_rows
    train = list(next(iter(data.values())).train)
    table = held_out_table(pd.DataFrame(rows), train, [spec.label for spec in config.models])
    features = {spec.label: spec.features for spec in config.models}
    table.insert(1, "features", table["model"].map(features))
    table["selected"] = [i == 0 for i in range(len(table))]
    return table


def held_out_table(results: pd.DataFrame, corpora: list[str], models: list[str]) -> pd.DataFrame:
    """Zero-shot UA (%) per model and held-out corpus from leave-one-corpus-out result rows.

    Args:
        results: rows of ``results.csv`` (``model, test, role, ua``); only ``role == "test"``
            rows whose ``test`` is one of ``corpora`` are used.
        corpora: the rotated (held-out) corpora, in column order.
        models: model labels in configuration order (breaks ties).

    Returns:
        ``model``, one column per corpus, ``mean`` and ``worst``; best mean first (ties: the
        better worst corpus, then configuration order).
    """
    held = results[(results["role"] == "test") & results["test"].isin(corpora)]
    scores = held.groupby(["model", "test"], sort=False)["ua"].mean() * 100
    table = scores.unstack("test").reindex(columns=corpora)
    table["mean"] = table[corpora].mean(axis=1)
    table["worst"] = table[corpora].min(axis=1)
    order = {m: i for i, m in enumerate(models)}
    table = table.assign(_order=[order.get(m, len(order)) for m in table.index])
    table = table.sort_values(["mean", "worst", "_order"], ascending=[False, False, True])
    return table.drop(columns="_order").rename_axis("model").reset_index()


def select(config: ExperimentConfig, data) -> tuple[ExperimentConfig, pd.DataFrame]:
    """The experiment restricted to the LOCO winner, and the selection table."""
    table = loco_table(config, data)
    winner = table.loc[table["selected"], "model"].iloc[0]
    chosen = [spec for spec in config.models if spec.label == winner]
    return dataclasses.replace(config, models=chosen, features=chosen[0].features), table


def selection_markdown(table: pd.DataFrame) -> str:
    """The selection table as a markdown section of summary.md."""
    return held_out_markdown(
        table, "Selection (leave-one-corpus-out over the training corpora)",
        "Each candidate was trained on all training corpora but one and tested zero-shot on "
        "the held-out one (UA %, mean over the selection seeds). The highest mean wins; the "
        "test corpora were not used. Only the selected model was then trained for the rows "
        "above.")


def held_out_markdown(table: pd.DataFrame, title: str, text: str) -> str:
    """A :func:`held_out_table` (optionally with ``selected``) as a markdown section."""
    corpora = [c for c in table.columns
               if c not in ("model", "features", "mean", "worst", "selected")]
    sets = ["features"] if "features" in table.columns else []
    head = "| model | " + " | ".join(sets + corpora) + " | mean | worst |"
    lines = [f"## {title}", "", text, "", head,
             "|" + "---|" * (len(sets) + len(corpora) + 3)]
    for _, r in table.iterrows():
        name = f"**{r['model']}** (selected)" if r.get("selected", False) else r["model"]
        cells = " | ".join([str(r[c]) for c in sets]
                           + [f"{r[c]:.1f}" for c in corpora + ["mean", "worst"]])
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines) + "\n"
