"""benchmarks/hidden_like.py scores the default model only on corpora it never trained on."""

from pathlib import Path

from hidden_like import default_model_rows


def test_the_default_model_is_scored_on_an_unseen_corpus_only(tmp_path):
    from emolens.corpora.synthetic import SMALL, generate

    manifest = generate(tmp_path / "corpora", **{**SMALL, "corpora": 1, "speakers_per_corpus": 2})
    spelt = {"angry": "anger", "happy": "happiness", "sad": "sadness", "neutral": "neutral"}
    table = manifest.assign(file=[str(Path(f).relative_to(tmp_path)) for f in manifest["file"]],
                            emotion=manifest["emotion"].map(spelt))[["file", "speaker", "emotion"]]
    csv = tmp_path / "with_speaker.csv"  # files relative to the manifest, as the script writes
    table.to_csv(csv, index=False)
    assert default_model_rows("emodb", [csv], 7) == []  # in the default model's training
    (row,) = default_model_rows("tess", [csv], 7)
    assert row["test"] == "with_speaker" and row["draw"] == 7
    for column in ("UA % unadapted", "UA % adapted"):
        assert 0 <= row[column] <= 100
