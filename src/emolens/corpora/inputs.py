"""Input discovery: audio files, folders and CSV manifests -> one table of audio files.

One rule for every command that takes audio (``emolens corpus``, ``extract``, ``predict``):

* a **folder** gives every file under it whose extension soundfile reads
  (:func:`audio_extensions`), sorted; hidden files and anything inside a hidden folder
  (macOS ``._x.wav`` resource forks, ``.git``) are skipped;
* a **CSV manifest** gives its ``file`` column (relative paths are relative to the manifest,
  so a corpus and its CSV move together) with its ``speaker``/``corpus`` columns when present;
* anything else is **one audio file** (whether it is readable is checked when it is read).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from emolens.corpora.schema import CorpusError

#: Columns of :func:`discover_inputs`'s table.
INPUT_COLUMNS = ["file", "speaker", "corpus", "folder", "source", "origin"]


class InputError(CorpusError):
    """An input path is missing or a manifest cannot be used; the message says which."""


@lru_cache(maxsize=1)
def audio_extensions() -> frozenset[str]:
    """File extensions (lower case, with dot) of every format soundfile can read."""
    import soundfile

    formats = {name.lower() for name in soundfile.available_formats()}
    aliases = {"aiff": {".aif", ".aifc"}, "ogg": {".oga", ".opus"}, "wavex": {".wav"}}
    extensions = {f".{name}" for name in formats}
    for name, extra in aliases.items():
        if name in formats:
            extensions |= extra
    return frozenset(extensions)


def audio_files(root: Path) -> list[Path]:
    """Audio files under ``root``, sorted; hidden files (e.g. macOS ``._x.wav``) skipped."""
    root = Path(root)
    extensions = audio_extensions()
    files = [
        path
        for path in root.rglob("*")
        if path.suffix.lower() in extensions
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.is_file()
    ]
    return sorted(files)


def _manifest_rows(path: Path) -> list[dict]:
    try:
        table = pd.read_csv(path)
    except Exception as err:  # noqa: BLE001 - any parse failure reads the same to a user
        raise InputError(f"cannot read manifest {path}: {err}") from None
    if "file" not in table.columns:
        raise InputError(f"manifest {path} has no 'file' column "
                         f"(columns: {', '.join(map(str, table.columns))})")
    rows = []
    for i, file in enumerate(table["file"]):
        if pd.isna(file):
            continue
        full = os.path.abspath(os.path.join(path.parent, str(file)))
        group = {c: (None if pd.isna(table[c].iloc[i]) else str(table[c].iloc[i]))
                 for c in ("speaker", "corpus") if c in table.columns}
        rows.append({"file": full, **group, "folder": os.path.dirname(full),
                     "source": "manifest", "origin": str(path)})
    return rows


def discover_inputs(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Expand audio files, folders and CSV manifests into one row per audio file.

    Args:
        paths: a path or a list of paths.

    Returns:
        ``(inputs, skipped)``: ``inputs`` has the columns :data:`INPUT_COLUMNS` (absolute
        ``file``; ``speaker``/``corpus`` from a manifest, else missing; ``folder`` the file's
        folder; ``source`` one of ``"folder" | "manifest" | "file"``; ``origin`` the input
        path it came from), each file once (first occurrence), in input order; ``skipped``
        (``file, reason``) lists folders without audio.

    Raises:
        InputError: a path does not exist, or a manifest is unreadable or has no ``file``.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[dict] = []
    skipped: list[tuple[str, str]] = []
    for item in paths:
        path = Path(item).expanduser()
        if not path.exists():
            raise InputError(f"{item} does not exist")
        if path.is_dir():
            found = audio_files(path)
            if not found:
                skipped.append((str(path.resolve()), "folder holds no audio files"))
            rows += [{"file": str(f.resolve()), "folder": str(f.resolve().parent),
                      "source": "folder", "origin": str(path)} for f in found]
        elif path.suffix.lower() == ".csv":
            rows += _manifest_rows(path)
        else:
            full = os.path.abspath(path)
            rows.append({"file": full, "folder": os.path.dirname(full), "source": "file",
                         "origin": str(path)})
    table = pd.DataFrame(rows, columns=INPUT_COLUMNS).astype(object)
    table = table.drop_duplicates("file", keep="first").reset_index(drop=True)
    return table, pd.DataFrame(skipped, columns=["file", "reason"])
