from typer.testing import CliRunner

from emolens.cli import app


def test_config_error_names_the_table_verbatim(tmp_path):
    # "[corpora]" must reach the user; rich would read an unescaped one as markup
    config = tmp_path / "bad.toml"
    config.write_text('[corpora]\ntrain = ["x"]\nfoo = 1\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert "unknown key 'foo' in [corpora]" in result.output
