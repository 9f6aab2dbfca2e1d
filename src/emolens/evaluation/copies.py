"""Channel copies of the training corpora, for models with ``augment = "channel"``.

Every utterance of a training corpus gets one copy with its speaker behind a simulated
recording channel of his/her own (:func:`emolens.features.channels.channel_copies`). A copy is
a recording condition of its own: its corpus and speaker ids carry
:data:`~emolens.features.channels.COPY_SUFFIX`, so that it is normalised with the other copies
of its speaker and weighed as a corpus of its own by ``balance = "corpus"``. A copy joins a fit
only with its original (:meth:`TrainingCopies.of`): the copy of a validation or test utterance
never trains.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class TrainingCopies:
    """The model input of the channel copies of a run's training utterances."""

    #: labelled copies, indexed ``(file, corpus~channel, speaker~channel)``
    X: pd.DataFrame
    #: the row of ``RunData.X`` that each row of ``X`` copies
    rows: np.ndarray
    #: the copies of the unlabelled utterances (they join their speaker's statistics), or None
    unlabelled: pd.DataFrame | None = None

    def of(self, positions) -> tuple[pd.DataFrame, np.ndarray]:
        """The copies of the rows ``positions`` of ``RunData.X``, and those rows."""
        keep = np.isin(self.rows, np.asarray(positions))
        return self.X[keep], self.rows[keep]


def _as_copies(frame: pd.DataFrame, files: dict[str, str]) -> pd.DataFrame:
    from emolens.features.channels import COPY_SUFFIX

    return frame.assign(file=frame["file"].astype(str).map(files),
                        corpus=frame["corpus"].astype(str) + COPY_SUFFIX,
                        speaker=frame["speaker"].astype(str) + COPY_SUFFIX)


def training_copies(manifest: pd.DataFrame, unlabelled: pd.DataFrame, train: list[str],
                    feature_set: str, cache_dir, jobs: int, progress: bool, say
                    ) -> TrainingCopies:
    """Write (once) and extract the channel copies of the training corpora's utterances.

    Args:
        manifest: the run's labelled manifest (rows of ``RunData.X``, same order).
        unlabelled: the usable utterances without a 4-class label.
        train: the training corpora.
        feature_set, cache_dir, jobs, progress: as for :func:`emolens.features.extract`.
        say: log function.

    Returns:
        The copies; a copy whose features cannot be extracted is left out (its original
        trains alone).
    """
    from emolens.features import extract, model_input
    from emolens.features.channels import channel_copies

    is_train = manifest["corpus"].astype(str).isin(train).to_numpy()
    extra = unlabelled[unlabelled["corpus"].astype(str).isin(train)]
    sources = pd.concat([manifest[is_train], extra])
    folder = Path(cache_dir) / "audio-copies"
    say(f"channel copies of the {len(sources)} training utterances (augment = \"channel\"; "
        f"written once to {folder})")
    made = channel_copies(sources[["file", "speaker"]], folder, progress=progress)
    files = dict(zip(made["source"].astype(str), made["file"].astype(str)))
    result = extract(list(files.values()), feature_set=feature_set, jobs=jobs,
                     cache_dir=cache_dir, progress=progress)
    if len(result.skipped):
        say(f"[yellow]{len(result.skipped)} channel copies could not be extracted; their "
            "originals train without a copy[/]")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped copies are dropped (said above)
        X = model_input(result.features, _as_copies(manifest[is_train], files))
        X_un = model_input(result.features, _as_copies(extra, files)) if len(extra) else None
    copied = {f: i for i, f in enumerate(manifest["file"].astype(str).map(files))
              if isinstance(f, str)}
    rows = np.array([copied[f] for f in X.index.get_level_values("file")], dtype=int)
    return TrainingCopies(X, rows, X_un)
