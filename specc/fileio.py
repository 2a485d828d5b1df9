"""Safe file access for everything specc reads or writes on a user's behalf.

- :func:`read_bytes_bounded` / :func:`read_text_bounded` read a *regular* file only (a
  directory, FIFO, device or socket is refused before anything is read, so ``/dev/zero`` or a
  named pipe cannot hang or fill memory) and check its size before reading
  (``SPECC_MAX_FILE_BYTES`` raises the default limit).
- :func:`check_regular` does the same check for readers that open files themselves
  (numpy, PIL, safetensors, onnxruntime); :func:`read_safetensors` recognises PyTorch pickles.
- :func:`atomic_write` / :func:`atomic_output` write through a temporary file beside the
  target, fsync, then rename; they replace only a regular file or create a new name (never a
  device such as ``/dev/full``), and report unwritable paths as :class:`SpecError`.
- :func:`safe_name` turns a spec name into one path component; :func:`inside` keeps a path
  (symlinks resolved) within a folder.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import SpecError
from .limits import env_limit

DEFAULT_MAX_FILE_BYTES = 2 * 1024**3  # data sets, weights, models
MAX_FILE_ENV = "SPECC_MAX_FILE_BYTES"

_umask = os.umask(0)
os.umask(_umask)


def max_file_bytes(default: int = DEFAULT_MAX_FILE_BYTES, env: str = MAX_FILE_ENV) -> int:
    """The byte limit for one input file: ``env`` (an integer, e.g. 8e9) or ``default``."""
    return env_limit(env, default, "bytes")


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def expand_user(path: str | Path) -> Path:
    """``path`` with ``~`` / ``~user`` expanded; an unknown user leaves it as written (pathlib
    raises RuntimeError there), so the error that follows names the path the user gave."""
    try:
        return Path(path).expanduser()
    except RuntimeError:
        return Path(path)


def _not_regular(what: str, path: Any, kind: str) -> SpecError:
    return SpecError(f"{what} '{path}' is {kind}, not a regular file",
                     hint="give the path of an ordinary file")


def _os_error(verb: str, what: str, path: Any, exc: OSError) -> SpecError:
    reason = exc.strerror or str(exc)
    return SpecError(f"cannot {verb} {what} '{path}': {reason}")


def check_regular(path: str | Path, what: str = "file", limit: int | None = None,
                  env: str = MAX_FILE_ENV) -> int:
    """Refuse ``path`` unless it is an existing regular file of at most ``limit`` bytes
    (default: :func:`max_file_bytes`); returns its size. Symlinks are followed."""
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError(f"{what} '{path}' does not exist") from None
    except (OSError, ValueError) as exc:  # ValueError: NUL byte in the path
        if isinstance(exc, OSError):
            raise _os_error("read", what, path, exc) from None
        raise SpecError(f"{what} path contains a NUL byte", received=str(path)) from None
    kind = _kind(st.st_mode)
    if kind:
        raise _not_regular(what, path, kind)
    _check_size(st.st_size, what, path, limit, env)
    return st.st_size


def _check_size(size: int, what: str, path: Any, limit: int | None, env: str) -> None:
    cap = max_file_bytes(limit if limit is not None else DEFAULT_MAX_FILE_BYTES, env)
    if size > cap:
        raise SpecError(f"{what} '{path}' is too large ({size:,} bytes; limit {cap:,})",
                        hint=f"set {env} to raise the limit")


def read_bytes_bounded(path: str | Path, what: str = "file", limit: int | None = None,
                       env: str = MAX_FILE_ENV) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (``env`` raises the limit).
    The type and size are checked on the opened descriptor, before reading."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise SpecError(f"{what} '{path}' does not exist") from None
    except IsADirectoryError:
        raise _not_regular(what, path, "a directory") from None
    except ValueError:
        raise SpecError(f"{what} path contains a NUL byte", received=str(path)) from None
    except OSError as exc:
        raise _os_error("read", what, path, exc) from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind:
            raise _not_regular(what, path, kind)
        _check_size(st.st_size, what, path, limit, env)
        chunks = []
        left = st.st_size + 1  # a file growing while read is cut one byte past its size
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 24))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > st.st_size:
            raise SpecError(f"{what} '{path}' changed while it was read")
        return data
    except OSError as exc:
        raise _os_error("read", what, path, exc) from None
    finally:
        os.close(fd)


def read_text_bounded(path: str | Path, what: str = "file", limit: int | None = None,
                      env: str = MAX_FILE_ENV) -> str:
    """:func:`read_bytes_bounded` decoded as UTF-8 (a clear error for binary data)."""
    raw = read_bytes_bounded(path, what, limit, env)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{what} '{path}' is not UTF-8 text (binary data?)",
                        received=raw[max(exc.start - 4, 0): exc.start + 4]) from None


# -- safetensors ----------------------------------------------------------------------------


def pickle_kind(head: bytes) -> str | None:
    """'a PyTorch pickle (torch.save)' when ``head`` starts like one, else None. ``head``:
    the first 9 bytes; a safetensors header length whose low byte is 0x80 (e.g. 896) reads
    like a pickle's opening, so a JSON header after the length bytes rules a pickle out."""
    if head[8:9] == b"{":
        return None
    if head.startswith(b"PK\x03\x04"):
        return "a PyTorch pickle archive (torch.save)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle"
    return None


def read_safetensors(path: str | Path, what: str = "weights file", device: str = "cpu") -> Any:
    """A safetensors file as a dict of tensors; pickles are named and refused, never loaded."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_regular(path, what)
    try:
        with open(path, "rb") as fh:
            head = fh.read(9)
    except OSError as exc:
        raise _os_error("read", what, path, exc) from None
    kind = pickle_kind(head)
    if kind:
        raise SpecError(f"{what} '{path}' is {kind}, not safetensors; specc never unpickles "
                        "files (unpickling can run arbitrary code)",
                        hint="convert it once, in a Python you trust: safetensors.torch."
                        "save_file(torch.load(FILE), 'weights.safetensors')")
    try:
        return load_file(str(path), device=device)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise SpecError(f"{what} '{path}' is not a readable safetensors file: {exc}") from None


# -- writing --------------------------------------------------------------------------------


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _target(path: str | Path, what: str, parents: bool) -> Path:
    """The file to replace: symlinks followed; must be a regular file or a new name."""
    path = Path(path)
    if "\x00" in str(path):
        raise SpecError(f"{what} path contains a NUL byte", received=str(path))
    try:
        if path.is_symlink():
            path = path.resolve()
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        st = None  # the folder is checked below
    except OSError as exc:
        raise _os_error("write", what, path, exc) from None
    except RuntimeError:  # Path.resolve() on a link loop
        raise SpecError(f"cannot write {what} '{path}': it is a symbolic link loop") from None
    if st is not None:
        kind = _kind(st.st_mode)
        if kind:
            raise SpecError(f"{what} '{path}' is {kind}, not a regular file; specc only "
                            "replaces regular files", hint="give a new file name")
    parent = path.parent
    if not parent.is_dir():
        if parents and not parent.exists():
            try:
                parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise _os_error("create the folder for", what, path, exc) from None
        elif parent.exists():
            raise SpecError(f"cannot write {what} '{path}': '{parent}' is not a folder")
        else:
            raise SpecError(f"cannot write {what} '{path}': folder '{parent}' does not exist",
                            hint="create the folder first")
    return path


@contextmanager
def atomic_output(path: str | Path, what: str = "output file", *,
                  parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, the
    file written there is fsynced and renamed onto ``path``. OS errors become SpecError."""
    target = _target(path, what, parents)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:80]}.",
                                        suffix=".tmp")
    except OSError as exc:
        raise _os_error("write", what, target, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        try:
            try:  # keep the mode of the file replaced; a new file gets the usual one
                mode = stat.S_IMODE(os.stat(target).st_mode)
            except FileNotFoundError:
                mode = 0o666 & ~_umask
            os.chmod(tmp, mode)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            _target(target, what, False)  # still a regular file or a new name
            os.replace(tmp, target)
        except OSError as exc:
            raise _os_error("write", what, target, exc) from None
    finally:
        try:
            tmp.unlink()
        except OSError:
            pass
    fsync_dir(target.parent)


def atomic_write(path: str | Path, data: bytes | str, what: str = "output file", *,
                 parents: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file beside it (see the module doc);
    ``parents`` creates missing folders, else a missing folder is a clear error."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_output(path, what, parents=parents) as tmp:
        try:
            with open(tmp, "wb") as fh:
                fh.write(raw)
        except OSError as exc:
            raise _os_error("write", what, path, exc) from None
    return Path(path)


# -- names and folders ------------------------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
MAX_NAME = 100


def safe_name(name: Any, default: str = "model") -> str:
    """``name`` as one harmless path component: other characters become ``_``, no leading
    or trailing dot, no ``..``, at most 100 characters (``../../x`` -> ``x``, ``/etc/x`` ->
    ``etc_x``, ``..`` -> ``default``)."""
    text = re.sub(r"\.{2,}", "_", _UNSAFE.sub("_", str(name)))
    text = re.sub(r"_{2,}", "_", text).strip("_.")
    return text[:MAX_NAME].rstrip("_.") or default


def inside(root: str | Path, path: str | Path, what: str = "file") -> Path:
    """``path`` (symlinks resolved) if it lies within ``root``, else a SpecError."""
    base = Path(root).resolve()
    real = Path(path).resolve()
    if real != base and base not in real.parents:
        raise SpecError(f"{what} '{path}' points outside '{root}' (to '{real}'); specc does "
                        "not follow links out of a run folder")
    return Path(path)
