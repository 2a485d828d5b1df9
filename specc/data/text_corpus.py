"""Character-level text: Python's own ``pydoc_data.topics`` corpus and plain text files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from .base import Dataset, Params, RawData, data_error, reading


class TextParams(Params):
    max_chars: int | None = Field(None, gt=0, description="Use only the first N characters.")
    lowercase: bool = False
    held_out: float = Field(0.1, ge=0, lt=1, description="Own split: the last fraction of "
                            "the text is held out.")


class TextFileParams(TextParams):
    path: str = Field(description="A UTF-8 text file.")
    encoding: str = "utf-8"


def encode_text(text: str, params: TextParams) -> RawData:
    """Text -> series of character ids with a sorted vocabulary; the tail is held out."""
    if params.lowercase:
        text = text.lower()
    if params.max_chars:
        text = text[: params.max_chars]
    if len(text) < 2:
        raise data_error("the text is empty or has a single character", received=len(text))
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    n = len(ids)
    cut = n - int(round(n * params.held_out))
    own = {"val": np.arange(cut, n)} if cut < n else None
    return RawData({"x": ids}, "series", vocab=vocab, own_split=own,
                   meta={"chars": n, "vocab_size": len(vocab)})


class PydocTopics(Dataset):
    """Python's ``pydoc_data.topics`` help texts (~465k characters) as a character series.

    Topics are joined in sorted order; the vocabulary is the sorted set of characters. Cut it
    into training samples with ``window: {size: 100, target: sequence}``.
    """

    name = "pydoc_topics"
    aliases = ("pydoc_text", "text_corpus")
    Params = TextParams
    task = "series"

    @classmethod
    def load(cls, params: Any) -> RawData:
        from pydoc_data.topics import topics

        return encode_text("\n\n".join(topics[k] for k in sorted(topics)), params)


class TextFile(Dataset):
    """A plain UTF-8 text file as a character series (like ``pydoc_topics``)."""

    name = "text_file"
    aliases = ("text",)
    Params = TextFileParams
    task = "series"

    @classmethod
    def load(cls, params: Any) -> RawData:
        from .files import max_text_bytes, regular_file

        with reading("path"):
            path = regular_file(params.path, max_text_bytes(), "SPECC_MAX_TEXT_BYTES")
        try:
            text = Path(path).read_text(encoding=params.encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise data_error(f"cannot read '{params.path}' as {params.encoding} text: {exc}",
                             "path") from None
        return encode_text(text, params)
