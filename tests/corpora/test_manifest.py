"""CSV manifests, folder-per-emotion, schema helpers and one-line errors."""

from __future__ import annotations

from pathlib import Path

import math

import pandas as pd
import pytest

from emolens.corpora import (
    COLUMNS,
    CorpusError,
    category_av,
    detect_corpus,
    load_corpus,
    read_manifest,
    to_label4,
)


def test_csv_manifest_with_relative_paths(tmp_path, tone):
    tone(tmp_path / "audio" / "a.wav")
    tone(tmp_path / "audio" / "b.flac")
    csv = tmp_path / "meta" / "mine.csv"
    csv.parent.mkdir()
    csv.write_text(
        "file,emotion,speaker,gender,language,valence\n"
        "../audio/a.wav,Anger,s1,female,da,\n"
        f"{tmp_path / 'audio' / 'b.flac'},calm,s2,male,da,0.25\n",
        encoding="utf-8",
    )
    assert detect_corpus(csv) == "csv"
    manifest = load_corpus(csv)
    assert list(manifest.columns) == COLUMNS
    assert manifest["file"].tolist() == [str((tmp_path / "audio" / n).resolve())
                                         for n in ("a.wav", "b.flac")]
    assert manifest["corpus"].tolist() == ["mine", "mine"]
    assert manifest["speaker"].tolist() == ["mine:s1", "mine:s2"]
    assert manifest["emotion"].tolist() == ["angry", "calm"]
    assert manifest["label4"].iloc[0] == "angry"
    assert manifest["label4"].iloc[1] is pd.NA  # calm is not merged into neutral
    # valence given in the CSV wins; the missing one comes from the category table
    assert manifest["valence"].iloc[1] == 0.25
    assert manifest["valence"].iloc[0] == category_av("angry")[1]


def test_csv_manifest_optional_columns_may_be_absent(tmp_path, tone):
    tone(tmp_path / "x.wav")
    (tmp_path / "m.csv").write_text("file,emotion,corpus\nx.wav,happy,demo\n")
    manifest = read_manifest(tmp_path / "m.csv")
    assert manifest.loc[0, "corpus"] == "demo"
    assert manifest.loc[0, "speaker"] is pd.NA
    assert manifest.loc[0, "language"] is pd.NA


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,label\nx.wav,happy\n", "lacks required column(s) emotion"),
        ("file,emotion\nmissing.wav,happy\n", "1 audio file(s) not found"),
        ("file,emotion\nx.wav,\n", "empty emotion on line 2"),
        ("file,emotion,valence\nx.wav,sad,low\n", "is not a number"),
    ],
)
def test_bad_manifests_give_one_line_errors(tmp_path, tone, content, message):
    tone(tmp_path / "x.wav")
    (tmp_path / "m.csv").write_text(content)
    with pytest.raises(CorpusError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        read_manifest(tmp_path / "m.csv")
    assert "\n" not in str(e.value)


def test_folder_per_emotion_fallback(tmp_path, tree):
    root = tree(tmp_path / "My Corpus", ["Angry/one.wav", "happy/two.flac", "Sadness/x/3.wav",
                                         "notes/ignored.wav"])
    assert detect_corpus(root) == "folders"
    manifest = load_corpus(root)
    assert sorted(manifest["emotion"]) == ["angry", "happy", "sad"]
    assert set(manifest["corpus"]) == {"my-corpus"}
    assert manifest["speaker"].isna().all()


def test_emotion_folders_below_speaker_folders(tmp_path, tree):
    """``speaker/emotion/x.wav`` (ESD: ``0011/Angry/0011_000351.wav``, with or without
    ``train/``) and ``emotion/speaker/x.wav``: the emotion from the nearest emotion folder, the
    speaker from the nearest folder named like an id; word folders are neither."""
    root = tree(tmp_path / "esd", ["0011/Angry/0011_000351.wav", "0011/Happy/train/0011_0001.wav",
                                   "0012/Sad/evaluation/0012_0002.wav", "0012/Neutral/0012_0003.wav",
                                   "sad/spk7/x.wav", "README/notes.wav"])
    assert detect_corpus(root) == "folders"
    m = load_corpus(root).set_index("file")
    got = {str(Path(f).relative_to(root.resolve())): (r.speaker, r.emotion)
           for f, r in m.iterrows()}
    assert got == {"0011/Angry/0011_000351.wav": ("esd:0011", "angry"),
                   "0011/Happy/train/0011_0001.wav": ("esd:0011", "happy"),
                   "0012/Sad/evaluation/0012_0002.wav": ("esd:0012", "sad"),
                   "0012/Neutral/0012_0003.wav": ("esd:0012", "neutral"),
                   "sad/spk7/x.wav": ("esd:spk7", "sad")}


def test_deep_emotion_folders_need_most_of_the_files(tmp_path, tree):
    root = tree(tmp_path / "x", ["a/1.wav", "b/2.wav", "c/3.wav", "d1/angry/4.wav"])
    with pytest.raises(CorpusError, match="unrecognised corpus layout"):
        detect_corpus(root)


@pytest.mark.parametrize("stem,emotion", [
    ("Anger_C_A_abajo", "angry"), ("F_01_OISHI_S_1_ANGRY_1", "angry"), ("F01_sadness_3", "sad"),
    ("spk2-neutral-07", "neutral"), ("happy_sad_1", None), ("03-01-05-01", None),
    ("OAF_ps_word", None), ("a_n_s", None), ("f1_tristezza_3", "sad"),
    ("spk2_colère_07", "angry"), ("радость_01", "happy"), ("Freude_Trauer", None)])
def test_the_emotion_word_of_a_file_name(stem, emotion):
    from emolens.corpora.manifest import filename_emotion

    assert filename_emotion(stem) == emotion


def test_file_names_that_carry_the_emotion(tmp_path, tree):
    """MESD-like names in one folder; speakers only from id-like folders; names with no
    or two emotions are left out; fewer than 80 % naming one is no layout."""
    root = tree(tmp_path / "mesd", ["Anger_C_A_abajo.wav", "Sadness_C_A_abajo.wav",
                                    "Neutral_M_B_casa.wav", "Happiness_M_B_casa.wav",
                                    "s2/Fear_F_1.wav"])
    assert detect_corpus(root) == "names"
    m = load_corpus(root)
    assert sorted(m["emotion"]) == ["angry", "fear", "happy", "neutral", "sad"]
    assert m.set_index("emotion")["speaker"].isna().tolist() == [
        s != "fear" for s in m["emotion"]]
    assert set(m["speaker"].dropna()) == {"mesd:s2"}
    few = tree(tmp_path / "few", ["Anger_1.wav", "take_2.wav", "take_3.wav"])
    with pytest.raises(CorpusError, match="emotion words in the file names"):
        detect_corpus(few)


def test_unicode_paths(tmp_path, tree):
    root = tree(tmp_path / "données émotion 情绪", ["Colère/Faible/01-C-1-1.wav",
                                                    "Joie/Fort/02-J-2-3.wav"])
    manifest = load_corpus(root)
    assert manifest["corpus"].tolist() == ["cafe", "cafe"]
    assert "情绪" in manifest["file"].iloc[0]
    out = tmp_path / "ü.csv"
    manifest.to_csv(out, index=False)
    assert read_manifest(out)["file"].tolist() == manifest["file"].tolist()


def test_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found") as error:
        load_corpus(tmp_path / "nope")
    assert "\n" not in str(error.value)


def test_unrecognised_layout_is_a_one_line_error(tmp_path, tree):
    root = tree(tmp_path / "odd", ["recording_1.wav", "recording_2.wav"])
    with pytest.raises(CorpusError, match="unrecognised corpus layout") as error:
        load_corpus(root)
    message = str(error.value)
    assert "\n" not in message
    assert "03a01Fa" in message and "folder per emotion" in message


def test_named_layout_that_matches_nothing(tmp_path, tree):
    root = tree(tmp_path / "odd", ["recording_1.wav"])
    with pytest.raises(CorpusError, match="RAVDESS layout"):
        load_corpus(root, name="ravdess")
    with pytest.raises(CorpusError, match="unknown corpus 'nonsense'"):
        load_corpus(root, name="nonsense")


def test_label4_mapping():
    assert [to_label4(e) for e in ("neutral", "happiness", "joy", "excited", "sad", "anger")] \
        == ["neutral", "happy", "happy", "happy", "sad", "angry"]
    for other in ("calm", "boredom", "fear", "disgust", "surprise", "frustrated", None):
        assert to_label4(other) is pd.NA
    # three-letter codes, as IEMOCAP-style manifests write them
    assert [to_label4(e) for e in ("NEU", "hap", "Exc", "sad", "ANG")] \
        == ["neutral", "happy", "happy", "sad", "angry"]
    for other in ("fea", "dis", "sur", "fru", "bor"):
        assert to_label4(other) is pd.NA


@pytest.mark.parametrize("word,label", [
    ("Colère", "angry"), ("COLERE", "angry"), ("Wut", "angry"), ("złość", "angry"),
    ("zlosc", "angry"), ("Öfke", "angry"), ("гнев", "angry"), ("Freude", "happy"),
    ("alegría", "happy"), ("Gioia", "happy"), ("radość", "happy"), ("Tristesse", "sad"),
    ("tristeza", "sad"), ("Trauer", "sad"), ("neutre", "neutral"), ("Neutro", "neutral"),
    ("nötr", "neutral")])
def test_the_four_classes_in_other_languages(word, label):
    assert to_label4(word) == label


def test_unknown_spellings_are_kept_not_folded():
    from emolens.corpora import normalize_emotion

    assert normalize_emotion(" Peur-Forte ") == "peur_forte"
    assert to_label4("peur") is pd.NA and to_label4("ira") is pd.NA


def test_emotion_folders_in_another_language(tmp_path, tree):
    root = tree(tmp_path / "de", ["Wut/s01/a.wav", "Freude/s01/b.wav", "Trauer/s02/c.wav",
                                  "Neutral/s02/d.wav"])
    assert detect_corpus(root) == "folders"
    m = load_corpus(root).sort_values("file")
    assert m["emotion"].tolist() == ["happy", "neutral", "sad", "angry"]
    # emotion/speaker/x.wav: one speaker across the emotion folders, not one per emotion
    assert m["speaker"].tolist() == ["de:s01", "de:s02", "de:s02", "de:s01"]


def test_category_table_is_in_range_and_ordered():
    activation, valence = category_av("neutral")
    assert (activation, valence) == (0.0, 0.0)
    assert category_av("angry")[0] > category_av("sad")[0]  # anger is more aroused
    assert category_av("happy")[1] > 0 > category_av("sad")[1]
    assert all(math.isnan(x) for x in category_av("undecided"))
