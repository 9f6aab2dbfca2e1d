"""The results directory of ``emolens run``: its file names, columns and a typed reader.

The runner writes through this module and the report (or a notebook) reads through it::

    from emolens import results
    run = results.load("runs/paper")
    run.results            # results.csv, with an ``unseen`` column (zero-shot rows)
    run.predictions        # predictions.parquet, latent columns: run.latent_columns
    run.test_sets          # one row per (train, test): role, corpora, unseen
    run.confusions         # {(model, train, test): counts}, as in confusion/*.csv
    run.shift_notes        # the distribution-shift warnings (shifts.json)
    run.selection          # the leave-one-corpus-out selection table, or None

It imports no emolens package (plain pandas), so every part may use it. The layout is
described in docs/architecture.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from emolens import LABELS

CONFIG = "config.toml"
MANIFEST = "manifest.csv"
FEATURES = "features.parquet"
SKIPPED = "skipped.csv"
RESULTS = "results.csv"
PREDICTIONS = "predictions.parquet"
SUMMARY = "summary.md"
#: The test sets as structured fields (no name parsing): see :func:`test_set_records`.
TEST_SETS = "test_sets.json"
#: The distribution-shift warnings, one record per test set and message.
SHIFTS = "shifts.json"
#: leave-one-corpus-out table of a run with [select] (emolens.evaluation.select)
SELECTION = "selection.csv"
#: One label per file of every zero-shot test set, model and training set
#: (:func:`majority_labels`).
TEST_LABELS = "test_labels.csv"
CONFUSION_DIR = "confusion"
CONFUSION_INDEX = "index.csv"
MODELS_DIR = "models"
INTERPRET_DIR = "interpret"
REPORT = "report.html"
#: What a run writes into its results folder (the report's parts included). ``--overwrite``
#: removes these and nothing else.
RUN_OUTPUTS = (CONFIG, MANIFEST, FEATURES, SKIPPED, RESULTS, PREDICTIONS, SUMMARY, TEST_SETS,
               SHIFTS, SELECTION, TEST_LABELS, CONFUSION_DIR, MODELS_DIR, REPORT, INTERPRET_DIR)

#: Columns of results.csv, one row per model x test set x seed x fold. ``adapted``: the
#: pseudo-labels that adapted the model to a zero-shot test set (``adapt = "pseudo-labels"``;
#: 0 when the test set was too small to adapt, empty when the model does not adapt).
RESULT_COLUMNS = (
    ["model", "train", "test", "role", "seed", "fold", "n", "ua", "wa", "macro_f1"]
    + [f"recall_{lab}" for lab in LABELS]
    + ["ua_low", "ua_high", "adapted", "ua_unadapted"]
)
#: Columns of predictions.parquet before the latent columns (:func:`latent_column`).
PREDICTION_COLUMNS = ["file", "model", "seed", "fold", "train", "test", "role", "y_true",
                      "y_pred"]
#: Columns of test_labels.csv: ``agreement`` is the share of the model's ``fits`` that gave
#: the file ``label``.
TEST_LABEL_COLUMNS = ["model", "train", "test", "file", "label", "agreement", "fits", "y_true"]
#: Roles of a test set: the training rows, the held-out fold, a zero-shot corpus.
ROLES = ("train", "valid", "test")
CONFUSION_INDEX_COLUMNS = ["model", "train", "test", "role", "csv"]

_LATENT = re.compile(r"^z(\d+)$")


class ResultsError(ValueError):
    """A folder is not a (complete) results directory; the message says what is missing."""


# -- latent columns ------------------------------------------------------------------------
def latent_column(k: int) -> str:
    """Name of latent dimension ``k`` (0-based) in predictions and prediction tables: ``z1``..."""
    return f"z{k + 1}"


def latent_columns(frame: pd.DataFrame) -> list[str]:
    """The latent columns of ``frame`` (``z1, z2, ...``) in dimension order; columns that are
    empty for every row (other models' latents in a shared table) are left out."""
    cols = [c for c in frame.columns if isinstance(c, str) and _LATENT.match(c)
            and frame[c].notna().any()]
    return sorted(cols, key=lambda c: int(_LATENT.match(c).group(1)))


# -- test sets -----------------------------------------------------------------------------
def majority_labels(predictions: pd.DataFrame) -> pd.DataFrame:
    """One label per file of every zero-shot test set, model and training set: the label most
    of the model's fits (seeds x folds) gave it. A tie goes to the tied label of the earliest
    fit (by seed, then fold).

    Args:
        predictions: rows of predictions.parquet (:data:`PREDICTION_COLUMNS`).

    Returns:
        :data:`TEST_LABEL_COLUMNS`, files in their order of first appearance; empty when the
        run has no zero-shot test set.
    """
    test = predictions[predictions["role"] == "test"]
    if test.empty:
        return pd.DataFrame(columns=TEST_LABEL_COLUMNS)
    keys = ["model", "train", "test", "file"]
    test = test.assign(_row=range(len(test))).sort_values(["seed", "fold"], kind="stable")
    test = test.assign(_fit=range(len(test)))
    votes = (test.groupby(keys + ["y_pred"], sort=False)
             .agg(votes=("_fit", "size"), first=("_fit", "min")).reset_index()
             .sort_values(["votes", "first"], ascending=[False, True], kind="stable")
             .drop_duplicates(keys))
    files = (test.groupby(keys, sort=False)
             .agg(fits=("_fit", "size"), y_true=("y_true", "first"), row=("_row", "min"))
             .reset_index())
    out = votes.merge(files, on=keys).sort_values("row", kind="stable")
    out["agreement"] = out["votes"] / out["fits"]
    return out.rename(columns={"y_pred": "label"})[TEST_LABEL_COLUMNS].reset_index(drop=True)


def test_set_records(splits, corpus_of_row) -> list[dict]:
    """Structured identity of every (training set, test set) of a run.

    Args:
        splits: the run's :class:`emolens.evaluation.protocols.Split` objects.
        corpus_of_row: corpus name of each manifest row (array-like, by position).

    Returns:
        one dict per distinct (train, test): ``train``, ``test``, ``role``,
        ``train_corpora``, ``corpora`` (lists) and ``unseen`` (a zero-shot test set: role
        ``test`` and none of its corpora trained on).
    """
    corpus_of_row = pd.Series(corpus_of_row).astype(str).to_numpy()
    seen: dict[tuple[str, str], dict] = {}
    for split in splits:
        trained = list(dict.fromkeys(corpus_of_row[split.train]))
        for t in split.tests:
            corpora = list(dict.fromkeys(corpus_of_row[t.index]))
            seen.setdefault((split.train_name, t.name), {
                "train": split.train_name, "test": t.name, "role": t.role,
                "train_corpora": trained, "corpora": corpora,
                "unseen": t.role == "test" and not set(corpora) & set(trained)})
    return list(seen.values())


def infer_test_sets(frame: pd.DataFrame) -> pd.DataFrame:
    """Test sets of a results directory written before ``test_sets.json`` existed, from the
    naming rule of docs/config.md (``a+b`` trains on a and b; a name with ``:`` is not an
    unseen corpus). The one place that still parses names."""
    pairs = frame[[c for c in ("train", "test", "role") if c in frame.columns]]
    rows = []
    for rec in pairs.drop_duplicates().to_dict("records"):
        train, test = str(rec.get("train", "")), str(rec["test"])
        trained = train.split("+") if train else []
        role = rec.get("role", "test")
        rows.append({"train": train, "test": test, "role": role, "train_corpora": trained,
                     "corpora": [test.split(":")[0]],
                     "unseen": role == "test" and ":" not in test and test not in trained})
    return pd.DataFrame(rows, columns=["train", "test", "role", "train_corpora", "corpora",
                                       "unseen"])


def unseen_mask(frame: pd.DataFrame, test_sets: pd.DataFrame | None = None) -> pd.Series:
    """Rows of ``frame`` (results or predictions) scored zero-shot.

    Judged per row, because in a pairwise run a corpus is trained on in some rows and unseen
    in others. Uses ``frame["unseen"]`` when present (:func:`load` adds it), else
    ``test_sets``, else :func:`infer_test_sets`.
    """
    if "unseen" in frame.columns:
        return frame["unseen"].astype(bool)
    sets = test_sets if test_sets is not None else infer_test_sets(frame)
    if "train" not in frame.columns:
        flags = sets.groupby("test")["unseen"].all()
        return frame["test"].astype(str).map(flags).fillna(False).astype(bool)
    flags = {(str(r.train), str(r.test)): bool(r.unseen) for r in sets.itertuples()}
    return pd.Series([flags.get((str(a), str(b)), False)
                      for a, b in zip(frame["train"], frame["test"])], index=frame.index,
                     dtype=bool)


# -- confusions ----------------------------------------------------------------------------
def confusion_file(model: str, train: str, test: str) -> str:
    """File name (in ``confusion/``) of the matrix of ``model`` trained on ``train``,
    tested on ``test``."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", f"{model}__{train}__{test}").strip("-") + ".csv"


def confusion_groups(predictions: pd.DataFrame):
    """``((model, train, test), role, rows)`` of the held-out predictions: the grouping of
    confusion matrices on disk and on the page (summed over seeds and folds)."""
    held = predictions[predictions["role"] != "train"]
    for key, g in held.groupby(["model", "train", "test"], sort=False):
        yield tuple(str(k) for k in key), str(g["role"].iloc[0]), g


def _read_confusions(folder: Path) -> dict[tuple[str, str, str], pd.DataFrame]:
    index = folder / CONFUSION_INDEX
    if not index.is_file():
        return {}
    out = {}
    for rec in pd.read_csv(index, dtype=str).to_dict("records"):
        cm = pd.read_csv(folder / rec["csv"], index_col=0)
        cm.index.name, cm.columns.name = "true", "predicted"
        out[(rec["model"], rec["train"], rec["test"])] = cm
    return out


# -- writing -------------------------------------------------------------------------------
def write_json(path: Path, obj) -> None:
    """``obj`` as indented UTF-8 JSON."""
    text = json.dumps(obj, indent=1, ensure_ascii=False,
                      default=lambda o: o.item() if hasattr(o, "item") else str(o))
    Path(path).write_text(text + "\n", encoding="utf-8")


# -- reading -------------------------------------------------------------------------------
@dataclass
class RunResults:
    """A results directory, read (see :func:`load`).

    Attributes:
        directory: the folder.
        results: results.csv plus a boolean ``unseen`` column.
        predictions: predictions.parquet plus ``unseen``.
        manifest: manifest.csv.
        features: features.parquet, or None when absent (never committed).
        test_sets: one row per (train, test): ``role``, ``train_corpora``, ``corpora``,
            ``unseen``.
        confusions: ``{(model, train, test): counts}``, true classes as rows.
        shift_notes: records ``test``, ``models``, ``message``, ``text``.
        selection: selection.csv of a run with ``[select]`` (one row per candidate: UA %
            per held-out corpus, ``mean``, ``worst``, ``selected``), else None.
    """

    directory: Path
    results: pd.DataFrame
    predictions: pd.DataFrame
    manifest: pd.DataFrame
    features: pd.DataFrame | None = None
    test_sets: pd.DataFrame = field(default_factory=pd.DataFrame)
    confusions: dict = field(default_factory=dict)
    shift_notes: list = field(default_factory=list)
    selection: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        return list(pd.unique(self.results["model"]))

    def latent_columns(self, model: str) -> list[str]:
        """The latent columns of ``model``'s predictions (empty without a latent)."""
        return latent_columns(self.predictions[self.predictions["model"] == model])


_NEEDED = {RESULTS: ["model", "test", "seed", "fold", "ua"],
           PREDICTIONS: ["file", "model", "seed", "fold", "test", "role", "y_true", "y_pred"],
           MANIFEST: ["file", "corpus", "speaker"]}


def load(directory) -> RunResults:
    """Read a results directory of ``emolens run``.

    Args:
        directory: the folder.

    Returns:
        :class:`RunResults`.

    Raises:
        ResultsError: a required file or column is missing.
    """
    directory = Path(directory)
    missing = [n for n in _NEEDED if not (directory / n).is_file()]
    if missing:
        raise ResultsError(f"{directory} is not a results directory of `emolens run`: "
                           f"missing {', '.join(missing)}")
    results = pd.read_csv(directory / RESULTS)
    predictions = pd.read_parquet(directory / PREDICTIONS)
    manifest = pd.read_csv(directory / MANIFEST)
    for name, frame in ((RESULTS, results), (PREDICTIONS, predictions), (MANIFEST, manifest)):
        lack = [c for c in _NEEDED[name] if c not in frame.columns]
        if lack:
            raise ResultsError(f"{directory / name} lacks column(s) {lack}")
    features = (pd.read_parquet(directory / FEATURES) if (directory / FEATURES).is_file()
                else None)
    if (directory / TEST_SETS).is_file():
        test_sets = pd.DataFrame(json.loads((directory / TEST_SETS).read_text(encoding="utf-8")))
    else:
        test_sets = infer_test_sets(pd.concat([results, predictions], ignore_index=True))
    results["unseen"] = unseen_mask(results, test_sets).to_numpy()
    predictions["unseen"] = unseen_mask(predictions, test_sets).to_numpy()
    notes = []
    if (directory / SHIFTS).is_file():
        notes = json.loads((directory / SHIFTS).read_text(encoding="utf-8"))
    selection = (pd.read_csv(directory / SELECTION) if (directory / SELECTION).is_file()
                 else None)
    return RunResults(directory, results, predictions, manifest, features, test_sets,
                      _read_confusions(directory / CONFUSION_DIR), notes, selection)
