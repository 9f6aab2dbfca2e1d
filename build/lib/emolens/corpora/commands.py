"""``emolens corpus``: detect and load a corpus, print counts, write the manifest."""

from __future__ import annotations

from pathlib import Path

import typer


def corpus(
    path: Path = typer.Argument(..., help="Corpus folder (release layout or one folder per "
                                "emotion) or a CSV manifest."),
    name: str | None = typer.Option(None, "--name", help="Corpus layout instead of detecting "
                                    "it (emodb, ravdess, cremad, ..., csv, folders)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the manifest CSV "
                                       "here."),
) -> None:
    """Load a corpus, print counts per emotion and speaker, and write its manifest."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from emolens.corpora import COLUMNS, CorpusError, load_corpus

    console = Console()
    try:
        manifest = load_corpus(path, name=name)
    except CorpusError as error:
        Console(stderr=True).print(f"[red]error:[/red] {escape(str(error))}", highlight=False,
                                   soft_wrap=True)
        raise typer.Exit(1) from None

    corpora = ", ".join(sorted(manifest["corpus"].dropna().unique()))
    console.print(f"[bold]{corpora}[/bold]: {len(manifest)} files, "
                  f"{manifest['speaker'].nunique()} speakers", highlight=False)
    skipped = manifest.attrs.get("skipped", [])
    if skipped:
        console.print(f"[yellow]{len(skipped)} audio file(s) do not follow the layout and were "
                      f"left out, e.g. {skipped[0]}[/yellow]", highlight=False, soft_wrap=True)

    emotions = Table(title="per emotion")
    for column in ("emotion", "label4", "files"):
        emotions.add_column(column, justify="right" if column == "files" else "left")
    counts = manifest.groupby(["emotion", manifest["label4"].fillna("-")], dropna=False).size()
    for (emotion, label4), count in counts.sort_values(ascending=False).items():
        emotions.add_row(str(emotion), str(label4), str(count))
    console.print(emotions)

    speakers = Table(title="per speaker")
    for column in ("speaker", "gender", "files"):
        speakers.add_column(column, justify="right" if column == "files" else "left")
    by_speaker = manifest.assign(speaker=manifest["speaker"].fillna("-"),
                                 gender=manifest["gender"].fillna("-"))
    for (speaker, gender), count in by_speaker.groupby(["speaker", "gender"]).size().items():
        speakers.add_row(str(speaker), str(gender), str(count))
    console.print(speakers)

    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        manifest[COLUMNS].to_csv(output, index=False, encoding="utf-8")
        console.print(f"wrote {output}", highlight=False)


from emolens.corpora.synthetic_commands import synth  # noqa: E402,F401
