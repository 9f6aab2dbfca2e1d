"""`emolens serve`: install hint, loopback by default, warning elsewhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from emolens.cli import app
from emolens.deploy.serve import commands

REAL_BIND_ERROR = commands.bind_error


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                       ("127.3.2.1", True), ("0.0.0.0", False), ("::", False),
                                       ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host, loop):
    assert commands.is_loopback(host) is loop


def test_without_the_extra_it_says_what_to_install(monkeypatch):
    monkeypatch.setattr(commands, "missing_packages", lambda: ["fastapi", "uvicorn"])
    res = CliRunner().invoke(app, ["serve"])
    assert res.exit_code == 2
    assert "error: emolens serve needs the optional web packages (fastapi, uvicorn missing)" in res.output
    assert "pip install 'emolens[serve]'" in res.output


def test_missing_packages_detects_an_unimportable_module(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import raises ImportError
    assert commands.missing_packages() == ["uvicorn"]


@pytest.fixture
def fake_server(monkeypatch):
    """Record what `serve` would run instead of running it."""
    import uvicorn

    import emolens.deploy.serve.app as app_mod

    seen = {}
    # nothing listens: whether port 8000 is free on this machine does not matter here
    monkeypatch.setattr(commands, "bind_error", lambda host, port: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(app=app, **kw))
    monkeypatch.setattr(app_mod, "create_app",
                        lambda predictor, settings, warm_up: seen.update(settings=settings,
                                                                        warm_up=warm_up) or "app")
    return seen


def test_loopback_by_default(fake_server, bundle_dir):
    res = CliRunner().invoke(app, ["serve", "--model", str(bundle_dir), "--max-duration", "30"])
    assert res.exit_code == 0, res.output
    assert fake_server["host"] == "127.0.0.1" and fake_server["port"] == 8000
    assert fake_server["warm_up"] is True and fake_server["settings"].max_duration == 30
    assert fake_server["settings"].keep is None
    assert "warning" not in res.output and "http://127.0.0.1:8000/" in res.output


def test_other_hosts_get_a_warning(fake_server, bundle_dir):
    res = CliRunner().invoke(app, ["serve", "--model", str(bundle_dir), "--host", "0.0.0.0",
                                   "--port", "8080"])
    assert res.exit_code == 0, res.output
    assert fake_server["host"] == "0.0.0.0" and fake_server["port"] == 8080
    assert "warning: listening on 0.0.0.0" in res.output and "no login" in res.output


def test_bad_options(fake_server, tmp_path, bundle_dir):
    (tmp_path / "f").write_text("x")
    res = CliRunner().invoke(app, ["serve", "--runs", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "not a folder" in res.output
    res = CliRunner().invoke(app, ["serve", "--keep", str(tmp_path / "f")])
    assert res.exit_code == 2 and "not a folder" in res.output
    res = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "not found" in res.output
    assert "app" not in fake_server


def test_a_busy_port_is_a_clear_error(fake_server, bundle_dir, monkeypatch):
    import socket

    monkeypatch.setattr(commands, "bind_error", REAL_BIND_ERROR)  # undo the fixture's stand-in

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        res = CliRunner().invoke(app, ["serve", "--model", str(bundle_dir), "--port", str(port)])
    assert res.exit_code == 2
    assert f"error: cannot listen on 127.0.0.1:{port}" in res.output and "--port" in res.output
    assert "app" not in fake_server
