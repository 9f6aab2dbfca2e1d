"""On-disk feature cache keyed by audio content and feature configuration.

Layout of ``cache_dir``::

    <config-key>.json                        the configuration and its column names
    <config-key>/<sha256[:2]>/<sha256>.npy   one float64 array per audio content
    <config-key>/<sha256[:2]>/<sha256>.claim while a process computes that entry

Claims coordinate processes that extract into the same cache at once (two ``emolens
extract`` or ``run`` on one corpus): the first to create the claim file (an exclusive create)
computes the entry, the others wait for it and read it. A claim whose process has died (same
machine) or that is older than :data:`CLAIM_TIMEOUT` (another machine) is taken over.

The key is the SHA-256 of the file *bytes*, never its path, so a moved or renamed corpus
keeps its cache and two copies of one file are computed once. Every file is written to a
temporary name in the same folder and then moved into place with :func:`os.replace`, which
is atomic: an entry is either complete or absent, whatever interrupts the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np

from emolens.features.sets import FeatureConfig

#: Environment variable that moves the default cache folder.
CACHE_ENV = "EMOLENS_CACHE"
_TMP_SUFFIX = ".tmp"
#: Temporary files older than this were left by a killed run and are removed.
_STALE_TMP_SECONDS = 24 * 3600
_CLAIM_SUFFIX = ".claim"
#: Seconds after which a claim of a process on another machine (whose life cannot be
#: checked) is taken over. One file takes seconds; a claim this old belongs to a dead run.
CLAIM_TIMEOUT = 30 * 60


def default_cache_dir() -> Path:
    """``$EMOLENS_CACHE`` if set, else ``~/.cache/emolens/features``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "emolens" / "features"


def hash_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def current_umask() -> int:
    """The process umask (read without changing it where the OS allows)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no other portable way to read it; restored at once
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, write, fsync: bool = False) -> None:
    """Write a file atomically: ``write(handle)`` fills a temporary file in the same folder,
    which then replaces ``path``. Nothing is left behind if ``write`` fails.

    The file gets the mode a plain ``open(path, "w")`` would give (0666 less the umask):
    ``mkstemp`` alone makes it 0600, unreadable to colleagues on shared storage.
    ``fsync=True`` also survives a power cut; cache entries skip it for speed, since a
    damaged entry is only ever recomputed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=_TMP_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # BaseException: a Ctrl-C in the middle of a write must not leave the temp file.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class FeatureCache:
    """Feature arrays of one configuration, stored one file per audio content.

    Args:
        cache_dir: root folder (created when first written).
        config: feature configuration; its :attr:`FeatureConfig.key` names the sub-folder.
    """

    def __init__(self, cache_dir: str | os.PathLike, config: FeatureConfig):
        self.cache_dir = Path(cache_dir).expanduser()
        self.config = config
        self.folder = self.cache_dir / config.key
        self._columns: list[str] | None = None

    def path(self, content_hash: str) -> Path:
        """Where the entry for ``content_hash`` lives (two-level fan-out keeps folders small)."""
        return self.folder / content_hash[:2] / f"{content_hash}.npy"

    def get(self, content_hash: str) -> np.ndarray | None:
        """The cached array, or ``None`` when absent or unreadable."""
        try:
            return np.load(self.path(content_hash), allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Cannot happen through this class (atomic writes), but a hand-damaged entry
            # must cost a recomputation, not a crash.
            return None

    def put(self, content_hash: str, values: np.ndarray) -> None:
        """Store one array atomically."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        atomic_write_bytes(
            self.path(content_hash), lambda h: np.save(h, values, allow_pickle=False)
        )

    @property
    def columns(self) -> list[str] | None:
        """Column names stored with the configuration, or ``None`` before the first write."""
        if self._columns is None:
            meta = self.cache_dir / f"{self.config.key}.json"
            try:
                self._columns = json.loads(meta.read_text())["columns"]
            except (FileNotFoundError, ValueError, KeyError):
                return None
        return self._columns

    def set_columns(self, columns: list[str]) -> None:
        """Record the column names once per configuration (atomic)."""
        if self.columns == list(columns):
            return
        meta = {
            "name": self.config.name,
            **self.config.cache_meta,
            "key": self.config.key,
            "columns": list(columns),
        }
        blob = json.dumps(meta, indent=1).encode()
        atomic_write_bytes(self.cache_dir / f"{self.config.key}.json", lambda h: h.write(blob))
        self._columns = list(columns)

    # -- claims: one process computes an entry, the others wait for it ------------------
    def claim_path(self, content_hash: str) -> Path:
        return self.folder / content_hash[:2] / f"{content_hash}{_CLAIM_SUFFIX}"

    def claim(self, content_hash: str) -> bool:
        """Claim the computation of an entry for this process.

        Returns:
            True when this process now holds the claim (it must :meth:`release` it); False
            when a live process holds it.
        """
        path = self.claim_path(content_hash)
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
            except FileExistsError:
                if not self._stale(path):
                    return False
                try:  # its owner is gone: take it over (whoever re-creates it first wins)
                    path.unlink()
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump({"host": socket.gethostname(), "pid": os.getpid(),
                           "time": time.time()}, handle)
            return True
        return False

    def release(self, content_hash: str) -> None:
        """Give up a claim of this process (after :meth:`put`, or when the file failed)."""
        try:
            self.claim_path(content_hash).unlink()
        except FileNotFoundError:
            pass

    def claimed(self, content_hash: str) -> bool:
        """A live process holds the claim of this entry."""
        path = self.claim_path(content_hash)
        return path.exists() and not self._stale(path)

    @staticmethod
    def _stale(path: Path) -> bool:
        try:
            age = time.time() - path.stat().st_mtime
            owner = json.loads(path.read_text())
            host, pid = owner["host"], int(owner["pid"])
        except FileNotFoundError:
            return True
        except (OSError, ValueError, KeyError, TypeError):
            return age > 5.0  # being written right now, or damaged
        if host != socket.gethostname():
            return age > CLAIM_TIMEOUT
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # someone else's live process
            pass
        return age > CLAIM_TIMEOUT and pid != os.getpid()

    def purge_stale_temporaries(self) -> int:
        """Remove temporary files left by killed runs (older than a day); returns the count."""
        if not self.folder.is_dir():
            return 0
        now = time.time()
        removed = 0
        for tmp in self.folder.glob(f"*/.*{_TMP_SUFFIX}"):
            try:
                if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                    tmp.unlink()
                    removed += 1
            except OSError:
                pass
        return removed
