"""Size limits that environment variables raise (``SPECC_MAX_NODES``, ``SPECC_MAX_FILE_BYTES``,
...): one reader, so every limit accepts the same spellings and refuses the same mistakes."""

from __future__ import annotations

import os

from .errors import SpecError


def env_limit(env: str, default: int, unit: str = "") -> int:
    """The positive integer in ``env`` (``8e9`` and ``1_000`` are accepted), else ``default``;
    a value that is not a positive number (of ``unit``) is a SpecError naming the variable."""
    raw = os.environ.get(env)
    if raw is None or not raw.strip():
        return default
    text = raw.strip().replace("_", "")
    try:
        value = int(float(text)) if any(c in text for c in ".eE") else int(text)
    except (ValueError, OverflowError):
        raise SpecError(f"environment variable {env} must be a number"
                        + (f" of {unit}" if unit else ""), received=raw) from None
    if value <= 0:
        raise SpecError(f"environment variable {env} must be positive", received=raw)
    return value
