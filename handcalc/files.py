"""Reading input and writing output: one-line errors, and never a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile

from .errors import OutputError


def read_text(path, what: str, error: type[Exception]) -> str:
    """A UTF-8 text file (a leading BOM is dropped), or `error` saying in one line why not."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except OSError as e:
        raise error(f"cannot read {what} {os.fspath(path)}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {os.fspath(path)} is not UTF-8 text") from None


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place."""
    with atomic_file(path) as fh:
        fh.write(data)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """A file to write bit by bit that appears at `path` only once it is complete."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".handcalc-", suffix=".part", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise OutputError(f"cannot write {path}: {e.strerror}") from None
        raise
