"""Experiment configuration: parsing, path resolution and clear errors."""

from pathlib import Path

import pytest

from emolens.evaluation.config import ConfigError, load_config

GOOD = """
name = "t"
protocol = "transfer"
seeds = [0, 1]
output = "out"

[corpora]
train = ["a/manifest.csv"]
test = [{path = "b", name = "bee"}]

[models.svc]
[models.small]
model = "pca_svc"
n_components = 2
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "manifest.csv").write_text("file\n")
    (tmp_path / "b").mkdir()
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "exp.toml"
    path.write_text(text)
    return path


def test_good_config_resolves_paths_against_its_folder(folder, monkeypatch):
    monkeypatch.chdir("/")
    cfg = load_config(write(folder, GOOD))
    assert cfg.train[0].path == (folder / "a" / "manifest.csv").resolve()
    assert cfg.test[0].path == (folder / "b").resolve() and cfg.test[0].name == "bee"
    assert cfg.output == (folder / "out").resolve()
    assert [m.label for m in cfg.models] == ["svc", "small"]
    assert cfg.models[1].model == "pca_svc" and cfg.models[1].params == {"n_components": 2}
    assert cfg.seeds == [0, 1] and cfg.folds == 5 and cfg.split == "speaker"


def test_models_as_list(folder):
    cfg = load_config(write(folder, GOOD.split("[models.svc]")[0].replace(
        'name = "t"', 'name = "t"\nmodels = ["svc", "dae_svc"]')))
    assert [m.model for m in cfg.models] == ["svc", "dae_svc"]


def test_unknown_key_is_named_with_suggestion(folder):
    with pytest.raises(ConfigError, match=r"unknown key 'protocl'.*Did you mean 'protocol'"):
        load_config(write(folder, GOOD.replace("protocol =", "protocl =")))
    with pytest.raises(ConfigError, match=r"unknown key 'tset' in \[corpora\].*'test'"):
        load_config(write(folder, GOOD.replace("test =", "tset =")))


def test_missing_path_is_reported(folder):
    with pytest.raises(ConfigError, match=r"\[corpora\].train\[0\].*'nope' does not exist"):
        load_config(write(folder, GOOD.replace("a/manifest.csv", "nope")))


def test_bad_protocol_lists_the_allowed_ones(folder):
    with pytest.raises(ConfigError, match=r"'protocol' must be one of .*'transfer'.*'loco'"):
        load_config(write(folder, GOOD.replace('"transfer"', '"transfr"')))


@pytest.mark.parametrize(
    "old,new,message",
    [
        ("seeds = [0, 1]", "seeds = []", "seeds"),
        ("seeds = [0, 1]", "folds = 1", "folds"),
        ('model = "pca_svc"', 'model = "pca_svm"', "unknown model 'pca_svm'"),
        ("[corpora]", "[corporra]", "corporra"),
        ("test = [", "test = [{name = 'x'}, ", "needs a 'path'"),
    ],
)
def test_other_errors(folder, old, new, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(folder, GOOD.replace(old, new)))


def test_not_toml_and_missing_file(folder):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(folder, "x = = 1"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(folder / "missing.toml")


def test_report_table(folder):
    cfg = load_config(write(folder, GOOD + "\n[report]\nablation = true\nmax_fits = 2\n"))
    assert cfg.report == {"ablation": True, "max_fits": 2}
    assert load_config(write(folder, GOOD)).report == {}
    with pytest.raises(ConfigError, match=r"unknown key 'ablaton' in \[report\].*'ablation'"):
        load_config(write(folder, GOOD + "\n[report]\nablaton = true\n"))
    with pytest.raises(ConfigError, match=r"\[report\].ablation must be true or false"):
        load_config(write(folder, GOOD + "\n[report]\nablation = 1\n"))
    with pytest.raises(ConfigError, match=r"\[report\].max_samples must be an integer >= 10"):
        load_config(write(folder, GOOD + "\n[report]\nmax_samples = 3\n"))


def test_report_table_round_trips_through_config_toml(folder):
    from emolens.evaluation.runner import config_toml

    cfg = load_config(write(folder, GOOD + "\n[report]\nablation = true\n"))
    again = load_config(write(folder, config_toml(cfg)))
    assert again.report == {"ablation": True}


def test_normalisation_vocabulary_is_decided_once_per_model(folder):
    text = GOOD.replace('name = "t"', 'name = "t"\nnormalisation = "corpus"') + 'by = "speaker"\n'
    cfg = load_config(write(folder, text))
    assert cfg.normalisation == "corpus"
    assert [(m.label, m.normalisation) for m in cfg.models] == [("svc", "corpus"),
                                                                ("small", "speaker")]
    assert load_config(write(folder, GOOD)).normalisation == "none"
    with pytest.warns(FutureWarning, match="'global' is deprecated, write 'none'"):
        cfg = load_config(write(folder, GOOD.replace('name = "t"',
                                                     'name = "t"\nnormalisation = "global"')))
    assert cfg.normalisation == "none" and {m.normalisation for m in cfg.models} == {"none"}
    with pytest.raises(ConfigError, match=r"'\[models.small\].by' must be one of"):
        load_config(write(folder, GOOD + 'by = "utterance"\n'))
    with pytest.raises(ConfigError, match="'normalisation' must be one of .*Did you mean 'speaker'"):
        load_config(write(folder, GOOD.replace('name = "t"', 'name = "t"\nnormalisation = "speakr"')))


def test_report_latent_axes(folder):
    cfg = load_config(write(folder, GOOD + '\n[report]\nlatent_axes = "own"\n'))
    assert cfg.report == {"latent_axes": "own"}
    with pytest.raises(ConfigError, match=r"\[report\].latent_axes must be one of 'auto'"):
        load_config(write(folder, GOOD + '\n[report]\nlatent_axes = "mine"\n'))
