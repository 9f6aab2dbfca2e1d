"""``emolens synth``: write the built-in synthetic corpora."""

from __future__ import annotations

from pathlib import Path

import typer


def synth(
    out_dir: Path = typer.Argument(..., help="Output folder, e.g. data/synthetic."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed writes identical "
                             "files."),
    speakers: int = typer.Option(6, "--speakers", min=1, help="Speakers per corpus "
                                 "(alternately male and female)."),
    utterances: int = typer.Option(8, "--utterances", min=1, help="Utterances per speaker "
                                   "and emotion."),
    corpora: int = typer.Option(3, "--corpora", min=1, help="How many synthetic corpora "
                                "(synth-a, synth-b, ...)."),
    force: bool = typer.Option(False, "--force", help="Regenerate even if matching output "
                               "exists."),
) -> None:
    """Write synthetic emotional speech corpora (wav files + manifest.csv).

    The audio is synthetic (a source-filter synthesiser, not recorded speech); see
    docs/synthetic.md.
    """
    from rich.console import Console
    from rich.table import Table

    from emolens.corpora.synthetic import DEFAULT_CORPORA, generate

    console = Console()
    if corpora > len(DEFAULT_CORPORA):
        console.print(f"[red]error:[/red] --corpora must be at most {len(DEFAULT_CORPORA)}, "
                      f"got {corpora}", highlight=False)
        raise typer.Exit(1)
    manifest = generate(out_dir, corpora=corpora, speakers_per_corpus=speakers,
                        utterances_per_emotion=utterances, seed=seed, force=force)

    specs = {spec.name: spec for spec in DEFAULT_CORPORA}
    table = Table(title=f"synthetic corpora in {out_dir}")
    for column in ("corpus", "language", "channel", "sample rate", "speakers", "files"):
        table.add_column(column, justify="right" if column in ("sample rate", "speakers",
                                                                "files") else "left")
    for name, group in manifest.groupby("corpus", sort=True):
        spec = specs[name]
        table.add_row(name, spec.language, spec.channel, f"{spec.sample_rate} Hz",
                      str(group["speaker"].nunique()), str(len(group)))
    console.print(table)
    console.print(f"manifest: {out_dir / 'manifest.csv'} ({len(manifest)} files, "
                  f"{manifest['label4'].nunique()} emotions; one manifest.csv per corpus "
                  "folder too)", highlight=False, soft_wrap=True)
