"""Writing a report where ``--output`` says, without ever replacing what was not asked for.

- ``-`` is standard output; so is any path that names the file standard output already writes
  to (``/dev/stdout``, ``/proc/self/fd/1``, a link to either), which is written through the
  process's own stream, never reopened or replaced (standard error likewise).
- A device, pipe or socket (``/dev/null``, a FIFO), or any path under ``/dev`` or ``/proc``, is
  written in place: the node stays. A pipe nobody reads is an error, never a hang.
- A report is text (UTF-8, ``\n`` line ends) or bytes (PDF), written as it is.
- A regular file, or a link to one, is written atomically: a private temporary file in the
  target's own folder, then ``os.replace`` onto the target (a link keeps pointing at it). On any
  exception, Ctrl-C or SIGTERM (turned into an exception by the command line) the temporary file
  is removed, so no partial or hidden file is left behind.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import TextIO

STDOUT = "-"

_FILE_MODE: int | None = None


class OutputError(Exception):
    """An output that cannot be written; the message says why in one sentence."""


def is_stdout(path: Path | str) -> bool:
    """Whether ``path`` means standard output (``-``, or the very file standard output writes to)."""
    return str(path) == STDOUT or _same_file(path, 1) or _same_file(path, _fileno(sys.stdout))


def _is_stderr(path: Path | str) -> bool:
    return _same_file(path, 2) or _same_file(path, _fileno(sys.stderr))


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _same_file(path: Path | str, fd: int | None) -> bool:
    if fd is None:
        return False
    try:
        return os.path.samestat(os.stat(path), os.fstat(fd))
    except (OSError, ValueError):
        return False


def _system_path(path: Path | str) -> bool:
    """A path among the system's devices and process files (``/dev/fd/3``, ``/proc/self/fd/1``):
    written in place, never replaced, whatever it leads to."""
    return os.path.abspath(path).startswith(("/dev/", "/proc/"))


def write_output(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` as the module docstring says; OutputError when it cannot."""
    if is_stdout(path) or _is_stderr(path):
        stream = sys.stdout if is_stdout(path) else sys.stderr
        if isinstance(text, bytes) and stream.isatty():
            shown = "standard output" if is_stdout(path) else "standard error"
            raise OutputError(f"cannot write {shown}: a binary report is never written to a terminal; "
                              "name a file, e.g. -o xlsx:report.xlsx")
        write_stream(stream, text)
        return
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(_reason(path, exc)) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {path}: it is a folder")
    if st is not None and (not stat.S_ISREG(st.st_mode) or _system_path(path)):
        _write_in_place(path, text, fifo=stat.S_ISFIFO(st.st_mode), truncate=stat.S_ISREG(st.st_mode))
        return
    target = Path(os.path.realpath(path)) if os.path.islink(path) else path
    try:
        write_atomic(target, text)
    except OSError as exc:
        raise OutputError(_reason(path, exc)) from None


def write_stream(stream: TextIO, text: str | bytes) -> None:
    """Write a report to an open text stream; bytes go to its binary buffer."""
    if isinstance(text, bytes):
        stream.flush()
        stream.buffer.write(text)
        stream.buffer.flush()
    else:
        stream.write(text)
        stream.flush()


def _open_mode(text: str | bytes) -> dict[str, str | None]:
    return {"mode": "wb"} if isinstance(text, bytes) else {"mode": "w", "encoding": "utf-8", "newline": "\n"}


def _write_in_place(path: Path, text: str | bytes, fifo: bool, truncate: bool = False) -> None:
    """Write to a device or pipe that already exists: opened for writing, never created or replaced."""
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | (os.O_TRUNC if truncate else 0)
    if fifo:
        flags |= getattr(os, "O_NONBLOCK", 0)  # a pipe with no reader fails (ENXIO) instead of blocking
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(f"cannot write {path}: a pipe that nobody reads") from None
        raise OutputError(_reason(path, exc)) from None
    try:
        if fifo and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        with os.fdopen(fd, **_open_mode(text)) as handle:  # type: ignore[call-overload]
            fd = -1
            handle.write(text)
    except OSError as exc:
        raise OutputError(_reason(path, exc)) from None
    finally:
        if fd >= 0:
            os.close(fd)


def _reason(path: Path | str, exc: OSError) -> str:
    from cmcflex.paths import os_reason

    return f"cannot write {path}: {os_reason(exc)}"


def _file_mode() -> int:
    """The mode an ordinary new file gets (0o666 less the umask); the umask is read once."""
    global _FILE_MODE
    if _FILE_MODE is None:
        mask = os.umask(0o022)
        os.umask(mask)
        _FILE_MODE = 0o666 & ~mask
    return _FILE_MODE


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a regular file so that a failure never leaves a half-written report behind.

    The temporary file is private (mkstemp), in the target's folder (so ``os.replace`` is a
    rename); the report gets the mode of an ordinary new file.
    """
    import tempfile  # here, not at the top: --version and --help do not need it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, **_open_mode(text)) as handle:  # type: ignore[call-overload]
            handle.write(text)
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), _file_mode())
        if not hasattr(os, "fchmod"):
            os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
