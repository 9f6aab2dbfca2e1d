"""emolens.corpora: corpus loaders producing one tidy table per corpus.

>>> from emolens.corpora import load_corpus
>>> manifest = load_corpus("../shared/corpora/emodb")        # doctest: +SKIP

Every loader returns the columns in :data:`COLUMNS`; see docs/corpora.md for the layouts
and label mappings.
"""

from typing import TYPE_CHECKING

from emolens._lazy import lazy_exports

if TYPE_CHECKING:  # static tools see the real imports
    from emolens.corpora.load import (
        CORPORA,
        FolderGroups,
        detect_corpus,
        folder_groups,
        load_corpus,
        load_release,
    )
    from emolens.corpora.manifest import load_folders, read_manifest
    from emolens.corpora.inputs import (
        INPUT_COLUMNS,
        InputError,
        audio_extensions,
        audio_files,
        discover_inputs,
    )
    from emolens.corpora.releases import RELEASES
    from emolens.corpora.schema import (
        COLUMNS,
        EMOTIONS,
        LABEL4,
        NRC_VAD,
        NRC_VAD_SOURCE,
        CorpusError,
        category_av,
        make_manifest,
        normalize_emotion,
        to_label4,
    )

# Loaded on first use (`emolens --help` must not import pandas/sklearn/torch): the
# names are the TYPE_CHECKING imports above.
__getattr__, __dir__, __all__ = lazy_exports(__name__)
