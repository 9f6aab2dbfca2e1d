"""A full `emolens run` on the small synthetic corpora."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from emolens import LABELS
from emolens.evaluation.config import ConfigError, load_config
from emolens.evaluation.runner import run_experiment
from emolens.results import RESULT_COLUMNS
from emolens.results import load as load_results

CONFIG = """
name = "tiny"
protocol = "transfer"
folds = 2
seeds = [0, 1]
cache_dir = "{CACHE}"
bootstrap = 200

[corpora]
train = ["{A}"]
test = ["{B}"]

[models.svc]
[models.pca_svc]
[models.dae_svc]
epochs = 4
"""


@pytest.fixture(scope="module")
def tiny_runs(synth_corpora, tmp_path_factory):
    """The same experiment run twice into two folders."""
    a, b = synth_corpora["names"][:2]
    root = synth_corpora["root"]
    text = (
        CONFIG.replace("{A}", str(root / a / "manifest.csv"))
        .replace("{B}", str(root / b / "manifest.csv"))
        .replace("{CACHE}", str(synth_corpora["cache"]))
    )
    folder = tmp_path_factory.mktemp("runs")
    path = folder / "tiny.toml"
    path.write_text(text)
    config = load_config(path)
    outs = [run_experiment(config, out=folder / f"run{i}", progress=False) for i in range(2)]
    return config, outs


def test_run_writes_every_promised_file(tiny_runs):
    config, (out, _) = tiny_runs
    for name in ("config.toml", "manifest.csv", "features.parquet", "skipped.csv",
                 "results.csv", "predictions.parquet", "summary.md", "confusion/index.csv",
                 "test_sets.json", "shifts.json", "test_labels.csv"):
        assert (out / name).is_file(), name
    results = pd.read_csv(out / "results.csv")
    assert list(results.columns) == RESULT_COLUMNS
    # 3 models x 2 seeds x 2 folds x (train, valid, zero-shot)
    assert len(results) == 3 * 2 * 2 * 3
    a, b = sorted(set(results["train"])), sorted(set(results.loc[results.role == "test", "test"]))
    assert len(a) == 1 and len(b) == 1
    assert set(results["test"]) == {f"{a[0]}:train", f"{a[0]}:valid", b[0]}
    for model in ("svc", "pca_svc", "dae_svc"):
        for seed in (0, 1):
            for fold in (0, 1):
                assert (out / "models" / model / f"seed{seed}_fold{fold}").is_dir()
    index = pd.read_csv(out / "confusion" / "index.csv")
    assert len(index) == 3 * 2  # models x (valid, zero-shot)
    assert all((out / "confusion" / f).is_file() for f in index["csv"])
    assert not list((out / "confusion").glob("*.png"))  # the report shows them as tables
    run = load_results(out)  # everything above, read back through the one reader
    assert list(run.results.columns) == [*RESULT_COLUMNS, "unseen"]
    assert set(run.results.loc[run.results["unseen"], "test"]) == {b[0]}
    sets = run.test_sets.set_index("test")
    assert sets.loc[b[0], "corpora"] == [b[0]] and sets.loc[b[0], "train_corpora"] == a
    assert not sets.loc[f"{a[0]}:valid", "unseen"] and bool(sets.loc[b[0], "unseen"])
    assert set(run.confusions) == {(m, a[0], t) for m in ("svc", "pca_svc", "dae_svc")
                                   for t in (f"{a[0]}:valid", b[0])}
    assert run.latent_columns("dae_svc") == ["z1", "z2"] and run.latent_columns("svc") == []
    assert isinstance(run.shift_notes, list)
    summary = (out / "summary.md").read_text()
    assert all(note["text"] in summary for note in run.shift_notes)
    assert "| train | test | svc | pca_svc | dae_svc |" in summary
    assert "learned parameters" in summary and "skipped" in summary
    assert load_config(out / "config.toml").models[2].params == {"epochs": 4}


def test_test_labels_give_each_zero_shot_file_the_fits_majority(tiny_runs):
    from emolens.evaluation.metrics import scores

    _, (out, _) = tiny_runs
    labels = pd.read_csv(out / "test_labels.csv")
    preds = pd.read_parquet(out / "predictions.parquet")
    zero = preds[preds["role"] == "test"]
    assert list(labels.columns) == ["model", "train", "test", "file", "label", "agreement",
                                    "fits", "y_true"]
    assert len(labels) == zero.groupby(["model", "file"]).ngroups  # one row per model x file
    assert (labels["fits"] == 4).all()  # 2 seeds x 2 folds
    for row in labels.sample(20, random_state=0).itertuples():
        said = zero[(zero["model"] == row.model) & (zero["file"] == row.file)]["y_pred"]
        counts = said.value_counts()
        assert counts[row.label] == counts.max()
        assert row.agreement == counts[row.label] / len(said)
    summary = (out / "summary.md").read_text()
    assert "## One label per file" in summary
    dae = labels[labels["model"] == "dae_svc"]
    ua = 100 * scores(dae["y_true"].astype(str), dae["label"].astype(str))["ua"]
    assert f"| dae_svc | {dae['train'].iloc[0]} | {dae['test'].iloc[0]} | {len(dae)} | 4 | " \
        f"{ua:.1f} |" in summary


def test_predictions_have_latent_only_for_reducing_models(tiny_runs):
    _, (out, _) = tiny_runs
    p = pd.read_parquet(out / "predictions.parquet")
    assert {"file", "model", "seed", "fold", "test", "role", "y_true", "y_pred", "z1", "z2"} <= set(p.columns)
    assert p.loc[p.model == "svc", "z1"].isna().all()
    assert p.loc[p.model == "dae_svc", ["z1", "z2"]].notna().all().all()
    assert set(p["role"]) == {"train", "valid", "test"}
    assert set(p["y_pred"]) <= set(LABELS)


def test_results_match_predictions(tiny_runs):
    from sklearn.metrics import balanced_accuracy_score

    _, (out, _) = tiny_runs
    results = pd.read_csv(out / "results.csv")
    p = pd.read_parquet(out / "predictions.parquet")
    row = results[(results.model == "pca_svc") & (results.role == "test")].iloc[0]
    sel = p[(p.model == "pca_svc") & (p.seed == row.seed) & (p.fold == row.fold) & (p.test == row.test)]
    assert row.n == len(sel)
    assert row.ua == pytest.approx(balanced_accuracy_score(sel.y_true, sel.y_pred))
    assert row.ua_low <= row.ua <= row.ua_high


def test_models_learn_above_chance(tiny_runs):
    _, (out, _) = tiny_runs
    results = pd.read_csv(out / "results.csv")
    held = results[results.role != "train"]
    assert held.groupby("model")["ua"].mean().max() > 0.40
    assert results.loc[results.role == "train", "ua"].mean() > 0.5


def test_run_is_bit_for_bit_reproducible(tiny_runs):
    _, (one, two) = tiny_runs

    def digest(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert digest(one / "results.csv") == digest(two / "results.csv")
    p1 = pd.read_parquet(one / "predictions.parquet")
    p2 = pd.read_parquet(two / "predictions.parquet")
    pd.testing.assert_frame_equal(p1, p2, check_exact=True)


def test_other_protocols_run(synth_corpora, write_config, tmp_path):
    path = write_config(CONFIG.replace('"transfer"', '"loco"').replace('test = ["{B}"]', "test = []")
                        .replace('train = ["{A}"]', 'train = ["{A}", "{B}"]'))
    config = load_config(path)
    config.models = config.models[:1]
    config.seeds = [0]
    out = run_experiment(config, out=tmp_path / "loco", progress=False)
    results = pd.read_csv(out / "results.csv")
    assert sorted(results.loc[results.role == "test", "test"]) == sorted(synth_corpora["names"][:2])
    assert sorted(results["fold"].unique()) == [0, 1]

    path = write_config(CONFIG.replace('"transfer"', '"within"').replace('test = ["{B}"]', "test = []")
                        .replace("folds = 2", 'folds = "loso"'), name="within.toml")
    config = load_config(path)
    config.models = config.models[:1]
    config.seeds = [0]
    config.save_models = False
    out = run_experiment(config, out=tmp_path / "within", progress=False)
    results = pd.read_csv(out / "results.csv")
    assert set(results.loc[results.role == "test", "test"]) == {f"{synth_corpora['names'][0]}:loso"}
    assert len(results) == 2 * 4  # (train + loso row) x 4 speakers
    assert not (out / "models").exists()


def test_bad_model_parameter_is_a_config_error(write_config, tmp_path):
    with pytest.raises(ConfigError, match=r"dae_svc.*epochz.*Did you mean 'epochs'"):
        load_config(write_config(CONFIG.replace("epochs = 4", "epochz = 4")))


def test_cli_run(write_config, tmp_path):
    from typer import Typer
    from typer.testing import CliRunner

    from emolens.evaluation.commands import run

    app = Typer()
    app.command()(run)
    path = write_config(CONFIG.replace("seeds = [0, 1]", "seeds = [3]").replace(
        "[models.pca_svc]\n[models.dae_svc]\nepochs = 4", ""))
    result = CliRunner().invoke(app, [str(path), "--out", str(tmp_path / "cli"), "-q"])
    assert result.exit_code == 0, result.output
    assert "| train | test | svc |" in result.output
    assert (tmp_path / "cli" / "results.csv").is_file()
    bad = write_config("protocl = 'transfer'\n" + CONFIG, name="bad.toml")
    result = CliRunner().invoke(app, [str(bad)])
    assert result.exit_code == 2
    assert "unknown key 'protocl'" in result.output


def test_parallel_fits_give_the_same_results(tiny_runs, tmp_path):
    import copy

    config, (one, _) = tiny_runs
    config = copy.deepcopy(config)
    config.jobs = 2
    config.save_models = False
    out = run_experiment(config, out=tmp_path / "parallel", progress=False)
    assert (out / "results.csv").read_bytes() == (one / "results.csv").read_bytes()


def test_stratified_split_is_flagged_in_the_summary(write_config, tmp_path):
    path = write_config(CONFIG.replace('protocol = "transfer"', 'protocol = "transfer"\nsplit = "stratified"'))
    config = load_config(path)
    config.models, config.seeds, config.save_models = config.models[:1], [0], False
    out = run_experiment(config, out=tmp_path / "strat", progress=False)
    summary = (out / "summary.md").read_text()
    assert "speaker-dependent" in summary
    results = pd.read_csv(out / "results.csv")
    assert set(results["role"]) == {"train", "valid", "test"}


def test_a_corpus_in_train_and_test_is_refused(write_config, tmp_path):
    config = load_config(write_config(CONFIG.replace('test = ["{B}"]', 'test = ["{A}"]')))
    with pytest.raises(ConfigError, match="both in"):
        run_experiment(config, out=tmp_path / "same", progress=False)


def test_package_exports():
    import emolens.evaluation as ev

    assert ev.run_experiment is run_experiment
    assert issubclass(ev.LeakageError, ValueError)


def test_chunks_cover_every_task_once_in_bounded_pieces():
    from types import SimpleNamespace as NS

    from emolens.evaluation.runner import CHUNK_SIZE, _chunks

    specs = [NS(label="dae"), NS(label="svc")]
    splits = [NS(train_name=c, fold=f) for c in ("a", "b") for f in range(24)]  # LOSO-like
    tasks = [(spec, seed, split) for spec in specs for seed in (0, 1) for split in splits]
    chunks = _chunks(tasks)
    where = sorted(i for _, _, idx in chunks for i in idx)
    assert where == list(range(len(tasks)))
    for spec, runs, idx in chunks:
        assert 0 < len(runs) <= CHUNK_SIZE
        # one model and one training corpus per chunk, runs matching their task indices
        assert all(tasks[i][0] is spec and (tasks[i][1], tasks[i][2]) == r
                   for i, r in zip(idx, runs))
        assert len({tasks[i][2].train_name for i in idx}) == 1
    # 48 fits per model x corpus -> 3 equal pieces of 16
    assert sorted(len(r) for _, r, _ in chunks) == [16] * 12
    # the paper's 3 seeds x 5 folds stay one chunk, whatever the number of processes
    small = [(specs[0], seed, s) for seed in range(3) for s in splits[:5]]
    assert [len(r) for _, r, _ in _chunks(small)] == [15]
    assert [len(r) for _, r, _ in _chunks(small, jobs=2)] == [15]
    # ... but independent fits (no autoencoder) feed every process
    plain = [(NS(label="lr", model="logreg"), seed, s) for seed in range(3) for s in splits[:5]]
    assert [len(r) for _, r, _ in _chunks(plain)] == [15]
    assert [len(r) for _, r, _ in _chunks(plain, jobs=2)] == [8, 7]
    assert [len(r) for _, r, _ in _chunks(plain[:1], jobs=2)] == [1]


def test_independent_fits_hold_one_training_matrix_at_a_time(tiny_runs, tmp_path, monkeypatch):
    """A chunk of independent fits (no autoencoder) assembles one run's training rows at a
    time: with ComParE and channel copies each is ~0.4 GB, and a chunk of 8 held 8 at once.
    Autoencoders still train their runs together (lockstep)."""
    import copy

    from emolens.evaluation import runner

    config, (one, _) = tiny_runs
    config = copy.deepcopy(config)
    config.save_models = False
    sizes: dict[str, list[int]] = {}
    assemble = runner._training_rows

    def recording(spec, runs, data):
        sizes.setdefault(spec.label, []).append(len(runs))
        return assemble(spec, runs, data)

    monkeypatch.setattr(runner, "_training_rows", recording)
    out = run_experiment(config, out=tmp_path / "one_by_one", progress=False)
    runs = len(config.seeds) * config.folds
    assert sizes == {"svc": [1] * runs, "pca_svc": [1] * runs, "dae_svc": [runs]}
    assert (out / "results.csv").read_bytes() == (one / "results.csv").read_bytes()
