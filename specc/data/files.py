"""Bounded readers of data files: ``.npy``, ``.npz``, CSV text and images.

Built on :mod:`specc.fileio` (regular files only, size checked before reading). Every reader
checks what it is given before memory is spent: a regular file (not a FIFO or a
device) of bounded size, an ``.npy`` header whose shape and dtype fit the limits, ``.npz``
members whose declared (uncompressed) sizes fit, images whose declared pixel count fits.
Problems are :class:`SpecError` s without a location; callers locate them (a spec field or a
command-line option). Limits can be raised with environment variables.
"""

from __future__ import annotations

import math
import tokenize
import warnings
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import SpecError
from ..limits import env_limit

DEFAULT_MAX_DATA_BYTES = 2 * 2**30  # decoded array bytes (env SPECC_MAX_DATA_BYTES)
DEFAULT_MAX_TEXT_BYTES = 256 * 2**20  # CSV and text files (env SPECC_MAX_TEXT_BYTES)
DEFAULT_MAX_PIXELS = 2**26  # pixels of one image, ~67 M (env SPECC_MAX_IMAGE_PIXELS)
MAX_CLASSES = 100_000  # distinct class labels
MAX_NPZ_MEMBERS = 1000
MAX_FIELD_CHARS = 131_072  # one CSV cell (the csv module's default limit)
FLOAT32_EXACT = 2**24  # integers of at most this magnitude are exact in float32


def max_data_bytes() -> int:
    return env_limit("SPECC_MAX_DATA_BYTES", DEFAULT_MAX_DATA_BYTES, "bytes")


def max_text_bytes() -> int:
    return env_limit("SPECC_MAX_TEXT_BYTES", DEFAULT_MAX_TEXT_BYTES, "bytes")


def max_pixels() -> int:
    return env_limit("SPECC_MAX_IMAGE_PIXELS", DEFAULT_MAX_PIXELS)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def regular_file(path: str | Path, max_bytes: int | None = None,
                 env: str = "SPECC_MAX_FILE_BYTES", what: str = "file") -> Path:
    """``path`` when it names a regular file of at most ``max_bytes`` (default: the file
    limit of :mod:`specc.fileio`); a clear error for a missing path, a folder, a FIFO or
    device, or a file that is too large."""
    from ..fileio import check_regular, expand_user

    p = expand_user(path)
    check_regular(p, what, max_bytes, env)
    return p


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


# -- arrays -----------------------------------------------------------------------------------


class DtypeError(SpecError):
    """An array of a dtype specc does not take (raised by :func:`check_dtype`)."""


def check_dtype(dtype: np.dtype, what: str = "the array") -> None:
    """Refuse dtypes that are not plain numbers: complex, strings, objects, records, dates."""
    kind = dtype.kind
    if kind == "c":
        raise DtypeError(f"{what} holds complex numbers ({dtype}); specc works with real "
                         "numbers", hint="split it into real and imaginary parts first")
    if kind not in "iufb":
        names = {"U": "strings", "S": "bytes", "O": "Python objects", "V": "records",
                 "M": "dates", "m": "time spans"}
        raise DtypeError(f"{what} holds {names.get(kind, kind)} ({dtype}), not numbers",
                         hint="save numeric arrays (float32, or integers for class labels "
                         "and token ids)")


def _check_header(shape: tuple[int, ...], dtype: np.dtype, what: str, budget: int) -> int:
    """Bytes the array described by a header will take; refuses over-large or odd ones."""
    check_dtype(dtype, what)
    if len(shape) == 0:
        raise SpecError(f"{what} is a single number (0-d array), not samples",
                        hint="save an array of shape (samples, ...)")
    count = 1
    for d in shape:
        count *= int(d)
    nbytes = count * dtype.itemsize
    if nbytes > budget:
        raise SpecError(f"{what} of shape {tuple(shape)} {dtype} would take {_size(nbytes)}; "
                        f"the limit is {_size(budget)}",
                        hint="raise the limit with SPECC_MAX_DATA_BYTES")
    return nbytes


def _read_header(fh: IO[bytes], what: str) -> tuple[tuple[int, ...], np.dtype]:
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(fh)
        with warnings.catch_warnings():  # numpy's note on Python 2 headers
            warnings.simplefilter("ignore", UserWarning)
            if version == (1, 0):
                shape, _, dtype = npformat.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                shape, _, dtype = npformat.read_array_header_2_0(fh)
            else:
                raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, OSError, SyntaxError, TypeError, KeyError, IndexError,
            AttributeError, RecursionError, tokenize.TokenError) as exc:  # a malformed header
        raise SpecError(f"{what} is not a readable .npy array: {_line(exc)}") from None
    return tuple(int(d) for d in shape), np.dtype(dtype)


def read_npy(path: str | Path) -> np.ndarray:
    """A numeric array from an ``.npy`` file, its header checked before loading."""
    p = regular_file(path)
    size = p.stat().st_size
    if size == 0:
        raise SpecError("the .npy file is empty", received=str(path))
    with open(p, "rb") as fh:
        shape, dtype = _read_header(fh, "the .npy file")
        nbytes = _check_header(shape, dtype, "the .npy array", max_data_bytes())
        if fh.tell() + nbytes > size:
            raise SpecError(f"the .npy file is truncated: its header declares shape "
                            f"{shape} {dtype} ({_size(nbytes)}) but it holds "
                            f"{_size(size - fh.tell())} of data")
        fh.seek(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                arr = np.load(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise SpecError(f"not a readable .npy file: {_line(exc)}") from None
    return arr


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """The numeric arrays of an ``.npz`` file; the zip directory and every member's header
    are checked against the limits before anything is decompressed."""
    p = regular_file(path)
    budget = max_data_bytes()
    try:
        with zipfile.ZipFile(p) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > MAX_NPZ_MEMBERS:
                raise SpecError(f"the .npz file has {len(infos)} members; the limit is "
                                f"{MAX_NPZ_MEMBERS}")
            declared = sum(i.file_size for i in infos)
            if declared > budget:
                raise SpecError(f"the .npz file unpacks to {_size(declared)}; the limit is "
                                f"{_size(budget)}", hint="raise it with SPECC_MAX_DATA_BYTES")
            arrays: dict[str, np.ndarray] = {}
            for info in infos:
                name = info.filename.removesuffix(".npy")
                what = f"array '{name}'"
                with zf.open(info) as fh:
                    shape, dtype = _read_header(fh, what)
                    nbytes = _check_header(shape, dtype, what, budget)
                    if nbytes > info.file_size:
                        raise SpecError(f"{what} is truncated: its header declares shape "
                                        f"{shape} {dtype} but the member is "
                                        f"{_size(info.file_size)}")
                with zf.open(info) as fh, warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except SpecError:
        raise
    # zipfile raises NotImplementedError for compression methods it lacks and RuntimeError
    # for encrypted members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
            NotImplementedError, RuntimeError) as exc:
        raise SpecError(f"not a readable .npz file: {_line(exc)}", received=str(path)) from None
    if not arrays:
        raise SpecError("the .npz file holds no arrays", received=str(path))
    return arrays


def as_float32(arr: np.ndarray, what: str = "the data") -> np.ndarray:
    """``arr`` as float32: floats as they are, integers and booleans only when exact."""
    check_dtype(arr.dtype, what)
    if arr.dtype.kind in "iu" and arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if max(-lo, hi) > FLOAT32_EXACT:
            raise SpecError(f"{what} holds integers up to {max(-lo, hi)}, which float32 cannot "
                            f"represent exactly (limit {FLOAT32_EXACT})",
                            hint="scale the values or save them as floats")
    if arr.dtype.kind == "f" and arr.dtype.itemsize > 4 and arr.size:
        finite = np.abs(arr[np.isfinite(arr)])
        if finite.size and float(finite.max()) > float(np.finfo(np.float32).max):
            raise SpecError(f"{what} holds values up to {float(finite.max()):g}, beyond the "
                            "float32 range", hint="scale the values first")
    return arr if arr.dtype == np.float32 else arr.astype(np.float32)


# -- class labels -------------------------------------------------------------------------------


def encode_classes(y: np.ndarray, what: str = "the labels") -> tuple[np.ndarray, list[str]]:
    """Integer class codes 0..K-1 and their names. Non-negative integer labels below
    MAX_CLASSES are class indices as they are; other labels (strings, large or negative
    numbers) are numbered in sorted order, keeping their values as names."""
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise SpecError(f"{what} are not whole numbers, so they are not class labels",
                            hint="set task: regression for numeric targets")
    elif y.dtype.kind not in "iubUS":
        check_dtype(y.dtype, what)
    if y.dtype.kind in "iubf" and y.size and y.min() >= 0 and y.max() < MAX_CLASSES:
        codes = y.astype(np.int64)
        return codes, [str(i) for i in range(int(codes.max()) + 1)]
    values, codes = np.unique(y, return_inverse=True)
    if len(values) > MAX_CLASSES:
        raise SpecError(f"{what} hold {len(values):,} distinct classes; the limit is "
                        f"{MAX_CLASSES:,}", hint="set task: regression for numeric targets")
    if values.dtype.kind == "f":
        names = [str(int(v)) if abs(v) < 2**53 else f"{v:g}" for v in values.tolist()]
    else:
        names = [str(v) for v in values.tolist()]
    return codes.reshape(y.shape).astype(np.int64), names


# -- text ---------------------------------------------------------------------------------------


def read_text(path: str | Path) -> str:
    """A UTF-8 text file of bounded size (env SPECC_MAX_TEXT_BYTES); refuses binary files."""
    from ..fileio import expand_user, read_bytes_bounded

    data = read_bytes_bounded(expand_user(path), "file", max_text_bytes(),
                              "SPECC_MAX_TEXT_BYTES")
    if b"\x00" in data[:65536]:
        raise SpecError("this is a binary file, not text", received=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError("the file is not UTF-8 text (a binary file?)", file=str(path),
                        line=line) from None


def csv_rows(text: str, delimiter: str, path: str | Path) -> list[list[str]]:
    """Rows of CSV text (empty rows dropped), each cell at most MAX_FIELD_CHARS long."""
    import csv
    import io

    rows: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for r in reader:
            if not r:
                continue
            if any(len(c) > MAX_FIELD_CHARS for c in r):
                raise SpecError(f"a field of row {reader.line_num} is longer than "
                                f"{MAX_FIELD_CHARS:,} characters", file=str(path),
                                line=reader.line_num)
            rows.append(r)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise SpecError(f"a field of row {reader.line_num} is longer than "
                            f"{csv.field_size_limit():,} characters", file=str(path),
                            line=reader.line_num) from None
        raise SpecError(f"not readable as CSV: {_line(exc)}", file=str(path),
                        line=reader.line_num) from None
    return rows


def _says_inf(cell: str) -> bool:
    """Whether a cell spells infinity (rather than a number too large for a float)."""
    return cell.lower().lstrip("+-") in ("inf", "infinity")


def read_table(path: str | Path, delimiter: str | None = ",") -> np.ndarray:
    """Numeric rows of a text table (one sample per row; a first row that is not numeric is
    a header), as float64. ``delimiter`` None splits on whitespace."""
    f32max = float(np.finfo(np.float32).max)
    rows: list[list[float]] = []
    for i, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip():
            continue
        if len(line) > MAX_FIELD_CHARS * 10:
            raise SpecError(f"line {i} is longer than {MAX_FIELD_CHARS * 10:,} characters",
                            file=str(path), line=i)
        cells = [c.strip() for c in line.split(delimiter)]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            if not rows and i == 1:
                continue  # a header row
            raise SpecError("not a numeric row", file=str(path), line=i,
                            received=line[:60]) from None
        if any((math.isfinite(v) and abs(v) > f32max) or (math.isinf(v) and not _says_inf(c))
               for v, c in zip(values, cells, strict=True)):
            raise SpecError("a value is beyond the float32 range (it would become infinite)",
                            file=str(path), line=i, received=line[:60])
        rows.append(values)
    if not rows:
        raise SpecError("the file holds no numeric rows", received=str(path))
    if len({len(r) for r in rows}) > 1:
        raise SpecError(f"the rows of '{Path(path).name}' have different lengths",
                        received=sorted({len(r) for r in rows}))
    return np.asarray(rows)


# -- images -------------------------------------------------------------------------------------


def open_image(path: str | Path, *, header_only: bool = False) -> Any:
    """A loaded PIL image (only its header with ``header_only``); its pixel count is checked
    from the header before decoding, so a decompression bomb is refused without being
    decompressed."""
    from PIL import Image, UnidentifiedImageError

    p = regular_file(path, what="image")
    limit = max_pixels()
    saved = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = limit  # PIL refuses bombs while reading the header
            img = Image.open(p)
            w, h = img.size
            if w * h > limit:
                img.close()
                raise SpecError(f"the image is {w}x{h} = {w * h:,} pixels; the limit is "
                                f"{limit:,}", received=str(path),
                                hint="raise it with SPECC_MAX_IMAGE_PIXELS")
            if not header_only:
                img.load()
    except SpecError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        import re

        found = re.search(r"(\d+) pixels", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise SpecError(f"the image is too large ({size}; the limit is {limit:,}): a "
                        "decompression bomb?", received=str(path),
                        hint="raise the limit with SPECC_MAX_IMAGE_PIXELS") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError,
            MemoryError) as exc:
        raise SpecError(f"not a readable image: {_line(exc)}", received=str(path)) from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    return img
