"""Each release loader against a fixture tree that mimics its original layout."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from emolens.corpora import COLUMNS, RELEASES, detect_corpus, load_corpus

IEMOCAP_EVAL = (
    "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
    "[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n"
    "C-E2:\tNeutral;\t()\n"
    "[10.0100 - 11.3925]\tSes01F_impro01_M001\texc\t[4.0000, 4.5000, 3.0000]\n"
    "[14.8872 - 18.0175]\tSes01F_impro01_F002\tfru\t[2.0000, 3.5000, 3.5000]\n"
)
NEMO_TSV = (
    "file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n"
    "SB0_anger_0.wav\tanger\tx\tx\tSB0\tmale\t23\n"
    "KK1_sadness_3.wav\tsadness\tx\tx\tKK1\tfemale\t21\n"
)
EMOTALE_ANNOTATIONS = (
    "file,a1_A,a1_V,a1_D,a1_cat,a2_A,a2_V,a2_D,a2_cat,gt_emotion\n"
    "DK_004_A_5.wav,4.0,1.5,4.0,A,5.0,2.5,4.0,A,A\n"
    "EN_004_H_1.wav,4.0,4.0,3.5,H,5.0,5.0,2.5,H,H\n"
)
EMOTALE_SPEAKERS = "speaker_id,gender,age\n4,female,25\n"
CREMAD_DEMOGRAPHICS = "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"

# name -> (files, text files, [(file, emotion, speaker, gender, language)])
CASES = {
    "emodb": (
        ["wav/03a01Fa.wav", "wav/08b02Tc.wav", "wav/16a05Lb.wav"], {},
        [("wav/03a01Fa.wav", "happy", "emodb:03", "male", "de"),
         ("wav/08b02Tc.wav", "sad", "emodb:08", "female", "de"),
         ("wav/16a05Lb.wav", "boredom", "emodb:16", "female", "de")],
    ),
    "ravdess": (
        ["Actor_01/03-01-05-01-02-01-01.wav", "Actor_02/03-01-02-02-01-02-02.wav",
         "Audio_Song_Actors_01-24/Actor_03/03-02-04-01-01-01-03.flac"], {},
        [("Actor_01/03-01-05-01-02-01-01.wav", "angry", "ravdess:01", "male", "en"),
         ("Actor_02/03-01-02-02-01-02-02.wav", "calm", "ravdess:02", "female", "en"),
         ("Audio_Song_Actors_01-24/Actor_03/03-02-04-01-01-01-03.flac", "sad", "ravdess:03",
          "male", "en")],
    ),
    "cremad": (
        ["AudioWAV/1001_DFA_ANG_XX.wav", "AudioWAV/1002_IEO_HAP_HI.wav"],
        {"VideoDemographics.csv": CREMAD_DEMOGRAPHICS},
        [("AudioWAV/1001_DFA_ANG_XX.wav", "angry", "cremad:1001", "male", "en"),
         ("AudioWAV/1002_IEO_HAP_HI.wav", "happy", "cremad:1002", None, "en")],
    ),
    "savee": (
        ["AudioData/DC/a01.wav", "AudioData/JK/sa03.wav", "AudioData/KL/su11.wav"], {},
        [("AudioData/DC/a01.wav", "angry", "savee:DC", "male", "en"),
         ("AudioData/JK/sa03.wav", "sad", "savee:JK", "male", "en"),
         ("AudioData/KL/su11.wav", "surprise", "savee:KL", "male", "en")],
    ),
    "tess": (
        ["OAF_angry/OAF_back_angry.wav", "YAF_pleasant_surprised/YAF_bath_ps.wav",
         "OAF_neutral/OA_bite_neutral.wav"], {},
        [("OAF_angry/OAF_back_angry.wav", "angry", "tess:OAF", "female", "en"),
         ("YAF_pleasant_surprised/YAF_bath_ps.wav", "surprise", "tess:YAF", "female", "en"),
         ("OAF_neutral/OA_bite_neutral.wav", "neutral", "tess:OAF", "female", "en")],
    ),
    "emovo": (
        ["f1/dis-f1-b1.wav", "m3/gio-m3-l4.wav"], {},
        [("f1/dis-f1-b1.wav", "disgust", "emovo:f1", "female", "it"),
         ("m3/gio-m3-l4.wav", "happy", "emovo:m3", "male", "it")],
    ),
    "cafe": (
        ["Colère/Faible/01-C-1-1.wav", "Neutre/02-N-1.wav", "Tristesse/Fort/04-T-2-6.wav"], {},
        [("Colère/Faible/01-C-1-1.wav", "angry", "cafe:01", "male", "fr"),
         ("Neutre/02-N-1.wav", "neutral", "cafe:02", "female", "fr"),
         ("Tristesse/Fort/04-T-2-6.wav", "sad", "cafe:04", "female", "fr")],
    ),
    "iemocap": (
        ["Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav",
         "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav",
         "Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F002.wav"],
        {"Session1/dialog/EmoEvaluation/Ses01F_impro01.txt": IEMOCAP_EVAL},
        [("Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav", "neutral",
          "iemocap:Ses01F", "female", "en"),
         ("Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav", "excited",
          "iemocap:Ses01M", "male", "en"),
         ("Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F002.wav", "frustrated",
          "iemocap:Ses01F", "female", "en")],
    ),
    "nemo": (
        ["samples/SB0_anger_0.wav", "samples/KK1_sadness_3.wav"], {"data.tsv": NEMO_TSV},
        [("samples/SB0_anger_0.wav", "angry", "nemo:SB0", "male", "pl"),
         ("samples/KK1_sadness_3.wav", "sad", "nemo:KK1", "female", "pl")],
    ),
    "shemo": (
        ["female/F01A01.wav", "male/M12W03.wav"], {},
        [("female/F01A01.wav", "angry", "shemo:F01", "female", "fa"),
         ("male/M12W03.wav", "surprise", "shemo:M12", "male", "fa")],
    ),
    "aesdd": (
        ["anger/a01 (1).wav", "sadness/s12 (5).wav"], {},
        [("anger/a01 (1).wav", "angry", "aesdd:1", None, "el"),
         ("sadness/s12 (5).wav", "sad", "aesdd:5", None, "el")],
    ),
    "urdu": (
        ["Angry/SM1_F10_A010.wav", "Neutral/SF3_F2_N05.wav"], {},
        [("Angry/SM1_F10_A010.wav", "angry", "urdu:SM1", "male", "ur"),
         ("Neutral/SF3_F2_N05.wav", "neutral", "urdu:SF3", "female", "ur")],
    ),
    "emovdb": (
        ["bea_Amused/amused_1-15_0001.wav", "josh/Sleepy/sleepiness_57-84_0060.wav"], {},
        [("bea_Amused/amused_1-15_0001.wav", "amused", "emovdb:bea", "female", "en"),
         ("josh/Sleepy/sleepiness_57-84_0060.wav", "sleepy", "emovdb:josh", "male", "en")],
    ),
    "emotale": (
        ["DK_004_A_5.wav", "EN_004_H_1.wav", "DK_011_B_2.wav"],
        {"annotations.csv": EMOTALE_ANNOTATIONS, "speaker_info.csv": EMOTALE_SPEAKERS},
        [("DK_004_A_5.wav", "angry", "emotale:004", "female", "da"),
         ("EN_004_H_1.wav", "happy", "emotale:004", "female", "en"),
         ("DK_011_B_2.wav", "boredom", "emotale:011", None, "da")],
    ),
}


def test_every_release_has_a_case():
    assert set(CASES) == set(RELEASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_release_layout_is_detected_and_parsed(tmp_path, tree, name):
    files, texts, expected = CASES[name]
    root = tree(tmp_path / name, files, texts)

    assert detect_corpus(root) == name
    manifest = load_corpus(root)

    assert list(manifest.columns) == COLUMNS
    assert isinstance(manifest.index, pd.RangeIndex)
    assert len(manifest) == len(files)
    assert (manifest["corpus"] == name).all()
    rows = manifest.set_index("file")
    for relative, emotion, speaker, gender, language in expected:
        row = rows.loc[str((root / relative).resolve())]
        assert row["emotion"] == emotion
        assert row["speaker"] == speaker
        assert (row["gender"] is pd.NA) if gender is None else row["gender"] == gender
        assert row["language"] == language
    assert manifest["activation"].dtype == "float64"
    assert manifest["valence"].dtype == "float64"
    assert manifest["activation"].dropna().between(-1, 1).all()


def test_name_overrides_detection(tmp_path, tree):
    root = tree(tmp_path / "x", ["wav/03a01Fa.wav"])
    assert load_corpus(root, name="EmoDB")["corpus"].tolist() == ["emodb"]


def test_iemocap_keeps_dimensional_labels_and_merges_excited(tmp_path, tree):
    files, texts, _ = CASES["iemocap"]
    manifest = load_corpus(tree(tmp_path / "iemocap", files, texts)).set_index("emotion")
    assert manifest.loc["excited", "label4"] == "happy"
    assert manifest.loc["frustrated", "label4"] is pd.NA
    # [V, A, D] = [4.0, 4.5, 3.0] on 1..5 -> (A, V) = (0.75, 0.5)
    assert manifest.loc["excited", "activation"] == pytest.approx(0.75)
    assert manifest.loc["excited", "valence"] == pytest.approx(0.5)


def test_emotale_uses_mean_annotator_dimensions(tmp_path, tree):
    files, texts, _ = CASES["emotale"]
    manifest = load_corpus(tree(tmp_path / "emotale", files, texts)).set_index("emotion")
    # arousal (4.0 + 5.0) / 2 = 4.5 -> 0.75 ; valence (1.5 + 2.5) / 2 = 2.0 -> -0.5
    assert manifest.loc["angry", "activation"] == pytest.approx(0.75)
    assert manifest.loc["angry", "valence"] == pytest.approx(-0.5)
    # No annotations for DK_011_B_2: the category table fills in.
    assert not math.isnan(manifest.loc["boredom", "activation"])


def test_files_outside_the_convention_are_reported(tmp_path, tree):
    root = tree(tmp_path / "emodb", ["wav/03a01Fa.wav", "wav/03a01Nc.wav", "wav/readme.wav"])
    manifest = load_corpus(root, name="emodb")
    assert len(manifest) == 2
    assert manifest.attrs["skipped"] == [str(root / "wav/readme.wav")]


def test_hidden_resource_forks_are_ignored(tmp_path, tree):
    root = tree(tmp_path / "emodb", ["wav/03a01Fa.wav"])
    (root / "wav" / "._03a01Fa.wav").write_bytes(b"\0\5\26\7")
    assert len(load_corpus(root)) == 1
