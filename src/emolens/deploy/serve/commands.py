"""``emolens serve``."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Optional

import typer

from emolens.deploy.commands import Classes

#: Modules of the optional extra, with the distribution that provides each.
EXTRA = {"fastapi": "fastapi", "uvicorn": "uvicorn", "python_multipart": "python-multipart"}


def missing_packages() -> list[str]:
    """Distributions of the ``serve`` extra that cannot be imported."""
    import importlib

    missing = []
    for module, dist in EXTRA.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(dist)
    return missing


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_error(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on (None: it can)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as err:
        return f"unknown host {host!r} ({err.strerror})"
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as err:
            return err.strerror or str(err)
    return None


def serve(
    model: Annotated[
        Optional[Path], typer.Option("--model", "-m", help="Model bundle (default: the built-in model).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on. Only loopback by default; "
                                           "another address serves everyone who can reach it.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
    keep: Annotated[
        Optional[Path], typer.Option("--keep", help="Keep uploaded audio in this folder "
                                                    "(default: nothing is kept after the answer).")
    ] = None,
    runs: Annotated[
        Optional[Path], typer.Option("--runs", help="Folder of `emolens run` outputs to browse "
                                                    "in a second tab.")
    ] = None,
    max_upload_mb: Annotated[float, typer.Option(min=0.1, help="Largest upload (all files of "
                                                             "one request), MB.")] = 200.0,
    max_duration: Annotated[float, typer.Option(min=1.0, help="Longest file, seconds.")] = 600.0,
    max_files: Annotated[int, typer.Option(min=1, help="Most files per request.")] = 100,
    classes: Classes = None,
    no_verify: Annotated[bool, typer.Option(
        "--no-verify", help="Load a bundle whose files differ from the SHA-256 hashes in its "
                            "bundle.json (one you edited on purpose).")] = False,
) -> None:
    """A local web page: add recordings, see where they land on the model's latent map,
    why (feature groups, DeepLIFT), and the timeline of long clips; JSON API under /api
    (docs/serve.md). Needs: pip install 'emolens\\[serve]'.
    """
    from rich.console import Console

    err = Console(stderr=True, soft_wrap=True, highlight=False)
    missing = missing_packages()
    if missing:
        err.print(f"error: emolens serve needs the optional web packages ({', '.join(missing)} "
                  "missing): pip install 'emolens[serve]'", markup=False)
        raise typer.Exit(2)
    if runs is not None and not runs.is_dir():
        err.print(f"error: --runs {runs}: not a folder", markup=False)
        raise typer.Exit(2)
    if keep is not None and keep.exists() and not keep.is_dir():
        err.print(f"error: --keep {keep}: exists and is not a folder", markup=False)
        raise typer.Exit(2)
    problem = bind_error(host, port)
    if problem:
        err.print(f"error: cannot listen on {host}:{port}: {problem} (another server? pick "
                  "another --port)", markup=False)
        raise typer.Exit(2)
    if not is_loopback(host):
        err.print(f"warning: listening on {host}, not only on this computer: anyone who can "
                  f"reach it on port {port} can upload audio and read the predictions. There "
                  "is no login and no encryption (and browsers allow microphone recording "
                  "only on localhost or https).", markup=False)
    import uvicorn

    from emolens.deploy.commands import _load
    from emolens.deploy.serve.app import Settings, create_app

    predictor = _load(model, no_verify, classes=classes)
    settings = Settings(max_upload_mb=max_upload_mb, max_files=max_files,
                        max_duration=max_duration, keep=keep, runs=runs)
    err.print("loading the model and warming up...", markup=False)
    app = create_app(predictor, settings, warm_up=True)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"emolens serve: http://{shown}:{port}/  (model: {model or 'built-in default'}; "
              f"uploads are {'kept in ' + str(keep) if keep else 'not kept'}; Ctrl-C stops)",
              markup=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")
