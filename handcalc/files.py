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


def check_target(path: str | os.PathLike) -> str:
    """The real path an output will be written to, or a one-line OutputError saying why it
    cannot be: checked before any slow work, so a doomed run fails at once."""
    shown = os.fspath(path)
    real = os.path.realpath(shown)
    if os.path.isdir(real):
        raise OutputError(f"cannot write {shown}: it is a folder")
    if os.path.exists(real) and not os.path.isfile(real):
        raise OutputError(f"cannot write {shown}: it is not a regular file")
    if not os.path.isdir(os.path.dirname(real)):
        raise OutputError(f"cannot write {shown}: its folder does not exist")
    return real


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """A file to write bit by bit that appears at `path` only once it is complete.

    A symlink is followed (its target is replaced, the link kept); anything else that is not a
    regular file (a device, a pipe) is refused, since renaming over it would destroy it."""
    shown = os.fspath(path)
    path = check_target(shown)
    folder = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".handcalc-", suffix=".part", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write {shown}: {e.strerror}") from None
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
            raise OutputError(f"cannot write {shown}: {e.strerror}") from None
        raise
