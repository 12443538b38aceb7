"""Reading input and writing output: one-line errors, and never a half-written file.

Every file a run writes goes through `Staging`: each is written under a temporary name beside
its target, and only when all of them are complete are they moved in, together; a failure
anywhere (a worker, a full disk, Ctrl-C) leaves every existing file as it was. A replaced
file keeps its permissions (a private key stays private); a new one follows the umask.
`locked` keeps two runs from writing into one folder at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import unicodedata

from .errors import OutputError

_PREFIX, _SUFFIX = ".handcalc-", ".part"


def shown(path) -> str:
    """A path as text that can always be printed and written to UTF-8 files: bytes that are
    not UTF-8 (a name unzipped from another system) appear as \\xe9 escapes."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        return text.decode("utf-8", "backslashreplace")
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


_KEPT_CONTROLS = "\t\n\r"


def bad_char(text: str) -> str | None:
    """The first character of `text` that is not text a person wrote, as U+XXXX: a lone
    surrogate (a "\\ud800" escape in JSON) or a control character other than a tab or a
    line break. Such text cannot be written as UTF-8 or shown."""
    for ch in text:
        kind = unicodedata.category(ch)
        if kind == "Cs" or (kind == "Cc" and ch not in _KEPT_CONTROLS):
            return f"U+{ord(ch):04X}"
    return None


def read_text(path, what: str, error: type[Exception]) -> str:
    """A UTF-8 text file (a leading BOM is dropped), or `error` saying in one line why not."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except OSError as e:
        raise error(f"cannot read {what} {shown(path)}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise error(f"{what} {shown(path)} is not UTF-8 text") from None


def spreadsheet_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: one it would run as a formula (starting with
    = + - @, a tab or a line break) gets a leading quote, and line breaks inside become
    spaces, so a cell never splits its row."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r", "\n"):
        text = "'" + text
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def check_target(path: str | os.PathLike) -> str:
    """The real path an output will be written to, or a one-line OutputError saying why it
    cannot be: checked before any slow work, so a doomed run fails at once."""
    name = shown(path)
    real = os.path.realpath(os.fspath(path))
    if os.path.isdir(real):
        raise OutputError(f"cannot write {name}: it is a folder")
    if os.path.exists(real) and not os.path.isfile(real):
        raise OutputError(f"cannot write {name}: it is not a regular file")
    if not os.path.isdir(os.path.dirname(real)):
        raise OutputError(f"cannot write {name}: its folder does not exist")
    return real


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(real: str, default: int) -> int:
    """The mode a file written at `real` gets: the existing file's, else the umask's."""
    try:
        return os.stat(real).st_mode & 0o7777
    except OSError:
        return default & ~_umask()


class Staging:
    """The files of one run, staged beside their targets and moved in all together or not at
    all (git's index.lock protocol, for many files): see the module docstring.

    Use it as a context manager: leaving normally commits, an exception discards."""

    def __init__(self) -> None:
        self._files: list[tuple[str, str, str]] = []  # (staged, real target, shown name)
        self._folders: dict[str, str] = {}  # new folder -> its staged stand-in
        self._done = False

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    def folder(self, path) -> None:
        """A folder the run writes into; a missing one is made, hidden until the commit."""
        real = os.path.realpath(os.fspath(path))
        if os.path.isdir(real) or real in self._folders:
            return
        name = shown(path)
        if os.path.exists(real):
            raise OutputError(f"cannot write into {name}: it is a file")
        if not os.path.isdir(os.path.dirname(real)):
            raise OutputError(f"cannot write into {name}: its parent folder does not exist")
        try:
            tmp = tempfile.mkdtemp(prefix=_PREFIX, suffix=_SUFFIX, dir=os.path.dirname(real))
            os.chmod(tmp, 0o777 & ~_umask())
        except OSError as e:
            raise OutputError(f"cannot write into {name}: {e.strerror}") from None
        self._folders[real] = tmp

    @contextlib.contextmanager
    def open(self, path):
        """A binary file to write bit by bit; it appears at `path` only at the commit.

        A symlink is followed (its target is replaced, the link kept); anything else that is
        not a regular file (a device, a pipe) is refused, since renaming over it would
        destroy it."""
        name = shown(path)
        folder = os.path.realpath(os.path.dirname(os.path.abspath(os.fspath(path))))
        if folder in self._folders:  # inside a new folder: written in place, moved with it
            staged = os.path.join(self._folders[folder], os.path.basename(os.fspath(path)))
            real = os.path.join(folder, os.path.basename(staged))
            try:
                fh = open(staged, "xb")
            except OSError as e:
                raise OutputError(f"cannot write {name}: {e.strerror}") from None
            mode = 0o666 & ~_umask()
        else:
            real = check_target(path)
            try:
                fd, staged = tempfile.mkstemp(
                    prefix=_PREFIX, suffix=_SUFFIX, dir=os.path.dirname(real)
                )
            except OSError as e:
                raise OutputError(f"cannot write {name}: {e.strerror}") from None
            fh = os.fdopen(fd, "wb")
            mode = _mode_for(real, 0o666)
            self._files.append((staged, real, name))
        try:
            with fh:
                yield fh
            os.chmod(staged, mode)
        except OSError as e:
            raise OutputError(f"cannot write {name}: {e.strerror}") from None

    def write(self, path, data: bytes) -> None:
        with self.open(path) as fh:
            fh.write(data)

    def commit(self) -> None:
        """Move every staged file in. Each target replaced is first hard-linked to a backup,
        so a failure half-way puts every earlier target back as it was."""
        if self._done:
            return
        moves = [(tmp, real, shown(real)) for real, tmp in self._folders.items()]
        moves += self._files
        backups: list[str | None] = []
        moved = 0
        try:
            for _, real, _ in moves:
                backups.append(_backup(real))
            for tmp, real, name in moves:
                try:
                    os.replace(tmp, real) if not os.path.isdir(tmp) else os.rename(tmp, real)
                except OSError as e:
                    raise OutputError(f"cannot write {name}: {e.strerror}") from None
                moved += 1
        except BaseException:
            for (tmp, real, _), backup in zip(moves[:moved], backups):
                with contextlib.suppress(OSError):
                    if backup is not None:
                        os.replace(backup, real)
                    elif os.path.isdir(real):
                        os.rename(real, tmp)  # discard() removes it
                    else:
                        os.unlink(real)
            self.discard(backups)
            raise
        self._done = True
        for backup in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)

    def discard(self, extra=()) -> None:
        """Remove everything staged; the targets are untouched."""
        self._done = True
        for tmp in self._folders.values():
            shutil.rmtree(tmp, ignore_errors=True)
        for tmp in [f[0] for f in self._files] + [b for b in extra if b]:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _backup(real: str) -> str | None:
    """A hard link to the file at `real` (None when there is none), to restore it from."""
    if not os.path.isfile(real):
        return None
    backup = os.path.join(os.path.dirname(real), f"{_PREFIX}{os.getpid()}-{id(real)}.old")
    for attempt in range(100):
        candidate = f"{backup}{attempt}"
        try:
            os.link(real, candidate)
            return candidate
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: a copy does as well
            try:
                shutil.copy2(real, candidate)
                return candidate
            except OSError as e:
                raise OutputError(f"cannot write {shown(real)}: {e.strerror}") from None
    raise OutputError(f"cannot write {shown(real)}: too many leftover backups beside it")


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write one file all or nothing."""
    with Staging() as out:
        out.write(path, data)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike):
    """One file to write bit by bit that appears at `path` only once it is complete."""
    with Staging() as out, out.open(path) as fh:
        yield fh


@contextlib.contextmanager
def locked(folder):
    """Hold a lock on `folder` (the nearest existing one, for a folder still to be made), so
    a second run writing there at the same time fails at once instead of mixing its files
    with ours. The lock dies with the process; nothing is left behind."""
    try:
        import fcntl
    except ImportError:  # not on a POSIX system: no lock, as before
        yield
        return
    path = os.path.abspath(os.fspath(folder))
    while not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        raise OutputError(f"cannot write into {shown(path)}: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise OutputError(
                f"another handcalc run is writing into {shown(path)}; "
                "wait for it to finish, then try again"
            ) from None
        yield
    finally:
        os.close(fd)
