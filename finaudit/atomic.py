"""Writing an output file all at once or not at all.

Every output (JSON, HTML, SARIF, CSV, an annotated or blank workbook) is written to a
temporary file in the target's folder, flushed and fsynced, then renamed over the target
(os.replace, atomic on one file system). A full disk, a missing permission or a kill -9
in the middle leaves the previous file exactly as it was; an error names the target,
never the temporary file.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path

from finaudit.errors import FinauditError, os_reason

TEMP_SUFFIX = ".finaudit-tmp"
_CHUNK = 1 << 20            # a large report is encoded and written a megabyte at a time


class OutputError(FinauditError):
    """An output file could not be written; the previous one, if any, is left as it was."""


def _cannot_write(path, exc: OSError) -> OutputError:
    return OutputError(f"无法写入“{path}”：{os_reason(exc, 'zh')}，原有文件保持不变。",
                       f"Cannot write '{path}': {os_reason(exc, 'en')}; any previous file is left as it was.")


def _final(path: Path) -> Path:
    """The file the output lands in: a symlink is written through, as an ordinary write would."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new hidden file beside `target` (hidden: a folder scan for ledgers skips it), created
    with the mode an ordinary write would give a new file (0666 less the umask)."""
    for _ in range(100):
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(target))


def _sync_folder(folder: Path) -> None:
    """Makes the rename itself durable; a file system that cannot sync a folder is not an error."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _commit(temp: Path, target: Path) -> None:
    with contextlib.suppress(OSError):          # a replaced file keeps its permissions
        os.chmod(temp, stat.S_IMODE(os.stat(target).st_mode))
    os.replace(temp, target)
    _sync_folder(target.parent)


def _discard(temp: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temp)


def _prepare(path) -> Path:
    """The target, its folder created as needed; a path that cannot be a file is refused."""
    target = _final(Path(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    if target.is_dir():
        raise _cannot_write(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    return target


@contextlib.contextmanager
def replacing_path(path):
    """`with replacing_path(path) as temp:` a temporary path beside `path` for a library that
    writes to a path (openpyxl's save). Once the block has written it, it is fsynced and
    renamed over `path`; on any error it is removed and `path` is untouched."""
    target = _prepare(path)
    try:
        fd, temp = _create_temp(target)
        os.close(fd)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    try:
        yield temp
        fd = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        _commit(temp, target)
    except OSError as exc:
        _discard(temp)
        raise _cannot_write(path, exc) from None
    except BaseException:
        _discard(temp)
        raise


@contextlib.contextmanager
def replacing(path, *, encoding: str = "utf-8", newline: str | None = None):
    """`with replacing(path) as fh:` a text file object on a temporary file beside `path`;
    when the block ends without an error it is fsynced and renamed over `path`. On any
    error the temporary file is removed and `path` is untouched; an OSError becomes an
    OutputError naming `path` (replacing_path does all of it)."""
    with replacing_path(path) as temp, open(temp, "w", encoding=encoding, newline=newline) as fh:
        yield fh


def write_text(path, text: str, *, encoding: str = "utf-8") -> None:
    """Writes `text` to `path` all at once or not at all."""
    with replacing(path, encoding=encoding) as fh:
        for start in range(0, len(text), _CHUNK):
            fh.write(text[start:start + _CHUNK])
