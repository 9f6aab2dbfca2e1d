"""Helpers for joblib's worker pool shared by the command-line stages."""

from __future__ import annotations


def release_worker_pool() -> None:
    """Stop joblib's idle loky worker pool now, killing the workers.

    A command line process would otherwise wait ~2 s at exit while every worker shuts down
    gracefully (tearing down torch). Call it only when no more parallel work follows; a later
    ``joblib.Parallel`` call simply starts a new pool.
    """
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:  # pragma: no cover - joblib without loky
        return
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)


#: Memory growth of a worker (bytes) that loky tolerates before it takes it for a leak.
WORKER_MEMORY_GROWTH = 8 << 30


def tolerate_worker_memory() -> None:
    """In a loky worker: accept the memory a fit needs as use, not as a leak.

    loky measures a worker's memory after its first task (here: the warm-up, a few imports)
    and restarts the worker, with the warning "A worker stopped while some jobs were given
    to the executor ... memory leak", once it holds 300 MB more. A fit on ComParE features
    (6373 columns, per-speaker scaled copies) legitimately does: the restart cost ~2 s of
    imports and the warning alarmed users (experiments/best.toml). No-op outside a worker.
    """
    try:
        from joblib.externals.loky import process_executor
    except ImportError:  # pragma: no cover - joblib without loky
        return
    if getattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", 0) < WORKER_MEMORY_GROWTH:
        process_executor._MAX_MEMORY_LEAK_SIZE = WORKER_MEMORY_GROWTH


def _warm_up(modules: tuple[str, ...]) -> int:
    import importlib
    import os

    tolerate_worker_memory()
    for name in modules:
        importlib.import_module(name)
    return os.getpid()


def warm_worker_pool(jobs: int, modules: tuple[str, ...] = ()):
    """Start joblib's ``jobs`` worker processes now and import ``modules`` in them.

    The imports (torch, sklearn, pandas: ~2 s per worker) then overlap with what this process
    does before its first ``joblib.Parallel`` call (loading corpora and features) instead of
    delaying the first fit. The caller names the modules (e.g. ``"emolens.evaluation.runner"``),
    so this base module imports no emolens package.

    Returns:
        a generator to exhaust later (or None for ``jobs == 1``).
    """
    if jobs <= 1:
        return None
    from joblib import Parallel, delayed

    return Parallel(n_jobs=jobs, return_as="generator_unordered")(
        delayed(_warm_up)(tuple(modules)) for _ in range(jobs))
