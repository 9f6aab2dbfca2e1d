"""build_report and `emolens report` on a constructed results directory."""

from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest

from emolens.report import ReportError, build_report


def test_report_is_self_contained_and_complete(results_dir):
    path = build_report(results_dir, max_samples=60, n_repeats=2, max_fits=2)
    text = path.read_text(encoding="utf-8")
    assert path == results_dir / "report.html"
    # self-contained: no external resources, figures inlined
    assert not re.search(r'(src|href)="https?:', text)
    assert "<script" not in text and "<link" not in text
    assert text.count('src="data:image/png;base64,') >= 6
    for heading in ("Findings of the paper", "Accuracy", "Latent space", "Physical",
                    "Input features"):
        assert heading in text
    assert "svc on b: collapse" in text  # warnings of the run (shifts.json)
    out = results_dir / "interpret"
    findings = json.loads((out / "findings.json").read_text())
    assert [f["status"] in {"holds", "partly", "fails", "n/a"} for f in findings] == [True] * 3
    # constructed data: loudness carries the emotion, so it must lead the permutation importance
    perm = pd.read_csv(out / "permutation.csv")
    assert perm.groupby("group")["importance"].mean().idxmax() == "loudness"
    verdicts = pd.read_csv(out / "verdicts.csv")
    assert len(verdicts) == 2 and verdicts["verdict"].str.startswith("z").all()
    for name in ("accuracy_ua", "latent_summary", "separations", "spearman", "deeplift",
                 "occlusion"):
        assert (out / f"{name}.csv").is_file(), name
    summary = pd.read_csv(out / "latent_summary.csv")
    assert set(summary["factor"]) >= {"emotion", "corpus", "speaker"}


def test_report_without_saved_models(results_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(results_dir, run, ignore=shutil.ignore_patterns("models", "interpret",
                                                                    "report.html"))
    text = build_report(run).read_text(encoding="utf-8")
    assert "Attributions skipped: no saved pipeline" in text
    assert json.loads((run / "interpret" / "findings.json").read_text())[2]["status"] == "n/a"


def test_report_errors(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        build_report(tmp_path / "nope")
    with pytest.raises(ReportError, match="missing results.csv"):
        build_report(tmp_path)
    with pytest.raises(TypeError, match="unknown report option"):
        build_report(tmp_path, colour="red")


def test_cli_report(results_dir, tmp_path):
    from typer.testing import CliRunner

    from emolens.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "missing" in res.output
    res = runner.invoke(app, ["report", str(results_dir), "--latent-axes", "mine"])
    assert res.exit_code == 2 and "--latent-axes must be auto, shared or own" in res.output
    res = runner.invoke(app, ["report", str(results_dir), "--max-samples", "40", "--repeats", "1",
                              "--max-fits", "1", "--quiet", "--latent-axes", "own"])
    assert res.exit_code == 0, res.output
    assert "each corpus on its own axes" in (results_dir / "report.html").read_text()
    assert (results_dir / "report.html").is_file()


def test_report_in_two_processes_with_run_confusions_and_ablation(results_dir, tmp_path):
    from emolens.evaluation.confusions import write_confusions
    from emolens.report import ReportOptions

    run = tmp_path / "run"
    shutil.copytree(results_dir, run, ignore=shutil.ignore_patterns("interpret", "report.html"))
    write_confusions(pd.read_parquet(run / "predictions.parquet"), run)  # as `emolens run`
    opts = ReportOptions(max_samples=40, n_repeats=1, max_fits=1, ablation=True, jobs=2)
    text = build_report(run, opts).read_text(encoding="utf-8")
    # 10 figures (latent, shift arrows, angle heatmaps, separations, correlations, (ii) and
    # (iii) per corpus, DeepLIFT, occlusion, permutation); the 4 confusion matrices (2 models
    # x 2 zero-shot corpora) are HTML tables
    assert text.count('src="data:image/png;base64,') == 10
    assert text.count('<table class="cm">') == 4
    assert "Group ablation" in text and {"latent", "attribution", "ablation"} <= set(opts.timings)
    ablation = pd.read_csv(run / "interpret" / "ablation.csv")
    assert len(ablation) == 27
    # constructed data: only loudness carries the emotion
    assert ablation.set_index("group")["delta"].idxmin() == "loudness"
    assert (run / "interpret" / "deeplift.csv").is_file()


def test_caveats_one_class_fit_and_deeplift_class_without_a_correct_utterance(results_dir,
                                                                              tmp_path):
    run = tmp_path / "run"
    shutil.copytree(results_dir, run, ignore=shutil.ignore_patterns("interpret", "report.html"))
    preds = pd.read_parquet(run / "predictions.parquet")
    mine = preds["model"] == "uae_svc"
    held = preds["role"] != "train"
    # fit seed 0: no held-out happy utterance classified correctly
    wrong = mine & held & (preds["seed"] == 0) & (preds["y_true"] == "happy")
    preds.loc[wrong, "y_pred"] = "sad"
    # fit seed 1 predicts "sad" for every utterance of test set c
    preds.loc[mine & (preds["seed"] == 1) & (preds["test"] == "c"), "y_pred"] = "sad"
    preds.to_parquet(run / "predictions.parquet", index=False)
    text = build_report(run, max_samples=40, n_repeats=1, max_fits=2).read_text(
        encoding="utf-8")
    assert "No panel for happy: this fit classified no held-out happy utterance" in text
    assert ("Caveat: fit seed 1 fold 0 predicts only “sad” on c. A fit that predicts one "
            "class everywhere") in text
    deeplift = pd.read_csv(run / "interpret" / "deeplift.csv")
    assert "happy" not in set(deeplift["emotion"])
    # the training corpus is named only when the run has several
    assert "fold 0, trained on" not in text


def test_analyses_apart_from_the_page(results_dir, tmp_path):
    from emolens.report import ReportOptions
    from emolens.report.build import analyse, interpret_tables
    from emolens.report.page import report_page
    from emolens.results import load

    run = tmp_path / "run"
    shutil.copytree(results_dir, run, ignore=shutil.ignore_patterns("interpret", "report.html"))
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    opts = ReportOptions(max_samples=40, n_repeats=1, max_fits=1)
    data = analyse(load(run), opts)
    assert sorted(p.relative_to(run) for p in run.rglob("*")) == before  # nothing written
    assert data.model == "uae_svc" and len(data.findings) == 3
    tables = interpret_tables(data)
    assert {"findings.json", "findings.csv", "latent_summary.csv", "deeplift.csv"} <= set(tables)
    assert list(tables["findings.csv"]["finding"]) == ["i", "ii", "iii"]
    html = report_page(data, opts, ["interpret/findings.csv"]).render()
    assert "Findings of the paper" in html and "<code>interpret/findings.csv</code>" in html


def test_a_run_without_a_latent_still_explains_its_decisions(results_dir, tmp_path):
    """A raw-feature model alone (experiments/transfer.toml's logistic regression): no latent
    sections, but its decisions are attributed to feature groups (occlusion, permutation)."""
    run = tmp_path / "raw"
    shutil.copytree(results_dir, run, ignore=shutil.ignore_patterns("interpret", "report.html"))
    shutil.rmtree(run / "models" / "uae_svc")
    for name in ("results.csv", "predictions.parquet"):
        path = run / name
        frame = pd.read_csv(path) if name.endswith(".csv") else pd.read_parquet(path)
        frame = frame[frame["model"] == "svc"].dropna(axis=1, how="all")
        frame.to_csv(path, index=False) if name.endswith(".csv") else frame.to_parquet(path)
    shutil.rmtree(run / "confusion", ignore_errors=True)
    text = build_report(run, max_samples=60, n_repeats=2, max_fits=2).read_text(encoding="utf-8")
    assert "No model of this run has a latent" in text
    assert "Held-out permutation importance" in text and "decision score" in text
    perm = pd.read_csv(run / "interpret" / "permutation.csv")
    assert perm.groupby("group")["importance"].mean().idxmax() == "loudness"
    assert (run / "interpret" / "occlusion.csv").is_file()
