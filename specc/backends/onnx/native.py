"""Capturing what native code (torch's C++ exporter, onnxruntime's logger) writes straight to
file descriptors 1 and 2, out of reach of Python's sys.stdout/sys.stderr."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def captured_fds(*fds: int) -> Iterator[Callable[[], str]]:
    """Redirect the file descriptors (default: 2) into one buffer; the yielded function returns
    what was written once the block has ended."""
    fds = fds or (2,)
    text = {"log": ""}
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = [os.dup(fd) for fd in fds]
    except (OSError, ValueError):
        yield lambda: ""
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        for fd in fds:
            os.dup2(tmp.fileno(), fd)
        try:
            yield lambda: text["log"]
        finally:
            for fd, copy in zip(fds, saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            tmp.seek(0)
            text["log"] = tmp.read().decode(errors="replace")
