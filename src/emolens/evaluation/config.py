"""TOML experiment configuration for ``emolens run``.

The full annotated format is in ``docs/config.md``. In short::

    name = "paper"
    protocol = "pairwise"          # transfer | pairwise | within | loco
    split = "speaker"              # speaker | stratified (folds inside the training data)
    folds = 5                      # k, or "loso" (one fold per speaker)
    seeds = [0, 1, 2]
    normalisation = "none"         # none | corpus | speaker ("global": old name of none)
    features = "egemaps"
    output = "../runs/paper"

    [corpora]
    train = ["../../shared/corpora/ravdess", {path = "x.csv", name = "csv", corpus = "x"}]
    test = []

    [models.svc]                   # a table per model: key = label shown in the results
    [models.dae_svc]
    epochs = 50                    # anything else is passed to make_model
    [models.small_svc]
    model = "svc"                  # `model` picks the make_model name when the label differs

``models`` may also be a plain list of model names. Every key is checked: a wrong key is
reported with the allowed ones and the closest match; paths are resolved against the folder
of the config file and must exist.
"""

from __future__ import annotations

import difflib
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PROTOCOLS = ("transfer", "pairwise", "within", "loco")
SPLITS = ("speaker", "stratified")
TOP_KEYS = (
    "name",
    "protocol",
    "split",
    "folds",
    "seeds",
    "normalisation",
    "features",
    "output",
    "jobs",
    "cache_dir",
    "bootstrap",
    "save_models",
    "corpora",
    "models",
    "report",
    "select",
)
#: [select] keys: how a configuration is chosen among the [models.*] candidates.
SELECT_KEYS = ("by", "seeds")
SELECT_RULES = ("loco",)
CORPORA_KEYS = ("train", "test")
#: [report] keys -> (type, minimum) of the matching emolens.report.ReportOptions field.
REPORT_KEYS = {"enabled": (bool, None), "ablation": (bool, None), "max_samples": (int, 10),
               "n_repeats": (int, 1), "max_fits": (int, 1),
               "latent_axes": (str, ("auto", "shared", "own"))}
ENTRY_KEYS = ("path", "name", "corpus", "classes")


class ConfigError(ValueError):
    """An experiment configuration is invalid; the message says where and why."""


@dataclass(frozen=True)
class CorpusEntry:
    """One corpus of an experiment.

    Attributes:
        path: corpus folder or CSV manifest.
        name: layout for ``emolens.corpora.load_corpus`` (``"emodb"``, ``"ravdess"``,
            ``"csv"``, ``"folders"`` ...); ``None`` detects it.
        corpus: new value of the manifest's ``corpus`` column (rename); ``None`` keeps it.
        classes: of a test corpus, the only classes it holds: every model's label is taken
            among these (``emolens predict --classes``); ``None``: all four.
    """

    path: Path
    name: str | None = None
    corpus: str | None = None
    classes: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ModelSpec:
    """One model of an experiment: ``label`` in the results, ``model`` for ``make_model``."""

    label: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    #: What this model uses (:data:`emolens.models.scaling.NORMALISATIONS`): its own
    #: ``by``/``scale__by`` when it has one, else the experiment's; decided by
    #: :func:`parse_config`, the one place that reads both.
    normalisation: str = "none"
    #: The feature set it reads: its own ``features`` (only under ``[select]``: one run fits
    #: one feature set) or the experiment's; decided by :func:`parse_config`.
    features: str = "egemaps"


@dataclass
class ExperimentConfig:
    """A validated experiment (see ``docs/config.md``)."""

    train: list[CorpusEntry]
    test: list[CorpusEntry] = field(default_factory=list)
    models: list[ModelSpec] = field(default_factory=list)
    name: str = "experiment"
    protocol: str = "transfer"
    split: str = "speaker"
    folds: int | str = 5
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    normalisation: str = "none"
    features: str = "egemaps"
    output: Path = Path("runs/experiment")
    jobs: int = 1
    cache_dir: Path | None = None
    bootstrap: int = 1000
    save_models: bool = True
    report: dict[str, Any] = field(default_factory=dict)
    #: ``{"by": "loco", "seeds": [...]}`` when the run first selects one of its models by
    #: leave-one-corpus-out over the training corpora (docs/config.md#select); else None.
    select: dict[str, Any] | None = None
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _unknown(key: str, allowed, where: str) -> ConfigError:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return ConfigError(
        f"unknown key '{key}' in {where}.{hint} Allowed keys: {', '.join(allowed)}."
    )


def _check_keys(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise _unknown(key, allowed, where)


def _choice(value, allowed, key: str) -> str:
    if value not in allowed:
        close = difflib.get_close_matches(str(value), list(allowed), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise ConfigError(
            f"'{key}' must be one of {', '.join(map(repr, allowed))}, got {value!r}.{hint}"
        )
    return value


def _path(value, base: Path, where: str, must_exist: bool = True) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where} must be a non-empty path string, got {value!r}")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = base / path
    path = path.resolve()
    if must_exist and not path.exists():
        raise ConfigError(f"{where}: path '{value}' does not exist (resolved to {path})")
    return path


def _entries(values, base: Path, where: str) -> list[CorpusEntry]:
    if not isinstance(values, list):
        raise ConfigError(f"{where} must be a list of corpus paths, got {values!r}")
    out = []
    for i, value in enumerate(values):
        here = f"{where}[{i}]"
        if isinstance(value, str):
            out.append(CorpusEntry(_path(value, base, here)))
        elif isinstance(value, dict):
            _check_keys(value, ENTRY_KEYS, here)
            if "path" not in value:
                raise ConfigError(f"{here} needs a 'path' (a corpus folder or CSV manifest)")
            for key in ("name", "corpus"):
                v = value.get(key)
                if v is not None and (not isinstance(v, str) or not v.strip()):
                    raise ConfigError(f"{here}.{key} must be a non-empty string, got {v!r}")
            out.append(
                CorpusEntry(
                    _path(value["path"], base, f"{here}.path"), value.get("name"),
                    value.get("corpus"), _classes(value.get("classes"), here),
                )
            )
        else:
            raise ConfigError(
                f"{here} must be a path string or a table {{path = ..., name = ...}}, "
                f"got {value!r}"
            )
    return out


def _classes(value, where: str) -> tuple[str, ...] | None:
    """A test entry's ``classes`` as the four labels' names (None when not given)."""
    from emolens import LABELS
    from emolens.corpora.schema import known_classes

    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.classes must be a list of class names, e.g. "
                          f"[\"neutral\", \"sad\", \"angry\"], got {value!r}")
    try:
        return known_classes(value, LABELS)
    except ValueError as err:
        raise ConfigError(f"{where}.classes: {err}") from None


def _report(value) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError("'report' must be a table [report] (e.g. ablation = true)")
    _check_keys(value, tuple(REPORT_KEYS), "[report]")
    for key, v in value.items():
        kind, low = REPORT_KEYS[key]
        if kind is bool and not isinstance(v, bool):
            raise ConfigError(f"[report].{key} must be true or false, got {v!r}")
        if kind is int and (isinstance(v, bool) or not isinstance(v, int) or v < low):
            raise ConfigError(f"[report].{key} must be an integer >= {low}, got {v!r}")
        if kind is str and v not in low:
            raise ConfigError(f"[report].{key} must be one of {', '.join(map(repr, low))}, "
                              f"got {v!r}")
    return dict(value)


def _known_models() -> tuple[str, ...]:
    from emolens.models.factory import MODEL_NAMES

    return tuple(MODEL_NAMES)


def _models(value) -> list[ModelSpec]:
    known = _known_models()

    def check(name: str, where: str) -> str:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where} must be a model name, got {name!r}")
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"{where}: unknown model '{name}'.{hint} Known models: {', '.join(known)}."
            )
        return name

    specs: list[ModelSpec] = []
    if isinstance(value, list):
        for i, name in enumerate(value):
            specs.append(ModelSpec(name, check(name, f"models[{i}]")))
    elif isinstance(value, dict):
        for label, params in value.items():
            if not isinstance(params, dict):
                raise ConfigError(
                    f"[models.{label}] must be a table of parameters, got {params!r}"
                )
            params = dict(params)
            name = check(params.pop("model", label), f"[models.{label}].model")
            specs.append(ModelSpec(label, name, params))
    else:
        raise ConfigError("'models' must be a list of model names or a table of [models.<label>]")
    if not specs:
        raise ConfigError("'models' is empty: name at least one model")
    labels = [s.label for s in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError(f"duplicate model labels in 'models': {labels}")
    return specs


# -- one validator per top-level key --------------------------------------------------------
# Each takes the value from the file and returns it (normalised) or raises ConfigError naming
# the key. A new key is one line in SCALAR_KEYS (and TOP_KEYS) plus, where it depends on other
# keys, a line in _cross_checks.
def _one_of(*allowed):
    return lambda value, key: _choice(value, allowed, key)


def _int_at_least(low: int, note: str = ""):
    def check(value, key):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"'{key}' must be an integer >= {low}{note}, got {value!r}")
        return value

    return check


def _normalisation(value, key):
    from emolens.models.scaling import NORMALISATIONS, normalisation_name

    try:
        return normalisation_name(value, f"'{key}'")
    except ValueError:
        _choice(value, NORMALISATIONS, key)
        raise


def _bool(value, key):
    if not isinstance(value, bool):
        raise ConfigError(f"'{key}' must be true or false, got {value!r}")
    return value


def _text(value, key):
    if not isinstance(value, str) or not value:
        raise ConfigError(f"'{key}' must be a non-empty string, got {value!r}")
    return value


def _folds(value, key):
    if value != "loso" and (isinstance(value, bool) or not isinstance(value, int) or value < 2):
        raise ConfigError(f"'{key}' must be an integer >= 2 or \"loso\", got {value!r}")
    return value


def _seeds(value, key):
    seeds = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)
    ):
        raise ConfigError(f"'{key}' must be a non-empty list of integers >= 0, got {value!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"'{key}' has duplicates: {seeds}")
    return list(seeds)


def _feature_set(value, key):
    from emolens.features.sets import FEATURE_SETS, get_config

    if not isinstance(value, str) or not value:
        raise ConfigError(f"'{key}' must be a feature-set name, got {value!r}")
    if value in FEATURE_SETS:
        return value
    try:  # an encoder or a hybrid: the name is parsed here, the model is checked by the run
        return get_config(value).name
    except ValueError as err:
        if ":" in value or "/" in value or "+" in value:
            raise ConfigError(f"'{key}': {err}") from None
    return _choice(value, tuple(FEATURE_SETS), key)


#: Top-level keys holding one value: key -> (default, validator).
SCALAR_KEYS: dict[str, tuple[Any, Any]] = {
    "protocol": ("transfer", _one_of(*PROTOCOLS)),
    "split": ("speaker", _one_of(*SPLITS)),
    "normalisation": ("none", _normalisation),
    "folds": (5, _folds),
    "seeds": ([0, 1, 2], _seeds),
    "jobs": (1, _int_at_least(1)),
    "bootstrap": (1000, _int_at_least(0, " (0 = no CI)")),
    "features": ("egemaps", _feature_set),
    "save_models": (True, _bool),
}


def _cross_checks(v: dict[str, Any], train: list, test: list) -> None:
    """Rules between keys (``v``: the validated scalar values)."""
    if v["folds"] == "loso" and v["split"] != "speaker":
        raise ConfigError("folds = \"loso\" (leave one speaker out) needs split = \"speaker\"")
    if v["protocol"] == "loco" and len(train) < 2:
        raise ConfigError("protocol 'loco' (leave one corpus out) needs at least two train corpora")
    if v["protocol"] == "pairwise" and len(train) + len(test) < 2:
        raise ConfigError("protocol 'pairwise' needs at least two corpora")
    if v["protocol"] == "within" and test:
        raise ConfigError(
            "protocol 'within' evaluates inside each train corpus; [corpora].test must be "
            "empty (use protocol 'transfer' for zero-shot test corpora)"
        )


#: Model parameters that choose a model's own normalisation.
BY_KEYS = ("by", "scale__by")
#: Model-table keys that are options of the run's fitting, not ``make_model`` parameters.
FIT_KEYS = ("balance", "adapt", "features", "augment")
#: Values of a model's ``augment``: train on the recordings as they are, or on them and on a
#: copy of every training utterance with each speaker behind a simulated channel of his/her
#: own (:mod:`emolens.features.channels`).
AUGMENTS = ("none", "channel")


def model_balance(spec: ModelSpec) -> str:
    """How the model's training utterances are weighted: ``"class"`` (each class the same
    total weight, the default) or ``"corpus"`` (each corpus x class cell the same)."""
    return spec.params.get("balance", "class")


def model_adapt(spec: ModelSpec):
    """How the model meets a zero-shot test corpus: None (as trained, the default) or a
    :class:`~emolens.models.PseudoLabels` adaptation to the corpus's own utterances
    (``adapt = "pseudo-labels"``)."""
    from emolens.models import adaptation

    return adaptation(spec.params.get("adapt", "none"))


def model_augment(spec: ModelSpec) -> str:
    """What the model trains on besides the recordings: ``"none"`` (the default) or
    ``"channel"`` (a copy of every training utterance, each speaker behind a simulated
    recording channel of his/her own; docs/config.md#training-through-other-channels-augment)."""
    return spec.params.get("augment", "none")


def _with_normalisation(spec: ModelSpec, default: str) -> ModelSpec:
    """``spec`` with the normalisation it uses: its own ``by``/``scale__by`` wins over the
    experiment's ``default`` (docs/config.md)."""
    own = [k for k in BY_KEYS if k in spec.params]
    if len(own) > 1:
        raise ConfigError(f"[models.{spec.label}]: give 'by' or 'scale__by', not both")
    if not own:
        return replace(spec, normalisation=default, params=_speaker_params_for(spec, default))
    return replace(spec, normalisation=_normalisation(spec.params[own[0]],
                                                      f"[models.{spec.label}].{own[0]}"))


#: Model parameters that act on speaker statistics only (shrink them towards the corpus's,
#: guard them against speakers with one emotion).
SPEAKER_KEYS = ("shrink", "scale__shrink", "guard", "scale__guard")


def _speaker_params_for(spec: ModelSpec, normalisation: str) -> dict[str, Any]:
    """The model's parameters under the experiment's ``normalisation``: ``shrink`` and
    ``guard`` (of speaker statistics) are dropped, with a warning, when the experiment's
    normalisation is not per speaker, so that a script may rewrite the top-level
    ``normalisation`` of any shipped experiment (docs/config.md)."""
    keys = [k for k in SPEAKER_KEYS if k in spec.params]
    if normalisation == "speaker" or not keys:
        return spec.params
    shown = ", ".join(f"{k} = {spec.params[k]!r}" for k in keys)
    warnings.warn(f"[models.{spec.label}]: {shown} ignored: they act on speaker statistics, "
                  f"and the experiment's normalisation is '{normalisation}'", UserWarning,
                  stacklevel=2)
    return {k: v for k, v in spec.params.items() if k not in SPEAKER_KEYS}


def _with_features(spec: ModelSpec, default: str, select) -> ModelSpec:
    """``spec`` with the feature set it reads: its own ``features`` wins over the experiment's
    ``default``; a candidate of ``[select]`` only (the selected one's set is the run's)."""
    if "features" not in spec.params:
        return replace(spec, features=default)
    where = f"[models.{spec.label}].features"
    if select is None:
        raise ConfigError(f"{where}: a model's own feature set needs [select] (one candidate "
                          "is chosen and the run uses its features); without it, set the "
                          "top-level 'features'")
    return replace(spec, features=_feature_set(spec.params["features"], where))


def model_params(spec: ModelSpec) -> dict[str, Any]:
    """``make_model`` keyword arguments of a model spec, its normalisation as ``scale__by``
    (fitting options such as ``balance`` left out)."""
    from emolens.models.scaling import scaler_by

    params = {k: v for k, v in spec.params.items() if k not in BY_KEYS + FIT_KEYS}
    params["scale__by"] = scaler_by(spec.normalisation)
    return params


def _check_models(specs: list[ModelSpec]) -> None:
    """Build every model once with its parameters and check them (names, types, ranges),
    so that a wrong one fails here and not after the features are extracted."""
    from emolens.models import ADAPTS, BALANCES, check_model, make_model

    for spec in specs:
        if "balance" in spec.params:
            _choice(spec.params["balance"], BALANCES, f"[models.{spec.label}].balance")
        if "adapt" in spec.params:
            _choice(spec.params["adapt"], ADAPTS, f"[models.{spec.label}].adapt")
        if "augment" in spec.params:
            _choice(spec.params["augment"], AUGMENTS, f"[models.{spec.label}].augment")
        try:
            check_model(make_model(spec.model, seed=0, **model_params(spec)))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"[models.{spec.label}]: {err}") from None


def _select(value, values: dict[str, Any], train: list) -> dict[str, Any] | None:
    """The validated [select] table (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ConfigError("'select' must be a table [select] (by = \"loco\")")
    _check_keys(value, SELECT_KEYS, "[select]")
    by = _choice(value.get("by", "loco"), SELECT_RULES, "[select].by")
    if len(train) < 2:
        raise ConfigError("[select] by = \"loco\" needs at least two [corpora].train corpora "
                          "(each is held out in turn; the test corpora are never used)")
    seeds = _seeds(value["seeds"], "[select].seeds") if "seeds" in value else values["seeds"]
    return {"by": by, "seeds": seeds}


def parse_config(data: dict[str, Any], base: Path, source: Path | None = None) -> ExperimentConfig:
    """Validate a parsed TOML table.

    Every key, type and value range is checked here, before any audio is read; every model
    is built once with its parameters.

    Args:
        data: the TOML document as a dict.
        base: folder that relative paths are resolved against.
        source: the config file, kept for the record.

    Returns:
        ExperimentConfig

    Raises:
        ConfigError: naming the wrong key, value or path.
    """
    _check_keys(data, TOP_KEYS, "the experiment")
    if "corpora" not in data:
        raise ConfigError("missing table [corpora] (with train = [...] and test = [...])")
    corpora = data["corpora"]
    if not isinstance(corpora, dict):
        raise ConfigError("'corpora' must be a table [corpora] with train = [...], test = [...]")
    _check_keys(corpora, CORPORA_KEYS, "[corpora]")
    if "train" not in corpora:
        raise ConfigError("[corpora] needs 'train' = [corpus paths]")
    train = _entries(corpora["train"], base, "[corpora].train")
    given = [e for e in train if e.classes is not None]
    if given:
        raise ConfigError(f"[corpora].train: 'classes' is for test corpora ({given[0].path}); "
                          "a training corpus's classes come from its labels")
    test = _entries(corpora.get("test", []), base, "[corpora].test")
    if not train:
        raise ConfigError("[corpora].train is empty: name at least one training corpus")
    if "models" not in data:
        raise ConfigError("missing 'models' (a list of names or [models.<label>] tables)")

    values = {key: check(data[key], key) if key in data else default
              for key, (default, check) in SCALAR_KEYS.items()}
    _cross_checks(values, train, test)
    name = _text(data.get("name", source.stem if source else "experiment"), "name")
    output = _path(data.get("output", f"runs/{name}"), base, "'output'", must_exist=False)
    cache_dir = data.get("cache_dir")
    if cache_dir is not None:
        cache_dir = _path(cache_dir, base, "'cache_dir'", must_exist=False)
    report = _report(data.get("report", {}))
    select = _select(data.get("select"), values, train)
    models = [_with_features(_with_normalisation(s, values["normalisation"]),
                             values["features"], select) for s in _models(data["models"])]
    _check_models(models)

    return ExperimentConfig(
        train=train,
        test=test,
        models=models,
        name=name,
        output=output,
        cache_dir=cache_dir,
        report=report,
        select=select,
        source=source,
        raw=data,
        **values,
    )


def with_test(config: ExperimentConfig, paths: list[str], base: Path | None = None
              ) -> ExperimentConfig:
    """The experiment with ``paths`` (corpus folders or CSV manifests, relative to ``base``,
    default the working directory) as its zero-shot test corpora, replacing [corpora].test
    (``emolens run CONFIG --test PATH ...``)."""
    import dataclasses

    test = _entries([str(p) for p in paths], base or Path.cwd(), "--test")
    values = {k: getattr(config, k) for k in SCALAR_KEYS}
    _cross_checks(values, config.train, test)
    return dataclasses.replace(config, test=test)


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment TOML file.

    Args:
        path: the ``.toml`` file; relative paths inside it resolve against its folder.

    Returns:
        ExperimentConfig

    Raises:
        ConfigError: the file is missing, is not valid TOML, or has a wrong key/value/path.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file '{path}' does not exist")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    path = path.resolve()
    return parse_config(data, path.parent, source=path)
