"""Save and load fitted pipelines without pickle: JSON + safetensors only.

Layout of a pipeline directory::

    pipeline.json        format tag, library versions, and per step: class name (from a fixed
                         whitelist), constructor parameters, fitted attributes (plain JSON
                         values; numeric arrays are references into arrays.safetensors)
    arrays.safetensors   numeric arrays of the fitted attributes (scaler statistics, SVC
                         support vectors / dual coefficients / intercepts, PCA components...)
    network.safetensors  autoencoder weights (state dict), when the pipeline has one

Loading never executes code from the bundle: classes come from the whitelist below, values
are JSON scalars/lists/strings or arrays read by safetensors, attribute names are checked
(no dunders, no names of methods), and parameters must be ones the class's ``__init__``
accepts. sklearn estimators are rebuilt by setting their fitted attributes, so predictions
are identical after a round trip (tested for every model); a bundle written with another
scikit-learn version loads with a warning. Estimators nested in a step (the members of the
``vote`` classifier, their sigmoid calibrators) are stored the same way, inside the step's
record, and come from the same whitelist (:data:`NESTED`).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import numpy as np
import sklearn
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch
from safetensors.torch import save_file as save_torch
from sklearn import calibration
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import PCA
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import SVC
from sklearn.utils import Bunch

from .autoencoder import AutoencoderTransformer
from .decision_map import DecisionMap
from .fusion import FusedLogisticRegression
from .networks import build_network
from .scaling import FeatureScaler

FORMAT = "emolens-pipeline"
FORMAT_VERSION = 1
PIPELINE_JSON = "pipeline.json"
ARRAYS_FILE = "arrays.safetensors"
NETWORK_FILE = "network.safetensors"

#: The only classes a bundle may name.
CLASSES = {
    "FeatureScaler": FeatureScaler,
    "AutoencoderTransformer": AutoencoderTransformer,
    "PCA": PCA,
    "SVC": SVC,
    "LogisticRegression": LogisticRegression,
    "VotingClassifier": VotingClassifier,
    "FusedLogisticRegression": FusedLogisticRegression,
    "DecisionMap": DecisionMap,
}
#: The only classes an estimator nested in a step may name (the vote classifier's parts).
#: The calibrated member and its sigmoid are private to scikit-learn: looked up, not imported,
#: so that a release that renames them breaks only the saving of a vote classifier.
NESTED = {
    "SVC": SVC,
    "FusedLogisticRegression": FusedLogisticRegression,  # a decision map's fusion
    "LogisticRegression": LogisticRegression,
    "CalibratedClassifierCV": CalibratedClassifierCV,
    "LabelEncoder": LabelEncoder,
    **{name: getattr(calibration, name) for name in ("_CalibratedClassifier", "_SigmoidCalibration")
       if hasattr(calibration, name)},
}
#: Attributes rebuilt on load rather than stored (they repeat other attributes).
_DERIVED_ATTRS = {"named_estimators_"}
#: Attributes rebuilt from the network file rather than stored.
_NETWORK_ATTRS = {"module_", "encoder_"}
_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")
_NUMERIC_KINDS = "biuf"


class PipelineFileError(ValueError):
    """A pipeline directory is missing, malformed or not trusted."""


# -- encoding -----------------------------------------------------------------------------
def _encode(value, key: str, arrays: dict):
    """JSON-encode one value; numeric arrays go to ``arrays`` under ``key``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in _NUMERIC_KINDS:
            arrays[key] = np.ascontiguousarray(value)
            return {"__array__": key}
        if value.dtype.kind in "USO":
            items = value.tolist()
            flat = value.ravel().tolist()
            if not all(isinstance(v, (str, int, float, bool)) for v in flat):
                raise TypeError(f"{key}: object array with non-primitive items cannot be saved.")
            kind = value.dtype.kind
            return {"__list_array__": items, "kind": kind, "shape": list(value.shape)}
        raise TypeError(f"{key}: arrays of dtype {value.dtype} cannot be saved.")
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, f"{key}.{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, dict):
        # Keys may be class labels of any primitive type (class_weight): keep them as pairs.
        return {"__dict__": [[_encode(k, f"{key}.k{i}", arrays), _encode(v, f"{key}.{i}", arrays)]
                             for i, (k, v) in enumerate(value.items())]}
    if NESTED.get(type(value).__name__) is type(value):
        params, attrs = _split_state(value)
        return {"__estimator__": type(value).__name__,
                "params": {k: _encode(v, f"{key}.{k}", arrays) for k, v in params.items()},
                "attributes": {k: _encode(v, f"{key}.{k}", arrays) for k, v in attrs.items()}}
    raise TypeError(f"{key}: values of type {type(value).__name__} cannot be saved.")


def _split_state(est) -> tuple[dict, dict]:
    """``(constructor parameters, fitted attributes)`` of an estimator; objects without
    ``get_params`` (a calibrated member) are rebuilt from all their attributes."""
    if not hasattr(est, "get_params"):
        return dict(vars(est)), {}
    params = est.get_params(deep=False)
    attrs = {k: v for k, v in vars(est).items()
             if k not in params and k not in _NETWORK_ATTRS and k not in _DERIVED_ATTRS}
    return params, attrs


def _build(cls, cls_name: str, params: dict, attrs: dict, arrays: dict, key: str):
    """An estimator of the whitelisted ``cls`` from its decoded record."""
    if not isinstance(params, dict) or not isinstance(attrs, dict):
        raise PipelineFileError(f"{key}: params/attributes must be JSON objects.")
    if hasattr(cls, "get_params"):
        unknown = sorted(set(params) - set(cls._get_param_names()))
        if unknown:
            raise PipelineFileError(f"{key}: unknown {cls_name} parameters {unknown}.")
    try:
        est = cls(**{k: _decode(v, arrays, f"{key}/params/{k}") for k, v in params.items()})
    except TypeError as err:
        raise PipelineFileError(f"{key}: cannot build {cls_name}: {err}") from None
    for k, v in attrs.items():
        setattr(est, _check_name(k, cls_name, est), _decode(v, arrays, f"{key}/{k}"))
    if isinstance(est, VotingClassifier) and hasattr(est, "estimators_"):
        names = [name for name, _ in est.estimators]
        est.named_estimators_ = Bunch(**dict(zip(names, est.estimators_)))
    return est


def _decode(value, arrays: dict, key: str):
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [_decode(v, arrays, key) for v in value]
    if not isinstance(value, dict) or len(value) == 0:
        raise PipelineFileError(f"{key}: unexpected value {value!r}.")
    if "__array__" in value:
        ref = value["__array__"]
        if not isinstance(ref, str) or ref not in arrays:
            raise PipelineFileError(f"{key}: array {ref!r} missing from {ARRAYS_FILE}.")
        return arrays[ref]
    if "__scalar__" in value:
        dtype = np.dtype(_check_str(value["__scalar__"], key))
        if dtype.kind not in _NUMERIC_KINDS:
            raise PipelineFileError(f"{key}: scalar dtype {dtype} not allowed.")
        item = value.get("value")
        if not isinstance(item, (int, float, bool)):
            raise PipelineFileError(f"{key}: scalar value {item!r} is not a number.")
        return dtype.type(item)
    if "__list_array__" in value:
        kind = value.get("kind")
        if kind not in ("U", "S", "O"):
            raise PipelineFileError(f"{key}: list array kind {kind!r} not allowed.")
        items = value["__list_array__"]
        flat = np.asarray(items, dtype=object).ravel().tolist() if items != [] else []
        if not all(isinstance(v, (str, int, float, bool)) for v in flat):
            raise PipelineFileError(f"{key}: list array items must be primitives.")
        arr = np.asarray(items, dtype=object if kind == "O" else None)
        if kind == "S":
            arr = arr.astype(bytes)
        shape = value.get("shape")
        if isinstance(shape, list) and all(isinstance(s, int) for s in shape):
            arr = arr.reshape(shape)
        return arr
    if "__tuple__" in value:
        return tuple(_decode(v, arrays, key) for v in value["__tuple__"])
    if "__estimator__" in value:
        cls_name = _check_str(value["__estimator__"], key)
        if cls_name not in NESTED:
            raise PipelineFileError(f"{key}: nested class {cls_name!r} is not allowed "
                                    f"({', '.join(NESTED)}).")
        return _build(NESTED[cls_name], cls_name, value.get("params"), value.get("attributes"),
                      arrays, key)
    if "__dict__" in value:
        pairs = value["__dict__"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise PipelineFileError(f"{key}: malformed dict.")
        out = {}
        for k, v in pairs:
            k = _decode(k, arrays, key)
            if isinstance(k, (list, dict, np.ndarray)):
                raise PipelineFileError(f"{key}: dict keys must be scalars.")
            out[k] = _decode(v, arrays, key)
        return out
    raise PipelineFileError(f"{key}: unknown value tag in {sorted(value)}.")


def _check_str(v, key):
    if not isinstance(v, str):
        raise PipelineFileError(f"{key}: expected a string, got {v!r}.")
    return v


# -- save ---------------------------------------------------------------------------------
def _step_record(name: str, est, arrays: dict, tensors: dict) -> dict:
    if est == "passthrough" or est is None:
        return {"name": name, "class": "passthrough"}
    cls = type(est).__name__
    if CLASSES.get(cls) is not type(est):
        raise TypeError(
            f"step {name!r}: {type(est).__module__}.{cls} cannot be saved; allowed: "
            f"{', '.join(CLASSES)} or 'passthrough'."
        )
    params, attrs = _split_state(est)
    if not any(k.endswith("_") for k in attrs):
        raise ValueError(f"step {name!r} ({cls}) is not fitted; fit the pipeline before saving.")
    record = {
        "name": name,
        "class": cls,
        "params": {k: _encode(v, f"{name}/params/{k}", arrays) for k, v in params.items()},
        "attributes": {k: _encode(v, f"{name}/{k}", arrays) for k, v in attrs.items()},
    }
    if isinstance(est, AutoencoderTransformer):
        for k, t in est.module_.state_dict().items():
            tensors[f"{name}.{k}"] = t.detach().cpu().contiguous()
        record["network"] = {"file": NETWORK_FILE, "prefix": f"{name}."}
    return record


def save_pipeline(pipe: Pipeline, directory, metadata: dict | None = None) -> Path:
    """Write a fitted pipeline as JSON + safetensors (no pickle).

    Args:
        pipe: fitted Pipeline of FeatureScaler / AutoencoderTransformer / PCA / SVC /
            LogisticRegression / "passthrough" steps.
        directory: target directory (created; existing bundle files are overwritten).
        metadata: optional JSON-serialisable dict stored under ``"metadata"``.

    Returns:
        The directory path.
    """
    if not isinstance(pipe, Pipeline):
        raise TypeError(f"save_pipeline expects a sklearn Pipeline, got {type(pipe).__name__}.")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, torch.Tensor] = {}
    steps = [_step_record(n, s, arrays, tensors) for n, s in pipe.steps]
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklearn_version": sklearn.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "steps": steps,
        "metadata": metadata or {},
    }
    text = json.dumps(doc, indent=1, allow_nan=True)
    save_numpy(arrays, str(directory / ARRAYS_FILE)) if arrays else (directory / ARRAYS_FILE).unlink(missing_ok=True)
    if tensors:
        save_torch(tensors, str(directory / NETWORK_FILE))
    else:
        (directory / NETWORK_FILE).unlink(missing_ok=True)
    (directory / PIPELINE_JSON).write_text(text, encoding="utf-8")
    return directory


# -- load ---------------------------------------------------------------------------------
def _check_name(name, cls, est) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith("__"):
        raise PipelineFileError(f"{cls}: invalid attribute name {name!r}.")
    if hasattr(type(est), name):
        # Never shadow methods/properties of the class with bundle data.
        raise PipelineFileError(f"{cls}: attribute {name!r} would shadow a class member.")
    return name


def _build_step(record: dict, arrays: dict, tensors: dict | None):
    if not isinstance(record, dict):
        raise PipelineFileError("each step must be a JSON object.")
    name = _check_str(record.get("name"), "step name")
    cls_name = _check_str(record.get("class"), f"step {name!r} class")
    if cls_name == "passthrough":
        return name, "passthrough"
    if cls_name not in CLASSES:
        raise PipelineFileError(f"step {name!r}: class {cls_name!r} is not allowed ({', '.join(CLASSES)}).")
    est = _build(CLASSES[cls_name], cls_name, record.get("params"), record.get("attributes"),
                 arrays, f"step {name!r}")
    if isinstance(est, AutoencoderTransformer):
        _load_network(est, name, record, tensors)
    return name, est


def _load_network(est: AutoencoderTransformer, name: str, record: dict, tensors: dict | None):
    if tensors is None:
        raise PipelineFileError(f"step {name!r}: {NETWORK_FILE} is missing.")
    if not isinstance(est.hidden, (list, tuple)):
        raise PipelineFileError(f"step {name!r}: hidden must be a list of ints.")
    est.hidden = tuple(est.hidden)
    est._check_params()
    n_in = est.n_features_in_
    if not isinstance(n_in, int) or n_in < 1:
        raise PipelineFileError(f"step {name!r}: n_features_in_ must be a positive int.")
    module = build_network(est.kind, n_in, est.hidden, est.latent_dim)
    prefix = f"{name}."
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise PipelineFileError(f"step {name!r}: network weights do not match the architecture: {err}") from None
    module.eval()
    est.module_ = module
    est.encoder_ = module.encoder


def load_pipeline(directory) -> Pipeline:
    """Load a pipeline written by :func:`save_pipeline`.

    Args:
        directory: the pipeline directory.

    Returns:
        The fitted Pipeline (metadata, if any, in ``pipe.emolens_metadata_``).

    Raises:
        PipelineFileError: missing files, unknown format, disallowed classes or malformed values.
    """
    directory = Path(directory)
    path = directory / PIPELINE_JSON
    if not path.is_file():
        raise PipelineFileError(f"no {PIPELINE_JSON} in {directory}.")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PipelineFileError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PipelineFileError(f"{path} is not an {FORMAT} file.")
    if doc.get("format_version") != FORMAT_VERSION:
        raise PipelineFileError(f"{path}: unsupported format_version {doc.get('format_version')!r}.")
    if doc.get("sklearn_version") != sklearn.__version__:
        warnings.warn(
            f"{path} was written with scikit-learn {doc.get('sklearn_version')}, loading with "
            f"{sklearn.__version__}; predictions may differ.",
            UserWarning,
            stacklevel=2,
        )
    arrays = load_numpy(str(directory / ARRAYS_FILE)) if (directory / ARRAYS_FILE).is_file() else {}
    tensors = load_torch(str(directory / NETWORK_FILE)) if (directory / NETWORK_FILE).is_file() else None
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise PipelineFileError(f"{path}: 'steps' must be a non-empty list.")
    pipe = Pipeline([_build_step(r, arrays, tensors) for r in steps])
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise PipelineFileError(f"{path}: metadata must be a JSON object.")
    pipe.emolens_metadata_ = metadata
    return pipe
