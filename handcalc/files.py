"""Reading input and writing output: one-line errors, and never a half-written file.

Every file a run writes goes through `Staging`: each is written under a temporary name beside
its target, and only when all of them are complete are they moved in, together; a failure
anywhere (a worker, a full disk, Ctrl-C) leaves every existing file as it was. A replaced
file keeps its permissions (a private key stays private) and, where allowed, its owner; a new
one follows the umask. A file named by handcalc inside a folder never follows a symlink
(see check_target).
`locked` keeps two runs from writing into one folder at once.

Reading is bounded: every file handcalc reads must be a regular file no bigger than its kind's
cap in MAX_BYTES (a pipe, a device such as /dev/zero or a folder is refused before a byte is
read, and nothing ever waits on a pipe). Staged files carry the writing process's ID, so the
next run in a folder removes those a killed run (SIGKILL) left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import tempfile
import unicodedata
import zlib

from .errors import OutputError, escaped

_PREFIX, _SUFFIX = ".handcalc-", ".part"
# The host's tag in staged names: a process ID means something only on the host that ran it.
_HOST = f"{zlib.crc32(socket.gethostname().encode()):08x}"
_STAGED = re.compile(r"\.handcalc-(\d+)-([0-9a-f]{8})-.*\.part\Z", re.DOTALL)

# The most handcalc reads of each kind of file, in bytes (stated in DEVELOPING.md, Errors):
# far above any real file (a filled PDF embeds its form font whole), far below what would
# fill the memory.
MAX_BYTES = {
    "problem file": 1_000_000,
    "roster": 5_000_000,
    "manifest": 10_000_000,
    "gradebook": 50_000_000,
    "answers file": 50_000_000,
}


def shown(path) -> str:
    """A path as text that can always be printed and written to UTF-8 files: bytes that are
    not UTF-8 (a name unzipped from another system) appear as \\xe9 escapes, and so do
    characters that are not printable (a line break in a name appears as \\n)."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = text.decode("utf-8", "backslashreplace")
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = os.fsencode(text).decode("utf-8", "backslashreplace")
    return escaped(text)


def _not_a_file(st: os.stat_result) -> str | None:
    """Why a file of this kind cannot be read as an input (None for a regular file)."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "it is a folder"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "it is a pipe, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "it is a device, not a file"
    return "it is not a regular file"


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def _open_regular(path, refuse) -> tuple[int, os.stat_result]:
    """An open descriptor of a regular file and its stat; `refuse(why)` raises otherwise.

    The file is looked at before it is opened and again once open (it may have been swapped
    in between), and opened without waiting, so a pipe or a device is refused at once
    instead of blocking or filling the memory."""
    try:
        why = _not_a_file(os.stat(path))
        if why:
            refuse(why)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as e:
        refuse(e.strerror or str(e))
    try:
        st = os.fstat(fd)
        why = _not_a_file(st)
        if why:
            refuse(why)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def read_bytes(path, what: str, error: type[Exception], limit: int | None = None) -> bytes:
    """A regular file's bytes, at most `limit` (the cap of its kind in MAX_BYTES), or
    `error` saying in one line why not: see `_open_regular`."""
    limit = limit if limit is not None else MAX_BYTES.get(what, 10_000_000)
    name = shown(path)

    def refuse(why: str):
        raise error(f"cannot read {what} {name}: {why}") from None

    fd, st = _open_regular(path, refuse)
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > limit:
            refuse(f"it is {_size(st.st_size)}; a {what} is at most {_size(limit)}")
        try:
            data = fh.read(limit + 1)
        except OSError as e:
            refuse(e.strerror or str(e))
    if len(data) > limit:  # it grew while being read
        refuse(f"it is over {_size(limit)}; a {what} is at most {_size(limit)}")
    return data


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
    """A UTF-8 text file (a leading BOM is dropped), bounded as `read_bytes`, or `error`
    saying in one line why not."""
    data = read_bytes(path, what, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error(f"{what} {shown(path)} is not UTF-8 text") from None


def first_line(path, limit: int = 4096) -> str | None:
    """The first line of a file, from a peek at its start (None when it is no readable
    regular UTF-8 file): enough to tell what a file is, without ever waiting on a pipe."""

    def refuse(why: str):
        raise OSError(why)

    try:
        fd, _ = _open_regular(path, refuse)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return None
    for cut in (0, 1, 2, 3):  # a peek may end inside a character
        try:
            text = data[: len(data) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        return text.splitlines()[0] if text else ""
    return None


# What a spreadsheet may run as a formula when a cell starts with it (after any spaces), the
# full-width forms included: some spreadsheets read ＝ as =.
_FORMULA_STARTS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r", "\n")


def spreadsheet_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: one it would run as a formula (starting with
    = + - @ or their full-width forms, after any spaces, or with a tab or a line break) gets
    a leading quote, and line breaks inside become spaces, so a cell never splits its row."""
    text = "" if value is None else str(value)
    if text[:1] in ("\t", "\r", "\n") or text.lstrip()[:1] in _FORMULA_STARTS:
        text = "'" + text
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def check_target(path: str | os.PathLike, follow: bool = True) -> str:
    """The real path an output will be written to, or a one-line OutputError saying why it
    cannot be: checked before any slow work, so a doomed run fails at once.

    A symlink at `path` is followed (its target is written, the link kept) only when
    `follow` and the link is the running user's own; a link another user planted is refused.
    With `follow` off (a file handcalc names itself, inside a folder it was given) a link is
    never followed: the link itself is replaced by the file."""
    name = shown(path)
    full = os.path.abspath(os.fspath(path))
    here = os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full))
    real = here
    if os.path.islink(here):
        if not follow:
            return here
        owner = os.lstat(here).st_uid
        if _euid() is not None and owner != _euid():
            raise OutputError(
                f"cannot write {name}: it is a symlink another user owns; remove it or "
                "write elsewhere"
            )
        real = os.path.realpath(here)
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


def _old_file(real: str) -> os.stat_result | None:
    """The regular file a write at `real` replaces (None for a new file or a link)."""
    try:
        st = os.lstat(real)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _keep_owner(staged: str, old: os.stat_result | None) -> None:
    """A replaced file keeps its owner and group where this user may give them: all of
    them when running as root, the group when the file is the user's own."""
    if old is None or not hasattr(os, "chown"):
        return
    if _euid() == 0:
        uid, gid = old.st_uid, old.st_gid
    elif old.st_uid == _euid():
        uid, gid = -1, old.st_gid
    else:
        return
    with contextlib.suppress(OSError):
        os.chown(staged, uid, gid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # it exists (another user's), or cannot be asked about: not provably gone
    return True


def sweep(folder) -> list[str]:
    """Remove the staged files and folders a killed run left in `folder`: only those named
    by a process of this host that no longer runs. Returns the names removed."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for n in names:
        m = _STAGED.match(n)
        if not m or m.group(2) != _HOST or _alive(int(m.group(1))):
            continue
        path = os.path.join(folder, n)
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            continue
        removed.append(n)
    return removed


def _staged_prefix() -> str:
    return f"{_PREFIX}{os.getpid()}-{_HOST}-"


class Staging:
    """The files of one run, staged beside their targets and moved in all together or not at
    all (git's index.lock protocol, for many files): see the module docstring.

    Use it as a context manager: leaving normally commits, an exception discards."""

    def __init__(self) -> None:
        self._files: list[tuple[str, str, str]] = []  # (staged, real target, shown name)
        self._folders: dict[str, str] = {}  # new folder -> its staged stand-in
        self._swept: set[str] = set()
        self._done = False

    def _sweep(self, folder: str) -> None:
        if folder not in self._swept:
            self._swept.add(folder)
            sweep(folder)

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
        self._sweep(os.path.dirname(real))
        try:
            tmp = tempfile.mkdtemp(
                prefix=_staged_prefix(), suffix=_SUFFIX, dir=os.path.dirname(real)
            )
            os.chmod(tmp, 0o777 & ~_umask())
        except OSError as e:
            raise OutputError(f"cannot write into {name}: {e.strerror}") from None
        self._folders[real] = tmp

    @contextlib.contextmanager
    def open(self, path, follow: bool = True):
        """A binary file to write bit by bit; it appears at `path` only at the commit.

        A symlink is followed as `check_target` says (`follow` off: the link itself is
        replaced); anything else that is not a regular file (a device, a pipe) is refused,
        since renaming over it would destroy it. A replaced file keeps its mode, and its
        owner where `_keep_owner` may."""
        name = shown(path)
        folder = os.path.realpath(os.path.dirname(os.path.abspath(os.fspath(path))))
        if folder in self._folders:  # inside a new folder: written in place, moved with it
            staged = os.path.join(self._folders[folder], os.path.basename(os.fspath(path)))
            real = os.path.join(folder, os.path.basename(staged))
            try:
                fh = open(staged, "xb")
            except OSError as e:
                raise OutputError(f"cannot write {name}: {e.strerror}") from None
            mode, old = 0o666 & ~_umask(), None
        else:
            real = check_target(path, follow)
            self._sweep(os.path.dirname(real))
            try:
                fd, staged = tempfile.mkstemp(
                    prefix=_staged_prefix(), suffix=_SUFFIX, dir=os.path.dirname(real)
                )
            except OSError as e:
                raise OutputError(f"cannot write {name}: {e.strerror}") from None
            fh = os.fdopen(fd, "wb")
            old = _old_file(real)
            mode = old.st_mode & 0o7777 if old else 0o666 & ~_umask()
            self._files.append((staged, real, name))
        try:
            with fh:
                yield fh
            _keep_owner(staged, old)
            os.chmod(staged, mode)
        except OSError as e:
            raise OutputError(f"cannot write {name}: {e.strerror}") from None

    def write(self, path, data: bytes, follow: bool = True) -> None:
        with self.open(path, follow) as fh:
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
    """A hard link to what is at `real` (None when nothing is), to restore it from: the
    file, or a symlink itself when the link is what gets replaced."""
    if not os.path.islink(real) and not os.path.isfile(real):
        return None
    backup = os.path.join(os.path.dirname(real), f"{_PREFIX}{os.getpid()}-{id(real)}.old")
    for attempt in range(100):
        candidate = f"{backup}{attempt}"
        try:
            os.link(real, candidate, follow_symlinks=False)
            return candidate
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: a copy does as well
            try:
                shutil.copy2(real, candidate, follow_symlinks=False)
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
