"""Feature extraction over many files: cache, process pool or Dask cluster, bad-file report.

The per-file work (:func:`compute_features`) is a plain module-level function of a path and
a feature-set name, so the same code runs in-process, in a local process pool and on a Dask
cluster. The main process hashes every file, serves cache hits, sends only the misses out,
and writes each result to the cache as soon as it arrives: an interrupted run keeps all
finished files and a rerun starts where it stopped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emolens.features.audio import TARGET_SR, AudioError, load_audio
from emolens.features.cache import FeatureCache, default_cache_dir, hash_file
from emolens.features.sets import FeatureConfig, HybridConfig, get_config

#: Seconds between looks at entries another process is computing.
CLAIM_POLL = 0.2

#: Result of one file from a worker: (values, columns or None, reason or None).
TaskResult = tuple[np.ndarray | None, list[str] | None, str | None]


@dataclass
class Extraction:
    """Result of :func:`extract`.

    Attributes:
        features: float64 DataFrame with openSMILE's column names, indexed by ``file``
            (absolute path strings) for functionals, or by ``(file, start, end)`` (start and
            end as Timedelta, as openSMILE gives them) for low-level descriptors.
        skipped: DataFrame with columns ``file, reason``: one row per file that could not
            be processed.
        feature_set: emolens name of the feature set.
        n_cached: files served from the cache (those computed meanwhile by another process
            included).
        n_computed: files computed in this run.
        n_shared: files whose bytes are identical to another file of the list: read once,
            so neither cached nor computed for themselves.
        n_waited: of ``n_cached``, entries another process was computing at the same time
            (this run waited for them instead of computing them again).
        digests: content hash of every file that could be read (str, indexed by ``file``):
            equal for files with the same bytes.
    """

    features: pd.DataFrame
    skipped: pd.DataFrame
    feature_set: str = "egemaps"
    n_cached: int = 0
    n_computed: int = 0
    n_shared: int = 0
    n_waited: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    digests: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))


class NoFeaturesError(RuntimeError):
    """Not a single file could be processed; :attr:`skipped` lists the reasons."""

    def __init__(self, skipped: pd.DataFrame):
        self.skipped = skipped
        examples = "; ".join(
            f"{Path(f).name}: {r}" for f, r in skipped.head(3).itertuples(index=False)
        )
        super().__init__(
            f"no file could be processed ({len(skipped)} skipped). First reasons: {examples}"
        )


# --------------------------------------------------------------------------- worker side

_LOCAL = threading.local()


def _smile(config: FeatureConfig):
    # One Smile per thread and configuration: building one costs ~0.2 s, and a Smile object
    # is not shared between threads (Dask workers may run several threads).
    smiles = getattr(_LOCAL, "smiles", None)
    if smiles is None:
        smiles = _LOCAL.smiles = {}
    if config.name not in smiles:
        smiles[config.name] = config.smile()
    return smiles[config.name]


def compute_features(path: str, feature_set: str, want_columns: bool = False) -> TaskResult:
    """Read, check and extract one file (the unit of work of every backend).

    Args:
        path: audio file.
        feature_set: emolens feature-set name (an openSMILE set or an encoder).
        want_columns: also return the column names.

    Returns:
        ``(values, columns, reason)``: a 2-D float64 array (one row for functionals and
        encoders; for LLDs one row per frame, the first two columns start and end in
        nanoseconds) and ``None``, or ``None`` and the reason the file was skipped.
    """
    config = get_config(feature_set)
    try:
        signal_ = load_audio(path)
    except AudioError as err:
        return None, None, str(err)
    return signal_features(config, signal_, want_columns)


def signal_features(config, signal_: np.ndarray, want_columns: bool = True) -> TaskResult:
    """Features of one checked 16 kHz mono signal (see :func:`compute_features`).

    Args:
        config: a configuration from :func:`emolens.features.get_config` (a hybrid's parts
            are computed one after the other and put side by side).
        signal_: float32 samples as :func:`emolens.features.load_audio` returns them.
        want_columns: also return the column names.
    """
    if isinstance(config, HybridConfig):
        values, columns = [], []
        for part in config.parts:
            v, c, reason = signal_features(part, signal_, want_columns)
            if v is None:
                return None, None, reason
            values.append(v)
            columns.extend(c or [])
        return np.hstack(values), (columns if want_columns else None), None
    if getattr(config, "is_encoder", False):
        try:
            values = _encoder(config).embed(signal_)
        except Exception as err:  # noqa: BLE001 - one odd file must not stop the whole run
            return None, None, f"feature extraction failed ({type(err).__name__}: {err})"
        if not np.isfinite(values).all():
            return None, None, "the encoder returned NaN or infinite values"
        return values, (config.feature_names() if want_columns else None), None
    try:
        frame = _smile(config).process_signal(signal_, TARGET_SR)
    except Exception as err:  # noqa: BLE001 - one odd file must not stop the whole run
        return None, None, f"feature extraction failed ({type(err).__name__}: {err})"
    values = frame.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        names = frame.columns[bad.any(axis=0)]
        return None, None, (
            f"openSMILE returned NaN or infinite values for {len(names)} feature(s), "
            f"e.g. {names[0]}"
        )
    if values.shape[0] == 0:
        return None, None, "openSMILE returned no frames"
    if config.is_lld:
        start = frame.index.get_level_values("start").asi8
        end = frame.index.get_level_values("end").asi8
        values = np.column_stack([start, end, values]).astype(np.float64)
    return values, (list(frame.columns) if want_columns else None), None


def _encoder(config):
    # One loaded encoder per thread and configuration, like the Smile objects; keyed by the
    # cache key (which holds the weight hash), so replaced weights are loaded anew.
    encoders = getattr(_LOCAL, "encoders", None)
    if encoders is None:
        encoders = _LOCAL.encoders = {}
    key = config.key
    if key not in encoders:
        encoders.clear()  # one model in memory per thread is enough
        encoders[key] = config.load()
    return encoders[key]


def _init_worker(feature_set: str, threads: int = 1) -> None:
    # Ctrl-C reaches the whole process group: let the parent decide, so a worker finishes
    # (or drops) its file cleanly instead of dying with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _watch_parent(os.getppid())
    config = get_config(feature_set)
    if getattr(config, "is_encoder", False):
        import torch

        # The workers share the cores: N workers x all cores each would oversubscribe them.
        torch.set_num_threads(threads)
        _encoder(config)
    else:
        _smile(config)


def _watch_parent(parent: int, interval: float = 1.0) -> None:
    """Exit when the parent dies: an idle pool worker whose parent was killed (SIGKILL,
    SIGTERM) would otherwise wait for work forever."""

    def watch():
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="emolens-parent-watch", daemon=True).start()


# --------------------------------------------------------------------------- main side


def extract(
    files: Iterable[str | os.PathLike] | pd.DataFrame,
    feature_set: str = "egemaps",
    jobs: int = 1,
    cache_dir: str | os.PathLike | None = None,
    scheduler: Any = None,
    progress: bool = True,
) -> Extraction:
    """Extract openSMILE features from many audio files.

    Every file is read with soundfile, averaged to mono and resampled to 16 kHz; files that
    cannot be used are reported in ``Extraction.skipped`` with a reason and the run goes on.

    Args:
        files: paths, or a manifest DataFrame (its ``file`` column is used). Duplicates
            are extracted once.
        feature_set: ``"egemaps"`` (eGeMAPSv02 functionals, default), ``"gemaps"``
            (GeMAPSv01b functionals), ``"compare"`` (ComParE_2016 functionals) or
            ``"egemaps-lld"`` (eGeMAPSv02 low-level descriptors), a pretrained encoder
            (``"hf:<id or folder>[@layer]"``, ``"whisper:<size>"``, a model folder; needs
            ``pip install 'emolens[encoders]'``, see :mod:`emolens.features.encoders`) or a
            hybrid (``"egemaps+hf:..."``: the columns of both, files both could process).
        jobs: worker processes on this machine (1 = in-process).
        cache_dir: feature cache folder; default ``$EMOLENS_CACHE`` or
            ``~/.cache/emolens/features``.
        scheduler: a Dask scheduler address (``"tcp://host:8786"``) or a
            ``distributed.Client``; then ``jobs`` is ignored and the cluster does the work.
            Needs ``pip install emolens[distributed]``; the workers must see the same paths.
        progress: show a progress bar (on stderr).

    Returns:
        :class:`Extraction` with ``features`` (rows in input order) and ``skipped``.

    Raises:
        ValueError: unknown feature set, bad ``jobs`` or no files given;
            :class:`~emolens.features.encoders.EncoderError` (a ValueError) when an
            encoder is not found locally or its layer does not exist.
        ImportError: an encoder without the ``encoders`` extra installed.
        NoFeaturesError: no file could be processed.
    """
    config = get_config(feature_set)
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    paths = _as_paths(files)
    if not paths:
        raise ValueError("no files to extract features from")
    if isinstance(config, HybridConfig):
        parts = [extract(paths, part.name, jobs, cache_dir, scheduler, progress)
                 for part in config.parts]
        return _combine(parts, paths, config)
    if getattr(config, "is_encoder", False):
        config.check()  # missing extra, model not found, bad layer: one clear error now
    cache = FeatureCache(cache_dir if cache_dir is not None else default_cache_dir(), config)
    batch = _Batch(config, cache, jobs, scheduler)
    timings: dict[str, float] = {}
    with _progress_bar(progress, len(paths), config.name) as advance:
        batch.advance = advance
        t0 = time.perf_counter()
        batch.look_up(paths)
        timings["hash_and_lookup"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        batch.compute_all()
        timings["compute"] = time.perf_counter() - t0
    if batch.n_computed:
        cache.purge_stale_temporaries()
    return batch.extraction(paths, timings)


class _Batch:
    """One :func:`extract` call on one configuration: what is done, skipped and to compute.

    Files are grouped by content hash (``todo``: hash -> paths with those bytes); every hash
    is served from the cache, computed here (after claiming it in the cache) or waited for
    while another process computes it.
    """

    def __init__(self, config, cache: FeatureCache, jobs: int, scheduler):
        self.config, self.cache, self.jobs, self.scheduler = config, cache, jobs, scheduler
        self.advance = lambda n: None
        self.columns = cache.columns
        # rows of a cache entry; an entry of another width is stale and computed again
        self.width = (None if self.columns is None
                      else len(self.columns) + (2 if config.is_lld else 0))
        self.results: dict[str, np.ndarray] = {}
        self.reasons: dict[str, str] = {}
        self.todo: dict[str, list[str]] = {}
        self.claimed: set[str] = set()
        self.digests: dict[str, str] = {}  # path -> content hash
        self.n_cached = self.n_computed = self.n_waited = 0

    def _usable(self, cached) -> bool:
        return cached is not None and (self.width is None or cached.shape[1] == self.width)

    def look_up(self, paths: list[str]) -> None:
        """Hash every file; serve cache hits, collect the rest in ``todo``."""
        for path in paths:
            try:
                digest = hash_file(path)
            except FileNotFoundError:
                self.reasons[path] = "file not found"
            except IsADirectoryError:
                self.reasons[path] = "is a directory, not an audio file"
            except OSError as err:
                self.reasons[path] = f"cannot read file ({err.strerror or err})"
            else:
                self.digests[path] = digest
                if digest in self.todo:
                    self.todo[digest].append(path)
                    continue
                cached = self.cache.get(digest)
                if not self._usable(cached):
                    self.todo[digest] = [path]
                    continue
                self.results[path] = cached
                self.n_cached += 1
            self.advance(1)

    def compute_all(self) -> None:
        """Compute what nobody else computes, then wait for the entries others hold."""
        try:
            mine, waiting = self._take(list(self.todo))
            self._compute(mine)
            while waiting:
                time.sleep(CLAIM_POLL)
                ready = [d for d in waiting
                         if self.cache.get(d) is not None or not self.cache.claimed(d)]
                if ready:
                    waiting = [d for d in waiting if d not in set(ready)]
                    mine, others = self._take(ready)
                    waiting += others
                    self._compute(mine)
        finally:
            for digest in self.claimed:  # interrupted: let other processes take these over
                self.cache.release(digest)

    def _compute(self, digests) -> None:
        # Only entries this process claimed: another process computing the same cache is
        # never duplicated; its entries are waited for (compute_all).
        tasks = [(d, self.todo[d][0]) for d in digests]
        for digest, (values, cols, reason) in _run(tasks, self.config, self.jobs,
                                                   self.scheduler, self.columns):
            group = self.todo[digest]
            if values is None:
                for path in group:
                    self.reasons[path] = reason or "unknown error"
            else:
                if cols is not None and self.columns is None:
                    self.columns = cols
                    self.cache.set_columns(cols)
                self.cache.put(digest, values)
                self.n_computed += 1
                for path in group:
                    self.results[path] = values
            self.cache.release(digest)
            self.claimed.discard(digest)
            self.advance(len(group))

    def _take(self, digests) -> tuple[list[str], list[str]]:
        """Claim what nobody computes; serve what appeared meanwhile. Returns (ours, held by
        another live process)."""
        mine, others = [], []
        for digest in digests:
            if self.cache.claim(digest):
                self.claimed.add(digest)
                cached = self.cache.get(digest)  # finished by another process since the lookup
                if not self._usable(cached):
                    mine.append(digest)
                    continue
                self.cache.release(digest)
                self.claimed.discard(digest)
            else:
                cached = self.cache.get(digest)
                if cached is None:
                    others.append(digest)
                    continue
            self.n_waited += 1
            for path in self.todo[digest]:
                self.results[path] = cached
            self.advance(len(self.todo[digest]))
        return mine, others

    def extraction(self, paths: list[str], timings: dict) -> Extraction:
        """The result, rows in the order of ``paths``.

        Raises:
            NoFeaturesError: no file could be processed.
        """
        skipped = _skipped(paths, self.reasons)
        if not self.results:
            raise NoFeaturesError(skipped)
        if self.columns is None:  # every file came from a cache whose metadata was removed
            self.columns = feature_names(self.config)
            self.cache.set_columns(self.columns)
        n_found = self.n_cached + self.n_waited
        return Extraction(
            features=_frame(paths, self.results, self.columns, self.config),
            skipped=skipped,
            feature_set=self.config.name,
            n_cached=n_found,
            n_computed=self.n_computed,
            n_shared=len(paths) - len(self.reasons) - n_found - self.n_computed,
            n_waited=self.n_waited,
            timings=timings,
            digests=pd.Series(self.digests, dtype="str").rename_axis("file"),
        )


def _skipped(paths: list[str], reasons: dict[str, str]) -> pd.DataFrame:
    """``file, reason`` of the paths that have a reason, in the order of ``paths``."""
    bad = [p for p in paths if p in reasons]
    return pd.DataFrame({"file": pd.Series(bad, dtype="str"),
                         "reason": pd.Series([reasons[p] for p in bad], dtype="str")},
                        columns=["file", "reason"])


def feature_names(config) -> list[str]:
    """Column names of a configuration (builds an openSMILE object; reads an encoder's config)."""
    if isinstance(config, HybridConfig):
        return [c for part in config.parts for c in feature_names(part)]
    if getattr(config, "is_encoder", False):
        return config.feature_names()
    return list(config.smile().feature_names)


def feature_blocks(config) -> tuple[int, ...]:
    """The column count of each part of a configuration, in column order (one part unless
    it is a hybrid): what :class:`emolens.models.FusedLogisticRegression` fuses."""
    parts = config.parts if isinstance(config, HybridConfig) else (config,)
    return tuple(len(feature_names(part)) for part in parts)


def _combine(parts: list[Extraction], paths: list[str], config: HybridConfig) -> Extraction:
    """Side by side: the files every part could process, in input order."""
    keep = [p for p in paths if all(p in part.features.index for part in parts)]
    if not keep:
        skipped = pd.concat([part.skipped for part in parts]).drop_duplicates("file")
        raise NoFeaturesError(skipped.reset_index(drop=True))
    features = pd.concat([part.features.loc[keep] for part in parts], axis=1)
    reasons: dict[str, str] = {}
    for part in parts:
        for file, reason in part.skipped.itertuples(index=False):
            reasons.setdefault(file, f"{part.feature_set}: {reason}")
    skipped = _skipped(paths, reasons)
    timings: dict[str, float] = {}
    for part in parts:
        for k, v in part.timings.items():
            timings[f"{part.feature_set}:{k}"] = v
    return Extraction(
        features=features, skipped=skipped, feature_set=config.name,
        n_cached=min(p.n_cached for p in parts), n_computed=max(p.n_computed for p in parts),
        n_shared=parts[0].n_shared, n_waited=max(p.n_waited for p in parts), timings=timings,
        digests=parts[0].digests,
    )


def _as_paths(files) -> list[str]:
    if isinstance(files, pd.DataFrame):
        if "file" not in files.columns:
            raise ValueError("the manifest DataFrame has no 'file' column")
        files = files["file"].tolist()
    elif isinstance(files, (str, os.PathLike)):
        files = [files]
    seen: dict[str, None] = {}
    for f in files:
        if f is None or (isinstance(f, float) and np.isnan(f)):
            raise ValueError("file list contains a missing value")
        seen.setdefault(os.path.abspath(os.fspath(f)), None)
    return list(seen)


def _frame(paths, results, columns, config: FeatureConfig) -> pd.DataFrame:
    done = [p for p in paths if p in results]
    if not config.is_lld:
        values = np.vstack([results[p] for p in done])
        index = pd.Index(done, name="file")
        return pd.DataFrame(values, index=index, columns=list(columns), dtype=np.float64)
    arrays = [results[p] for p in done]
    values = np.vstack(arrays)
    files = np.repeat(np.array(done, dtype=object), [len(a) for a in arrays])
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(files.tolist()),
            pd.to_timedelta(values[:, 0].astype(np.int64), unit="ns"),
            pd.to_timedelta(values[:, 1].astype(np.int64), unit="ns"),
        ],
        names=["file", "start", "end"],
    )
    return pd.DataFrame(values[:, 2:], index=index, columns=list(columns), dtype=np.float64)


def _run(tasks, config, jobs, scheduler, columns) -> Iterator[tuple[str, TaskResult]]:
    """Yield ``(digest, result)`` for every task, in completion order."""
    if not tasks:
        return
    if scheduler is not None:
        yield from _run_dask(tasks, config, scheduler, columns is None)
    elif jobs == 1 or len(tasks) == 1:
        want = columns is None
        for digest, path in tasks:
            result = compute_features(path, config.name, want)
            want = want and result[1] is None
            yield digest, result
    else:
        yield from _run_pool(tasks, config, jobs, columns is None)


#: Reason given for a file on which a worker process died (a native-code crash).
CRASH_REASON = "the worker process crashed on this file (fault in openSMILE or libsndfile)"


def _run_pool(tasks, config, jobs, want_columns) -> Iterator[tuple[str, TaskResult]]:
    """Process-pool backend. If a worker dies (a crash in native code), the pool is rebuilt;
    the files that were in flight are retried one by one in a pool of their own, so only the
    file that really crashes is skipped."""
    queue = deque(tasks)
    want = [want_columns]
    while queue:
        suspects = yield from _pool_pass(queue, config, jobs, want)
        for digest, path in suspects:
            isolated = _pool_pass(deque([(digest, path)]), config, 1, want)
            crashed = yield from isolated
            for digest_, _ in crashed:
                yield digest_, (None, None, CRASH_REASON)


def _pool_pass(queue: deque, config, jobs, want: list) -> Iterator[tuple[str, TaskResult]]:
    """Run tasks from ``queue`` until it is empty or the pool breaks; returns (as the
    generator's value) the tasks that were in flight when a worker died."""
    workers = min(jobs, len(queue))
    window = 4 * workers  # bounded in-flight work: Ctrl-C loses at most this many files
    threads = max(1, (os.cpu_count() or 1) // workers)
    executor = ProcessPoolExecutor(workers, initializer=_init_worker,
                                   initargs=(config.name, threads))
    inflight: dict = {}

    def submit():
        digest, path = queue.popleft()
        future = executor.submit(compute_features, path, config.name, want[0])
        inflight[future] = (digest, path)

    try:
        while queue and len(inflight) < window:
            submit()
        while inflight:
            done, _ = wait(inflight, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return list(inflight.values())
                digest, _ = inflight.pop(future)
                if result[1] is not None:
                    want[0] = False
                yield digest, result
                if queue:
                    submit()
        return []
    finally:
        # On Ctrl-C (or any error) drop the queued files and let running ones finish (one
        # file per worker; workers ignore SIGINT). Waiting here, not at interpreter exit,
        # matters: shutting a pool down during interpreter finalisation can hang.
        try:
            executor.shutdown(wait=True, cancel_futures=True)
        except KeyboardInterrupt:  # a second Ctrl-C: stop the workers now
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            raise


def _run_dask(tasks, config, scheduler, want_columns) -> Iterator[tuple[str, TaskResult]]:
    try:
        from distributed import Client, as_completed
    except ImportError as err:
        raise ImportError(
            "running on a Dask cluster needs the optional dependencies: "
            "pip install 'emolens[distributed]'"
        ) from err
    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    if not isinstance(client, Client):
        raise TypeError(
            f"scheduler must be an address string or a distributed.Client, got {type(scheduler)!r}"
        )
    futures = {}
    try:
        for i, (digest, path) in enumerate(tasks):
            future = client.submit(
                compute_features,
                path,
                config.name,
                want_columns and i == 0,
                key=f"emolens-extract-{config.key}-{digest}",
                pure=False,
            )
            futures[future] = digest
        for future, result in as_completed(futures, with_results=True):
            yield futures[future], result
    finally:
        unfinished = [f for f in futures if not f.done()]
        if unfinished:
            client.cancel(unfinished)
        if own:
            client.close()


class _progress_bar:
    """Context manager giving an ``advance(n)`` callable; a no-op when disabled."""

    def __init__(self, enabled: bool, total: int, label: str, verb: str = "extract"):
        self.enabled = enabled
        self.total = total
        self.label = label
        self.verb = verb
        self._progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._progress.__enter__()
        task = self._progress.add_task(f"{self.verb} {self.label}", total=self.total)
        return lambda n: self._progress.advance(task, n)

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)
        return False
