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
