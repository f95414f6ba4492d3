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
* **Side by side.**  :meth:`OutputSet.start` runs a renderer in a forked
  process of its own (Linux), into a folder of its own whose files join the
  set when it has finished: ``geoagri run`` draws its two maps while the
  report and the tables are written.  A process that fails or dies is one
  failed output, like any other.
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
import gc
import hashlib
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


#: Folder of the staging folder where renderers run by :meth:`OutputSet.start` write.
_PARTS = ".parts"


def _default_processes() -> int:
    """Renderers run at once by :meth:`OutputSet.start`: the usable cores where the process can
    be forked safely (Linux), else 0 (each renderer runs when started)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 0
    return len(os.sched_getaffinity(0))


@dataclass
class _Job:
    """Renderers running in a forked process (:meth:`OutputSet.start`)."""

    renders: list[tuple[str, Callable[[Path], Any]]]
    process: Any  # multiprocessing's Process
    conn: Any  # the reading end of the pipe its outcomes come through
    folders: list[Path]  # one per renderer
    outcomes: list[tuple[StepFailure | None, tuple[float, float]] | None] = field(
        default_factory=list)  # by renderer, as each one finishes

    @classmethod
    def fork(cls, outputs: OutputSet, renders: list[tuple[str, Callable[[Path], Any]]]
             ) -> _Job:
        import multiprocessing

        assert outputs.staging is not None
        ctx = multiprocessing.get_context("fork")
        (outputs.staging / _PARTS).mkdir(exist_ok=True)
        job = Path(tempfile.mkdtemp(prefix=".", dir=outputs.staging / _PARTS))
        folders = [job / f".{i}" for i in range(len(renders))]
        for folder in folders:
            folder.mkdir()
        receive, send = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(outputs, renders, folders, send),
                              name=f"geoagri: {', '.join(n for n, _ in renders)}",
                              daemon=True)
        gc.freeze()  # the child's collector leaves the parent's objects (and pages) alone
        try:
            process.start()
        finally:
            gc.unfreeze()
        send.close()  # only the child writes: its end closing says it stopped
        return cls(renders, process, receive, folders, [None] * len(renders))

    @property
    def done(self) -> bool:
        """Whether every renderer has finished (or the process has stopped)."""
        return all(o is not None for o in self.outcomes)

    def poll(self) -> list[int]:
        """The renderers that finished since the last call (their outcomes read)."""
        finished = []
        while not self.done and self.conn.poll():
            try:
                k, failure, seconds = self.conn.recv()
            except EOFError:  # it stopped before saying how the rest went
                self.process.join()
                code = self.process.exitcode
                how = (f"was killed by signal {-code}" if code is not None and code < 0
                       else f"stopped with exit code {code}")
                for k, (name, _) in enumerate(self.renders):
                    if self.outcomes[k] is None:
                        self.outcomes[k] = (StepFailure(
                            name, f"the process writing {name} {how} before it had finished; "
                            "nothing of it was written (run again; if it happens again, the "
                            "machine may be short of memory)", "ProcessError", False),
                            (math.nan, math.nan))
                        finished.append(k)
                break
            self.outcomes[k] = (failure, seconds)
            finished.append(k)
        if self.done:
            self.conn.close()
            self.process.join()
        return finished


def _child(outputs: OutputSet, renders: list[tuple[str, Callable[[Path], Any]]],
           folders: list[Path], conn: Any) -> None:
    """In the forked process: run each renderer into its folder; send each one's
    (position, failure or None, (wall s, CPU s)) as soon as it has finished."""
    for k, ((name, func), folder) in enumerate(zip(renders, folders, strict=True)):
        wall, cpu = time.perf_counter(), time.process_time()
        failure = None
        try:
            func(folder)
        except Exception as err:  # recorded by the parent like a failed render
            failure = outputs._failure(name, err)
        conn.send((k, failure, (time.perf_counter() - wall, time.process_time() - cpu)))
    conn.close()


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
    processes : int, optional
        Processes :meth:`start` runs at once (default: the usable cores on
        Linux, else 0: renderers started run at once, in this process).
    """

    def __init__(self, folder: str | os.PathLike[str], *, command: str,
                 context: Sequence[tuple[str, str]] = (),
                 processes: int | None = None) -> None:
        self.folder = Path(folder).absolute()
        self.processes = _default_processes() if processes is None else max(0, processes)
        self.seconds: dict[str, tuple[float, float]] = {}
        self._queued: list[list[tuple[str, Callable[[Path], Any]]]] = []
        self._running: list[_Job] = []
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
                self.wait()
                shutil.rmtree(self.staging / _PARTS, ignore_errors=True)
                self._commit()
        finally:
            self._queued.clear()
            for job in self._running:  # a run stopped by an error or Ctrl-C
                job.process.kill()
                job.process.join()
            self._running.clear()
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
        self._pump()  # a renderer waiting for a process of its own starts first
        before = set(self._files())
        try:
            func(self.staging)
        except Exception as err:  # one failing output never loses the others
            for rel in set(self._files()) - before:
                (self.staging / rel).unlink(missing_ok=True)
            self.failed.append(self._failure(name, err))
            return False
        self.written[name] = sorted(set(self._files()) - before)
        return True

    def start(self, *renders: tuple[str, Callable[[Path], Any]]) -> None:
        """Run renderers, one after the other, in a process of their own while the caller goes on.

        Each ``(name, func)`` is a :meth:`render` (several in one process
        when they share work, e.g. one drawing saved twice), run in a forked
        copy of this process (Linux), each into a folder of its own whose
        files join the set when the process has finished.  A renderer that
        fails, or a process that dies, is recorded like a failed
        :meth:`render` and leaves no file.  At most ``processes`` processes
        run at once (the others wait their turn); :meth:`wait` waits for
        named outputs, leaving the ``with`` block for all.  Where processes
        cannot be forked, or with ``processes=0``, the renderers run at once.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "result"
        >>> with OutputSet(out, command="example") as outputs:
        ...     outputs.start(("a", lambda d: (d / "a.txt").write_text("một")),
        ...                   ("b", lambda d: (d / "b.txt").write_text("hai")))
        ...     outputs.start(("c", lambda d: 1 / 0))
        ...     outputs.wait("a", "b")
        ...     b_is_in = (outputs.staging / "b.txt").is_file()
        >>> b_is_in, sorted(outputs.written), [f.step for f in outputs.failed]
        (True, ['a', 'b'], ['c'])
        """
        assert self.staging is not None, "use OutputSet in a with block"
        if self.processes == 0:
            for name, func in renders:
                self.render(name, func)
            return
        self._queued.append(list(renders))
        self._pump()

    def wait(self, *names: str) -> None:
        """Wait until the outputs ``names`` (all, when none is given) of :meth:`start` are done.

        An output is done, its files in the set, as soon as its renderer has finished,
        though the process may go on with the next one (a drawing's PDF after its PNG).
        """
        def pending() -> list[str]:
            started = [n for job in self._running
                       for (n, _), o in zip(job.renders, job.outcomes, strict=True)
                       if o is None]
            started += [n for renders in self._queued for n, _ in renders]
            return [n for n in names or started if n in started]

        while pending():
            self._pump(block=True)

    def _pump(self, *, block: bool = False) -> None:
        """Collect finished processes (waiting for one if ``block``); start queued ones."""
        from multiprocessing.connection import wait

        if block and self._running:
            wait([job.conn for job in self._running])
        for job in list(self._running):
            for k in job.poll():
                self._collect(job, k)
            if job.done:
                self._running.remove(job)
                shutil.rmtree(job.folders[0].parent, ignore_errors=True)
        while self._queued and len(self._running) < self.processes:
            renders = self._queued.pop(0)
            try:
                self._running.append(_Job.fork(self, renders))
            except OSError as err:  # no room for its folder, no process to be had
                self.failed.extend(self._failure(name, err) for name, _ in renders)

    def _collect(self, job: _Job, k: int) -> None:
        """A finished renderer's files moved into the set, or its failure recorded."""
        assert self.staging is not None
        (name, _), folder = job.renders[k], job.folders[k]
        outcome = job.outcomes[k]
        assert outcome is not None
        failure, self.seconds[name] = outcome
        if failure is not None:
            self.failed.append(failure)
            return
        written = []
        try:
            for src in sorted(p for p in folder.rglob("*") if p.is_file()):
                rel = src.relative_to(folder)
                (self.staging / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, self.staging / rel)
                written.append(str(rel))
        except OSError as err:  # the output whole or not at all
            for rel in written:
                (self.staging / rel).unlink(missing_ok=True)
            self.failed.append(self._failure(name, err))
            return
        self.written[name] = written

    def _failure(self, name: str, err: Exception) -> StepFailure:
        """A renderer's error as the set's failure (I/O errors said plainly)."""
        assert self.staging is not None
        free = shutil.disk_usage(self.staging).free
        if isinstance(err, OSError) and not isinstance(err, GeoagriError):
            err = OutputError(os_error_message(err, self._final(err.filename, name)))
        elif free < _NEARLY_FULL:
            # GDAL and others say "failed to commit" where the cause is a full disk
            err = OutputError(f"{err} — the disk holding {self.folder} is full "
                              f"({free:,} bytes free); free some space or write to "
                              "another folder (--out)")
        return StepFailure.of(name, err)

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
                if p.is_file() and p.parts[len(self.staging.parts)] != _PARTS]

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
