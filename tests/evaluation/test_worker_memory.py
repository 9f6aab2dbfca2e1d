"""Issue 11: a fit's memory in a joblib worker is not taken for a leak (no restart, no
"A worker stopped while some jobs were given to the executor" warning)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("psutil")  # loky's leak check needs it


def _task(i):
    import sys
    import time

    import numpy as np

    from emolens._parallel import tolerate_worker_memory

    tolerate_worker_memory()  # what the runner's fit chunks do
    if not getattr(sys, "_emolens_seen", False):  # loky's reference: after the first task
        sys._emolens_seen = True
        return 0
    sys._emolens_data = np.ones(300 * 2**20 // 8 + i)  # ~300 MB held, as a ComParE fit does
    time.sleep(1.1)  # loky checks at most once a second
    return 1


def test_a_big_fit_does_not_restart_the_worker():
    from joblib import Parallel, delayed

    from emolens._parallel import release_worker_pool

    release_worker_pool()  # fresh workers: their first task sets loky's reference size
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            Parallel(n_jobs=2)(delayed(_task)(i) for i in range(8))
    finally:
        release_worker_pool()
    assert not [w for w in caught if "worker stopped" in str(w.message)]
