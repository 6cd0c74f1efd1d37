"""Path checks shared by the loader (links out of the dossier) and the CLI (outputs into it)."""

from __future__ import annotations

from pathlib import Path


def is_inside(folder: Path, path: Path) -> bool:
    """Whether ``path``, with links resolved, lies inside ``folder``."""
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError, RuntimeError):  # not inside; or a link loop, which no write gets through
        return False


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    A device, pipe or folder is refused without reading (opened non-blocking, so a FIFO never
    hangs), and so is a file larger than ``limit`` (read at most ``limit + 1`` bytes, so a file
    that grows or lies about its size never exhausts memory). Raises OSError when the file cannot
    be opened or read, ValueError (one sentence) when it is refused.
    """
    import os
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file")
            raise ValueError(f"{kind}, not a regular file")
        if st.st_size > limit:
            raise ValueError(f"file is {st.st_size:,} bytes; the limit is {limit:,}")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise ValueError(f"file is larger than {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def os_reason(exc: OSError) -> str:
    """Why a path could not be used, in words (a link loop and an over-long path named as such)."""
    import errno

    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if exc.errno == errno.ENAMETOOLONG:
        return "the path is too long for this system"
    return str(exc.strerror or exc)


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; False (never an exception) when it cannot even be looked at
    (a link loop, an over-long path): whoever loads it then says why."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def display_path(path: object) -> str:
    """A path as reports show it: bytes of a name that is not UTF-8 written ``\\xNN`` (a string
    every format can hold; the report names the folder without being able to reopen it)."""
    import os

    try:
        return os.fsencode(str(path)).decode("utf-8", "backslashreplace")
    except (UnicodeError, TypeError):
        return str(path).encode("utf-8", "backslashreplace").decode("utf-8")
