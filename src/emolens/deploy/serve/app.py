"""The FastAPI application behind ``emolens serve``: one page and a small JSON API.

Endpoints (docs/serve.md has curl examples):

* ``GET /`` — the page (HTML/CSS/JS shipped in the package; nothing fetched from elsewhere).
* ``GET /api/model`` — the bundle: labels, normalisation, latent regions, reference, limits.
* ``POST /api/predict`` — multipart ``files`` (several) and optional ``speaker`` (one per
  file, or one for all); ``?explain=true`` adds attribution, waveform and timeline per file;
  ``?format=csv`` answers the table of ``emolens predict`` as CSV.
* ``GET /api/runs`` and ``GET /runs/<name>/report.html`` — with ``--runs DIR``: the reports
  of ``emolens run`` output folders.

The model is loaded once; requests run the model one at a time (a lock), and each request's
speaker statistics come from that request's files only. Uploaded audio is decoded in memory
and dropped with the answer unless the server was started with ``--keep DIR``.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd
from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

import emolens
from emolens.deploy.predict import Predictor
from emolens.deploy.serve.explain import Explainer, envelope
from emolens.deploy.serve.uploads import UploadError, decode, safe_name

__all__ = ["Settings", "Service", "create_app"]

STATIC = "static"
STATIC_FILES = {"index.html": "text/html", "app.js": "text/javascript", "style.css": "text/css"}


@dataclass
class Settings:
    """Limits and options of a server.

    Attributes:
        max_upload_mb: largest request body (all files of one upload together), MB.
        max_files: most files per request.
        max_duration: longest file, seconds.
        timeline_min: clips at least this long (s) get a timeline of 3-s windows.
        keep: folder to keep uploaded audio in (None: nothing is kept).
        runs: folder with ``emolens run`` output folders to browse (None: no runs tab).
    """

    max_upload_mb: float = 200.0
    max_files: int = 100
    max_duration: float = 600.0
    timeline_min: float = 6.0
    keep: Optional[Path] = None
    runs: Optional[Path] = None


def normalisation_why(predictor: Predictor) -> str:
    """One paragraph on what the model's normalisation does and why it matters."""
    by, n = predictor.by, predictor.bundle.normalisation.get("min_group_size", 2)
    if by is None:
        return ("This model z-scores every feature with the statistics of its training data; "
                "a voice, microphone or room unlike the training recordings shifts every "
                "feature and with it the prediction.")
    who = "speaker" if by == "speaker" else "corpus (recording set)"
    return (f"This model z-scores every feature per {who}, as in training: the {who}'s own "
            "average becomes the reference, which removes differences of voice, microphone "
            f"and room. That needs several recordings of the same {who} (at least {n}, "
            "better a dozen with varied emotions); a recording alone is z-scored with the "
            "training statistics instead, which is less reliable. Files of one upload count "
            f"as one {who} unless you name the {who} of each file.")


class Service:
    """The model and its explainer, loaded once, shared by all requests.

    Args:
        predictor: the model.
        settings: limits and options.
    """

    def __init__(self, predictor: Predictor, settings: Settings | None = None):
        self.predictor = predictor
        self.settings = settings or Settings()
        self.explainer = Explainer(predictor)
        # opensmile's extractor, the scaler's fallback bookkeeping and torch modules are
        # shared: one request at a time uses them (each with its own speaker statistics).
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ model
    def model_info(self) -> dict[str, Any]:
        from emolens.palette import EMOTION_MARKERS, emotion_color

        b = self.predictor.bundle
        info = b.info
        return {
            "emolens": emolens.__version__,
            "labels": list(b.labels),
            # --classes: the only labels this server gives (None: all of the bundle's)
            "classes": None if self.predictor.classes is None else list(self.predictor.classes),
            "colors": {c: emotion_color(c) for c in b.labels},
            "markers": {c: EMOTION_MARKERS.get(c, "o") for c in b.labels},
            "columns": self.predictor.columns,
            "feature_set": b.feature_set,
            "latent_dim": b.latent_dim,
            "normalisation": {**b.normalisation, "why": normalisation_why(self.predictor)},
            "regions": self.explainer.regions_json(),
            "reference": self.explainer.reference_json(),
            "attribution": {
                "available": self.explainer.encoder is not None,
                "reason": self.explainer.attribution_reason,
                "method": "DeepLIFT (captum) from the scaled features to each latent "
                          "dimension, summed over the 27 eGeMAPS feature groups of the "
                          "paper; reference: " + self.explainer.reference_text,
            },
            "ood": {"threshold": float(b.ood.threshold_),
                    "source": getattr(b.ood, "threshold_source_", "")},
            "model": info.get("model", {}),
            "training": info.get("training", {}),
            "heldout": info.get("heldout", {}),
            "created": b.created,
            "limits": {k: (str(v) if isinstance(v, Path) else v)
                       for k, v in asdict(self.settings).items() if k not in ("keep", "runs")},
            "keeps_audio": self.settings.keep is not None,
            "runs": self.settings.runs is not None,
        }

    # ------------------------------------------------------------------ predict
    def predict(self, uploads: list[tuple[str, bytes]], speakers: list[str] | None = None,
                explain: bool = False) -> dict[str, Any]:
        """Predict a batch of uploaded files (one request).

        Args:
            uploads: ``(file name, content)`` pairs.
            speakers: one speaker name per upload, one for all, or None (all = one speaker).
            explain: add attribution, waveform and (long clips) timeline per file.

        Returns:
            ``normalisation``, ``normalisation_why``, ``columns``, ``predictions`` (records
            as ``emolens predict --format json``), ``skipped`` (file, reason), ``details``
            (per file), ``kept``, and ``table`` (the predictions as a DataFrame, for CSV).
        """
        from emolens.features.audio import AudioError

        s = self.settings
        if speakers and len(speakers) not in (1, len(uploads)):
            raise ValueError(f"give one speaker per file ({len(uploads)}) or one for all, "
                             f"got {len(speakers)}")
        taken: set[str] = set()
        names = [safe_name(n, taken) for n, _ in uploads]
        if not speakers:
            groups = ["upload"] * len(uploads)
            source = "the upload (all its files = one speaker)"
        else:
            groups = [(g or "").strip() or "upload" for g in
                      (speakers * len(uploads) if len(speakers) == 1 else speakers)]
            source = "the speaker names given with the files"
        kept = self._keep(names, [d for _, d in uploads]) if s.keep is not None else []
        skipped, decoded = [], {}
        for name, (_, data) in zip(names, uploads):
            try:
                signal, sr, fmt = decode(data, s.max_duration)
            except UploadError as err:
                skipped.append({"file": name, "reason": str(err)})
                continue
            decoded[name] = (signal, sr, fmt)
        with self.lock:
            rows, ok = [], []
            for name, (signal, sr, _) in decoded.items():
                try:  # prepare_signal's checks (short, silent...) and resampling inside
                    rows.append(self.predictor.signal_features(signal, sr))
                    ok.append(name)
                except AudioError as err:
                    skipped.append({"file": name, "reason": str(err)})
            group_of = dict(zip(names, groups))
            if ok:
                feats = pd.concat(rows, ignore_index=True)
                feats.index = pd.Index(ok, name="file")
                applied = self.predictor.apply(feats, [group_of[f] for f in ok])
                note = applied.normalisation
                if self.predictor.by is not None:
                    note += f"; groups from {source}"
                details = self._details(ok, decoded, group_of, applied) if explain else {}
                table = applied.table
            else:
                note, details = "no file could be processed", {}
                table = pd.DataFrame(columns=self.predictor.columns)
        records = json.loads(table.to_json(orient="records", double_precision=10))
        return {"normalisation": note, "normalisation_why": normalisation_why(self.predictor),
                "files": names, "speakers": groups,
                "columns": self.predictor.columns, "predictions": records,
                "skipped": skipped, "details": details, "kept": kept, "table": table}

    def _details(self, ok, decoded, group_of, applied) -> dict[str, Any]:
        attributions = self.explainer.attribution(applied.scaled, applied.latent)
        out = {}
        for i, name in enumerate(ok):
            signal, sr, fmt = decoded[name]
            duration = len(signal) / sr
            row = applied.table.iloc[i]
            ood = float(row["ood_score"])
            thr = float(self.predictor.bundle.ood.threshold_)
            out[name] = {
                "format": fmt, "sample_rate": sr, "channels": int(signal.shape[1]),
                "duration": duration, "speaker": group_of[name],
                "ood_reason": _ood_reason(ood, thr),
                "attribution": None if attributions is None else attributions[i],
                "waveform": envelope(signal, sr),
                "timeline": (self.explainer.timeline(signal, sr)
                             if duration >= self.settings.timeline_min else None),
            }
        return out

    def _keep(self, names: list[str], blobs: list[bytes]) -> list[str]:
        folder = Path(self.settings.keep)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        out = []
        for i, (name, data) in enumerate(zip(names, blobs)):
            path = folder / f"{stamp}-{i:03d}-{name.replace(' ', '_')}"
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
            out.append(str(path))
        return out

    def warm_up(self) -> None:
        """One prediction of a synthetic clip, so the first user does not wait for
        openSMILE, captum and torch to initialise."""
        sr = 16_000
        t = np.arange(int(1.5 * sr)) / sr
        x = (0.1 * np.sin(2 * np.pi * 150 * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t)))
        import io

        import soundfile as sf

        buf = io.BytesIO()
        sf.write(buf, x.astype(np.float32), sr, format="WAV")
        self.predict([("warm-up.wav", buf.getvalue())] * 2, explain=True)


def _ood_reason(score: float, threshold: float) -> str:
    if score > threshold:
        return (f"Unlike the training data (score {score:.2f} > threshold {threshold:.2f}): "
                "another language, microphone, room, speaking style, or not speech. The "
                "prediction may still be right, but the model has seen nothing like it.")
    return (f"Like the training data (score {score:.2f} <= threshold {threshold:.2f}). "
            "That does not mean the prediction is right.")


# ---------------------------------------------------------------------------- app
class _BodyLimit:
    """ASGI middleware: refuse request bodies larger than ``limit`` bytes with 413."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        mb = self.limit / 1e6
        headers = dict(scope.get("headers") or [])
        size = headers.get(b"content-length")
        if size is not None and size.isdigit() and int(size) > self.limit:
            return await _send_413(send, int(size) / 1e6, mb)
        seen, over, started = 0, False, False

        async def counted():
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        async def guarded(msg):
            nonlocal started
            if over:  # the app saw a truncated body: answer 413 instead of its reply
                if not started and msg["type"] == "http.response.start":
                    started = True
                    await _send_413(send, seen / 1e6, mb)
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        await self.app(scope, counted, guarded)


async def _send_413(send, got_mb: float, limit_mb: float) -> None:
    body = json.dumps({"detail": f"upload too large: {got_mb:.1f} MB (this server accepts "
                                 f"{limit_mb:g} MB per request; send fewer files at once or "
                                 "start emolens serve with --max-upload-mb)"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_app(predictor: Predictor | None = None, settings: Settings | None = None,
               warm_up: bool = False) -> FastAPI:
    """The web application.

    Args:
        predictor: the model (default: the built-in one).
        settings: limits and options.
        warm_up: predict a synthetic clip before answering anyone.

    Returns:
        A FastAPI app (run it with uvicorn, or test it with ``fastapi.testclient``).
    """
    service = Service(predictor if predictor is not None else Predictor(), settings)
    if warm_up:
        service.warm_up()
    s = service.settings
    app = FastAPI(title="emolens", version=emolens.__version__,
                  description="Speech emotion recognition: predictions, latent map, "
                              "attributions. See docs/serve.md.",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")
    app.state.service = service
    app.add_middleware(_BodyLimit, limit=int(s.max_upload_mb * 1e6))
    _add_page_routes(app)
    _add_api_routes(app, service)
    _add_run_routes(app, s)
    return app


def _add_page_routes(app: FastAPI) -> None:
    """The page and its static files."""
    static = resources.files("emolens.deploy.serve") / STATIC

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return HTMLResponse(static.joinpath("index.html").read_text(encoding="utf-8"),
                            headers={**_NO_CACHE, "Content-Security-Policy": CSP})

    @app.get("/static/{name}", include_in_schema=False)
    def static_file(name: str):
        if name not in STATIC_FILES:
            raise HTTPException(404, f"no such file: {name}")
        return Response(static.joinpath(name).read_bytes(), media_type=STATIC_FILES[name],
                        headers=_NO_CACHE)


def _add_api_routes(app: FastAPI, service: Service) -> None:
    """``/api/model`` and ``/api/predict``."""
    s = service.settings

    @app.get("/api/model")
    def model() -> dict:
        """The model: labels, normalisation, latent regions, attribution reference, limits."""
        return service.model_info()

    @app.post("/api/predict")
    async def predict(
        files: list[UploadFile] = File(..., description="audio files (any format predict reads)"),
        speaker: Optional[list[str]] = Form(None, description="one per file, or one for all"),
        explain: bool = Query(False, description="add attribution, waveform and timeline"),
        format: str = Query("json", pattern="^(json|csv)$", description="json or csv"),
    ):
        """Predict uploaded files: the rows of ``emolens predict`` plus skipped files."""
        if len(files) > s.max_files:
            raise HTTPException(413, f"too many files: {len(files)} (this server accepts "
                                     f"{s.max_files} per request; start emolens serve with "
                                     "--max-files)")
        uploads = [(f.filename, await f.read()) for f in files]
        for f in files:
            await f.close()
        try:
            out = await run_in_threadpool(service.predict, uploads, speaker, explain)
        except ValueError as err:
            raise HTTPException(400, str(err)) from None
        table = out.pop("table")
        if format == "csv":
            headers = {"X-Emolens-Skipped": str(len(out["skipped"])),
                       "X-Emolens-Normalisation": out["normalisation"].encode(
                           "ascii", "replace").decode()}
            return PlainTextResponse(table.to_csv(index=False), media_type="text/csv",
                                     headers=headers, status_code=200 if len(table) else 422)
        if not out["predictions"]:
            return JSONResponse({"detail": "no file could be predicted", **out}, status_code=422)
        return out


def _add_run_routes(app: FastAPI, s: Settings) -> None:
    """The reports of ``emolens run`` folders below ``--runs DIR``."""

    @app.get("/api/runs")
    def runs() -> dict:
        """``emolens run`` output folders below ``--runs DIR`` that hold a report."""
        if s.runs is None:
            return {"available": False, "reason": "start emolens serve with --runs DIR",
                    "runs": []}
        return {"available": True, "reason": "", "runs": _runs(Path(s.runs))}

    @app.get("/runs/{name}/report.html", include_in_schema=False)
    def run_report(name: str):
        if s.runs is None:
            raise HTTPException(404, "no --runs folder")
        root = Path(s.runs).resolve()
        path = (root / name / "report.html").resolve() if name != "." else root / "report.html"
        inside = path.parent == root or path.parent.parent == root  # no '..', no symlink out
        if not inside or not path.is_file():
            raise HTTPException(404, f"no report for {name!r}")
        return FileResponse(path, media_type="text/html")


def _runs(root: Path) -> list[dict]:
    """Name, report URL, modification time and summary of every run folder with a report
    below ``root`` (and ``root`` itself, named ".")."""
    found = sorted(p.parent for p in root.glob("*/report.html")) + (
        [root] if (root / "report.html").is_file() else [])
    items = []
    for d in found:
        name = "." if d == root else d.name
        summary = d / "summary.md"
        items.append({"name": name, "report": f"/runs/{name}/report.html",
                      "modified": _dt.datetime.fromtimestamp(
                          (d / "report.html").stat().st_mtime).isoformat(timespec="minutes"),
                      "summary": summary.read_text(encoding="utf-8")[:4000]
                      if summary.is_file() else ""})
    return items


#: The page may load nothing from elsewhere (it needs blob: URLs for the audio player,
#: inline style attributes for the bars, and a data: favicon).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
       "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'self'")
_NO_CACHE = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
