"""Detect a corpus layout and load it into the standard table."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd

from emolens.corpora.manifest import (
    emotion_folders,
    filename_emotion,
    in_emotion_folders,
    load_folders,
    load_names,
    read_manifest,
    speaker_key,
)
from emolens.corpora.inputs import audio_files
from emolens.corpora.releases import RELEASES, Release
from emolens.corpora.schema import CorpusError, make_manifest

#: Names accepted besides the releases: a CSV manifest and the folder-per-emotion fallback.
GENERIC = ("csv", "folders", "names")

#: A release is detected when its names match at least this share of the audio files.
MIN_MATCH = 0.5
#: An unknown layout is read from its file names when this share of them names one emotion.
NAMES_MATCH = 0.8


def _release_rows(root: Path, release: Release, files: list[Path]) -> tuple[list, list]:
    context = release.context(root)
    rows, skipped = [], []
    for file in files:
        fields = release.parse(file, context)
        if fields is None or fields.get("emotion") is None:
            skipped.append(str(file))
            continue
        speaker = fields.get("speaker")
        rows.append({
            "file": str(file.resolve()),
            "corpus": release.name,
            "language": fields.get("language", release.language),
            "speaker": f"{release.name}:{speaker}" if speaker is not None else None,
            "gender": fields.get("gender"),
            "emotion": fields["emotion"],
            "activation": fields.get("activation"),
            "valence": fields.get("valence"),
        })
    return rows, skipped


def load_release(root: str | Path, name: str) -> pd.DataFrame:
    """Load the corpus release ``name`` found under ``root``.

    Audio files whose names do not follow the release's convention are left out; their
    paths are listed in ``frame.attrs["skipped"]``.

    Raises:
        CorpusError: unknown name, or no file under ``root`` follows the layout.
    """
    if name not in RELEASES:
        raise CorpusError(f"unknown corpus {name!r} (expected one of "
                          f"{', '.join([*RELEASES, *GENERIC])})")
    root = Path(root)
    release = RELEASES[name]
    rows, skipped = _release_rows(root, release, audio_files(root))
    if not rows:
        raise CorpusError(f"no audio file under {root} follows the {release.title} layout "
                          f"(expected e.g. {release.example})")
    frame = make_manifest(rows)
    frame.attrs["skipped"] = skipped
    return frame


def detect_corpus(path: str | Path) -> str:
    """Name of the corpus layout at ``path``: a release name, ``"csv"``, ``"folders"`` or
    ``"names"``.

    A release wins when its file-name convention matches at least half of the audio files
    (the highest share wins; ties go to the earlier release in the registry). The
    folder-per-emotion fallback applies when no release matches; then ``"names"``, when
    at least :data:`NAMES_MATCH` of the file names name one emotion each.

    Raises:
        CorpusError: missing path or unrecognised layout (one line saying what was expected).
    """
    path = Path(path).expanduser()
    if path.is_file():
        if path.suffix.lower() in {".csv", ".tsv", ".txt"}:
            return "csv"
        raise CorpusError(f"{path} is a file but not a CSV manifest (expected a corpus folder "
                          "or a .csv with columns file,emotion)")
    if not path.is_dir():
        raise CorpusError(f"corpus folder not found: {path} (expected a corpus folder or a CSV "
                          "manifest)")
    files = audio_files(path)
    if files:
        best, best_share = None, 0.0
        for release in RELEASES.values():
            context = release.context(path)
            share = sum(release.parse(f, context) is not None for f in files) / len(files)
            if share > best_share:
                best, best_share = release.name, share
        if best is not None and best_share >= MIN_MATCH:
            return best
    top = set(emotion_folders(path))  # files in an immediate emotion folder: always enough
    if files and (in_emotion_folders(path, files) >= MIN_MATCH
                  or any(f.relative_to(path).parts[0] in top for f in files)):
        return "folders"
    named = sum(filename_emotion(f.stem) is not None for f in files)
    if files and named >= NAMES_MATCH * len(files):
        return "names"
    known = "; ".join(f"{r.title} ({r.example})" for r in RELEASES.values())
    what = f"{len(files)} audio file(s)" if files else "no audio files"
    raise CorpusError(f"unrecognised corpus layout in {path} ({what}); expected one of: "
                      f"{known}; a folder per emotion (angry/, happy/, ...); emotion words in "
                      "the file names (F01_anger_1.wav); or a CSV manifest")


def load_corpus(path: str | Path, name: str | None = None) -> pd.DataFrame:
    """Load a corpus folder or CSV manifest into one tidy table.

    Args:
        path: corpus folder (original release layout or one folder per emotion) or a CSV
            manifest.
        name: layout to use instead of detecting it: a name in ``CORPORA`` (``"emodb"``,
            ``"ravdess"``, ..., ``"csv"``, ``"folders"``). For ``"folders"`` the folder name
            is the corpus name.

    Returns:
        DataFrame with exactly the columns in ``COLUMNS``, RangeIndex, one row per utterance.

    Raises:
        CorpusError: missing path, unrecognised layout or unreadable manifest.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CorpusError(f"corpus folder not found: {path} (expected a corpus folder or a CSV "
                          "manifest)")
    if name is None:
        name = detect_corpus(path)
    name = name.strip().lower().replace("-", "").replace("_", "")
    if path.is_file():
        if name != "csv":
            raise CorpusError(f"{path} is a file; corpus {name!r} needs a corpus folder")
        return read_manifest(path)
    if name == "csv":
        raise CorpusError(f"{path} is a folder; 'csv' needs a CSV manifest file")
    if name == "folders":
        return load_folders(path)
    if name == "names":
        return load_names(path)
    return load_release(path, name)


#: Registry: corpus name -> loader ``(path) -> DataFrame``.
CORPORA = {
    **{name: (lambda path, _name=name: load_release(path, _name)) for name in RELEASES},
    "csv": read_manifest,
    "folders": load_folders,
    "names": load_names,
}


class FolderGroups(NamedTuple):
    """:func:`folder_groups`'s answer: per file its normalisation group and its recording
    set (corpus), and the rule used, in words."""

    groups: list
    sets: list
    rule: str


def folder_groups(root: str | Path, files, by: str = "speaker") -> FolderGroups:
    """Normalisation groups of audio files found under a folder (``emolens predict``'s rule).

    An emotion folder is never a group: z-scoring within it would remove the emotion itself.

    * a recognised release layout (EmoDB, TESS, URDU, ...): its speakers; the whole folder
      for files without a speaker, or when ``by`` is ``"corpus"``;
    * one folder per emotion (``angry/``, ``happy/``): the whole folder (no speakers known);
    * a folder of corpora (``corpora/emodb``, ``corpora/tess``, ...): each sub-folder in a
      recognised layout by the rules above, as its own recording set;
    * otherwise (``by="speaker"``) the nearest folder named like a speaker or session id
      (with a digit, no emotion word: ``spk1/angry/x.wav`` -> ``spk1``), else the whole
      folder; with ``by="corpus"`` the whole folder.

    Args:
        root: the folder that was given.
        files: absolute paths of the audio files found under it.
        by: ``"speaker"`` or ``"corpus"``.

    Returns:
        :class:`FolderGroups`; ``sets`` holds the folder of each file's corpus.
    """
    root = Path(root).expanduser().resolve()
    files = [str(f) for f in files]
    known = _recognised(root, files, by)
    if known is not None:
        return FolderGroups(known[0], [str(root)] * len(files), known[1])
    groups, sets, rules, under = {}, {}, set(), {}
    for f in files:  # the files under each immediate sub-folder
        parts = Path(f).relative_to(root).parts
        if len(parts) > 1:
            under.setdefault(parts[0], []).append(f)
    for name, inside in sorted(under.items()):
        child = root / name
        found = _recognised(child, inside, by)
        if found is not None:
            groups.update(zip(inside, found[0]))
            sets.update((f, str(child)) for f in inside)
            rules.add(f"{child.name}/: {found[1]}")
    rest = [f for f in files if f not in groups]
    if rest:
        found = _unrecognised(root, rest, by)
        groups.update(zip(rest, found[0]))
        rules.add(found[1])
    return FolderGroups([groups[f] for f in files], [sets.get(f, str(root)) for f in files],
                        "; ".join(sorted(rules)))


def _unrecognised(root: Path, files: list[str], by: str) -> tuple[list, str]:
    """Groups and rule for files outside any recognised layout."""
    if by != "speaker":
        return [str(root)] * len(files), "the whole folder (one corpus)"
    keys = [speaker_key(Path(f), root) for f in files]
    groups = [str(root) if k is None else str(root / k) for k in keys]
    if all(g == str(root) for g in groups):
        return groups, "the whole folder (no sub-folder named like a speaker or session)"
    return groups, ("the nearest folder named like a speaker or session (with a digit: "
                    "Actor_01/, spk3/), else the whole folder")


def _recognised(root: Path, files: list[str], by: str) -> tuple[list, str] | None:
    """Groups and rule for a folder in a recognised layout (None: not recognised)."""
    whole = str(root)
    try:
        layout = detect_corpus(root)
    except CorpusError:
        return None
    if layout not in RELEASES and layout != "folders":
        return None
    title = f"the {RELEASES[layout].title} layout" if layout in RELEASES else "emotion folders"
    if by != "speaker":
        return [whole] * len(files), f"the whole folder ({title})"
    manifest = load_release(root, layout) if layout in RELEASES else load_folders(root)
    speakers = manifest.set_index("file")["speaker"].dropna().to_dict()
    if layout == "folders" and not speakers:  # deeper emotion folders: a folder of corpora?
        return (([whole] * len(files), "the whole folder (one folder per emotion)")
                if emotion_folders(root) else None)
    return [speakers.get(f, whole) for f in files], f"the speakers of {title}"
