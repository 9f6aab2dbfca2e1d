"""[select] by = "loco": one candidate chosen by leave-one-corpus-out over the training
corpora, never by a test corpus; `emolens run --test`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emolens.evaluation.config import ConfigError, load_config, with_test
from emolens.evaluation.runner import run_experiment
from emolens.results import SELECTION as SELECTION_FILE
from quick_run import QUICK_RUN

CONFIG = """
name = "select"
""" + QUICK_RUN + """[select]
by = "loco"
[corpora]
train = ["{A}", "{B}"]
test = [TEST]
[models.svc]
[models.pca]
model = "pca_svc"
[models.shrunk]
model = "logreg"
shrink = 5
balance = "corpus"
"""


def _config(write_config, synth_corpora, test: bool, name: str):
    c = synth_corpora["names"][2]
    entry = f'"{synth_corpora["root"] / c / "manifest.csv"}"' if test else ""
    return load_config(write_config(CONFIG.replace("TEST", entry), name=name))


def test_selection_picks_the_best_mean_and_never_sees_the_test_corpus(
        write_config, synth_corpora, tmp_path):
    with_c = _config(write_config, synth_corpora, True, "a.toml")
    without = _config(write_config, synth_corpora, False, "b.toml")
    out1 = run_experiment(with_c, out=tmp_path / "with", progress=False)
    out2 = run_experiment(without, out=tmp_path / "without", progress=False)
    table = pd.read_csv(out1 / SELECTION_FILE)
    a, b, c = synth_corpora["names"][:3]
    assert list(table.columns) == ["model", "features", a, b, "mean", "worst", "selected"]
    assert set(table["features"]) == {"egemaps"}
    assert sorted(table["model"]) == ["pca", "shrunk", "svc"]
    assert table["selected"].sum() == 1
    best = table.loc[table["selected"]].iloc[0]
    assert best["mean"] == table["mean"].max()
    assert (table["mean"] - table[[a, b]].mean(axis=1)).abs().max() < 1e-9
    assert list(table["mean"]) == sorted(table["mean"], reverse=True)
    # the test corpus changes nothing in the selection
    pd.testing.assert_frame_equal(table, pd.read_csv(out2 / SELECTION_FILE))
    # only the winner is trained for the results, and the test corpus is scored
    results = pd.read_csv(out1 / "results.csv")
    assert set(results["model"]) == {best["model"]}
    assert c in set(results["test"])
    summary = (out1 / "summary.md").read_text()
    assert "## Selection" in summary and f"**{best['model']}** (selected)" in summary
    # the report shows the same table
    from types import SimpleNamespace

    from emolens import results as R
    from emolens.report.page import accuracy_section
    run = R.load(out1)
    pd.testing.assert_frame_equal(run.selection, table)
    ua = pd.DataFrame({"model": ["x"], "ua": [1.0]})
    html = accuracy_section(SimpleNamespace(run=run, accuracy={"ua": (ua, ua)}, confusions={},
                                            adaptation=None))
    assert "Selection: leave one corpus out" in html
    assert f"{best['model']} (selected)" in html and f"{best['mean']:.1f}" in html


def test_select_needs_two_training_corpora(write_config):
    text = CONFIG.replace('train = ["{A}", "{B}"]', 'train = ["{A}"]').replace("TEST", "")
    with pytest.raises(ConfigError, match="at least two"):
        load_config(write_config(text))


def test_select_rule_is_checked(write_config):
    text = CONFIG.replace('by = "loco"', 'by = "loko"').replace("TEST", "")
    with pytest.raises(ConfigError, match="Did you mean 'loco'"):
        load_config(write_config(text))


def test_balance_value_is_checked(write_config):
    text = CONFIG.replace('balance = "corpus"', 'balance = "corpora"').replace("TEST", "")
    with pytest.raises(ConfigError, match="balance"):
        load_config(write_config(text))


def test_with_test_replaces_the_test_corpora(write_config, synth_corpora):
    config = _config(write_config, synth_corpora, False, "c.toml")
    c = synth_corpora["names"][2]
    path = synth_corpora["root"] / c / "manifest.csv"
    assert with_test(config, [str(path)]).test[0].path == path
    with pytest.raises(ConfigError, match="--test"):
        with_test(config, [str(path.parent / "missing.csv")])


def test_cli_test_option(write_config, synth_corpora, tmp_path):
    from emolens.cli import app

    text = CONFIG.replace("TEST", "").replace("[select]\nby = \"loco\"\n", "")
    text = text.replace("[models.pca]\nmodel = \"pca_svc\"\n", "")
    path = write_config(text, name="cli.toml")
    c = synth_corpora["names"][2]
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o"), "-q",
                                   "--test", str(synth_corpora["root"] / c / "manifest.csv")])
    assert res.exit_code == 0, res.output
    results = pd.read_csv(tmp_path / "o" / "results.csv")
    assert c in set(results["test"])


def test_loco_summary_has_mean_and_worst(write_config, synth_corpora, tmp_path):
    text = (CONFIG.replace('protocol = "transfer"', 'protocol = "loco"')
            .replace('[select]\nby = "loco"\n', "").replace("TEST", "")
            .replace('[models.pca]\nmodel = "pca_svc"\n', ""))
    out = run_experiment(load_config(write_config(text, name="loco.toml")), out=tmp_path / "l",
                         progress=False)
    results = pd.read_csv(out / "results.csv")
    from emolens import results as R
    assert R.load(out).selection is None  # no [select]: no table, nothing on the page
    a, b = synth_corpora["names"][:2]
    svc = results[(results["model"] == "svc") & (results["role"] == "test")]
    per = svc.groupby("test")["ua"].mean() * 100
    summary = (out / "summary.md").read_text()
    assert "## Leave one corpus out: per held-out corpus, mean and worst" in summary
    section = summary.split("## Leave one corpus out")[1]
    line = next(x for x in section.splitlines() if x.startswith("| svc |"))
    cells = [float(c) for c in line.strip("|").split("|")[1:]]
    assert cells == pytest.approx([round(per[a], 1), round(per[b], 1),
                                   round(per.mean(), 1), round(per.min(), 1)], abs=0.051)


def test_a_test_corpus_without_speaker_ids_is_named(write_config, synth_corpora, tmp_path):
    from emolens.cli import app

    text = CONFIG.replace("TEST", "").replace("[select]\nby = \"loco\"\n", "")
    text = text.replace("[models.pca]\nmodel = \"pca_svc\"\n", "").replace(
        "[models.shrunk]\nmodel = \"logreg\"\nshrink = 5\nbalance = \"corpus\"\n", "")
    path = write_config(text, name="nospk.toml")
    c = synth_corpora["names"][2]
    source = synth_corpora["root"] / c / "manifest.csv"
    frame = pd.read_csv(source)
    frame["file"] = [str((source.parent / f).resolve()) for f in frame["file"]]
    plain = tmp_path / "plain.csv"
    frame.drop(columns=["speaker", "corpus"]).to_csv(plain, index=False)
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "o"), "-q",
                                   "--test", str(plain)])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "corpus plain has no speaker ids" in said
    assert not any(f"corpus {n} has no speaker ids" in said for n in synth_corpora["names"][:2])
    assert "plain" in set(pd.read_csv(tmp_path / "o" / "results.csv")["test"])


def test_adapt_value_is_checked(write_config):
    text = CONFIG.replace('balance = "corpus"', 'adapt = "pseudo"').replace("TEST", "")
    with pytest.raises(ConfigError, match="Did you mean 'pseudo-labels'"):
        load_config(write_config(text))


def test_adapt_changes_only_the_zero_shot_predictions(write_config, synth_corpora, tmp_path):
    """``adapt = "pseudo-labels"``: held-out corpora are predicted after adapting to their own
    utterances; the training and validation rows are those of the same model unadapted."""
    from emolens import results as R

    text = (CONFIG.replace('protocol = "transfer"', 'protocol = "loco"')
            .replace('[select]\nby = "loco"\n', "").replace("TEST", "")
            .replace('[models.pca]\nmodel = "pca_svc"\n', "")
            .replace("[models.svc]\n", "")
            + '[models.adapted]\nmodel = "logreg"\nshrink = 5\nbalance = "corpus"\n'
              'adapt = "pseudo-labels"\n')
    out = run_experiment(load_config(write_config(text, name="adapt.toml")), out=tmp_path / "a",
                         progress=False)
    preds = R.load(out).predictions
    key = ["file", "seed", "fold", "train", "test", "role"]
    plain = preds[preds["model"] == "shrunk"].set_index(key).sort_index()
    adapted = preds[preds["model"] == "adapted"].set_index(key).sort_index()
    assert plain.index.equals(adapted.index)
    test = plain.index.get_level_values("role") == "test"
    assert (plain["y_pred"][~test] == adapted["y_pred"][~test]).all()
    changed = (plain["y_pred"][test] != adapted["y_pred"][test]).mean()
    results = R.load(out).results
    used = results.loc[results["model"] == "adapted"].set_index("role")["adapted"]
    assert (used.loc["test"] > 0).all() and used.drop("test").isna().all()
    assert results.loc[results["model"] == "shrunk", "adapted"].isna().all()
    # the same fits scored unadapted: exactly the scores of the same model without adapt
    key = ["test", "role", "seed", "fold", "train"]
    mine = results[results["model"] == "adapted"].set_index(key).sort_index()
    theirs = results[results["model"] == "shrunk"].set_index(key).sort_index()
    on_test = mine.index.get_level_values("role") == "test"
    np.testing.assert_allclose(mine["ua_unadapted"][on_test], theirs["ua"][on_test])
    assert mine["ua_unadapted"][~on_test].isna().all()
    assert results.loc[results["model"] == "shrunk", "ua_unadapted"].isna().all()
    # the report says which test sets were adapted
    from types import SimpleNamespace

    from emolens.evaluation.runner import adaptation_table
    from emolens.report.page import accuracy_section
    table = adaptation_table(results)
    assert set(table["model"]) == {"adapted"}
    assert (table["adapted fits"] == table["fits"]).all()
    assert (table["median pseudo-labels"] > 0).all()
    assert {"UA % unadapted", "UA % adapted"} <= set(table.columns)
    assert adaptation_table(results[results["model"] == "shrunk"]) is None
    ua = pd.DataFrame({"model": ["x"], "ua": [1.0]})
    html = accuracy_section(SimpleNamespace(run=R.load(out), accuracy={"ua": (ua, ua)},
                                            confusions={}, adaptation=table))
    assert "Adapted to the test corpus" in html and "median pseudo-labels" in html
    summary = (out / "summary.md").read_text()
    assert changed > 0 and "not adapted" not in summary
    assert "## Adapted to the zero-shot test sets" in summary and "UA % unadapted" in summary


def test_candidates_may_each_have_a_feature_set(write_config, synth_corpora, tmp_path):
    """[select] chooses the feature set too: every candidate is scored on its own features and
    the run continues on the winner's (features.parquet, the saved models' metadata)."""
    text = CONFIG.replace("TEST", "").replace("save_models = false", "save_models = true")
    text = text.replace("[models.svc]\n", '[models.svc]\nfeatures = "gemaps"\n')
    text = text.replace('model = "logreg"\n', 'model = "logreg"\nfeatures = "gemaps"\n')
    config = load_config(write_config(text, name="sets.toml"))
    expected = {"svc": "gemaps", "pca": "egemaps", "shrunk": "gemaps"}
    assert {s.label: s.features for s in config.models} == expected
    out = run_experiment(config, out=tmp_path / "sets", progress=False)
    table = pd.read_csv(out / SELECTION_FILE)
    assert dict(zip(table["model"], table["features"])) == expected
    winner = table.loc[table["selected"]].iloc[0]
    width = {"egemaps": 88, "gemaps": 62}[winner["features"]]
    assert pd.read_parquet(out / "features.parquet").shape[1] == width
    assert f"features {winner['features']}" in (out / "summary.md").read_text()
    import json
    meta = json.loads(next((out / "models" / winner["model"]).glob("*/*.json")).read_text())
    assert meta.get("features", meta.get("metadata", {}).get("features")) == winner["features"]


def test_the_run_continues_on_the_selected_feature_set(write_config, synth_corpora, tmp_path):
    """Every candidate on its own set (not the top-level one): only that set is read."""
    text = CONFIG.replace("TEST", "")
    text = text.replace('[models.pca]\nmodel = "pca_svc"\n', "")
    text = text.replace("[models.svc]\n", '[models.svc]\nfeatures = "gemaps"\n')
    text = text.replace('model = "logreg"\n', 'model = "logreg"\nfeatures = "gemaps"\n')
    out = run_experiment(load_config(write_config(text, name="g.toml")), out=tmp_path / "g",
                         progress=False)
    assert set(pd.read_csv(out / SELECTION_FILE)["features"]) == {"gemaps"}
    assert pd.read_parquet(out / "features.parquet").shape[1] == 62
    assert "features gemaps" in (out / "summary.md").read_text()


def test_a_models_own_feature_set_needs_select(write_config):
    text = CONFIG.replace("TEST", "").replace("[select]\nby = \"loco\"\n", "")
    text = text.replace('[models.pca]\nmodel = "pca_svc"\n',
                        '[models.pca]\nmodel = "pca_svc"\nfeatures = "gemaps"\n')
    with pytest.raises(ConfigError, match=r"\[models.pca\].features.*needs \[select\]"):
        load_config(write_config(text))


def test_a_models_feature_set_is_checked(write_config):
    text = CONFIG.replace("TEST", "").replace('[models.pca]\nmodel = "pca_svc"\n',
                                              '[models.pca]\nmodel = "pca_svc"\nfeatures = "egemap"\n')
    with pytest.raises(ConfigError, match="Did you mean 'egemaps'"):
        load_config(write_config(text))
