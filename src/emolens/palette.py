"""Colours shared by every picture emolens draws (report figures, streaming timelines).

Okabe & Ito (2008) colour-blind-safe palette; each emotion keeps one colour and one marker
everywhere (neutral grey circle, happy orange square, sad blue triangle, angry vermillion
diamond), so colour is never the only cue. Plain data, no matplotlib: both
``emolens.report`` and ``emolens.deploy`` import it.
"""

from __future__ import annotations

import zlib

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00",
    "reddish purple": "#CC79A7", "grey": "#8C8C8C",
}
EMOTION_COLORS = {"neutral": OKABE_ITO["grey"], "happy": OKABE_ITO["orange"],
                  "sad": OKABE_ITO["blue"], "angry": OKABE_ITO["vermillion"]}
EMOTION_MARKERS = {"neutral": "o", "happy": "s", "sad": "^", "angry": "D"}
#: Colours for other series (variables, halves of violins, ...), in order.
SERIES_COLORS = [OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "reddish purple",
                                        "sky blue", "vermillion", "yellow", "black")]


def emotion_color(label: str) -> str:
    """Fixed colour of an emotion (unknown labels cycle through the other palette colours)."""
    if label in EMOTION_COLORS:
        return EMOTION_COLORS[label]
    # crc32, not hash(): str hashes change between processes, colours must not
    return SERIES_COLORS[zlib.crc32(label.encode()) % len(SERIES_COLORS)]
