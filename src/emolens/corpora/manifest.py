"""Corpora without a known release layout: CSV manifests and one folder per emotion."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from emolens.corpora.inputs import audio_files
from emolens.corpora.schema import (
    COLUMNS,
    CorpusError,
    emotion_alias,
    make_manifest,
    normalize_emotion,
)

REQUIRED = ("file", "emotion")
OPTIONAL = ("speaker", "gender", "language", "corpus", "activation", "valence")


def corpus_slug(text: str) -> str:
    """A corpus name from a folder or file name: lower case, word characters and dashes."""
    slug = re.sub(r"[^\w-]+", "-", text.strip().lower(), flags=re.UNICODE).strip("-")
    return slug or "corpus"


def read_manifest(csv_path: str | Path) -> pd.DataFrame:
    """Read a CSV manifest into the standard table.

    Required columns: ``file`` and ``emotion``; optional: ``speaker``, ``gender``,
    ``language``, ``corpus``, ``activation``, ``valence`` (other columns are ignored).
    Relative ``file`` paths resolve against the CSV's folder. A missing ``corpus`` defaults to
    the CSV's file name; speakers are prefixed with their corpus (``corpus:speaker``) unless
    already prefixed; missing (activation, valence) come from the category table.

    Args:
        csv_path: path of the CSV file.

    Returns:
        DataFrame with exactly :data:`~emolens.corpora.COLUMNS`.

    Raises:
        CorpusError: missing file, missing required columns, empty manifest or audio files
            that do not exist.
    """
    path = Path(csv_path).expanduser()
    if not path.is_file():
        raise CorpusError(f"manifest not found: {path} (expected a CSV file with columns "
                          "file,emotion)")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""],
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise CorpusError(f"cannot read manifest {path}: {str(error).splitlines()[0]}") from None
    table.columns = [str(column).strip().lower() for column in table.columns]
    missing = [column for column in REQUIRED if column not in table.columns]
    if missing:
        raise CorpusError(f"manifest {path} lacks required column(s) {', '.join(missing)} "
                          f"(expected file,emotion[,{','.join(OPTIONAL)}]; "
                          f"found {','.join(table.columns) or 'none'})")
    table = table.dropna(subset=["file"])
    if table.empty:
        raise CorpusError(f"manifest {path} has no rows")
    if table["emotion"].isna().any():
        row = int(table.index[table["emotion"].isna()][0]) + 2  # header is line 1
        raise CorpusError(f"manifest {path} has an empty emotion on line {row}")

    base = path.resolve().parent
    files = [(Path(name).expanduser() if Path(name).expanduser().is_absolute()
              else base / name).resolve() for name in table["file"]]
    absent = [file for file in files if not file.is_file()]
    if absent:
        raise CorpusError(f"manifest {path}: {len(absent)} audio file(s) not found, "
                          f"e.g. {absent[0]}")

    default_corpus = corpus_slug(path.stem)
    rows = []
    for file, (_, record) in zip(files, table.iterrows()):
        row = {key: record.get(key) for key in OPTIONAL if key in table.columns}
        row = {key: value for key, value in row.items() if not pd.isna(value)}
        corpus = row.get("corpus", default_corpus)
        speaker = row.get("speaker")
        if speaker is not None and not str(speaker).startswith(f"{corpus}:"):
            speaker = f"{corpus}:{speaker}"
        for key in ("activation", "valence"):
            if key in row:
                try:
                    row[key] = float(row[key])
                except ValueError:
                    raise CorpusError(f"manifest {path}: {key} {row[key]!r} is not a "
                                      "number") from None
        rows.append({**row, "file": str(file), "corpus": corpus, "speaker": speaker,
                     "emotion": record["emotion"]})
    return make_manifest(rows)


def emotion_folders(root: Path) -> dict[str, Path]:
    """Immediate sub-folders of ``root`` named after a known emotion -> category."""
    return {child.name: child for child in (sorted(root.iterdir()) if root.is_dir() else [])
            if child.is_dir() and not child.name.startswith(".") and is_emotion_name(child.name)}


def emotion_folder(folder: Path, root: Path) -> Path | None:
    """The nearest folder from ``folder`` up to ``root`` (excluded) named after an emotion
    (``spk1/Angry/x.wav`` -> ``Angry``), or None."""
    while folder != root and root in folder.parents:
        if is_emotion_name(folder.name):
            return folder
        folder = folder.parent
    return None


def recording_folder(folder: Path, root: Path) -> Path:
    """The nearest folder from ``folder`` up to ``root`` named like a speaker or session id.

    An id has a digit (``Actor_01``, ``f1``, ``spk3``, ``0011``, ``Session2``) and names no
    emotion. Words (``Colère``, ``Wut``, ``female``, ``train``, ``loud``) may be emotions,
    intensities or genders in any language: grouping by them could z-score one emotion alone
    and remove it, so such folders are passed over, up to ``root`` (one recording set).
    """
    while folder != root and root in folder.parents:
        tokens = re.split(r"[\W\d_]+", folder.name.lower())
        if any(ch.isdigit() for ch in folder.name) and not any(map(is_emotion_name, tokens)):
            return folder
        folder = folder.parent
    return root


def speaker_key(file: Path, root: Path) -> str | None:
    """The file's :func:`recording_folder` relative to ``root``, without the folders named
    after an emotion (``sad/spk7/x.wav`` and ``angry/spk7/y.wav`` -> ``spk7``: one speaker,
    not one per emotion, whose statistics would take the emotion away); None at ``root``."""
    who = recording_folder(file.parent, root)
    if who == root:
        return None
    return "/".join(p for p in who.relative_to(root).parts if not is_emotion_name(p)) or None


def folder_speaker(file: Path, root: Path, corpus: str) -> str | None:
    """``corpus:<speaker_key>`` for a file below ``root``, else None."""
    key = speaker_key(file, root)
    return None if key is None else f"{corpus}:{key}"


def in_emotion_folders(root: Path, files: list[Path]) -> float:
    """Share of ``files`` that lie in a folder named after an emotion, at any depth."""
    root = Path(root)
    return (sum(emotion_folder(Path(f).parent, root) is not None for f in files)
            / max(len(files), 1))


def filename_emotion(stem: str) -> str | None:
    """The one emotion named by a word of a file name (``Anger_C_A_abajo`` -> ``angry``,
    ``F01_sadness_3`` -> ``sad``), else None (none, or two different ones). Words are the
    runs of letters; only names of three letters or more count (``ps``, ``a``, ``N`` would
    match codes of every kind)."""
    words = [w for w in re.split(r"[\W\d_]+", stem) if len(w) >= 3]
    found = {normalize_emotion(w) for w in words if is_emotion_name(w)}
    return found.pop() if len(found) == 1 else None


def load_names(root: str | Path, name: str | None = None) -> pd.DataFrame:
    """Load a corpus whose file names carry the emotion (``Anger_C_A_abajo.wav``,
    ``F_01_OISHI_S_1_ANGRY_1.wav``), in any folders: files without exactly one emotion word
    are left out. The speaker is the nearest folder named like an id
    (:func:`recording_folder`), else missing; names are not parsed for speakers (their codes
    differ from corpus to corpus): give a CSV manifest with ``speaker`` for per-speaker
    statistics.

    Raises:
        CorpusError: when no file name names an emotion.
    """
    return _load_labelled(root, name, lambda file: filename_emotion(file.stem),
                          "no file name under {root} names an emotion (expected e.g. "
                          "F01_anger_1.wav)")


def _load_labelled(root, name, emotion_of, missing: str) -> pd.DataFrame:
    """The audio files under ``root`` whose ``emotion_of(file)`` is not None, with their
    :func:`folder_speaker`; ``missing`` (formatted with ``root``) when there is none."""
    root = Path(root).resolve()
    corpus = corpus_slug(name or root.name)
    rows = []
    for file in audio_files(root):
        emotion = emotion_of(file)
        if emotion is not None:
            rows.append({"file": str(file.resolve()), "corpus": corpus,
                         "speaker": folder_speaker(file, root, corpus), "emotion": emotion})
    if not rows:
        raise CorpusError(missing.format(root=root))
    return make_manifest(rows)[COLUMNS]


def is_emotion_name(name: str) -> bool:
    """Whether a folder or label name is a known spelling of an emotion (``Angry``, ``sad``)."""
    return emotion_alias(name) is not None


def load_folders(root: str | Path, name: str | None = None) -> pd.DataFrame:
    """Load a corpus laid out with folders named after emotions, at any depth (``angry/x.wav``,
    ``0011/Angry/x.wav``, ``spk1/sad/train/y.flac``).

    The emotion is the nearest folder named after one; the speaker the nearest folder named
    like a speaker or session id (:func:`recording_folder`: ``0011``, ``spk1``), missing when
    there is none (``angry/x.wav``). The corpus name defaults to the folder's name; gender and
    language are missing. Audio files outside the emotion folders are ignored.

    Raises:
        CorpusError: when no emotion folder holds audio.
    """
    root = Path(root).resolve()

    def emotion_of(file: Path) -> str | None:
        folder = emotion_folder(file.parent, root)
        return None if folder is None else normalize_emotion(folder.name)

    return _load_labelled(root, name, emotion_of,
                          "no audio in emotion folders under {root} (expected e.g. "
                          "angry/x.wav, happy/y.wav or spk1/angry/x.wav)")
