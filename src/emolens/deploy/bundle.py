"""Model bundles: a trained pipeline plus everything needed to use it, with no pickled code.

Layout of a bundle directory (or the same files in a ``.zip``)::

    bundle.json      metadata: format/package versions, feature set and names, labels,
                     normalisation, probability head, out-of-domain scorer, training corpora,
                     metrics, how the audio was prepared (``preprocessing``), creation date
    pipeline/        the sklearn pipeline, via emolens.models.save_pipeline (JSON + safetensors)
    MODEL_CARD.md    optional, human-readable

Loading never unpickles or evaluates anything: only files with an allow-listed suffix may be
present (JSON, safetensors, ONNX, text), every ``bundle.json`` field is type-checked, and
version and feature-name mismatches are explained.

Integrity: ``bundle.json`` lists the SHA-256 of every other file of the bundle (``files``);
loading refuses a file that differs from its hash (a damaged or edited bundle), unless
``verify=False`` (``--no-verify``) for a bundle edited on purpose. Bundles written before the
hashes existed load with a warning. Every weight must be a finite number.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import emolens
from emolens.deploy.calibration import ProbabilityHead
from emolens.deploy.ood import OODScorer
from emolens.features.audio import PREPROCESSING
from emolens.models.scaling import AUTO, normalisation_name, scaler_by

__all__ = [
    "FORMAT_VERSION",
    "Bundle",
    "BundleError",
    "save_bundle",
    "load_bundle",
    "check_feature_names",
    "check_encoder",
    "default_bundle_path",
]

FORMAT = "emolens-bundle"
#: major.minor; a different major cannot be read, a newer minor is read with a warning.
FORMAT_VERSION = "1.2"  # 1.1: ``files``, the SHA-256 of every file; 1.2: ``preprocessing``
META_FILE = "bundle.json"
PIPELINE_DIR = "pipeline"
#: Suffixes a bundle may contain. Anything else (.pkl, .joblib, .pt, .npy, .py, ...) is refused.
ALLOWED_SUFFIXES = {".json", ".safetensors", ".onnx", ".md", ".txt", ".csv", ".png"}


class BundleError(ValueError):
    """A bundle is malformed, incompatible or unsafe; the message says why."""


def default_bundle_path() -> Path:
    """Path of the default model shipped inside the package."""
    return Path(emolens.__file__).resolve().parent / "data" / "default_model"


@dataclass
class Bundle:
    """A trained, deployable model.

    Attributes:
        pipeline: fitted sklearn Pipeline with steps ``scale``, ``reduce``, ``clf``.
        head: calibrated probability head on the classifier's decision scores.
        ood: fitted out-of-domain scorer.
        feature_set: feature set name for emolens.features.extract.
        feature_names: the model's input columns, in order.
        labels: class order of the probabilities.
        normalisation: ``by`` (the scaler's: None/"corpus"/"speaker", written as in
            ``FeatureScaler``; :attr:`normalisation_name` gives the name in the one vocabulary
            none/corpus/speaker), ``clip`` and ``min_group_size`` of the pipeline's scaler (groups smaller than that use the training statistics).
        info: free metadata (model name/params, training corpora, metrics, licenses...).
        encoder: for a pretrained-encoder feature set, what identifies it
            (:attr:`emolens.features.encoders.EncoderConfig.identity`: source, weight and
            configuration SHA-256, layer, pooling); predictions refuse other weights.
        preprocessing: how the training audio was prepared
            (:data:`emolens.features.audio.PREPROCESSING`: resampling, mono, silence trim);
            None for bundles made before it was recorded (before the trim).
    """

    pipeline: Any
    head: ProbabilityHead
    ood: OODScorer
    feature_set: str
    feature_names: list[str]
    labels: list[str]
    normalisation: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    format_version: str = FORMAT_VERSION
    encoder: dict[str, Any] | None = None
    preprocessing: dict[str, Any] | None = field(default_factory=lambda: _preprocessing())

    @property
    def normalisation_name(self) -> str:
        """``"none"``, ``"corpus"`` or ``"speaker"`` (:data:`emolens.models.scaling.NORMALISATIONS`)."""
        return normalisation_name(self.normalisation.get("by"))

    @property
    def latent_dim(self) -> int:
        return int(self.ood.means_.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """The ``bundle.json`` content (without ``files``: :func:`save_bundle` adds them)."""
        norm = dict(self.normalisation)
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": self.created or _now(),
            "versions": self.versions or package_versions(),
            "feature_set": self.feature_set,
            "feature_names": list(self.feature_names),
            "labels": list(self.labels),
            "latent_dim": self.latent_dim,
            "normalisation": norm,
            "head": self.head.to_dict(),
            "ood": self.ood.to_dict(),
            "info": self.info,
            **({"encoder": dict(self.encoder)} if self.encoder else {}),
            **({"preprocessing": self.preprocessing} if self.preprocessing else {}),
        }


# ---------------------------------------------------------------------------- save / load
def save_bundle(bundle: Bundle, path: str | Path) -> Path:
    """Write a bundle to a directory, or to a ``.zip`` archive when ``path`` ends in .zip.

    Args:
        bundle: the bundle.
        path: target directory (created; existing bundle files are replaced) or .zip file.

    Returns:
        The path written.
    """
    from emolens.models import save_pipeline

    path = Path(path)
    if path.suffix == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            save_bundle(bundle, Path(tmp) / "b")
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                for f in sorted((Path(tmp) / "b").rglob("*")):
                    if f.is_file():
                        zf.write(f, f.relative_to(Path(tmp) / "b").as_posix())
        return path
    path.mkdir(parents=True, exist_ok=True)
    if (path / PIPELINE_DIR).exists():
        shutil.rmtree(path / PIPELINE_DIR)
    save_pipeline(bundle.pipeline, path / PIPELINE_DIR)
    _check_finite(bundle.pipeline, bundle.head, bundle.ood, path)
    meta = bundle.to_dict()
    meta["files"] = file_hashes(path)
    (path / META_FILE).write_text(json.dumps(meta, indent=1, allow_nan=False) + "\n")
    _check_safe_files(path)  # save_pipeline must not have written anything unsafe either
    return path


def file_hashes(path: Path) -> dict[str, str]:
    """SHA-256 of every file of a bundle directory but ``bundle.json``, by relative path."""
    return {
        f.relative_to(path).as_posix(): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(path.rglob("*"))
        if f.is_file() and f.relative_to(path).as_posix() != META_FILE
    }


def verify_files(path: Path, meta: dict) -> None:
    """Check the bundle's files against the SHA-256 hashes in ``bundle.json``.

    Every listed file of ``pipeline/`` (what is loaded) must be there with its hash, and
    every file there must be listed; a changed or missing documentation file (MODEL_CARD.md)
    only warns. A bundle without hashes (older than format 1.1) loads with a warning.

    Raises:
        BundleError: naming the file that was changed, removed or added.
    """
    listed = meta.get("files")
    if listed is None:
        warnings.warn(
            f"{path} has no file hashes in {META_FILE} (made before emolens checked bundle "
            "integrity), so its files cannot be checked; save it again with save_bundle to add "
            "them",
            UserWarning,
            stacklevel=3,
        )
        return
    hint = ("; the bundle was damaged or changed after it was saved (if you edited it on "
            "purpose, load it with --no-verify / verify=False)")
    actual = file_hashes(path)
    for name, digest in listed.items():
        loaded = name.startswith(PIPELINE_DIR + "/")  # the rest is documentation, never read
        if name not in actual:
            if loaded:
                raise BundleError(f"{path}: {name} is listed in {META_FILE} but missing{hint}")
            warnings.warn(f"{path}: {name} (listed in {META_FILE}) is missing", UserWarning,
                          stacklevel=3)
        elif actual[name] != digest:
            if loaded:
                raise BundleError(
                    f"{path}: {name} does not match its SHA-256 in {META_FILE} "
                    f"({actual[name][:12]}... instead of {digest[:12]}...){hint}")
            warnings.warn(
                f"{path}: {name} was changed after the bundle was saved (documentation only, "
                "the model is unaffected; save the bundle again to record it)", UserWarning,
                stacklevel=3)
    extra = sorted(n for n in actual if n not in listed and n.startswith(PIPELINE_DIR + "/"))
    if extra:
        raise BundleError(f"{path}: {', '.join(extra)} not listed in {META_FILE}{hint}")


def _check_finite(pipeline, head, ood, path) -> None:
    """Every learned number of the pipeline, head and out-of-domain scorer is finite."""
    import torch

    bad = []
    for name, step in getattr(pipeline, "steps", []):
        if step == "passthrough":
            continue
        for attr, value in vars(step).items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f" and not np.isfinite(value).all():
                bad.append(f"{name}.{attr}")
            elif isinstance(value, torch.nn.Module):
                bad += [f"{name}.{attr}.{k}" for k, t in value.state_dict().items()
                        if t.is_floating_point() and not torch.isfinite(t).all()]
    for label, part in (("head", head), ("ood", ood)):
        for attr, value in vars(part).items():
            if isinstance(value, (np.ndarray, float)) and np.asarray(value).dtype.kind == "f" \
                    and not np.isfinite(value).all() and not attr.startswith("threshold"):
                bad.append(f"{label}.{attr}")
    bad = list(dict.fromkeys(b.replace(".encoder_.", ".module_.encoder.") for b in bad))
    if bad:
        raise BundleError(
            f"{path}: weights that are not finite numbers (NaN or infinite) in "
            f"{', '.join(bad[:6])}{' ...' if len(bad) > 6 else ''}; the bundle is damaged")


def load_bundle(path: str | Path | None = None, feature_names: list[str] | None = None,
                verify: bool = True) -> Bundle:
    """Read and validate a bundle.

    Args:
        path: bundle directory or .zip; None = the default model shipped with emolens.
        feature_names: the extractor's column names to check the bundle against (optional).
        verify: check every file against its SHA-256 in ``bundle.json`` (False: for a bundle
            edited on purpose; the weights must still be finite).

    Returns:
        The bundle.

    Raises:
        BundleError: missing/unsafe/changed files, bad JSON types, incompatible format
            version, feature-name mismatch, non-finite weights. Warns (UserWarning) on newer
            minor format versions, different package versions and bundles without hashes.
    """
    from emolens.models import load_pipeline

    path = Path(path) if path is not None else default_bundle_path()
    if not path.exists():
        raise BundleError(f"model bundle not found: {path}")
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path} is neither a bundle directory nor a .zip archive")
        with tempfile.TemporaryDirectory() as tmp:
            _safe_extract(path, Path(tmp))
            return load_bundle(Path(tmp), feature_names, verify)
    if not (path / META_FILE).is_file():
        raise BundleError(f"{path} is not a model bundle: {META_FILE} is missing")
    _check_safe_files(path)
    try:
        meta = json.loads((path / META_FILE).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BundleError(f"{path / META_FILE} is not valid JSON: {err}") from None
    validate_meta(meta)
    if verify:
        verify_files(path, meta)
    if feature_names is not None:
        check_feature_names(meta["feature_names"], feature_names)
    if not (path / PIPELINE_DIR).is_dir():
        raise BundleError(f"{path} is not a complete bundle: {PIPELINE_DIR}/ is missing")
    try:
        pipeline = load_pipeline(path / PIPELINE_DIR)
    except Exception as err:  # their errors are specific; wrap with the bundle's path
        raise BundleError(f"cannot load the pipeline of {path}: {err}") from err
    try:
        head = ProbabilityHead.from_dict(meta["head"])
        ood = OODScorer.from_dict(meta["ood"])
    except ValueError as err:
        raise BundleError(f"{path / META_FILE}: {err}") from None
    if head.labels_ != meta["labels"]:
        raise BundleError(f"head labels {head.labels_} differ from bundle labels {meta['labels']}")
    if ood.means_.shape[1] != meta["latent_dim"]:
        raise BundleError("out-of-domain scorer and latent_dim disagree")
    _check_finite(pipeline, head, ood, path)
    return Bundle(
        pipeline=pipeline, head=head, ood=ood, feature_set=meta["feature_set"],
        feature_names=list(meta["feature_names"]), labels=list(meta["labels"]),
        normalisation=meta["normalisation"], info=meta["info"], created=meta["created"],
        versions=meta["versions"], format_version=meta["format_version"],
        encoder=meta.get("encoder"), preprocessing=meta.get("preprocessing"),
    )


# ---------------------------------------------------------------------------- validation
_SCHEMA: dict[str, type | tuple] = {
    "format": str,
    "format_version": str,
    "created": str,
    "versions": dict,
    "feature_set": str,
    "feature_names": list,
    "labels": list,
    "latent_dim": int,
    "normalisation": dict,
    "head": dict,
    "ood": dict,
    "info": dict,
}


def validate_meta(meta: Any) -> None:
    """Type-check ``bundle.json`` content and apply the version rules."""
    if not isinstance(meta, dict):
        raise BundleError(f"{META_FILE} must hold a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise BundleError(f"{META_FILE}: 'format' must be {FORMAT!r}, got {meta.get('format')!r}")
    for key, typ in _SCHEMA.items():
        if key not in meta:
            raise BundleError(f"{META_FILE}: required field {key!r} is missing")
        if not isinstance(meta[key], typ) or (typ is int and isinstance(meta[key], bool)):
            raise BundleError(
                f"{META_FILE}: field {key!r} must be {typ.__name__}, "
                f"got {type(meta[key]).__name__} ({str(meta[key])[:40]!r})"
            )
    _check_format_version(meta["format_version"])
    files = meta.get("files")
    if files is not None and not (
        isinstance(files, dict)
        and all(isinstance(k, str) and isinstance(v, str) and len(v) == 64 for k, v in files.items())
    ):
        raise BundleError(f"{META_FILE}: 'files' must map file names to SHA-256 hex digests")
    for key in ("feature_names", "labels"):
        if not meta[key] or not all(isinstance(x, str) for x in meta[key]):
            raise BundleError(f"{META_FILE}: {key!r} must be a non-empty list of strings")
    if len(set(meta["feature_names"])) != len(meta["feature_names"]):
        raise BundleError(f"{META_FILE}: 'feature_names' has duplicates")
    norm = meta["normalisation"]
    # Decided here, once: any spelling of the one vocabulary (null, "none", "corpus",
    # "speaker"; "global" deprecated) becomes the scaler's ``by`` for everything after.
    try:
        norm["by"] = scaler_by(normalisation_name(norm.get("by"), f"{META_FILE}: normalisation 'by'"))
    except ValueError as err:
        raise BundleError(str(err)) from None
    for key, typ in (("clip", (int, float, type(None))), ("min_group_size", int)):
        if not isinstance(norm.get(key), typ):
            raise BundleError(f"{META_FILE}: normalisation {key!r} has a wrong type")
    shrink = norm.get("shrink", 0.0)  # absent in bundles made before shrinkage existed
    if shrink != AUTO and (isinstance(shrink, bool) or not isinstance(shrink, (int, float))
                           or shrink < 0):
        raise BundleError(f"{META_FILE}: normalisation 'shrink' must be a number >= 0 or "
                          f"{AUTO!r}")
    if not isinstance(norm.get("guard", False), bool):  # absent before the guard existed
        raise BundleError(f"{META_FILE}: normalisation 'guard' must be true or false")
    _check_encoder(meta)
    _check_package_versions(meta["versions"])
    _check_preprocessing(meta.get("preprocessing"))


def _preprocessing() -> dict[str, Any]:
    """:data:`~emolens.features.audio.PREPROCESSING` as ``bundle.json`` stores it."""
    return json.loads(json.dumps(PREPROCESSING))


def _check_preprocessing(recorded: Any) -> None:
    """Warn when the bundle's audio was prepared otherwise than this emolens prepares it
    (:data:`emolens.features.audio.PREPROCESSING`): it loads, but its inputs shift."""
    if recorded is not None and not isinstance(recorded, dict):
        raise BundleError(f"{META_FILE}: 'preprocessing' must be an object")
    current = _preprocessing()
    if recorded == current:
        return
    if recorded is None:
        what = ("has no 'preprocessing': it was made before emolens trimmed the silence "
                "around each utterance")
    else:
        keys = sorted(k for k in set(recorded) | set(current) if recorded.get(k) != current.get(k))
        what = f"records another preprocessing (differs in {', '.join(keys)})"
    warnings.warn(f"{META_FILE} {what}; it loads, but its features came from audio prepared "
                  "otherwise, so check predictions or retrain it with this emolens",
                  UserWarning, stacklevel=3)


def _check_encoder(meta: dict) -> None:
    """The optional ``encoder`` field: required for (and only for) encoder feature sets."""
    encoder = meta.get("encoder")
    if encoder is None:
        return
    if not isinstance(encoder, dict) or not all(
        isinstance(encoder.get(k), str) and encoder.get(k) for k in ("source", "weights_sha256")
    ):
        raise BundleError(
            f"{META_FILE}: 'encoder' must be an object with the strings 'source' and "
            "'weights_sha256'"
        )


def check_encoder(bundle: Bundle, config) -> None:
    """Refuse to compute features with encoder weights other than the bundle's.

    Args:
        bundle: the bundle.
        config: the feature configuration about to be used
            (:func:`emolens.features.get_config` of ``bundle.feature_set``).

    Raises:
        BundleError: an encoder feature set without a recorded encoder, or different
            weights (or model configuration) than those the bundle was trained with.
    """
    encoder = getattr(config, "encoder", None) if not getattr(config, "is_encoder", False) else config
    if encoder is None:
        return
    recorded = bundle.encoder
    if not recorded:
        raise BundleError(
            f"the bundle uses the encoder feature set {bundle.feature_set!r} but does not record "
            "its weights (bundle.json has no 'encoder'); retrain it with this emolens"
        )
    encoder.check()
    for key, what in (("weights_sha256", "weights"), ("config_sha256", "configuration")):
        want = recorded.get(key)
        have = getattr(encoder, key)
        if want and want != have:
            raise BundleError(
                f"the encoder {what} differ from the bundle's: it was trained with "
                f"{recorded.get('source')} ({key} {want[:12]}...), but {encoder.model_dir} has "
                f"{have[:12]}...; features from other weights mean nothing to this model. Use "
                "the same checkpoint (or retrain the bundle on this one)"
            )


def _check_format_version(version: str) -> None:
    try:
        major, minor = (int(x) for x in version.split("."))
    except ValueError:
        raise BundleError(f"{META_FILE}: format_version {version!r} is not 'major.minor'") from None
    cur_major, cur_minor = (int(x) for x in FORMAT_VERSION.split("."))
    if major != cur_major:
        raise BundleError(
            f"bundle format version {version} cannot be read by emolens {emolens.__version__} "
            f"(reads format {cur_major}.x); retrain the bundle or use a matching emolens"
        )
    if minor > cur_minor:
        warnings.warn(
            f"bundle format {version} is newer than this emolens reads ({FORMAT_VERSION}); "
            "fields it does not know are ignored",
            UserWarning,
            stacklevel=3,
        )


def package_versions() -> dict[str, str]:
    """Versions that matter for reproducing a bundle."""
    import platform

    import sklearn
    import torch

    out = {
        "emolens": emolens.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__.split("+")[0],
    }
    try:
        import opensmile

        out["opensmile"] = opensmile.__version__
    except ImportError:  # pragma: no cover
        pass
    return out


def _check_package_versions(versions: dict) -> None:
    # Weights are plain arrays, so other versions still load; a different *major* version
    # of the feature extractor or of emolens may change features, hence the warning.
    current = package_versions()
    diffs = []
    for name in ("emolens", "opensmile", "scikit-learn", "torch"):
        have, want = current.get(name), versions.get(name)
        if have and isinstance(want, str) and _major(have) != _major(want):
            diffs.append(f"{name} {want} (bundle) vs {have} (installed)")
    if diffs:
        warnings.warn(
            "bundle was made with other major versions: " + "; ".join(diffs)
            + ". It loads, but check predictions.",
            UserWarning,
            stacklevel=3,
        )


def _major(v: str) -> str:
    return v.split(".")[0]


def check_feature_names(expected: list[str], actual: list[str]) -> None:
    """Raise a BundleError with a readable diff when the column names differ.

    Args:
        expected: the bundle's feature names.
        actual: the extractor's column names.
    """
    expected, actual = list(expected), list(actual)
    if expected == actual:
        return
    missing = [c for c in expected if c not in set(actual)]
    extra = [c for c in actual if c not in set(expected)]
    lines = [f"feature names differ from the model's ({len(expected)} expected, {len(actual)} given)"]
    if missing:
        lines.append(f"  missing ({len(missing)}): " + ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else ""))
    if extra:
        lines.append(f"  unexpected ({len(extra)}): " + ", ".join(extra[:8]) + (" ..." if len(extra) > 8 else ""))
    if not missing and not extra:
        first = next(i for i, (a, b) in enumerate(zip(expected, actual)) if a != b)
        lines.append(f"  same names, other order: first difference at position {first} "
                     f"({expected[first]!r} expected, {actual[first]!r} given)")
    lines.append("  (was the bundle trained with another feature set or opensmile version?)")
    raise BundleError("\n".join(lines))


def _check_safe_files(path: Path) -> None:
    bad = [
        p.relative_to(path).as_posix()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.suffix.lower() not in ALLOWED_SUFFIXES
    ]
    if bad:
        raise BundleError(
            f"refusing to load {path}: it contains files that are not plain data ({', '.join(bad)}). "
            f"A bundle may only hold {', '.join(sorted(ALLOWED_SUFFIXES))} files; pickles and code "
            "are never loaded."
        )
    links = [p.name for p in path.rglob("*") if p.is_symlink()]
    if links:
        raise BundleError(f"refusing to load {path}: it contains symbolic links ({', '.join(links)})")


def _safe_extract(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            target = (dest / info.filename).resolve()
            if not str(target).startswith(str(dest.resolve())) or info.filename.startswith("/"):
                raise BundleError(f"refusing to extract {archive}: unsafe member path {info.filename!r}")
            if Path(info.filename).suffix.lower() not in ALLOWED_SUFFIXES and not info.is_dir():
                raise BundleError(
                    f"refusing to load {archive}: member {info.filename!r} is not plain data"
                )
        zf.extractall(dest)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
