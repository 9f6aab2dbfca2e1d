"""Leakage guard: no speaker and no file may be in both the training and the test data."""

from __future__ import annotations

import pandas as pd


class LeakageError(ValueError):
    """Training and test data share speakers or files."""


def _column(frame, name: str) -> pd.Series | None:
    """A column of a manifest, or a level of a (file, corpus, speaker) MultiIndex."""
    if isinstance(frame, pd.DataFrame) and name in frame.columns:
        return frame[name]
    index = frame.index if isinstance(frame, (pd.DataFrame, pd.Series)) else frame
    if isinstance(index, pd.MultiIndex) and name in index.names:
        return pd.Series(index.get_level_values(name))
    if isinstance(index, pd.Index) and index.name == name:
        return pd.Series(index)
    return None


def _overlap(a: pd.Series, b: pd.Series) -> list:
    return sorted(set(a.dropna().astype(str)) & set(b.dropna().astype(str)))


def _show(values: list, limit: int = 5) -> str:
    shown = ", ".join(values[:limit])
    return shown + (f" ... ({len(values)} in all)" if len(values) > limit else "")


def check_disjoint(train, test, speakers: bool = True, what: str = "split") -> None:
    """Refuse a split where a file (and, by default, a speaker) is in train and test.

    Args:
        train: training data: a manifest (columns ``file``, ``speaker``) or a frame/index with
            a ``(file, corpus, speaker)`` MultiIndex.
        test: test data, same kinds.
        speakers: also require disjoint speakers. Only the paper's speaker-dependent
            validation fold (``split = "stratified"``) turns this off.
        what: name of the split for the message.

    Raises:
        LeakageError: naming the shared files/speakers.
        ValueError: a frame has no ``file`` column/level.
    """
    files_a, files_b = _column(train, "file"), _column(test, "file")
    if files_a is None or files_b is None:
        raise ValueError("check_disjoint needs a 'file' column or index level in both frames")
    shared = _overlap(files_a, files_b)
    if shared:
        raise LeakageError(
            f"leakage in {what}: {len(shared)} file(s) in both training and test data: "
            f"{_show(shared)}"
        )
    if speakers:
        spk_a, spk_b = _column(train, "speaker"), _column(test, "speaker")
        if spk_a is None or spk_b is None:
            raise ValueError(
                "check_disjoint needs a 'speaker' column or index level in both frames"
            )
        shared = _overlap(spk_a, spk_b)
        if shared:
            raise LeakageError(
                f"leakage in {what}: {len(shared)} speaker(s) in both training and test "
                f"data: {_show(shared)}"
            )


def same_audio(train_files, test_files, digests: pd.Series) -> pd.DataFrame:
    """Test files whose bytes equal a training file's (another path to the same recording).

    The split checks compare paths; a corpus copied to a second folder and named as a test
    corpus would pass them and score its own training data.

    Args:
        train_files: paths of the training utterances.
        test_files: paths of the test utterances.
        digests: content hash per path (``Extraction.digests``); paths without one are not
            compared.

    Returns:
        ``file, reason`` for each such test file (the reason names its training twin), in
        the order of ``test_files``.
    """
    by_digest = {digests[f]: f for f in map(str, train_files) if f in digests.index}
    rows = [(f, f"the same audio as the training file {by_digest[digests[f]]} (left out: "
                "a test file may not be training data)")
            for f in map(str, test_files)
            if f in digests.index and by_digest.get(digests[f], f) != f]
    return pd.DataFrame(rows, columns=["file", "reason"], dtype="str")
