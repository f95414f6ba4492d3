"""An output folder written as a set: staged, locked, put in place whole, with a manifest.

``geoagri run``, ``demo``, ``site`` and ``export`` write many files into one
folder.  :class:`OutputSet` makes that folder trustworthy:

* **Staged.**  Every output is written into a staging folder beside the
  target (same file system), which replaces the target in one rename when all
  outputs have been tried; the old folder stays as it was until then, so a run
  that fails late never leaves a mix of new and old files.
* **Each output on its own.**  :meth:`OutputSet.render` runs one renderer; if
  it fails, its partial files are removed, its failure is recorded and the
  other outputs are still written.  The caller exits with status 1 when
  anything failed.
* **A manifest.**  ``manifest.json`` lists every file (size, SHA-256), every
  failed output with its message, the plan and its resolved context.
* **Locked.**  Two runs into one folder cannot interleave: the second is
  refused with a message naming the first one's process.
* **Clear I/O errors.**  A full disk, a read-only or missing folder becomes
  one :class:`~geoagri.errors.OutputError` paragraph (what, where, what to
  do), never a traceback; the target is left untouched and nothing is left
  behind in hidden folders (stale ones from a killed run are removed).
* **Safe.**  A folder that exists, is not empty and was not written by
  geoagri (it has no ``manifest.json``) is never replaced.

Examples
--------
>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
>>> with OutputSet(out, command="example") as outputs:
...     ok = outputs.render("note", lambda d: (d / "note.txt").write_text("xin chào"))
...     bad = outputs.render("broken", lambda d: 1 / 0)
>>> ok, bad, sorted(p.name for p in out.iterdir())
(True, False, ['manifest.json', 'note.txt'])
>>> [f.step for f in outputs.failed]
['broken']
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from geoagri.errors import GeoagriError, OutputError
from geoagri.results import StepFailure

__all__ = ["MANIFEST", "OutputSet", "os_error_message", "write_atomically"]

log = logging.getLogger("geoagri")

#: Name of the manifest every output folder holds.
MANIFEST = "manifest.json"

#: Free space under which a failed write is put down to a full disk, bytes.
_NEARLY_FULL = 64 * 1024


def os_error_message(err: OSError, path: str | os.PathLike[str]) -> str:
    """One paragraph for an operating-system error while writing ``path``.

    Examples
    --------
    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device"), "/data/out")
    'cannot write /data/out: the disk is full (No space left on device). Free some space or \
write to another folder (--out); nothing was changed in /data/out.'
    """
    where = Path(path)
    code = err.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        why, fix = "the disk is full", "Free some space or write to another folder (--out)"
    elif code == errno.EROFS:
        why, fix = "the file system is read-only", "Write to a writable folder (--out)"
    elif code in (errno.EACCES, errno.EPERM):
        why, fix = ("permission denied", "Write to a folder you may write in (--out), or "
                    "ask for write permission")
    elif code == errno.ENOENT:
        why, fix = "a folder on the way does not exist", "Check the path given with --out"
    elif code == errno.ENOTDIR:
        why, fix = "a part of the path is a file, not a folder", "Choose another --out path"
    else:
        why, fix = "the operating system refused", "Check the path and try again"
    detail = err.strerror or str(err)
    return (f"cannot write {where}: {why} ({detail}). {fix}; nothing was changed in "
            f"{where}.")


def write_atomically(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write one output file in place atomically, I/O errors as one :class:`OutputError`.

    ``write(tmp)`` writes a temporary file beside ``path``
    (:func:`geoagri.io.replace_file`); a failure leaves ``path`` as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> write_atomically(p, lambda tmp: tmp.write_text("<p>bản đồ</p>")).name
    'map.html'
    """
    from geoagri.io import replace_file

    path = Path(path)
    try:
        return replace_file(path, write)
    except OSError as err:
        raise OutputError(os_error_message(err, path)) from err


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OutputSet:
    """A folder of outputs written as a set (see the module docstring).

    Parameters
    ----------
    folder : path
        The output folder (created with its parents when missing).
    command : str
        What writes it (recorded in the manifest), e.g. ``"geoagri run plan.toml"``.
    context : sequence of (str, str), optional
        The plan's resolved context (:meth:`geoagri.context.PlanContext.describe`),
        recorded in the manifest.
    """

    def __init__(self, folder: str | os.PathLike[str], *, command: str,
                 context: Sequence[tuple[str, str]] = ()) -> None:
        self.folder = Path(folder).absolute()
        self.command = command
        self.context = list(context)
        self.failed: list[StepFailure] = []
        self.written: dict[str, list[str]] = {}
        self.records: dict[str, Any] = {}
        self._lock_fd: int | None = None
        self._lock_path = self.folder.parent / f".{self.folder.name}.geoagri-lock"
        self.staging: Path | None = None

    # ---------------------------------------------------------------- lifecycle
    def __enter__(self) -> OutputSet:
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            self._lock()
            self._check_target()
            self._clean_stale()
            self.staging = self.folder.parent / f".{self.folder.name}.staging-{os.getpid()}"
            self.staging.mkdir()
        except OSError as err:
            self._release()
            raise OutputError(os_error_message(err, self.folder)) from err
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._commit()
        finally:
            if self.staging is not None and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)
            self._release()

    # ------------------------------------------------------------------- render
    def render(self, name: str, func: Callable[[Path], Any]) -> bool:
        """Run one renderer into the staging folder; False (and recorded) if it failed.

        ``func(folder)`` writes its files under ``folder``.  Files it created
        before failing are removed, so the set never holds half an output.
        """
        assert self.staging is not None, "use OutputSet in a with block"
        before = set(self._files())
        try:
            func(self.staging)
        except Exception as err:  # one failing output never loses the others
            free = shutil.disk_usage(self.staging).free
            for rel in set(self._files()) - before:
                (self.staging / rel).unlink(missing_ok=True)
            if isinstance(err, OSError) and not isinstance(err, GeoagriError):
                err = OutputError(os_error_message(err, self._final(err.filename, name)))
            elif free < _NEARLY_FULL:
                # GDAL and others say "failed to commit" where the cause is a full disk
                err = OutputError(f"{err} — the disk holding {self.folder} is full "
                                  f"({free:,} bytes free); free some space or write to "
                                  "another folder (--out)")
            self.failed.append(StepFailure.of(name, err))
            return False
        self.written[name] = sorted(set(self._files()) - before)
        return True

    def _final(self, filename: Any, name: str) -> Path:
        """Where a file being written in the staging folder will be in the output folder."""
        assert self.staging is not None
        if filename:
            try:
                rel = Path(filename).relative_to(self.staging)
            except ValueError:
                return Path(filename)
            # a writer's own temporary folder (".name-XXXX/") stands for the file itself
            parts = [p for p in rel.parts if not p.startswith(".")]
            return self.folder.joinpath(*parts) if parts else self.folder / name
        return self.folder / name

    def record(self, key: str, value: Any) -> None:
        """Add a JSON-serialisable entry to the manifest (e.g. the feature accounting)."""
        self.records[key] = value

    def fail(self, failure: StepFailure) -> None:
        """Record a failure that happened before rendering (an analysis the outputs need)."""
        self.failed.append(failure)

    def _files(self) -> list[str]:
        assert self.staging is not None
        return [str(p.relative_to(self.staging)) for p in self.staging.rglob("*")
                if p.is_file()]

    # ------------------------------------------------------------------ commit
    def _manifest(self) -> dict[str, Any]:
        from geoagri import __version__

        assert self.staging is not None
        files = []
        for name, rels in self.written.items():
            for rel in rels:
                data = (self.staging / rel).read_bytes()
                files.append({"path": rel, "output": name, "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()})
        return {
            "geoagri": __version__, "command": self.command,
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "context": dict(self.context),
            "outputs": sorted(self.written),
            "files": files,
            "failed": [{"output": f.step, "error": f.message, "type": f.error_type}
                       for f in self.failed],
            **self.records,
        }

    def _commit(self) -> None:
        assert self.staging is not None
        try:
            text = json.dumps(self._manifest(), ensure_ascii=False, indent=2)
            (self.staging / MANIFEST).write_text(text + "\n", encoding="utf-8")
            old = None
            if self.folder.exists():
                old = self.folder.parent / f".{self.folder.name}.old-{os.getpid()}"
                os.rename(self.folder, old)
            try:
                os.rename(self.staging, self.folder)
            except OSError:
                if old is not None:
                    os.rename(old, self.folder)
                raise
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except OSError as err:
            raise OutputError(os_error_message(err, self.folder)) from err

    # -------------------------------------------------------------- safety, lock
    def _check_target(self) -> None:
        f = self.folder
        if f.exists() and not f.is_dir():
            raise GeoagriError(f"--out {f} is a file, not a folder; choose a folder")
        if f.is_dir() and any(f.iterdir()) and not (f / MANIFEST).exists():
            raise GeoagriError(
                f"--out {f} is not empty and was not written by geoagri (it has no "
                f"{MANIFEST}); geoagri replaces its output folder as a whole, so choose a new "
                "or empty folder, or move those files away")
        if f.is_mount():
            raise GeoagriError(f"--out {f} is a mount point; geoagri replaces its output "
                               "folder as a whole: write to a folder inside it")

    def _clean_stale(self) -> None:
        """Remove staging and old folders of earlier runs that were killed."""
        for p in self.folder.parent.glob(f".{self.folder.name}.*-*"):
            kind, _, pid = p.name.rpartition("-")
            if not (kind.endswith((".staging", ".old")) and pid.isdigit()):
                continue
            if not _pid_alive(int(pid)) or int(pid) == os.getpid():
                log.info("removing %s, left by a run that was stopped", p)
                shutil.rmtree(p, ignore_errors=True)

    def _lock(self) -> None:
        while True:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                os.close(fd)
                raise GeoagriError(
                    f"another geoagri run (process {holder}) is writing to {self.folder}; "
                    "wait for it to finish, or write to another folder (--out)") from None
            except BaseException:
                os.close(fd)
                raise
            # the file may have been removed by the run that held it: lock the current one
            try:
                same = os.fstat(fd).st_ino == os.stat(self._lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
                self._lock_fd = fd
                return
            os.close(fd)

    def _release(self) -> None:
        if self._lock_fd is None:
            return
        with contextlib.suppress(OSError):
            self._lock_path.unlink()
        os.close(self._lock_fd)
        self._lock_fd = None
