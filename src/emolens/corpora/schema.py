"""The manifest schema shared by every corpus loader.

One row per utterance with the columns in :data:`COLUMNS`. Categories are plain English
(:data:`EMOTIONS`); :func:`to_label4` maps them onto the paper's four classes and
:func:`category_av` onto (activation, valence) for corpora without dimensional labels.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping

import pandas as pd

COLUMNS = [
    "file",
    "corpus",
    "language",
    "speaker",
    "gender",
    "emotion",
    "label4",
    "activation",
    "valence",
]

TEXT_COLUMNS = COLUMNS[:7]
FLOAT_COLUMNS = ["activation", "valence"]


class CorpusError(ValueError):
    """A corpus folder or manifest that cannot be read; the message is one line."""


#: Spellings found in releases and manifests -> the plain-English category used in `emotion`.
EMOTION_ALIASES = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "happiness": "happy",
    "happy": "happy",
    "joy": "happy",
    "sadness": "sad",
    "sad": "sad",
    "neutral": "neutral",
    "neu": "neutral",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "disgust": "disgust",
    "disgusted": "disgust",
    "surprise": "surprise",
    "surprised": "surprise",
    "pleasant_surprise": "surprise",
    "pleasant surprise": "surprise",
    "ps": "surprise",
    "boredom": "boredom",
    "bored": "boredom",
    "calm": "calm",
    "excited": "excited",
    "excitement": "excited",
    "frustrated": "frustrated",
    "frustration": "frustrated",
    "amused": "amused",
    "amusement": "amused",
    "sleepy": "sleepy",
    "sleepiness": "sleepy",
    # the three-letter codes of IEMOCAP-style annotations and many manifests
    "ang": "angry",
    "hap": "happy",
    "fea": "fear",
    "dis": "disgust",
    "sur": "surprise",
    "exc": "excited",
    "fru": "frustrated",
    "bor": "boredom",
    "other": "other",
    "undecided": "undecided",
}

#: The categories the release loaders produce.
EMOTIONS = tuple(dict.fromkeys(EMOTION_ALIASES.values()))

#: Words for the four classes in other languages (and a few more English ones), as folder
#: names, file-name words or manifest labels use them: German, French, Spanish, Italian,
#: Portuguese, Dutch, Polish, Russian, Turkish. Looked up accent-folded (:func:`fold`), so
#: ``Colère``, ``colere`` and ``COLÈRE`` are one word. Only whole words: short codes differ
#: from corpus to corpus (give a CSV manifest for those).
WORDS4 = {
    "angry": ("wut", "wütend", "ärger", "zorn", "colère", "fâché", "enojo", "enojado",
              "enfado", "enfadado", "rabbia", "arrabbiato", "raiva", "zangado", "woede",
              "złość", "gniew", "гнев", "злость", "öfke", "kızgın", "furious", "rage"),
    "happy": ("freude", "glücklich", "fröhlich", "joie", "joyeux", "heureux", "alegría",
              "alegre", "felicidad", "feliz", "gioia", "felice", "felicità", "felicidade",
              "vreugde", "blij", "blijdschap", "radość", "szczęście", "szczęśliwy", "радость",
              "счастье", "mutlu", "mutluluk", "sevinç", "joyful", "cheerful", "glad"),
    "sad": ("trauer", "traurig", "tristesse", "triste", "tristeza", "tristezza", "verdriet",
            "verdrietig", "smutek", "smutny", "грусть", "печаль", "üzgün", "üzüntü", "sorrow",
            "unhappy"),
    "neutral": ("neutre", "neutro", "neutrale", "neutraal", "neutralny", "neutralna",
                "нейтральный", "нейтрально", "nötr"),
}

#: Letters that Unicode does not decompose into a base letter and an accent.
_PLAIN = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d",
                        "ı": "i"})


def fold(text: object) -> str:
    """A label or word as looked up: stripped, lower-case, accents removed, ``-`` as ``_``."""
    text = str(text).strip().lower().replace("-", "_").translate(_PLAIN)
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))


_ALIASES = {fold(k): v for k, v in EMOTION_ALIASES.items()}
_ALIASES.update({fold(w): emotion for emotion, words in WORDS4.items() for w in words})


def emotion_alias(value: object) -> str | None:
    """The plain-English category a spelling names (``Anger``, ``hap``, ``Colère``,
    ``tristezza`` ...), or None when it is not a known emotion word."""
    text = fold(value)
    return _ALIASES.get(text, _ALIASES.get(text.replace("_", " ")))

#: Categories merged into the paper's four classes. IEMOCAP's "excited" joins "happy", as is
#: standard for 4-class IEMOCAP; "calm" is NOT merged into "neutral" (RAVDESS treats it as its
#: own low-arousal positive category).
LABEL4 = {
    "neutral": "neutral",
    "happy": "happy",
    "excited": "happy",
    "sad": "sad",
    "angry": "angry",
}

# NRC Valence, Arousal, and Dominance Lexicon v1.0 (Mohammad, ACL 2018): word -> (valence,
# arousal) in [0, 1], for the English word naming each category. Mapped to [-1, 1] by 2x - 1.
# "neutral" is the origin by definition. Categories without an entry get NaN.
NRC_VAD_SOURCE = (
    "NRC VAD Lexicon v1.0 (S. M. Mohammad, 'Obtaining Reliable Human Ratings of Valence, "
    "Arousal, and Dominance for 20,000 English Words', ACL 2018), rescaled 2x-1"
)
NRC_VAD = {
    "angry": ("anger", 0.167, 0.865),
    "happy": ("happiness", 0.960, 0.732),
    "sad": ("sadness", 0.052, 0.288),
    "fear": ("fear", 0.073, 0.840),
    "disgust": ("disgust", 0.052, 0.775),
    "surprise": ("surprise", 0.875, 0.875),
    "boredom": ("boredom", 0.167, 0.139),
    "calm": ("calm", 0.875, 0.100),
    "excited": ("excitement", 0.896, 0.684),
    "amused": ("amusement", 0.929, 0.837),
}


def normalize_emotion(value: object) -> str:
    """Return the plain-English category for a spelling found in a release or manifest.

    Unknown spellings are kept (lower-cased, stripped) so that a manifest may use its own
    categories; they get no label4 and no (activation, valence).
    """
    alias = emotion_alias(value)
    return alias if alias is not None else str(value).strip().lower().replace("-", "_")


def to_label4(emotion: object):
    """Map a category onto neutral/happy/sad/angry, or ``pd.NA`` for any other category."""
    if emotion is None or (isinstance(emotion, float) and math.isnan(emotion)):
        return pd.NA
    if emotion is pd.NA:
        return pd.NA
    return LABEL4.get(normalize_emotion(emotion), pd.NA)


def category_av(emotion: object) -> tuple[float, float]:
    """(activation, valence) in [-1, 1] of a category, from :data:`NRC_VAD`; NaN if unknown."""
    if emotion is None or emotion is pd.NA:
        return (math.nan, math.nan)
    category = normalize_emotion(emotion)
    if category == "neutral":
        return (0.0, 0.0)
    if category not in NRC_VAD:
        return (math.nan, math.nan)
    _, valence, arousal = NRC_VAD[category]
    return (round(2 * arousal - 1, 3), round(2 * valence - 1, 3))


def make_manifest(rows: Iterable[Mapping]) -> pd.DataFrame:
    """Build a manifest from row dicts, filling label4 and category (activation, valence).

    Each row needs ``file``, ``corpus`` and ``emotion``; ``activation``/``valence`` given in a
    row (dimensional labels) win over the category table.
    """
    records = []
    for row in rows:
        record = {column: row.get(column, pd.NA) for column in COLUMNS}
        record["emotion"] = normalize_emotion(record["emotion"])
        record["label4"] = to_label4(record["emotion"])
        activation, valence = category_av(record["emotion"])
        if _missing(record["activation"]):
            record["activation"] = activation
        if _missing(record["valence"]):
            record["valence"] = valence
        records.append(record)
    return conform(pd.DataFrame.from_records(records, columns=COLUMNS))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with exactly :data:`COLUMNS`, object text columns and float A/V."""
    frame = frame.reindex(columns=COLUMNS).reset_index(drop=True)
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), pd.NA)
    for column in FLOAT_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def known_classes(classes, labels) -> tuple[str, ...]:
    """The classes a user says recordings hold, as a model's own ``labels``.

    Args:
        classes: names in any spelling :func:`to_label4` knows (``anger``, ``Wut``...), as
            a list or a comma-separated string.
        labels: the model's labels, e.g. ``("neutral", "happy", "sad", "angry")``.

    Returns:
        the labels named, in the order of ``labels``.

    Raises:
        ValueError: a class the model does not predict, or fewer than two.
    """
    if isinstance(classes, str):
        classes = [classes]
    names = [c.strip() for item in classes for c in str(item).split(",") if c.strip()]
    labels = [str(c) for c in labels]
    mapped = {}
    for name in names:
        label = to_label4(name)
        label = normalize_emotion(name) if label is pd.NA else label
        if label not in labels:
            raise ValueError(f"class {name!r} is not one of the model's labels "
                             f"({', '.join(labels)})")
        mapped[label] = True
    if len(mapped) < 2:
        raise ValueError(f"give at least two classes (got {', '.join(names) or 'none'})")
    return tuple(c for c in labels if c in mapped)
