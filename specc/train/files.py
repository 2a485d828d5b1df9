"""Atomic file writes (kept for imports; the implementation is :mod:`specc.fileio`)."""

from __future__ import annotations

from ..fileio import atomic_output, atomic_write, fsync_dir

__all__ = ["atomic_output", "atomic_write", "fsync_dir"]
