"""`emolens predict FOLDER`: an emotion folder is never a normalisation group."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from emolens.corpora import folder_groups
from emolens.deploy.predict import Predictor


def _touch(root, *names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return [str((root / name).resolve()) for name in names]


@pytest.mark.parametrize("by", ["speaker", "corpus"])
def test_one_folder_per_emotion_is_one_group(tmp_path, by):
    files = _touch(tmp_path, "angry/a.wav", "Happy/b.wav", "sad/c.wav")
    groups, _, rule = folder_groups(tmp_path, files, by)
    assert groups == [str(tmp_path.resolve())] * 3 and "whole folder" in rule


def test_a_recognised_layout_gives_its_speakers(tmp_path):
    files = _touch(tmp_path, "OAF_angry/OAF_back_angry.wav", "OAF_Sad/OAF_back_sad.wav",
                   "YAF_angry/YAF_back_angry.wav")
    groups, _, rule = folder_groups(tmp_path, files, "speaker")
    assert groups == ["tess:OAF", "tess:OAF", "tess:YAF"] and "TESS" in rule
    assert folder_groups(tmp_path, files, "corpus").groups == [str(tmp_path.resolve())] * 3


def test_a_folder_of_corpora_gives_each_corpus_its_rules_and_set(tmp_path):
    files = _touch(tmp_path, "tess/OAF_angry/OAF_back_angry.wav",
                   "tess/YAF_sad/YAF_back_sad.wav", "mine/angry/a.wav", "mine/sad/b.wav",
                   "extra/spk1/x.wav", "loose.wav")
    found = folder_groups(tmp_path, files, "speaker")
    root = tmp_path.resolve()
    assert found.groups == ["tess:OAF", "tess:YAF", str(root / "mine"), str(root / "mine"),
                            str(root / "extra" / "spk1"), str(root)]
    assert found.sets == [str(root / "tess")] * 2 + [str(root / "mine")] * 2 + [str(root)] * 2
    assert "tess/: the speakers of the TESS layout" in found.rule
    assert "mine/: the whole folder (one folder per emotion)" in found.rule


def test_speaker_folders_above_emotion_folders_give_the_speakers(tmp_path):
    files = _touch(tmp_path, "0011/Angry/a.wav", "0011/Sad/train/b.wav", "0012/Happy/c.wav")
    found = folder_groups(tmp_path, files, "speaker")
    assert [g.split(":")[-1] for g in found.groups] == ["0011", "0011", "0012"]
    assert len({g.split(":")[0] for g in found.groups}) == 1 and "emotion folders" in found.rule
    assert folder_groups(tmp_path, files, "corpus").groups == [str(tmp_path.resolve())] * 3


def test_a_folder_of_emotion_folder_corpora_keeps_them_apart(tmp_path):
    files = _touch(tmp_path, "a/angry/1.wav", "a/sad/2.wav", "b/happy/3.wav", "b/sad/4.wav")
    found = folder_groups(tmp_path, files, "speaker")
    root = tmp_path.resolve()
    assert found.groups == [str(root / "a")] * 2 + [str(root / "b")] * 2
    assert found.sets == found.groups


def test_unknown_layouts_group_by_speaker_like_folders_only(tmp_path):
    """A folder named by a word (an emotion or an intensity in any language, a gender) is
    never a group; one named like an id (with a digit) is."""
    files = _touch(tmp_path, "spk1/x.wav", "spk2/angry/y.wav", "spk2/sadness/z.wav",
                   "top.wav", "Fort/Faible/a.wav", "female/F01/b.wav",
                   "Session1/anna/c.wav", "03_happy/d.wav")
    groups, _, rule = folder_groups(tmp_path, files, "speaker")
    root = tmp_path.resolve()
    assert groups == [str(root / "spk1"), str(root / "spk2"), str(root / "spk2"), str(root),
                      str(root), str(root / "female" / "F01"), str(root / "Session1"),
                      str(root)]
    assert "speaker or session" in rule


def test_predicting_emotion_folders_keeps_the_emotion(bundle, synth, tmp_path):
    """Before: each emotion folder was z-scored alone, which removed the emotion."""
    m = synth["manifest"]
    m = m[m["corpus"] == synth["names"][1]]
    for row in m.itertuples():
        folder = tmp_path / "corpus" / row.emotion
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(row.file, folder / f"{row.speaker.replace(':', '_')}_{row.Index}.wav")
    predictor = Predictor(bundle, adapt=False)
    out = predictor.predict_files(tmp_path / "corpus", cache_dir=synth["cache"])
    assert "one folder per emotion" in out.normalisation
    truth = [f.rsplit("/", 2)[1] for f in out.table["file"]]
    ua = balanced_accuracy_score(truth, out.table["label"])
    feats = synth["features"].loc[m["file"]]
    by_emotion = predictor.apply(feats, list(m["emotion"])).table["label"]
    ua_by_emotion = balanced_accuracy_score(m["emotion"], by_emotion)
    assert ua >= 0.4 and ua >= ua_by_emotion + 0.15, (ua, ua_by_emotion)
    assert np.isfinite(out.table["ood_score"]).all()
